//! The `amoeba` commands that make RPC calls through a [`HostPeer`]: `dir ls`, `info`, `kstat`,
//! `ps`, `ping`, `echo` and `serve-echo`, with the options they share. `main.rs` flattens
//! [`PeerCommand`] and [`PeerOptions`] into its own command line and calls [`run`].
//!
//! A command's target is `NODE[/path]` ([`Target`]): on the LAN a node's name is found by the
//! link check (its answer carries the node's root directory), a capability is taken as it is.
//! With `--udp HOST:PORT` the peer talks FLIP inside UDP to that one node, and NODE must be a
//! capability (the link check is Ethernet's).

mod files;

pub use files::FileCommand;

use crate::commands::{self, RoundTrips};
use crate::entropy::{HostEntropy, random_mac};
use crate::exec::ExecOptions;
use crate::lan::{LAN_GROUP, LanSeat};
use crate::medium::{LanMedium, UdpMedium};
use crate::nodes::{self, Node};
use crate::peer::HostPeer;
use crate::target::{NodeRef, Target};
use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use libamoeba::capability::{Capability, Port};
use libamoeba::oneway::put_port;
use libamoeba::random::Entropy;
use libamoeba::rpc::transport::DEFAULT_LOCATE_TIMEOUT_MS;
use libamoeba::servers::echo::EchoServer;
use serde_json::json;
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often a node named on the command line is asked for (link check rounds).
const FIND_INTERVAL: Duration = Duration::from_millis(250);

/// Options of every RPC command.
#[derive(Args, Clone, Debug)]
pub struct PeerOptions {
    /// Talk FLIP inside UDP to the one node at HOST:PORT instead of joining the LAN (NODE must
    /// then be a capability)
    #[arg(long, value_name = "HOST:PORT", global = true)]
    pub udp: Option<String>,
    /// How long a call waits for its server to be found
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_LOCATE_TIMEOUT_MS, global = true)]
    pub locate_timeout_ms: u64,
    /// How long to look on the LAN for a node named on the command line
    #[arg(long, value_name = "MS", default_value_t = 2000, global = true)]
    pub find_ms: u64,
}

/// The RPC commands.
#[derive(Subcommand, Clone, Debug)]
pub enum PeerCommand {
    #[command(flatten)]
    Files(FileCommand),
    /// Directories
    Dir {
        #[command(subcommand)]
        command: DirCommand,
    },
    /// What an object says about itself (STD_INFO); NODE alone is its root directory
    Info {
        #[arg(value_name = "NODE[/PATH]")]
        target: Target,
    },
    /// A node's kernel statistics (KSTAT of the `sys` in its directory)
    Kstat {
        #[arg(value_name = "NODE")]
        node: Target,
    },
    /// A node's processes (its `ps` directory, with STD_INFO of each)
    Ps {
        #[arg(value_name = "NODE")]
        node: Target,
    },
    /// Timed RPC round trips (STD_INFO) to a node's root directory, or to any object
    Ping {
        #[arg(value_name = "NODE[/PATH]")]
        target: Target,
        /// Number of calls
        #[arg(long, short = 'c', value_name = "N", default_value_t = 5)]
        count: usize,
        /// Pause between calls
        #[arg(long, value_name = "MS", default_value_t = 0)]
        interval_ms: u64,
    },
    /// Timed round trips through an echo server (benchmark; see `serve-echo`)
    Echo {
        #[arg(value_name = "CAP|NODE/PATH")]
        target: Target,
        /// Bytes of data each way per call
        #[arg(long, value_name = "N", default_value_t = 0)]
        bytes: usize,
        /// Number of calls
        #[arg(long, short = 'c', value_name = "N", default_value_t = 100)]
        count: usize,
    },
    /// Start PROGRAM (a process image file, or a program's name in images/programs/) on
    /// NODE, or where the run server RUN chooses (`exec --run RUN PROGRAM`); in the
    /// foreground its output shows here, Ctrl-C ends it, and this command exits with its exit
    /// status
    Exec {
        /// NODE then PROGRAM; with --run, PROGRAM alone (NODE given too: start it there, and
        /// let RUN move it later to balance load)
        #[arg(value_name = "NODE", num_args = 1..=2, required = true)]
        places: Vec<String>,
        /// The run server that chooses the pool processor: a node's name (its `run`) or the
        /// run server's capability; the process is handed to it, which may move it to balance
        /// load
        #[arg(long, value_name = "RUN")]
        run: Option<Target>,
        /// Print the process's capability and return at once (it then writes to its node's
        /// console)
        #[arg(long)]
        detach: bool,
        /// Arguments after `--` go to the program
        #[arg(last = true, value_name = "ARGS")]
        args: Vec<String>,
    },
    /// Move a running process to another node (PROCESS: its capability, or NODE/ps/PID with
    /// a capability that holds the right to move it); prints the bytes moved, how long the
    /// process stood still and the total time
    Migrate {
        #[arg(value_name = "PROCESS")]
        process: Target,
        /// The node to move it to: its name or its root directory's capability
        #[arg(long, value_name = "NODE")]
        to: Target,
    },
    /// Run an echo server in this process and print its capability, for `amoeba echo` from
    /// another host process (the transport's ceiling, without any node)
    ServeEcho {
        /// Get-port, 12 hex digits (default: random)
        #[arg(long, value_name = "GETPORTHEX", value_parser = parse_port)]
        port: Option<Port>,
        /// Serve FLIP inside UDP on this address instead of on the LAN
        #[arg(long, value_name = "ADDR:PORT")]
        listen_udp: Option<String>,
        /// Stop after this long (default: run until killed)
        #[arg(long, value_name = "MS")]
        duration_ms: Option<u64>,
    },
}

