//! `amoeba exec NODE PROGRAM [-- ARGS...]`: starts a program on a node as Amoeba's creators do.
//!
//! The program's process image is laid out here (`libamoeba::process::exec_plan`: the
//! environment on top of the main stack), each segment with contents goes to the node's process
//! server by PS_SEG_CREATE and PS_SEG_WRITE, and PS_EXEC starts a process of the descriptor
//! naming those segments. In the foreground this host process is the new process's owner and
//! its TTY: the process's output is printed here, lines typed here reach its reads (TTY_READ),
//! its end arrives as a PS_CHECKPOINT and
//! becomes this command's exit status, and Ctrl-C ends the process. With `--detach` the process
//! gets its node's TTY and no owner, and the command prints its capability and returns.
//!
//! PROGRAM is a process image file, or the name of a program of `programs/`, found as
//! `images/programs/NAME.process` (what `amoeba-build programs` writes) in the current
//! directory or one above it, or in `$AMOEBA_PROGRAMS`; or `FILESERVER/PATH`, a file server's
//! file holding an uncompressed image (`amoeba put --program`): then the descriptor names
//! the file's segments in place and the node reads them from the file server by BS_READ,
//! without a copy through this host; only the environment on the stack is sent from here.

use crate::commands::rpc_context;
use crate::entropy::HostEntropy;
use crate::peer::HostPeer;
use anyhow::{Context, Result, anyhow, bail};
use libamoeba::capability::{Capability, Port};
use libamoeba::client::{self, ChosenHost};
use libamoeba::oneway::put_port;
use libamoeba::process::environment;
use libamoeba::process::image::{MAX_IMAGE_BYTES, ProcessImage, decode_image};
use libamoeba::process::{ArchMagic, ExecPlan, ProcessDescriptor, SegmentType};
use libamoeba::process::{decode_inflated_head, plan_exec, plan_exec_in_place};
use libamoeba::random::Entropy;
use libamoeba::servers::proc::owner::{CheckpointSink, OwnerServer};
use libamoeba::servers::proc::{Checkpoint, Termination};
use libamoeba::servers::tty::{Console, Input, TtyServer};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where `amoeba-build programs` puts the process images, below the repository root.
const PROGRAMS_DIR: &str = "images/programs";
/// Most bytes of a process descriptor (5.3's bound): what is read of a program's file to
/// learn its segments.
const MAX_DESCRIPTOR_BYTES: usize = 30_000;
/// The exit status of a command whose process was ended by Ctrl-C (128 + SIGINT).
const INTERRUPTED: u8 = 130;
/// How often a process in the foreground is asked after.
const PROBE_INTERVAL: Duration = Duration::from_secs(2);
/// Unanswered questions in a row after which the process counts as lost (a move between two
/// nodes leaves the old capability unanswered for a moment, never this long).
const LOST_AFTER: u32 = 5;
/// The exit status of a command whose process was lost with its node.
const LOST: u8 = 125;
/// How long to wait after Ctrl-C for the process's end to be confirmed.
const KILL_CONFIRM: Duration = Duration::from_secs(10);

/// A program to start: its name (argv[0] and what `ps` shows) and its image file's bytes,
/// or the file server's file that holds it uncompressed.
pub struct Program {
    pub name: String,
    pub image: Vec<u8>,
    pub file: PathBuf,
    /// The program is in this file of a file server, uncompressed, with this descriptor at
    /// its start: the node reads the segments there, nothing of them passes through here.
    pub in_place: Option<(Capability, ProcessDescriptor)>,
}

