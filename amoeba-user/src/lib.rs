//! amoeba-user: the runtime and system-call interface of an Amoeba program, the user side of
//! what libamoeba describes. A program is a `#![no_std] #![no_main]` binary that depends on
//! this crate (by path or by git) and is built by `amoeba-build` (a profile's
//! `[[programs]] path = "DIR"`), which links it at the user text base with `user.ld` from this
//! crate's directory. `amoeba-build new-program NAME` writes such a project.
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! use amoeba_user::println;
//! use libamoeba::process::Environment;
//!
//! amoeba_user::amoeba_main!(main);
//!
//! fn main(env: &Environment) -> i32 {
//!     println!("hello from {}", env.args()[0]);
//!     0
//! }
//! ```
//!
//! - [`raw`]: the system-call instruction itself, one stub for every call;
//! - safe wrappers: [`console`] (and the [`print!`] / [`println!`] macros), [`exit`],
//!   [`thread`], [`sync`], [`event`], [`signal`], [`time`], [`stat`], [`set_preemptive`],
//!   [`segment`], [`device`], RPC ([`rpc::UserRpc`], on which every client stub of
//!   `libamoeba::client` runs);
//! - the runtime: the global allocator over data segments ([`heap`]), the panic handler and the
//!   symbols the precompiled `core` and `alloc` refer to ([`rt`]), `memcpy` & co.
//!   (`amoeba-freestanding`), and [`amoeba_main!`], which defines `_start`.
//!
//! Everything portable (layouts, codes, client stubs) stays in libamoeba, which has no unsafe
//! code; this crate is where a program meets the kernel, and every unsafe block here says why
//! it is sound. The runtime's symbols are left out of this crate's own host unit tests, which
//! run on std.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod console;
pub mod device;
pub mod entropy;
pub mod event;
pub mod heap;
pub mod raw;
pub mod rpc;
pub mod rt;
pub mod segment;
pub mod signal;
pub mod sync;
pub mod thread;
pub mod time;

use libamoeba::syscall::{Call, Error, Statistic};

/// The result of a system call: a value or the kernel's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

/// Ends the whole process (every thread) with `code`.
pub fn exit(code: i32) -> ! {
    // SAFETY: ProcessExit touches no memory of the caller; it does not return.
    let _ = unsafe { raw::syscall1(Call::ProcessExit, code as i64 as u64) };
    // Not reached; should the kernel return anyway, this thread at least stops here.
    thread::exit()
}

/// A kernel counter (interrupts taken, free memory, context switches).
pub fn stat(which: Statistic) -> u64 {
    // SAFETY: Statistic only returns a number.
    unsafe { raw::syscall1(Call::Statistic, which as u64) }.unwrap_or(0)
}

/// Whether this process's threads preempt one another by time slices (`true`) or each runs
/// until it blocks, yields or ends (`false`, the default).
pub fn set_preemptive(preemptive: bool) {
    // SAFETY: SetPreemptive only changes scheduling.
    let _ = unsafe { raw::syscall1(Call::SetPreemptive, u64::from(preemptive)) };
}

/// Panics with the call's name when a call that cannot fail for a well-formed program did.
#[track_caller]
pub(crate) fn expect_ok<T>(result: Result<T>, call: &str) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{call} failed: {error:?}"),
    }
}

/// A timeout for the kernel: nanoseconds, never the "no timeout" value.
pub(crate) fn timeout_nanos(timeout: Option<core::time::Duration>) -> u64 {
    match timeout {
        None => libamoeba::syscall::NO_TIMEOUT,
        Some(duration) => u64::try_from(duration.as_nanos())
            .unwrap_or(u64::MAX)
            .min(libamoeba::syscall::NO_TIMEOUT - 1),
    }
}

/// Prints to the console (one `ConsoleWrite` per 512 bytes of output).
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::console::print_args(::core::format_args!($($arg)*))
    };
}

/// Prints a line to the console; a line up to 511 bytes long is written in one piece, so lines
/// of different threads and processes do not mix.
#[macro_export]
macro_rules! println {
    () => {
        $crate::console::print_line(::core::format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::console::print_line(::core::format_args!($($arg)*))
    };
}

/// Makes a binary an Amoeba program: defines its entry point `_start`, which decodes the process
/// environment the kernel passes, calls `main(&Environment) -> i32`, then exits with what it
/// returns, and its `#[panic_handler]` ([`rt::report_panic`]; see [`rt`] for why here). Use it
/// once per binary, at the crate root. The rest of the runtime (allocator, memory routines)
/// comes with this crate.
#[macro_export]
macro_rules! amoeba_main {
    ($main:path) => {
        /// The process entry point: the kernel jumps here with the environment's address in
        /// RDI and RSP = 16n + 8, as if `_start` had been called.
        ///
        /// # Safety
        /// Only the kernel calls it, with the address of the environment block it wrote at the
        /// top of the main stack (or null).
        #[unsafe(no_mangle)]
        unsafe extern "C" fn _start(environment: *const u8) -> ! {
            // SAFETY: the environment block stays mapped for the process's life (the caller's
            // guarantee above).
            unsafe { $crate::rt::start(environment, $main) }
        }

        #[panic_handler]
        fn __amoeba_panic(info: &::core::panic::PanicInfo<'_>) -> ! {
            $crate::rt::report_panic(info)
        }
    };
}

/// The capability `name` of the process's environment (e.g. `ROOT`), or `None` after saying on
/// the console that `program` needs it and what the profile must have for it (`needs`).
pub fn required_capability(
    env: &libamoeba::process::Environment<'_>,
    name: &str,
    program: &str,
    needs: &str,
) -> Option<libamoeba::capability::Capability> {
    let cap = env.capability(name).filter(|c| !c.is_null());
    if cap.is_none() {
        crate::println!("{program}: no {name} capability; {needs}");
    }
    cap
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    #[test]
    fn timeouts_never_mean_forever_by_accident() {
        assert_eq!(timeout_nanos(None), libamoeba::syscall::NO_TIMEOUT);
        assert_eq!(timeout_nanos(Some(Duration::from_millis(3))), 3_000_000);
        assert_eq!(
            timeout_nanos(Some(Duration::MAX)),
            libamoeba::syscall::NO_TIMEOUT - 1
        );
    }
}
