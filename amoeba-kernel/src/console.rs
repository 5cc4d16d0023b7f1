//! The kernel console: everything the kernel says goes to the serial port.

use crate::drivers::serial::{Uart16550, console_uart};
use core::fmt::{Arguments, Write};
use spin::Mutex;

static CONSOLE: Mutex<Uart16550> = Mutex::new(console_uart());

pub fn init() {
    CONSOLE.lock().init();
}

/// Writes formatted text to the console.
pub fn write(args: Arguments<'_>) {
    // A console write cannot fail; there is nowhere else to report it if it did.
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
