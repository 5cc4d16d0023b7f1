//! What the tests of `amoeba exec` and `amoeba migrate` share: pool nodes on a LAN of their
//! own, the `amoeba` command with the program images, and the node's own counts.
#![allow(dead_code, reason = "each test file uses its own share of these")]

use amoeba_build::programs::write_program_images;
use amoeba_build::qemu::Nic;
use amoeba_tests::Node;
use amoeba_tests::images::{
    LanNodeOptions, built, built_test_profile, start_lan_node, start_lan_node_with, workspace,
};
use amunix::entropy::random_mac;
use amunix::lan::LanSeat;
use amunix::medium::LanMedium;
use amunix::nodes;
use amunix::peer::HostPeer;
use libamoeba::capability::Capability;
use libamoeba::client;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Hard limit of every node: boot under TCG beside other tests' nodes, and the checks.
pub const LIMIT: Duration = Duration::from_secs(150);
/// Longest a single `amoeba` command may take before the test fails.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(60);

/// The directory of the program images, written once per test process.
pub fn programs_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let ws = workspace();
        let written =
            write_program_images(&ws).unwrap_or_else(|e| panic!("writing the programs: {e}"));
        let first = written.first().unwrap_or_else(|| panic!("no programs"));
        first.path.parent().map(PathBuf::from).unwrap_or_default()
    })
    .clone()
}

/// A pool node called `name` on LAN `port` with card `nic`.
pub fn pool_node(name: &str, port: u16, index: u8, nic: Nic) -> Node {
    let image = built("pool");
    let words = [format!("node={name}")];
    start_lan_node(&image, nic, port, index, &words, LIMIT)
}

/// [`pool_node`] under `-icount`: its cycle counts are instructions, the same from run to run
/// (for benchmarks of guest work).
pub fn counted_pool_node(name: &str, port: u16, index: u8, nic: Nic) -> Node {
    let image = built("pool");
    let words = [format!("node={name}")];
    let options = LanNodeOptions {
        icount: true,
        disk: None,
    };
    start_lan_node_with(&image, nic, port, index, &words, options, LIMIT)
}

/// A run-server node called `name` on LAN `port` with card `nic`: profile `run` (which
/// rebalances), or with `fixed` the test profile whose run server only places processes.
pub fn run_node(name: &str, port: u16, index: u8, nic: Nic, fixed: bool) -> Node {
    let image = if fixed {
        built_test_profile("test-run-fixed")
    } else {
        built("run")
    };
    let words = [format!("node={name}")];
    start_lan_node(&image, nic, port, index, &words, LIMIT)
}

/// `amoeba --lan-port PORT ARGS...`, with the program images where it looks for them.
pub fn amoeba(port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_amoeba"));
    command
        .env("AMOEBA_PROGRAMS", programs_dir())
        .arg("--lan-port")
        .arg(port.to_string())
        .stdin(Stdio::null());
    command
}

/// Runs `command` to its end within [`COMMAND_LIMIT`] (killed past it, which fails the test).
pub fn run(mut command: Command, node: &Node) -> Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running amoeba: {e}"));
    let id = child.id();
    let (done, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if wait.recv_timeout(COMMAND_LIMIT).is_err() {
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
        }
    });
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for amoeba: {e}"));
    let _ = done.send(());
    assert!(
        output.status.code().is_some(),
        "amoeba was killed after {COMMAND_LIMIT:?}\n{}",
        node.log()
    );
    output
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A peer on LAN `port` and the root directory of node `name`.
pub fn peer_and_root(port: u16, name: &str, node: &Node) -> (HostPeer, Capability) {
    let seat = LanSeat::join(port, random_mac()).unwrap_or_else(|e| panic!("joining: {e}"));
    let found = nodes::find_named(
        &seat,
        name,
        Duration::from_secs(10),
        Duration::from_millis(250),
    )
    .unwrap_or_else(|e| panic!("link check: {e}"));
    let root = found
        .ok()
        .and_then(|n| n.directory)
        .unwrap_or_else(|| panic!("{name} not found\n{}", node.log()));
    (HostPeer::new(LanMedium::new(seat)), root)
}

/// Free memory and process count the node's `sys` reports.
pub fn memory_and_processes(peer: &HostPeer, root: &Capability) -> (u64, u32) {
    let sys = client::dir_lookup(peer, root, "sys").unwrap_or_else(|e| panic!("sys: {e}"));
    let kstat = client::kstat(peer, &sys).unwrap_or_else(|e| panic!("kstat: {e}"));
    (kstat.memory_free, kstat.processes)
}