/// `amoeba dir ...`.
#[derive(Subcommand, Clone, Debug)]
pub enum DirCommand {
    /// List a directory: NODE (its root) or NODE/path, or a directory's capability
    Ls {
        #[arg(value_name = "NODE[/PATH]")]
        target: Target,
    },
}

fn parse_port(text: &str) -> Result<Port, String> {
    text.parse()
        .map_err(|e| format!("`{text}` is not a port (12 hex digits): {e}"))
}

/// Runs `command`; `lan_port` is the LAN to join when not talking UDP.
pub fn run(
    command: PeerCommand,
    options: &PeerOptions,
    lan_port: u16,
    json: bool,
) -> Result<ExitCode> {
    let lan = Lan { port: lan_port };
    match command {
        PeerCommand::Files(command) => files::run(options, lan, command, json),
        PeerCommand::Dir {
            command: DirCommand::Ls { target },
        } => dir_ls(&open(options, lan, &target)?, json),
        PeerCommand::Info { target } => info(&open(options, lan, &target)?, json),
        PeerCommand::Kstat { node } => kstat(&open(options, lan, &node)?, json),
        PeerCommand::Ps { node } => ps(&open(options, lan, &node)?, json),
        PeerCommand::Ping {
            target,
            count,
            interval_ms,
        } => {
            let session = open(options, lan, &target)?;
            ping(&session, count, Duration::from_millis(interval_ms), json)
        }
        PeerCommand::Echo {
            target,
            bytes,
            count,
        } => echo(&open(options, lan, &target)?, bytes, count, json),
        PeerCommand::Exec {
            places,
            run,
            detach,
            args,
        } => {
            let how = ExecOptions {
                detach,
                json,
                balance: None,
            };
            exec(options, lan, &places, run.as_ref(), &args, how)
        }
        PeerCommand::Migrate { process, to } => {
            let target_root = match &to.node {
                NodeRef::Capability(cap) => *cap,
                NodeRef::Name(name) => node_directory(&lan.join()?, lan, name, options.find_ms)?,
            };
            let session = open(options, lan, &process)?;
            let to_shown = to.to_string();
            let mut path = to.path.clone();
            path.push("proc".to_string());
            let proc = commands::walk(&session.peer, target_root, &to_shown, &path);
            let proc = session.context(proc)?;
            let moved = crate::migrate::migrate(&session.peer, &session.object, &proc, &to_shown);
            let moved = session.context(moved)?;
            print_moved(&moved, &to_shown, json);
            Ok(ExitCode::SUCCESS)
        }
        PeerCommand::ServeEcho {
            port,
            listen_udp,
            duration_ms,
        } => {
            let peer = serving_peer(options, lan, listen_udp.as_deref())?;
            serve_echo(&peer, port, duration_ms.map(Duration::from_millis), json)
        }
    }
}

