//! The runtime around `main`: the start of a process ([`start`], called by the `_start` that
//! [`amoeba_main!`](crate::amoeba_main) defines) and the panic report. The macro defines the
//! symbols themselves (`_start`, the panic handler, the allocator, `memcpy` & co.) in the
//! program, so that building libamoeba with feature `user` into a std program (Cargo unifies
//! features across a workspace build) adds no second panic handler or `memcpy` there.

use crate::process::environment::{self, Environment, HEADER_LEN};

/// Decodes the environment block at `block`, runs `main` with it and exits with its result.
///
/// A missing or malformed block is reported on the console and `main` gets an empty
/// environment: the program still runs.
///
/// # Safety
/// `block` is null or the address of an environment block (its header first) that stays
/// mapped and unchanged for the rest of the process: what the kernel passes to `_start`.
pub unsafe fn start(block: *const u8, main: fn(&Environment<'_>) -> i32) -> ! {
    let bytes: &'static [u8] = if block.is_null() {
        &[]
    } else {
        // SAFETY: the caller guarantees a block header at `block`; the header is read first and
        // the length it gives is checked for the magic and a sane minimum before the whole
        // block is.
        let header = unsafe { core::slice::from_raw_parts(block, HEADER_LEN) };
        match environment::block_len(header) {
            // SAFETY: the kernel wrote `len` bytes of block at `block` (caller's guarantee).
            Some(len) => unsafe { core::slice::from_raw_parts(block, len) },
            None => &[],
        }
    };
    let env = match Environment::decode(bytes) {
        Ok(env) => env,
        Err(error) => {
            crate::println!("amoeba runtime: {error}; starting with no arguments");
            Environment::default()
        }
    };
    if let Some(tty) = env.capability(environment::TTY) {
        super::console::use_tty(&tty);
    }
    let code = main(&env);
    drop(env);
    super::exit(code)
}

/// What the program's `#[panic_handler]` (from [`amoeba_main!`](crate::amoeba_main)) does:
/// prints the panic's message and location, then ends the process with exit code -1.
pub fn report_panic(info: &core::panic::PanicInfo<'_>) -> ! {
    use super::console::ConsoleBuffer;
    use core::fmt::Write;

    // No heap here: the panic may come from the allocator, or with its lock held.
    let mut out = ConsoleBuffer::new();
    let thread = super::thread::current();
    let _ = match info.location() {
        Some(l) => write!(
            out,
            "panic in thread {thread} at {}:{}:{}: {}",
            l.file(),
            l.line(),
            l.column(),
            info.message()
        ),
        None => write!(out, "panic in thread {thread}: {}", info.message()),
    };
    let _ = out.write_str("\n");
    out.flush();
    super::exit(-1)
}
