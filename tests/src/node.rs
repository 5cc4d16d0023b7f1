//! One QEMU guest and its serial console.

use libamoeba::boot::ExitCode;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Extra seconds `timeout` waits after its own limit before SIGKILL.
const KILL_GRACE: &str = "5";

/// Why a node did not do what the test waited for; its text carries the whole serial log.
#[derive(Debug)]
pub enum NodeFailure {
    Timeout {
        waited_for: String,
        after: Duration,
        log: String,
    },
    Exited {
        waited_for: String,
        status: ExitStatus,
        log: String,
    },
    Spawn(String),
}

impl std::fmt::Display for NodeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout {
                waited_for,
                after,
                log,
            } => write!(
                f,
                "node did not show {waited_for:?} within {after:?}; it was killed.\n--- serial log ---\n{log}--- end ---"
            ),
            Self::Exited {
                waited_for,
                status,
                log,
            } => write!(
                f,
                "node exited ({}) before showing {waited_for:?}.\n--- serial log ---\n{log}--- end ---",
                describe(*status)
            ),
            Self::Spawn(message) => write!(f, "could not start QEMU: {message}"),
        }
    }
}

/// An exit status in words: which kernel exit code it is, if any.
pub fn describe(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => match ExitCode::from_qemu_status(code) {
            Some(kernel_code) => format!("status {code}: {}", kernel_code.describe()),
            None => format!("status {code}: not a kernel exit code"),
        },
        None => "killed by a signal".to_string(),
    }
}

pub struct Node {
    child: Child,
    lines: Receiver<String>,
    log: Arc<Mutex<String>>,
    deadline: Instant,
    limit: Duration,
}

impl Node {
    /// Starts `qemu` (a QEMU command whose serial console is on stdout) with a hard limit.
    pub fn start(qemu: &Command, limit: Duration) -> Result<Node, NodeFailure> {
        let mut wrapped = Command::new("timeout");
        wrapped
            .arg(format!("--kill-after={KILL_GRACE}"))
            .arg(limit.as_secs().max(1).to_string())
            .arg(qemu.get_program())
            .args(qemu.get_args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A group of its own: `kill` reaches QEMU itself, not only the `timeout` wrapper
            // (killed alone, the wrapper would leave QEMU running until its own limit).
            .process_group(0);
        if let Some(dir) = qemu.get_current_dir() {
            wrapped.current_dir(dir);
        }
        let mut child = wrapped
            .spawn()
            .map_err(|e| NodeFailure::Spawn(e.to_string()))?;
        let log = Arc::new(Mutex::new(String::new()));
        let (sender, lines) = mpsc::channel();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let (sender, log) = (sender.clone(), Arc::clone(&log));
            std::thread::spawn(move || forward_lines(stream, &sender, &log));
        }
        Ok(Node {
            child,
            lines,
            log,
            deadline: Instant::now() + limit,
            limit,
        })
    }

    /// Waits until a console line contains `text`; returns that line.
    pub fn wait_for(&mut self, text: &str) -> Result<String, NodeFailure> {
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return Ok(line),
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => return Err(self.timed_out(text)),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.wait_for_exit_status()?;
                    return Err(NodeFailure::Exited {
                        waited_for: text.into(),
                        status,
                        log: self.log(),
                    });
                }
            }
        }
    }

    /// Waits for QEMU to exit (within the limit) and returns its status.
    pub fn wait_for_exit(&mut self) -> Result<ExitStatus, NodeFailure> {
        self.wait_for_exit_status()
    }

    fn wait_for_exit_status(&mut self) -> Result<ExitStatus, NodeFailure> {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    // The reader threads end with the pipes; give them a moment to pass the tail.
                    std::thread::sleep(Duration::from_millis(50));
                    return Ok(status);
                }
                Ok(None) if Instant::now() < self.deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(None) => return Err(self.timed_out("the node to exit")),
                Err(e) => return Err(NodeFailure::Spawn(e.to_string())),
            }
        }
    }

    fn timed_out(&mut self, waited_for: &str) -> NodeFailure {
        self.kill();
        NodeFailure::Timeout {
            waited_for: waited_for.into(),
            after: self.limit,
            log: self.log(),
        }
    }

    /// Everything the node printed so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }

    /// Stops the guest. SIGTERM goes to `timeout`, which passes it on to QEMU (a SIGKILL would
    /// kill only `timeout` and orphan QEMU); SIGKILL follows if that is not enough.
    pub fn kill(&mut self) {
        // The wrapper leads the group (`process_group(0)` above): its id is the group's.
        let group = format!("-{}", self.child.id());
        let signal_group = |signal: &str| {
            // A group already gone is no news: its complaint is not shown.
            let _ = Command::new("kill")
                .args([signal, "--", &group])
                .stderr(Stdio::null())
                .status();
        };
        if matches!(self.child.try_wait(), Ok(None)) {
            signal_group("-TERM");
            let grace = Instant::now() + Duration::from_secs(3);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < grace {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // QEMU may outlive a wrapper that ended: whatever is left of the group goes.
        signal_group("-KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

fn forward_lines(
    stream: Box<dyn std::io::Read + Send>,
    sender: &mpsc::Sender<String>,
    log: &Mutex<String>,
) {
    for line in BufReader::new(stream).split(b'\n').map_while(Result::ok) {
        let line = String::from_utf8_lossy(&line)
            .trim_end_matches('\r')
            .to_string();
        if let Ok(mut log) = log.lock() {
            log.push_str(&line);
            log.push('\n');
        }
        if sender.send(line).is_err() {
            return;
        }
    }
}