/// `amoeba exec`: finds where to start the program (NODE, or the node the run server
/// chooses), starts it there, and hands it to the run server if one was named.
fn exec(
    options: &PeerOptions,
    lan: Lan,
    places: &[String],
    run: Option<&Target>,
    args: &[String],
    mut how: ExecOptions,
) -> Result<ExitCode> {
    let (node, program) = match (places, run) {
        ([node, program], _) => (Some(node.as_str()), program.as_str()),
        ([program], Some(_)) => (None, program.as_str()),
        _ => bail!("give NODE and PROGRAM, or --run RUN and PROGRAM"),
    };
    // A program that is no file here but reads FILESERVER/PATH is in a file server's file.
    let program = match crate::exec::find_program(program) {
        Ok(program) => program,
        Err(_) if program.contains('/') && !std::path::Path::new(program).exists() => {
            files::program_in_files(options, lan, program)?
        }
        Err(error) => return Err(error),
    };
    let chosen = match run {
        Some(run) => {
            let mut target = run.clone();
            if let NodeRef::Name(_) = target.node {
                target.path.push("run".to_string());
            }
            let session = open(options, lan, &target)?;
            how.balance = Some(session.object);
            match node {
                Some(_) => None,
                None => {
                    let host =
                        crate::exec::choose_host(&session.peer, &session.object, &program, args);
                    Some(session.context(host)?)
                }
            }
        }
        None => None,
    };
    let target: Target = match (&chosen, node) {
        (Some(host), _) => Target {
            node: NodeRef::Name(host.name.clone()),
            path: Vec::new(),
        },
        (None, Some(node)) => node.parse().map_err(|e| anyhow!("NODE `{node}`: {e}"))?,
        (None, None) => bail!("no node to start {} on", program.name),
    };
    if let Some(host) = &chosen {
        eprintln!("amoeba: the run server chose {}", host.name);
    }
    let session = open(options, lan, &target)?;
    let result = crate::exec::exec(
        &session.peer,
        session.object,
        &session.shown,
        &program,
        args,
        &how,
    );
    session.context(result)
}

#[derive(Clone, Copy)]
struct Lan {
    port: u16,
}

impl Lan {
    fn describe(self) -> String {
        format!("the LAN at {LAN_GROUP}:{}", self.port)
    }

    fn join(self) -> Result<LanSeat> {
        LanSeat::join(self.port, random_mac())
            .with_context(|| format!("cannot join {}", self.describe()))
    }
}

/// A peer and the object a command is about.
struct Session {
    peer: HostPeer,
    /// The target's object: the node's directory, or what the path leads to.
    object: Capability,
    /// The target as given, for messages.
    shown: String,
}

impl Session {
    /// `result` with the medium and its last error, if any, as context.
    fn context<T>(&self, result: Result<T>) -> Result<T> {
        let medium = self.peer.medium().describe();
        let note = match self.peer.last_io_error() {
            Some((error, count)) => format!(" ({count} I/O errors, the last: {error})"),
            None => String::new(),
        };
        result.with_context(|| format!("calling {} over {medium}{note}", self.shown))
    }
}

