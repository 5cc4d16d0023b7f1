//! The runtime around `main`: the start of a process ([`start`], called by the `_start` that
//! [`amoeba_main!`](crate::amoeba_main) defines), the panic report, and the symbols every
//! freestanding binary of the precompiled `core` and `alloc` needs: the `#[global_allocator]`
//! ([`HEAP`]), `rust_eh_personality` and `_Unwind_Resume`, and the memory routines (by naming
//! `amoeba-freestanding`). They are left out of this crate's host unit tests, which have
//! std's. The `#[panic_handler]` calling [`report_panic`] is the one thing the program itself
//! defines, through [`amoeba_main!`](crate::amoeba_main): a panic handler is a lang item, and
//! one in this library would clash with std's wherever Cargo builds this crate in one graph
//! with host crates (`cargo build` or `clippy` of the whole workspace).

use libamoeba::process::environment::{self, Environment, HEADER_LEN};

/// Decodes the environment block at `block`, runs `main` with it and exits with its result.
///
/// A missing or malformed block is reported on the console and `main` gets an empty
/// environment: the program still runs.
///
/// # Safety
/// `block` is null or the address of an environment block (its header first) that stays
/// mapped and unchanged for the rest of the process: what the kernel passes to `_start`.
pub unsafe fn start(block: *const u8, main: fn(&Environment<'_>) -> i32) -> ! {
    HEAP.init();
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

/// The program's heap: every `Box`, `Vec` and `String` lives in its data segments.
#[cfg_attr(not(test), global_allocator)]
pub static HEAP: super::heap::SegmentHeap = super::heap::SegmentHeap::new();

#[cfg(not(test))]
mod symbols {
    // memcpy & co.: the compiler calls them and this target's compiler_builtins leaves them to
    // a libc, which a program does not have.
    use amoeba_freestanding as _;

    /// The precompiled `core` refers to this symbol; with `panic = "abort"` it is never called.
    #[unsafe(no_mangle)]
    extern "C" fn rust_eh_personality() {}

    /// The precompiled `alloc` (built to unwind) refers to this from its landing pads; with
    /// `panic = "abort"` nothing ever unwinds, so reaching it is a bug.
    #[unsafe(no_mangle)]
    #[allow(
        non_snake_case,
        reason = "the symbol name is fixed by the unwinding ABI"
    )]
    extern "C" fn _Unwind_Resume() -> ! {
        panic!("_Unwind_Resume called, but programs never unwind")
    }
}
