//! Console output: `ConsoleWrite`, and the buffer behind [`print!`](crate::print) and
//! [`println!`](crate::println), which needs no heap (so it works in the panic handler too).

use core::fmt::{self, Write};

use super::{Result, raw};
use crate::syscall::Call;

/// Bytes buffered before a write; a `println!` line shorter than this is one write.
const BUFFER: usize = 512;

/// Writes all of `bytes` to the console (the kernel takes at most 4 KiB per call).
pub fn write(mut bytes: &[u8]) -> Result<()> {
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