/// The program in the file server's file `file` (called `shown`), which holds an
/// uncompressed process image (what `amoeba put --program` and the builder's disks store).
pub fn program_in_file(peer: &HostPeer, file: Capability, shown: &str) -> Result<Program> {
    let size = rpc_context(client::bs_size(peer, &file), || format!("sizing {shown}"))?;
    let mut head = vec![0; (size as usize).min(MAX_DESCRIPTOR_BYTES)];
    let got = rpc_context(client::bs_read(peer, &file, 0, &mut head), || {
        format!("reading the descriptor of {shown}")
    })?;
    head.truncate(got);
    if head.starts_with(&[0x1F, 0x8B]) {
        bail!(
            "{shown} is a compressed process image: a node cannot read its segments in place; \
             store it with `amoeba put --program`"
        );
    }
    let descriptor = decode_inflated_head(&head, size as usize, ArchMagic::X86_64)
        .map_err(|e| anyhow!("{shown} is not a process image for x86_64: {e}"))?;
    let name = shown.rsplit('/').next().unwrap_or(shown).to_string();
    Ok(Program {
        name,
        image: Vec::new(),
        file: PathBuf::from(shown),
        in_place: Some((file, descriptor)),
    })
}

/// The image PROGRAM names: a file, or a program's name looked up in the program images.
pub fn find_program(program: &str) -> Result<Program> {
    let as_file = Path::new(program);
    let file =
        if as_file.is_file() {
            as_file.to_path_buf()
        } else {
            let candidates = program_candidates(program);
            candidates.iter().find(|c| c.is_file()).cloned().ok_or_else(|| {
            let tried: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
            anyhow!(
                "`{program}` is neither a process image file nor a built program (tried {}); \
                 build the programs with `amoeba-build programs`",
                tried.join(", ")
            )
        })?
        };
    let image = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let name = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(program)
        .to_string();
    Ok(Program {
        name,
        image,
        file,
        in_place: None,
    })
}

fn program_candidates(name: &str) -> Vec<PathBuf> {
    let file = format!("{name}.process");
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("AMOEBA_PROGRAMS") {
        candidates.push(PathBuf::from(dir).join(&file));
    }
    if let Ok(here) = std::env::current_dir() {
        for dir in here.ancestors() {
            candidates.push(dir.join(PROGRAMS_DIR).join(&file));
        }
    }
    candidates
}

/// The capabilities a new process finds in its environment.
struct Standard {
    tty: Capability,
    random: Capability,
    tod: Capability,
    root: Capability,
}

/// `name` in `dir`, or null if the node has no such server.
fn optional(peer: &HostPeer, dir: &Capability, name: &str) -> Capability {
    client::dir_lookup(peer, dir, name).unwrap_or(Capability::NULL)
}

/// The environment `program` starts with: its arguments and the standard capabilities.
fn environment_of(program: &Program, args: &[String], standard: &Standard) -> Vec<u8> {
    let mut argv = vec![program.name.as_str()];
    argv.extend(args.iter().map(String::as_str));
    let caps = [
        (environment::TTY, standard.tty),
        (environment::RANDOM, standard.random),
        (environment::TOD, standard.tod),
        (environment::ROOT, standard.root),
    ];
    environment::encode(&argv, &caps, &["TERM=amoeba"])
}

fn decoded(program: &Program) -> Result<ProcessImage> {
    decode_image(&program.image, ArchMagic::X86_64, MAX_IMAGE_BYTES).map_err(|e| {
        anyhow!(
            "{} is not a process image for x86_64: {e}",
            program.file.display()
        )
    })
}

/// The plan `program` starts by: its image decoded here (into `image`), or read in place.
fn plan_of<'a>(
    program: &'a Program,
    image: &'a mut Option<ProcessImage>,
    env: &'a [u8],
) -> Result<ExecPlan<'a>> {
    let plan = match &program.in_place {
        Some((file, descriptor)) => plan_exec_in_place(descriptor, *file, env),
        None => plan_exec(image.insert(decoded(program)?), env),
    };
    plan.map_err(|e| anyhow!("cannot start {}: {e}", program.name))
}

