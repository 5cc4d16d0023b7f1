//! The host peer against itself, without QEMU: host processes (threads here, and the `amoeba`
//! command as a child process) on one virtual LAN or over FLIP inside UDP on loopback. One of
//! them plays a node with libamoeba's own servers (directory, sys, proc with its `ps`
//! directory, echo) and answers the link check with its directory, as a kernel does.

use amunix::commands;
use amunix::lan::{LanSeat, port_for};
use amunix::medium::{LanMedium, Medium, UdpMedium};
use amunix::peer::HostPeer;
use libamoeba::capability::{Capability, Port};
use libamoeba::client;
use libamoeba::link_check;
use libamoeba::oneway::put_port;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::header::Header;
use libamoeba::rpc::transport::Rpc;
use libamoeba::servers::echo::EchoServer;
use libamoeba::servers::proc::{
    ExecRequest, Load, ProcServer, ProcessControl, ProcessState, ProcessSummary, SegmentId,
};
use libamoeba::servers::sys::{BootAction, Kstat, SysFacts, SysServer};
use libamoeba::soap::server::{Alone, SoapServer};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::channel;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A thread serving until dropped.
struct Serving {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Serving {
    fn spawn(work: impl FnOnce(&AtomicBool) + Send + 'static) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || work(&flag));
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn random_port() -> Port {
    use libamoeba::random::Entropy;
    Port(amunix::entropy::HostEntropy.nonzero48())
}

/// An echo server in a host peer of its own on `medium`; its owner capability.
fn serve_echo(medium: impl Medium + 'static) -> (Serving, Capability) {
    let (send, receive) = channel();
    let serving = Serving::spawn(move |stop| {
        let peer = HostPeer::new(medium);
        let get_port = random_port();
        let (server, owner) =
            EchoServer::new(put_port(get_port), &mut amunix::entropy::HostEntropy);
        peer.attach(get_port, server);
        let _ = send.send(owner);
        peer.serve_until(stop);
    });
    let owner = receive
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("the echo server did not start: {e}"));
    (serving, owner)
}

fn lan_seat(port: u16) -> LanSeat {
    LanSeat::join(port, amunix::entropy::random_mac())
        .unwrap_or_else(|e| panic!("cannot join LAN {port}: {e}"))
}

fn udp_listener() -> (UdpMedium, SocketAddr) {
    let medium = UdpMedium::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .unwrap_or_else(|e| panic!("cannot bind UDP on loopback: {e}"));
    let address = medium
        .local_addr()
        .unwrap_or_else(|e| panic!("no local address: {e}"));
    (medium, address)
}

fn udp_towards(address: SocketAddr) -> UdpMedium {
    UdpMedium::connect(address).unwrap_or_else(|e| panic!("cannot open UDP: {e}"))
}

/// 100 echoes, null and 30000-byte messages in turn, each checked.
fn hundred_echoes(peer: &impl Rpc, owner: &Capability) {
    let bulk: Vec<u8> = (0..30_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let mut back = vec![0; bulk.len()];
    for call in 0..100 {
        let data = if call % 2 == 0 { &[][..] } else { &bulk[..] };
        back.fill(0);
        let echoed = client::echo(peer, owner, data, &mut back);
        assert_eq!(echoed, Ok(data.len()), "call {call}");
        assert_eq!(&back[..data.len()], data, "call {call}");
    }
}

/// A call to a port nobody serves: RPC_NOTFOUND once the (short) locate timeout is over.
fn unserved_port_is_not_found(peer: &HostPeer) {
    peer.set_locate_timeout_ms(400);
    let request = Header {
        port: random_port(),
        ..Header::default()
    };
    let started = Instant::now();
    let result = peer.trans(&request, b"anyone?", &mut Header::default(), &mut []);
    let took = started.elapsed();
    assert_eq!(result, Err(ErrorCode::RPC_NOTFOUND));
    assert!(
        (Duration::from_millis(400)..Duration::from_millis(1500)).contains(&took),
        "gave up after {took:?}"
    );
}

#[test]
fn two_host_peers_on_a_lan_echo_null_and_bulk_messages() {
    let port = port_for(31);
    let (_server, owner) = serve_echo(LanMedium::new(lan_seat(port)));
    let peer = HostPeer::new(LanMedium::new(lan_seat(port)));
    hundred_echoes(&peer, &owner);
    unserved_port_is_not_found(&peer);
}

#[test]
fn two_host_peers_over_udp_echo_null_and_bulk_messages() {
    let (medium, address) = udp_listener();
    let (_server, owner) = serve_echo(medium);
    let peer = HostPeer::new(udp_towards(address));
    hundred_echoes(&peer, &owner);
    unserved_port_is_not_found(&peer);
}

/// What the pretend kernel reports.
fn sample_kstat() -> Kstat {
    Kstat {
        uptime_ns: 2_500_000_000,
        memory_total: 64 << 20,
        memory_free: 40 << 20,
        threads: 6,
        processes: 2,
        ..Kstat::default()
    }
}

struct Facts;

impl SysFacts for Facts {
    fn kstat(&self) -> Kstat {
        sample_kstat()
    }
    fn log_tail(&self, _out: &mut [u8]) -> usize {
        0
    }
    fn boot(&mut self, _how: BootAction) -> Result<(), ErrorCode> {
        Err(ErrorCode::STD_DENIED)
    }
}

struct Processes;

impl ProcessControl for Processes {
    fn processes(&self) -> Vec<ProcessSummary> {
        let process = |pid, name: &str, state| ProcessSummary {
            pid,
            name: name.to_string(),
            threads: 1,
            state,
        };
        vec![
            process(7, "shell", ProcessState::Running),
            process(12, "counter", ProcessState::Blocked),
        ]
    }
    fn kill(&mut self, _pid: u64) -> Result<(), ErrorCode> {
        Err(ErrorCode::STD_DENIED)
    }
    fn stun(&mut self, _pid: u64, _code: i32) -> Result<(), ErrorCode> {
        Err(ErrorCode::STD_DENIED)
    }
    fn load(&self) -> Load {
        Load::default()
    }
    fn exec(&mut self, _request: ExecRequest) -> Result<u64, ErrorCode> {
        Err(ErrorCode::STD_DENIED)
    }
    fn created(&mut self, _pid: u64, _process: Capability) {}
    fn owner(&self, _pid: u64) -> Option<Capability> {
        None
    }
    fn set_owner(&mut self, _pid: u64, _owner: Capability) -> Result<(), ErrorCode> {
        Err(ErrorCode::STD_DENIED)
    }
    fn rename(&mut self, _pid: u64, _name: &str) -> Result<(), ErrorCode> {
        Err(ErrorCode::STD_DENIED)
    }
    fn process_read(&self, _pid: u64, _at: u64, _buf: &mut [u8]) -> Result<usize, ErrorCode> {
        Err(ErrorCode::STD_NOTNOW)
    }
    fn segment_create(&mut self, _bytes: u64) -> Result<SegmentId, ErrorCode> {
        Err(ErrorCode::STD_NOMEM)
    }
    fn segment_write(&mut self, _id: SegmentId, _at: u64, _data: &[u8]) -> Result<(), ErrorCode> {
        Err(ErrorCode::STD_NOTFOUND)
    }
    fn segment_read(&self, _id: SegmentId, _at: u64, _buf: &mut [u8]) -> Result<usize, ErrorCode> {
        Err(ErrorCode::STD_NOTFOUND)
    }
    fn segment_size(&self, _id: SegmentId) -> Option<u64> {
        None
    }
    fn segment_destroy(&mut self, _id: SegmentId) {}
    fn remote_read(
        &self,
        _cap: &Capability,
        _at: u64,
        _buf: &mut [u8],
    ) -> Result<usize, ErrorCode> {
        Err(ErrorCode::STD_DENIED)
    }
}

/// A node's servers on a host peer on `medium`: a directory naming `sys`, `ps` and `echo`;
/// the directory's capability.
fn host_node(medium: impl Medium + 'static) -> (Serving, Capability) {
    let (send, receive) = channel();
    let serving = Serving::spawn(move |stop| {
        let peer = HostPeer::new(medium);
        let mut entropy = amunix::entropy::HostEntropy;
        let [dir_port, sys_port, proc_port, echo_port] = [(); 4].map(|()| random_port());
        let (mut dir, root) =
            SoapServer::kernel_directory(put_port(dir_port), Alone, amunix::entropy::HostEntropy)
                .expect("a kernel directory");
        let (sys, _) = SysServer::new(put_port(sys_port), &mut entropy, Facts);
        let (proc, _) = ProcServer::new(put_port(proc_port), entropy, Processes);
        let (echo, echo_cap) = EchoServer::new(put_port(echo_port), &mut entropy);
        for (name, cap) in [
            ("sys", sys.public_capability()),
            ("ps", proc.ps_directory()),
            ("echo", echo_cap),
        ] {
            dir.publish(name, cap)
                .unwrap_or_else(|e| panic!("publish {name}: {e}"));
        }
        peer.attach(dir_port, dir);
        peer.attach(sys_port, sys);
        peer.attach(proc_port, proc);
        peer.attach(echo_port, echo);
        let _ = send.send(root);
        peer.serve_until(stop);
    });
    let root = receive
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("the host node did not start: {e}"));
    (serving, root)
}

/// Answers link checks on LAN `port` as node `name` whose directory is `root`.
fn answer_link_checks(port: u16, name: &'static str, root: Capability) -> Serving {
    let seat = lan_seat(port);
    Serving::spawn(move |stop| {
        let mut buffer = vec![0; 65536];
        while !stop.load(Ordering::Relaxed) {
            let Ok(Some(length)) = seat.receive_frame(&mut buffer, Duration::from_millis(20))
            else {
                continue;
            };
            let frame = &buffer[..length];
            if frame.len() < 14 || frame[12..14] != link_check::ETHERTYPE.to_be_bytes() {
                continue;
            }
            let Some(text) = link_check::ping_text(&frame[14..]) else {
                continue;
            };
            let pong = link_check::pong_with_directory(text, name.as_bytes(), &root);
            let mut source = [0; 6];
            source.copy_from_slice(&frame[6..12]);
            let _ = seat.send(source, link_check::ETHERTYPE, &pong);
        }
    })
}

#[test]
fn the_commands_work_against_a_node_of_host_servers() {
    let (medium, address) = udp_listener();
    let (_node, root) = host_node(medium);
    let peer = HostPeer::new(udp_towards(address));
    let names: Vec<String> = commands::list(&peer, &root, "node")
        .unwrap_or_else(|e| panic!("{e:#}"))
        .into_iter()
        .map(|entry| entry.name)
        .collect();
    assert_eq!(names, ["echo", "ps", "sys"]);
    let stats = commands::kstat(&peer, root, "node").unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(stats, sample_kstat());
    let processes = commands::ps(&peer, root, "node").unwrap_or_else(|e| panic!("{e:#}"));
    let pids: Vec<&str> = processes.iter().map(|p| p.pid.as_str()).collect();
    assert_eq!(pids, ["7", "12"]);
    let info = processes[0]
        .info
        .as_deref()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(info.contains("shell"), "{info}");
    let sys =
        commands::walk(&peer, root, "node", &["sys".into()]).unwrap_or_else(|e| panic!("{e:#}"));
    let info = commands::info(&peer, &sys, "node/sys").unwrap_or_else(|e| panic!("{e:#}"));
    assert!(info.starts_with("sys server"), "{info}");
    let missing = commands::walk(&peer, root, "node", &["ps".into(), "99".into()]);
    let error = format!("{:#}", missing.unwrap_err());
    assert_eq!(error, "looking up `99` in node/ps: STD_NOTFOUND");
}

/// Runs `amoeba ARGS`, bounded by the commands' own timeouts.
fn amoeba(args: &[impl AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_amoeba"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running amoeba: {e}"))
}

/// `amoeba ARGS` must succeed and print JSON: that JSON.
fn amoeba_json(args: &[impl AsRef<std::ffi::OsStr> + std::fmt::Debug]) -> serde_json::Value {
    let output = amoeba(args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "amoeba {args:?}: {stdout}\n{stderr}"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("amoeba {args:?}: {e}: {stdout}"))
}

/// `amoeba ARGS` must fail: its error message.
fn amoeba_error(args: &[impl AsRef<std::ffi::OsStr> + std::fmt::Debug]) -> String {
    let output = amoeba(args);
    assert!(!output.status.success(), "amoeba {args:?} succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_amoeba_command_over_udp() {
    let (medium, address) = udp_listener();
    let (_node, root) = host_node(medium);
    let udp = address.to_string();
    let root = root.to_string();
    let with = |rest: &[&str]| -> Vec<String> {
        let mut args = vec!["--json".to_string(), "--udp".to_string(), udp.clone()];
        args.extend(rest.iter().map(|arg| arg.to_string()));
        args
    };
    let listing = amoeba_json(&with(&["dir", "ls", &root]));
    assert_eq!(listing[2]["name"], "sys", "{listing}");
    assert!(listing[2]["capability"].as_str().is_some(), "{listing}");
    let processes = amoeba_json(&with(&["dir", "ls", &format!("{root}/ps")]));
    assert_eq!(processes[1]["name"], "12", "{processes}");
    let info = amoeba_json(&with(&["info", &format!("{root}/sys")]));
    assert!(
        info["info"]
            .as_str()
            .is_some_and(|i| i.starts_with("sys server")),
        "{info}"
    );
    let stats = amoeba_json(&with(&["kstat", &root]));
    assert_eq!(stats["threads"], 6, "{stats}");
    assert_eq!(stats["rpc"]["trans"], 0, "{stats}");
    let ps = amoeba_json(&with(&["ps", &root]));
    assert_eq!(ps[0]["pid"], "7", "{ps}");
    assert!(
        ps[0]["info"].as_str().is_some_and(|i| i.contains("shell")),
        "{ps}"
    );
    let ping = amoeba_json(&with(&["ping", &root, "--count", "3"]));
    assert_eq!(ping["answered"], 3, "{ping}");
    assert_eq!(ping["calls"].as_array().map(Vec::len), Some(3), "{ping}");
    assert!(ping["median_ms"].as_f64().is_some(), "{ping}");
    let echo = amoeba_json(&with(&[
        "echo",
        &format!("{root}/echo"),
        "--bytes",
        "30000",
        "-c",
        "5",
    ]));
    assert_eq!(echo["answered"], 5, "{echo}");
    let error = amoeba_error(&["--udp", &udp, "kstat", "pool-1"]);
    assert!(
        error.contains("with --udp, NODE must be a capability"),
        "{error}"
    );
    let error = amoeba_error(&["--udp", &udp, "info", &format!("{root}/nope")]);
    assert!(error.contains("looking up `nope` in"), "{error}");
    assert!(error.contains("STD_NOTFOUND"), "{error}");
}

#[test]
fn the_amoeba_command_finds_nodes_by_name_on_the_lan() {
    let port = port_for(32);
    let (_node, root) = host_node(LanMedium::new(lan_seat(port)));
    let _link = answer_link_checks(port, "host-node-1", root);
    let lan = port.to_string();
    let nodes = amoeba_json(&["nodes", "--json", "--wait-ms", "600", "--lan-port", &lan]);
    assert_eq!(nodes[0]["name"], "host-node-1", "{nodes}");
    assert_eq!(nodes[0]["directory"], root.to_string(), "{nodes}");
    let listing = amoeba_json(&["--json", "--lan-port", &lan, "dir", "ls", "host-node-1"]);
    assert_eq!(listing[0]["name"], "echo", "{listing}");
    let stats = amoeba_json(&["--json", "--lan-port", &lan, "kstat", "host-node-1"]);
    assert_eq!(stats["processes"], 2, "{stats}");
    let error = amoeba_error(&["--lan-port", &lan, "--find-ms", "600", "kstat", "pool-3"]);
    let expected = format!(
        "no node named pool-3 answered on the LAN at 230.0.0.1:{port} within 600 ms (nodes \
         seen: host-node-1)"
    );
    assert!(error.contains(&expected), "{error}");
}

#[test]
fn serve_echo_and_echo_as_two_processes_on_a_lan() {
    let lan = port_for(33).to_string();
    let mut server = Command::new(env!("CARGO_BIN_EXE_amoeba"))
        .args(["--lan-port", &lan, "serve-echo", "--duration-ms", "20000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("running amoeba serve-echo: {e}"));
    let mut line = String::new();
    if let Some(stdout) = server.stdout.take() {
        let _ = BufReader::new(stdout).read_line(&mut line);
    }
    let cap = line.trim().to_string();
    let echo = amoeba(&[
        "--json",
        "--lan-port",
        &lan,
        "echo",
        &cap,
        "--bytes",
        "30000",
        "-c",
        "20",
    ]);
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&echo.stdout);
    assert!(
        echo.status.success(),
        "{cap}: {stdout}\n{}",
        String::from_utf8_lossy(&echo.stderr)
    );
    let echo: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(echo["answered"], 20, "{echo}");
    assert!(
        echo["throughput_bytes_per_s"]
            .as_f64()
            .is_some_and(|r| r > 0.0),
        "{echo}"
    );
}
