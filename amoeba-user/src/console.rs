//! Console output, and the buffer behind [`print!`](crate::print) and
//! [`println!`](crate::println), which needs no heap (so it works in the panic handler too).
//!
//! Text goes to the node's tty server by RPC when the process's environment has a TTY
//! capability (the runtime registers it with [`use_tty`]); on a node without a tty server, or if
//! the server refuses, it goes through the kernel's `ConsoleWrite` call.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::rpc::UserRpc;
use super::{Result, raw};
use libamoeba::capability::Capability;
use libamoeba::client;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::syscall::Call;

/// The TTY capability as two halves of its 16 bytes, once [`use_tty`] set it.
static TTY_LOW: AtomicU64 = AtomicU64::new(0);
static TTY_HIGH: AtomicU64 = AtomicU64::new(0);
static TTY_SET: AtomicBool = AtomicBool::new(false);

/// Sends console output to the tty server `tty` from now on.
pub fn use_tty(tty: &Capability) {
    let bytes = tty.to_bytes();
    let [low, high] = [0, 8].map(|at| {
        let mut half = [0; 8];
        half.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(half)
    });
    TTY_LOW.store(low, Ordering::Relaxed);
    TTY_HIGH.store(high, Ordering::Relaxed);
    TTY_SET.store(!tty.is_null(), Ordering::Release);
}

fn tty() -> Option<Capability> {
    if !TTY_SET.load(Ordering::Acquire) {
        return None;
    }
    let mut bytes = [0; 16];
    bytes[..8].copy_from_slice(&TTY_LOW.load(Ordering::Relaxed).to_le_bytes());
    bytes[8..].copy_from_slice(&TTY_HIGH.load(Ordering::Relaxed).to_le_bytes());
    Some(Capability::from_array(&bytes))
}

/// Writes all of `bytes`: through the tty server if there is one, else the kernel console.
/// What the server did not take goes to the kernel console; a server that is gone is not
/// asked again (each ask would wait for the locate timeout).
pub fn write(bytes: &[u8]) -> Result<()> {
    let Some(tty) = tty() else {
        return write_to_kernel_console(bytes);
    };
    match client::tty_write(&UserRpc, &tty, bytes) {
        Ok(written) => write_to_kernel_console(bytes.get(written..).unwrap_or_default()),
        Err(error) => {
            if error == ErrorCode::RPC_NOTFOUND {
                TTY_SET.store(false, Ordering::Release);
            }
            // Chunks the server took before the error may show twice; none is lost.
            write_to_kernel_console(bytes)
        }
    }
}

/// How long a [`LineReader`] waits before asking the tty server again when nothing was typed.
const READ_POLL: core::time::Duration = core::time::Duration::from_millis(20);

/// Lines typed at the process's TTY, one at a time: what a read brought beyond a line's end
/// waits here for the next line.
pub struct LineReader {
    pending: [u8; 1024],
    start: usize,
    end: usize,
    ended: bool,
}

impl Default for LineReader {
    fn default() -> Self {
        Self::new()
    }
}

impl LineReader {
    pub const fn new() -> Self {
        Self {
            pending: [0; 1024],
            start: 0,
            end: 0,
            ended: false,
        }
    }

    /// The next line (without its newline) in `line`, cut at the buffer's end; `None` at the
    /// end of input, or without a tty server. Waits for it to be typed.
    pub fn next_line(&mut self, line: &mut [u8]) -> Option<usize> {
        let tty = tty()?;
        let mut len = 0;
        loop {
            while self.start < self.end {
                let byte = self.pending[self.start];
                self.start += 1;
                if byte == b'\n' {
                    return Some(len);
                }
                if len < line.len() {
                    line[len] = byte;
                    len += 1;
                }
            }
            if self.ended {
                return (len > 0).then_some(len);
            }
            self.start = 0;
            self.end = 0;
            match client::tty_read(&UserRpc, &tty, &mut self.pending).ok()? {
                libamoeba::servers::tty::Input::Bytes(n) => self.end = n.min(self.pending.len()),
                libamoeba::servers::tty::Input::Nothing => super::thread::sleep(READ_POLL),
                libamoeba::servers::tty::Input::End => self.ended = true,
            }
        }
    }
}

/// Bytes buffered before a write; a `println!` line shorter than this is one write.
const BUFFER: usize = 512;

/// Writes all of `bytes` with `ConsoleWrite` (the kernel takes at most 4 KiB per call).
pub fn write_to_kernel_console(mut bytes: &[u8]) -> Result<()> {
    while !bytes.is_empty() {
        // SAFETY: ConsoleWrite only reads `bytes`, which the kernel checks lie in our memory.
        let written = unsafe {
            raw::syscall2(
                Call::ConsoleWrite,
                bytes.as_ptr() as u64,
                bytes.len() as u64,
            )
        }?;
        let written = usize::try_from(written)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        if written == 0 {
            break;
        }
        bytes = &bytes[written..];
    }
    Ok(())
}

/// Text gathered on the stack and written in as few calls as possible.
pub struct ConsoleBuffer {
    bytes: [u8; BUFFER],
    len: usize,
}

impl ConsoleBuffer {
    pub const fn new() -> Self {
        Self {
            bytes: [0; BUFFER],
            len: 0,
        }
    }

    /// Writes what is buffered.
    pub fn flush(&mut self) {
        // Console output has nowhere to report its own failure.
        let _ = write(&self.bytes[..self.len]);
        self.len = 0;
    }
}

impl Default for ConsoleBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for ConsoleBuffer {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut text = text.as_bytes();
        while !text.is_empty() {
            if self.len == BUFFER {
                self.flush();
            }
            let take = text.len().min(BUFFER - self.len);
            self.bytes[self.len..self.len + take].copy_from_slice(&text[..take]);
            self.len += take;
            text = &text[take..];
        }
        Ok(())
    }
}

/// What [`print!`](crate::print) calls.
#[doc(hidden)]
pub fn print_args(args: fmt::Arguments<'_>) {
    let mut buffer = ConsoleBuffer::new();
    let _ = buffer.write_fmt(args);
    buffer.flush();
}

/// What [`println!`](crate::println) calls.
#[doc(hidden)]
pub fn print_line(args: fmt::Arguments<'_>) {
    let mut buffer = ConsoleBuffer::new();
    let _ = buffer.write_fmt(args);
    let _ = buffer.write_str("\n");
    buffer.flush();
}