/// Asks the run server `run` which pool processor should run `program` (its descriptor as it
/// would start, segments not sent yet: the server weighs the memory it needs).
pub fn choose_host(
    peer: &HostPeer,
    run: &Capability,
    program: &Program,
    args: &[String],
) -> Result<ChosenHost> {
    let nothing = Standard {
        tty: Capability::NULL,
        random: Capability::NULL,
        tod: Capability::NULL,
        root: Capability::NULL,
    };
    let env = environment_of(program, args, &nothing);
    let mut image = None;
    let plan = plan_of(program, &mut image, &env)?;
    rpc_context(client::run_findhost(peer, run, &plan.descriptor), || {
        format!(
            "asking the run server where to run {} (RUN_MULTI_FINDHOST)",
            program.name
        )
    })
}

/// Sends every segment of `program` with contents to `proc`, and returns the descriptor naming
/// them, owned by `owner`.
fn send_segments(
    peer: &HostPeer,
    proc: &Capability,
    program: &Program,
    args: &[String],
    standard: &Standard,
    owner: Capability,
) -> Result<ProcessDescriptor> {
    let env = environment_of(program, args, standard);
    let mut image = None;
    let plan = plan_of(program, &mut image, &env)?;
    let mut descriptor = plan.descriptor;
    descriptor.owner_cap = owner;
    for (index, (segment, start)) in descriptor
        .segments
        .iter_mut()
        .zip(&plan.contents)
        .enumerate()
    {
        if start.bytes.is_empty() {
            continue;
        }
        let doing = || {
            format!(
                "sending segment {index} ({} bytes) of {}",
                segment.length, program.name
            )
        };
        let cap = rpc_context(client::ps_seg_create(peer, proc, segment.length), doing)?;
        rpc_context(
            client::ps_seg_write(peer, &cap, start.at as u64, start.bytes),
            doing,
        )?;
        segment.cap = cap;
        segment.kind = segment.kind | SegmentType::AND_DESTROY;
    }
    Ok(descriptor)
}

/// What was typed on this command's stdin and not read yet, and whether stdin ended.
#[derive(Default)]
struct Typed {
    bytes: std::collections::VecDeque<u8>,
    ended: bool,
}

/// The process's TTY here: its output printed on stdout, stdin read as it is typed (by a
/// thread of its own, so the peer never waits for the keyboard).
struct Terminal {
    typed: Arc<Mutex<Typed>>,
}

impl Terminal {
    fn new() -> Self {
        let typed = Arc::new(Mutex::new(Typed::default()));
        let filled = Arc::clone(&typed);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 1024];
            let mut stdin = std::io::stdin().lock();
            loop {
                let got = std::io::Read::read(&mut stdin, &mut buffer).unwrap_or(0);
                let mut typed = locked(&filled);
                if got == 0 {
                    typed.ended = true;
                    return;
                }
                typed.bytes.extend(&buffer[..got]);
            }
        });
        Self { typed }
    }
}

impl Console for Terminal {
    fn write(&mut self, bytes: &[u8]) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(bytes);
        let _ = out.flush();
    }

    fn read(&mut self, buffer: &mut [u8]) -> Input {
        let mut typed = locked(&self.typed);
        let n = buffer.len().min(typed.bytes.len());
        for (slot, byte) in buffer.iter_mut().zip(typed.bytes.drain(..n)) {
            *slot = byte;
        }
        match (n, typed.ended) {
            (0, true) => Input::End,
            (0, false) => Input::Nothing,
            (n, _) => Input::Bytes(n),
        }
    }
}

/// Where the owner server leaves the checkpoints it receives, and the capability of the
/// process as it runs now (a migration changes it); `wake` is set with each news.
#[derive(Clone, Default)]
struct Inbox {
    checkpoints: Arc<Mutex<Vec<Checkpoint>>>,
    current: Arc<Mutex<Capability>>,
    wake: Arc<AtomicBool>,
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The same process object (rights aside).
fn same_object(a: &Capability, b: &Capability) -> bool {
    a.port == b.port && a.object == b.object
}

impl CheckpointSink for Inbox {
    fn receive(&mut self, checkpoint: Checkpoint) {
        locked(&self.checkpoints).push(checkpoint);
        self.wake.store(true, Ordering::Relaxed);
    }