/// The node's free memory settles back to `before` (the kernel frees an ended process's
/// frames when the next thread runs, so allow it a moment).
pub fn memory_returns(peer: &HostPeer, root: &Capability, before: u64, node: &Node) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (free, processes) = memory_and_processes(peer, root);
        if free >= before && processes == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "free memory {free} (before: {before}), {processes} processes\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `amoeba exec` in the foreground, its output gathered line by line as it comes; killed when
/// dropped.
pub struct Foreground {
    child: std::process::Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The process's capability, from the command's "started" line.
    pub process: Capability,
}

impl Foreground {
    /// Starts PROGRAM ARGS on `node` of LAN `port` and waits for its capability.
    pub fn start(port: u16, node: &str, program: &str, args: &[&str], log: &Node) -> Self {
        Self::exec(port, &[node, program], args, log)
    }

    /// `amoeba exec EXEC... -- ARGS...` (EXEC: the command's own words: node, program,
    /// flags), waiting for the process's capability.
    pub fn exec(port: u16, exec: &[&str], args: &[&str], log: &Node) -> Self {
        use std::io::{BufRead, BufReader};
        let program = exec.join(" ");
        let mut command = amoeba(port);
        command.arg("exec").args(exec).arg("--").args(args);
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("running amoeba: {e}"));
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let gathered = std::sync::Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                gathered
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(line);
            }
        });
        let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
        let mut stderr = BufReader::new(stderr).lines();
        let started = stderr
            .find_map(|line| {
                let line = line.ok()?;
                let open = line.rfind('(')?;
                line[open + 1..]
                    .trim_end_matches(')')
                    .parse::<Capability>()
                    .ok()
            })
            .unwrap_or_else(|| panic!("amoeba exec {program} did not start\n{}", log.log()));
        // Shown with a failing test's output.
        std::thread::spawn(move || {
            for line in stderr.map_while(Result::ok) {
                eprintln!("amoeba exec: {line}");
            }
        });
        Self {
            child,
            lines,
            process: started,
        }
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits (at most `limit`) for a line that `wanted` accepts; its value.
    pub fn wait_for<T>(&self, limit: Duration, wanted: impl Fn(&str) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(found) = self.lines().iter().find_map(|l| wanted(l)) {
                return Some(found);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Its exit status, waiting at most `limit` (then it is killed: `None`).
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the reader take the last lines.
                std::thread::sleep(Duration::from_millis(200));
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends it SIGINT (Ctrl-C).
    pub fn interrupt(&self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `amoeba migrate --json` reports.
#[derive(Debug)]
pub struct Migration {
    pub process: Capability,
    pub bytes: u64,
    pub freeze_ms: f64,
    pub total_ms: f64,
}

/// `amoeba --json migrate PROCESS --to NODE`, its output piped.
fn migrate_command(port: u16, process: &Capability, node: &str) -> Command {
    let mut command = amoeba(port);
    command
        .args(["--json", "migrate"])
        .arg(process.to_string())
        .args(["--to", node])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Moves `process` to `node` with `amoeba migrate`; `Err` with the command's message.
pub fn migrate(port: u16, process: &Capability, node: &str) -> Result<Migration, String> {
    let output = migrate_command(port, process, node)
        .output()
        .unwrap_or_else(|e| panic!("running amoeba migrate: {e}"));
    migration_result(&output)
}

/// [`migrate`], stopped when the move reaches `step` (the command's test hook) while
/// `meanwhile` runs (killing a node, say), then let go on.
pub fn migrate_paused(
    port: u16,
    process: &Capability,
    node: &str,
    step: &str,
    meanwhile: impl FnOnce(),
) -> Result<Migration, String> {
    let file = std::env::temp_dir().join(format!(
        "amoeba-migrate-pause-{}-{port}-{step}",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&file);
    let mut command = migrate_command(port, process, node);
    command.env("AMOEBA_MIGRATE_PAUSE", format!("{step}:{}", file.display()));
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("running amoeba migrate: {e}"));
    let guard = watchdog(&child);
    let deadline = Instant::now() + COMMAND_LIMIT;
    while !file.exists() && Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let paused = file.exists();
    if paused {
        meanwhile();
        let _ = std::fs::remove_file(&file);
    }
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for amoeba migrate: {e}"));
    drop(guard);
    assert!(
        paused,
        "the move never reached {step}: {}",
        text(&output.stderr)
    );
    migration_result(&output)
}

fn migration_result(output: &Output) -> Result<Migration, String> {
    if !output.status.success() {
        return Err(text(&output.stderr));
    }
    let stdout = text(&output.stdout);
    let value: serde_json::Value =
        serde_json::from_str(&stdout).map_err(|e| format!("{e}: {stdout}"))?;
    let process = value["process"]
        .as_str()
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("no process in {stdout}"))?;
    Ok(Migration {
        process,
        bytes: value["bytes"].as_u64().unwrap_or(0),
        freeze_ms: value["freeze_ms"].as_f64().unwrap_or(0.0),
        total_ms: value["total_ms"].as_f64().unwrap_or(0.0),
    })
}

/// The processes the node's `ps` lists, by name.
pub fn process_names(peer: &HostPeer, root: &Capability) -> Vec<String> {
    let ps = client::dir_lookup(peer, root, "ps").unwrap_or_else(|e| panic!("ps: {e}"));
    let rows = client::dir_list(peer, &ps).unwrap_or_else(|e| panic!("listing ps: {e}"));
    let mut buffer = vec![0; 256];
    rows.iter()
        .filter_map(|(_, cap)| {
            let info = client::std_info(peer, cap, &mut buffer).ok()?;
            info.strip_prefix("process ")
                .and_then(|rest| rest.split(' ').next())
                .map(str::to_string)
        })
        .collect()
}

/// The number a `counter NAME` line reports.
pub fn report(line: &str, name: &str) -> Option<u64> {
    line.strip_prefix(&format!("counter {name}: "))?
        .parse()
        .ok()
}

/// The reports of counter `name` in `counter`'s output so far.
pub fn counts(counter: &Foreground, name: &str) -> Vec<u64> {
    let lines = counter.lines();
    lines.iter().filter_map(|l| report(l, name)).collect()
}

/// Counter `name` reported 1, 2, 3... and nothing else: it never restarted, and no report came
/// twice (`logs`: the nodes' logs, shown if not).
pub fn assert_counted_once(counter: &Foreground, name: &str, logs: &str) {
    let numbers = counts(counter, name);
    let expected: Vec<u64> = (1..=numbers.len() as u64).collect();
    assert!(
        !numbers.is_empty() && numbers == expected,
        "counter {name} restarted or counted twice: {numbers:?}\n{logs}"
    );
}

/// Kills `child` if it still runs after [`COMMAND_LIMIT`] and the guard is not dropped yet:
/// for a test that reads a command's output as it comes and would otherwise wait for ever on
/// a hung guest.
pub fn watchdog(child: &std::process::Child) -> Watchdog {
    let pid = child.id().to_string();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let finished = std::sync::Arc::clone(&done);
    std::thread::spawn(move || {
        std::thread::sleep(COMMAND_LIMIT);
        if !finished.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = Command::new("kill").args(["-9", &pid]).status();
        }
    });
    Watchdog(done)
}

/// Calls the watchdog off when dropped.
pub struct Watchdog(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// `fetch CAP BYTES CHUNK` run on `node_name` (a process there reading CAP by BS_READ): the
/// milliseconds it reports.
pub fn fetch_ms(
    port: u16,
    node_name: &str,
    cap: &Capability,
    bytes: u64,
    chunk: usize,
    node: &Node,
) -> f64 {
    let (cap, bytes, chunk) = (cap.to_string(), bytes.to_string(), chunk.to_string());
    let mut fetch = Foreground::start(port, node_name, "fetch", &[&cap, &bytes, &chunk], node);
    let us = fetch
        .wait_for(Duration::from_secs(300), |line| {
            let rest = line.strip_prefix("fetch: ")?;
            rest.split(" in ")
                .nth(1)?
                .strip_suffix(" us")?
                .parse::<f64>()
                .ok()
        })
        .unwrap_or_else(|| panic!("fetch gave no figure: {:?}", fetch.lines()));
    let _ = fetch.wait(Duration::from_secs(30));
    us / 1e3
}

/// The owner capability server `name` printed on `node`'s console (`server NAME: CAP`).
pub fn console_capability(node: &Node, name: &str) -> Capability {
    let log = node.log();
    let prefix = format!("server {name}: ");
    let line = log.lines().find_map(|l| l.strip_prefix(prefix.as_str()));
    line.and_then(|cap| cap.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} capability on the console\n{log}"))
}