/// The peer for `target`, its object found (node name resolved, path looked up).
fn open(options: &PeerOptions, lan: Lan, target: &Target) -> Result<Session> {
    let (peer, root) = match &options.udp {
        Some(address) => {
            let NodeRef::Capability(root) = target.node else {
                bail!(
                    "with --udp, NODE must be a capability (nodes are found by name with the \
                     link check, on the LAN only), not `{}`",
                    target.node
                );
            };
            let peer = resolve(address)?;
            let medium = UdpMedium::connect(peer)
                .with_context(|| format!("cannot open a UDP socket towards {peer}"))?;
            (HostPeer::new(medium), root)
        }
        None => {
            let seat = lan.join()?;
            let root = match &target.node {
                NodeRef::Capability(cap) => *cap,
                NodeRef::Name(name) => node_directory(&seat, lan, name, options.find_ms)?,
            };
            (HostPeer::new(LanMedium::new(seat)), root)
        }
    };
    peer.set_locate_timeout_ms(options.locate_timeout_ms);
    let mut session = Session {
        peer,
        object: root,
        shown: target.to_string(),
    };
    let node = target.node.to_string();
    let found = commands::walk(&session.peer, root, &node, &target.path);
    session.object = session.context(found)?;
    Ok(session)
}

/// A peer that answers whoever calls: on the LAN, or on UDP `listen` (`--udp` names a node to
/// call, so it is no place to serve).
fn serving_peer(options: &PeerOptions, lan: Lan, listen: Option<&str>) -> Result<HostPeer> {
    if options.udp.is_some() {
        bail!("serve-echo answers calls; give it --listen-udp ADDR:PORT, not --udp");
    }
    Ok(match listen {
        Some(address) => {
            let local = resolve(address)?;
            let medium =
                UdpMedium::bind(local).with_context(|| format!("cannot listen on UDP {local}"))?;
            HostPeer::new(medium)
        }
        None => HostPeer::new(LanMedium::new(lan.join()?)),
    })
}

/// The address `text` (HOST:PORT) names, IPv4 first (QEMU forwards host ports on IPv4, and
/// `localhost` may name ::1 first).
fn resolve(text: &str) -> Result<SocketAddr> {
    let addresses: Vec<SocketAddr> = text
        .to_socket_addrs()
        .with_context(|| format!("`{text}` is not a HOST:PORT address"))?
        .collect();
    let first_v4 = addresses.iter().find(|a| a.is_ipv4());
    first_v4
        .or(addresses.first())
        .copied()
        .ok_or_else(|| anyhow!("`{text}` names no address"))
}

/// The root directory of the node called `name`, from its answer to the link check.
fn node_directory(seat: &LanSeat, lan: Lan, name: &str, find_ms: u64) -> Result<Capability> {
    let wait = Duration::from_millis(find_ms);
    let found = nodes::find_named(seat, name, wait, FIND_INTERVAL)
        .with_context(|| format!("cannot send on {}", lan.describe()))?;
    let node = found.map_err(|seen| unknown_node(name, lan, find_ms, &seen))?;
    node.directory.ok_or_else(|| {
        anyhow!(
            "node {name} ({}) answered on {} without a directory capability (does it run \
             the directory server?)",
            libamoeba::ethernet::MacText(&node.mac),
            lan.describe()
        )
    })
}

fn unknown_node(name: &str, lan: Lan, find_ms: u64, seen: &[Node]) -> anyhow::Error {
    let seen = if seen.is_empty() {
        "no node answered".to_string()
    } else {
        let names: Vec<&str> = seen.iter().map(|n| n.name.as_str()).collect();
        format!("nodes seen: {}", names.join(", "))
    };
    anyhow!(
        "no node named {name} answered on {} within {find_ms} ms ({seen})",
        lan.describe()
    )
}

fn dir_ls(session: &Session, json: bool) -> Result<ExitCode> {
    let entries = commands::list(&session.peer, &session.object, &session.shown);
    let entries = session.context(entries)?;
    if json {
        println!("{}", commands::entries_json(&entries));
    } else {
        print!("{}", commands::entries_text(&entries));
    }
    Ok(ExitCode::SUCCESS)
}