    fn swap(&mut self, old: Capability, new: Capability) {
        let mut current = locked(&self.current);
        if same_object(&current, &old) {
            *current = new;
        }
        self.wake.store(true, Ordering::Relaxed);
    }
}

impl Inbox {
    /// The process as it runs now.
    fn process(&self) -> Capability {
        *locked(&self.current)
    }

    /// How the process ended, if its checkpoint came.
    fn ending(&self) -> Option<Termination> {
        let current = self.process();
        let inbox = locked(&self.checkpoints);
        inbox
            .iter()
            .find(|c| same_object(&c.process(), &current))
            .map(|c| c.termination)
    }
}

/// A server of this process on `peer` at a fresh random port.
fn serve_here<S: libamoeba::rpc::server::Server + Send + 'static>(
    peer: &HostPeer,
    make: impl FnOnce(Port) -> (S, Capability),
) -> Capability {
    let get = Port(HostEntropy.nonzero48());
    let (server, cap) = make(put_port(get));
    peer.attach(get, server);
    cap
}

/// How `amoeba exec` runs a program.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExecOptions {
    /// Print the capability and return, instead of owning the process.
    pub detach: bool,
    pub json: bool,
    /// A run server to hand the process to, which may move it to balance load.
    pub balance: Option<Capability>,
}

/// Starts `program` with `args` on the node whose root directory is `root`.
pub fn exec(
    peer: &HostPeer,
    root: Capability,
    node: &str,
    program: &Program,
    args: &[String],
    options: &ExecOptions,
) -> Result<ExitCode> {
    let ExecOptions {
        detach,
        json,
        balance,
    } = *options;
    let proc = rpc_context(client::dir_lookup(peer, &root, "proc"), || {
        format!("looking up `proc` in {node}")
    })?;
    let inbox = Inbox::default();
    let (tty, owner) = if detach {
        (optional(peer, &root, "tty"), Capability::NULL)
    } else {
        let tty = serve_here(peer, |port| {
            TtyServer::new(port, &mut HostEntropy, Terminal::new())
        });
        let sink = inbox.clone();
        let owner = serve_here(peer, |port| OwnerServer::new(port, &mut HostEntropy, sink));
        (tty, owner)
    };
    let standard = Standard {
        tty,
        random: optional(peer, &root, "random"),
        tod: optional(peer, &root, "tod"),
        root,
    };
    let started = Instant::now();
    let descriptor = send_segments(peer, &proc, program, args, &standard, owner)?;
    let process = rpc_context(client::ps_exec(peer, &proc, &descriptor), || {
        format!("starting {} on {node} (PS_EXEC)", program.name)
    })?;
    *locked(&inbox.current) = process;
    // Only the name `ps` shows: a node that refuses it runs the process all the same.
    let _ = client::ps_setcomment(peer, &process, &program.name);
    let exec_time = started.elapsed();
    if let Some(run) = balance
        && let Err(error) = client::run_balance(peer, &run, &process)
    {
        // The process runs all the same, where it was started.
        eprintln!(
            "amoeba: warning: {error} handing {} to the run server (RUN_BALANCE): it will not \
             be moved to balance load",
            program.name
        );
    }
    if detach {
        if json {
            let value = serde_json::json!({
                "process": process.to_string(), "node": node, "program": program.name,
                "exec_ms": exec_time.as_secs_f64() * 1e3,
            });
            println!("{value}");
        } else {
            println!("{process}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "amoeba: {} started on {node} in {:.1} ms ({process})",
        program.name,
        exec_time.as_secs_f64() * 1e3
    );
    wait_for_end(peer, &inbox, &program.name, node)
}

/// Serves the TTY and the owner until the process ends (or Ctrl-C ends it); the exit status.
/// Meanwhile the process is asked after now and then: a node that died with it sends no
/// checkpoint, and the command says the process was lost instead of waiting for ever.
fn wait_for_end(peer: &HostPeer, inbox: &Inbox, name: &str, node: &str) -> Result<ExitCode> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let (flag, wake) = (Arc::clone(&interrupted), Arc::clone(&inbox.wake));
    ctrlc::set_handler(move || {
        flag.store(true, Ordering::Relaxed);
        wake.store(true, Ordering::Relaxed);
    })
    .context("installing the Ctrl-C handler")?;
    let _ticks = Ticks::start(Arc::clone(&inbox.wake), PROBE_INTERVAL);
    let mut unanswered = 0;
    let mut last_probe = Instant::now();
    loop {
        if let Some(ending) = inbox.ending() {
            return Ok(exit_status(ending, name));
        }
        if interrupted.load(Ordering::Relaxed) {
            return end_on_interrupt(peer, inbox, name, node);
        }
        if last_probe.elapsed() >= PROBE_INTERVAL {
            last_probe = Instant::now();
            match client::ps_getowner(peer, &inbox.process()) {
                Ok(_) => unanswered = 0,
                Err(error) if unanswered + 1 >= LOST_AFTER => {
                    eprintln!(
                        "amoeba: {name} was lost: {error} asking after it (PS_GETOWNER) \
                         {LOST_AFTER} times in a row; the node it ran on (started on {node}) \
                         may have stopped"
                    );
                    return Ok(ExitCode::from(LOST));
                }
                Err(_) => unanswered += 1,
            }
        }
        inbox.wake.store(false, Ordering::Relaxed);
        if inbox.ending().is_none() {
            peer.serve_until(&inbox.wake);
        }
    }
}

/// A thread that sets `wake` every `interval` until dropped.
struct Ticks(Arc<AtomicBool>);

impl Ticks {
    fn start(wake: Arc<AtomicBool>, interval: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(interval);
                wake.store(true, Ordering::Relaxed);
            }
        });
        Self(stop)
    }
}

