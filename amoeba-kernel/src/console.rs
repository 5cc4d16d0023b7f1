//! The kernel console: everything the kernel says goes to the serial port.

use crate::drivers::serial::{Uart16550, console_uart};
use core::fmt::{Arguments, Write};
use spin::Mutex;

static CONSOLE: Mutex<Uart16550> = Mutex::new(console_uart());
/// The newest console output, for the sys server's PRINTBUF.
static HISTORY: Mutex<History> = Mutex::new(History::new());

/// Bytes of console output kept.
const HISTORY_BYTES: usize = 16 * 1024;

/// A ring of the newest [`HISTORY_BYTES`] bytes written.
struct History {
    bytes: [u8; HISTORY_BYTES],
    /// Bytes ever written; the next goes at `written % HISTORY_BYTES`.
    written: usize,
}

impl History {
    const fn new() -> Self {
        Self {
            bytes: [0; HISTORY_BYTES],
            written: 0,
        }
    }

    fn push(&mut self, text: &str) {
        for &byte in text.as_bytes() {
            self.bytes[self.written % HISTORY_BYTES] = byte;
            self.written = self.written.wrapping_add(1);
        }
    }

    /// Copies the newest bytes that fit `out`, oldest first; returns how many.
    #[cfg(feature = "server-sys")]
    fn newest(&self, out: &mut [u8]) -> usize {
        let kept = self.written.min(HISTORY_BYTES).min(out.len());
        let start = self.written - kept;
        for (i, byte) in out[..kept].iter_mut().enumerate() {
            *byte = self.bytes[(start + i) % HISTORY_BYTES];
        }
        kept
    }
}

/// Copies the newest console output that fits `out`, oldest first; returns its length.
#[cfg(feature = "server-sys")]
pub fn history(out: &mut [u8]) -> usize {
    HISTORY.lock().newest(out)
}

/// Passes console text to the UART and into the history.
struct Tee<'a>(&'a mut Uart16550);

impl Write for Tee<'_> {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        HISTORY.lock().push(text);
        self.0.write_str(text)
    }
}

pub fn init() {
    CONSOLE.lock().init();
}

/// Writes formatted text to the console.
pub fn write(args: Arguments<'_>) {
    // A console write cannot fail; there is nowhere else to report it if it did.
    let _ = Tee(&mut CONSOLE.lock()).write_fmt(args);
}

/// Writes bytes from a process (the tty server): text as it is, other bytes as `\xNN`, so a
/// program cannot send the terminal escape sequences that would garble the node's log.
#[cfg(feature = "server-tty")]
pub fn write_bytes(bytes: &[u8]) {
    let mut console = CONSOLE.lock();
    let mut tee = Tee(&mut console);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            let _ = if c == '\n' || c == '\t' || !c.is_control() {
                tee.write_char(c)
            } else {
                write!(tee, "\\x{:02x}", c as u32)
            };
        }
        for byte in chunk.invalid() {
            let _ = write!(tee, "\\x{byte:02x}");
        }
    }
}

/// Writes to the serial line only, not into the history PRINTBUF hands out: for secrets meant
/// for the person at the console (owner capabilities).
pub fn write_unrecorded(args: Arguments<'_>) {
    let _ = CONSOLE.lock().write_fmt(args);
}

/// Writes even if the console lock is held: for panics and CPU exceptions, which may strike in
/// the middle of a write and after which the interrupted writer never resumes.
pub fn emergency(args: Arguments<'_>) {
    // A second writer can at worst interleave characters with an interrupted write, which is
    // better than losing the fault report.
    let _ = console_uart().write_fmt(args);
}

/// `println!` for the kernel console.
#[macro_export]
macro_rules! kprintln {
    ($($arg:tt)*) => {
        $crate::console::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}