fn info(session: &Session, json: bool) -> Result<ExitCode> {
    let text = commands::info(&session.peer, &session.object, &session.shown);
    let text = session.context(text)?;
    if json {
        let capability = session.object.to_string();
        println!("{}", json!({ "capability": capability, "info": text }));
    } else {
        println!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}

fn kstat(session: &Session, json: bool) -> Result<ExitCode> {
    let stats = commands::kstat(&session.peer, session.object, &session.shown);
    let stats = session.context(stats)?;
    if json {
        println!("{}", commands::kstat_json(&stats));
    } else {
        print!("{}", commands::kstat_text(&stats));
    }
    Ok(ExitCode::SUCCESS)
}

fn ps(session: &Session, json: bool) -> Result<ExitCode> {
    let processes = commands::ps(&session.peer, session.object, &session.shown);
    let processes = session.context(processes)?;
    if json {
        println!("{}", commands::processes_json(&processes));
    } else {
        print!("{}", commands::processes_text(&processes));
    }
    Ok(ExitCode::SUCCESS)
}

fn ping(session: &Session, count: usize, interval: Duration, json: bool) -> Result<ExitCode> {
    let mut buffer = vec![0; commands::INFO_BYTES];
    let trips = RoundTrips::measure(count, interval, || {
        libamoeba::client::std_info(&session.peer, &session.object, &mut buffer).map(drop)
    });
    if json {
        let mut value = trips.to_json();
        value["target"] = json!(session.shown);
        println!("{value}");
    } else {
        println!("STD_INFO round trips to {}", session.shown);
        print!("{}", trips.to_text());
    }
    Ok(outcome(&trips))
}

fn echo(session: &Session, bytes: usize, count: usize, json: bool) -> Result<ExitCode> {
    let data: Vec<u8> = (0..bytes).map(|i| (i % 251) as u8).collect();
    let trips = RoundTrips::measure(count, Duration::ZERO, || {
        commands::echo_once(&session.peer, &session.object, &data)
    });
    let summary = trips.summary();
    let rate = summary.map(|s| commands::throughput(bytes, &s));
    if json {
        let mut value = trips.to_json();
        value["target"] = json!(session.shown);
        value["bytes"] = json!(bytes);
        value["throughput_bytes_per_s"] = json!(rate);
        println!("{value}");
    } else {
        println!("echo of {bytes} bytes through {}", session.shown);
        print!("{}", trips.to_text());
        if let Some(rate) = rate.filter(|_| bytes > 0) {
            println!("{:.3} MB/s of data each way", rate / 1e6);
        }
    }
    Ok(outcome(&trips))
}

fn print_moved(moved: &crate::migrate::Moved, node: &str, json: bool) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    if json {
        let value = json!({
            "process": moved.process.to_string(), "node": node, "bytes": moved.bytes,
            "freeze_ms": ms(moved.freeze), "total_ms": ms(moved.total),
        });
        println!("{value}");
    } else {
        println!("{}", moved.process);
        println!(
            "moved to {node}: {} bytes, stood still {:.1} ms, {:.1} ms in all",
            moved.bytes,
            ms(moved.freeze),
            ms(moved.total)
        );
    }
}

fn outcome(trips: &RoundTrips) -> ExitCode {
    if trips.all_answered() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Serves echo on `peer` for `duration` or for ever; prints the capability first.
fn serve_echo(
    peer: &HostPeer,
    get_port: Option<Port>,
    duration: Option<Duration>,
    json: bool,
) -> Result<ExitCode> {
    let get_port = get_port.unwrap_or_else(|| Port(HostEntropy.nonzero48()));
    let (server, owner) = EchoServer::new(put_port(get_port), &mut HostEntropy);
    peer.attach(get_port, server);
    let medium = peer.medium().describe();
    if json {
        let address = peer.address().to_string();
        println!(
            "{}",
            json!({ "capability": owner.to_string(), "flip_address": address, "medium": medium })
        );
    } else {
        println!("{owner}");
    }
    std::io::stdout()
        .flush()
        .context("writing the capability")?;
    eprintln!("amoeba: echo server on {medium}; stop it with Ctrl-C");
    let stop = Arc::new(AtomicBool::new(false));
    if let Some(duration) = duration {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            std::thread::sleep(duration);
            stop.store(true, Ordering::Relaxed);
        });
    }
    peer.serve_until(&stop);
    Ok(ExitCode::SUCCESS)
}