impl Drop for Ticks {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Ctrl-C: ends the process and waits (at most [`KILL_CONFIRM`]) for its end to arrive.
fn end_on_interrupt(peer: &HostPeer, inbox: &Inbox, name: &str, node: &str) -> Result<ExitCode> {
    eprintln!("amoeba: interrupted: ending {name} (started on {node})");
    let killed = client::std_destroy(peer, &inbox.process());
    let deadline = Arc::new(AtomicBool::new(false));
    let (timer, wake) = (Arc::clone(&deadline), Arc::clone(&inbox.wake));
    std::thread::spawn(move || {
        std::thread::sleep(KILL_CONFIRM);
        timer.store(true, Ordering::Relaxed);
        wake.store(true, Ordering::Relaxed);
    });
    while inbox.ending().is_none() && !deadline.load(Ordering::Relaxed) {
        inbox.wake.store(false, Ordering::Relaxed);
        peer.serve_until(&inbox.wake);
    }
    match (killed, inbox.ending()) {
        (_, Some(_)) | (Ok(()), None) => Ok(ExitCode::from(INTERRUPTED)),
        (Err(error), None) => bail!("ending {name} on {node} after Ctrl-C: {error}"),
    }
}

/// The command's exit status for the process's end: its own status, as a shell shows it.
fn exit_status(ending: Termination, name: &str) -> ExitCode {
    match ending {
        Termination::Exited(status) => ExitCode::from((status & 0xff) as u8),
        Termination::Stunned(code) => {
            eprintln!("amoeba: {name} was stopped (code {code})");
            ExitCode::FAILURE
        }
        Termination::Exception(number) => {
            eprintln!("amoeba: {name} was ended by a fault (exception {number})");
            ExitCode::FAILURE
        }
    }
}
