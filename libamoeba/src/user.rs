//! The user-side API: what a program running as an Amoeba process calls (feature `user`).
//!
//! - [`raw`]: the system-call instruction itself, one stub for every call;
//! - safe wrappers: [`console`] (and the [`print!`](crate::print) / [`println!`](crate::println)
//!   macros), [`exit`], [`thread`], [`sync`], [`event`], [`signal`], [`time`], [`stat`],
//!   [`set_preemptive`], [`segment`];
//! - the runtime: a global allocator over data segments ([`heap`]), the panic report
//!   ([`rt`]), `memcpy` & co. ([`crate::freestanding`]), and [`amoeba_main!`](crate::amoeba_main), which
//!   defines `_start` and puts those into the program.
//!
//! A program is a `#![no_std] #![no_main]` binary (see `programs/`):
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! use libamoeba::process::Environment;
//! use libamoeba::println;
//!
//! libamoeba::amoeba_main!(main);
//!
//! fn main(env: &Environment) -> i32 {
//!     println!("hello from {}", env.args()[0]);
//!     0
//! }
//! ```
//!
//! This is the only module of libamoeba with `unsafe` code: every block says why it is sound.
//! Nothing here defines a lang item or a C symbol by itself (the macro does, in the program),
//! so the module also compiles into host builds and tests, where the stubs are never called.

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

use crate::syscall::{Call, Error, Statistic};

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
        None => crate::syscall::NO_TIMEOUT,
        Some(duration) => u64::try_from(duration.as_nanos())
            .unwrap_or(u64::MAX)
            .min(crate::syscall::NO_TIMEOUT - 1),
    }
}

/// Prints to the console (one `ConsoleWrite` per 512 bytes of output).
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::user::console::print_args(::core::format_args!($($arg)*))
    };
}

/// Prints a line to the console; a line up to 511 bytes long is written in one piece, so lines
/// of different threads and processes do not mix.
#[macro_export]
macro_rules! println {
    () => {
        $crate::user::console::print_line(::core::format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::user::console::print_line(::core::format_args!($($arg)*))
    };
}

/// Makes a binary an Amoeba program: defines its entry point `_start`, which decodes the process
/// environment the kernel passes and calls `main(&Environment) -> i32`, then exits with what it
/// returns; and the runtime a freestanding binary needs: the `#[panic_handler]`
/// ([`rt::report_panic`]), the `#[global_allocator]` ([`heap::SegmentHeap`]), `memcpy`,
/// `memmove`, `memset`, `memcmp`, `bcmp` ([`mem`]) and the unwinding symbols the precompiled
/// `core` and `alloc` refer to. Use it once per binary, at the crate root.
///
/// These symbols are defined here, in the program, rather than in libamoeba, so that a host
/// build that unifies libamoeba's `user` feature into std crates does not get them twice.
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
            __amoeba_runtime::HEAP.init();
            // SAFETY: the environment block stays mapped for the process's life (the caller's
            // guarantee above).
            unsafe { $crate::user::rt::start(environment, $main) }
        }

        #[doc(hidden)]
        mod __amoeba_runtime {
            #[global_allocator]
            pub(super) static HEAP: $crate::user::heap::SegmentHeap =
                $crate::user::heap::SegmentHeap::new();

            #[panic_handler]
            fn panic(info: &::core::panic::PanicInfo<'_>) -> ! {
                $crate::user::rt::report_panic(info)
            }

            /// The precompiled `core` refers to this symbol; with `panic = "abort"` it is never
            /// called.
            #[unsafe(no_mangle)]
            extern "C" fn rust_eh_personality() {}

            /// The precompiled `alloc` (built to unwind) refers to this from its landing pads;
            /// with `panic = "abort"` nothing ever unwinds, so reaching it is a bug.
            #[unsafe(no_mangle)]
            #[allow(
                non_snake_case,
                reason = "the symbol name is fixed by the unwinding ABI"
            )]
            extern "C" fn _Unwind_Resume() -> ! {
                panic!("_Unwind_Resume called, but programs never unwind")
            }

            /// # Safety
            /// As for `memcpy` in C: valid, disjoint ranges.
            #[unsafe(no_mangle)]
            unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
                // SAFETY: the caller's guarantees are the function's.
                unsafe { $crate::freestanding::memcpy(dest, src, n) }
            }

            /// # Safety
            /// As for `memmove` in C: valid ranges.
            #[unsafe(no_mangle)]
            unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
                // SAFETY: the caller's guarantees are the function's.
                unsafe { $crate::freestanding::memmove(dest, src, n) }
            }

            /// # Safety
            /// As for `memset` in C: a valid range.
            #[unsafe(no_mangle)]
            unsafe extern "C" fn memset(dest: *mut u8, value: i32, n: usize) -> *mut u8 {
                // SAFETY: the caller's guarantees are the function's.
                unsafe { $crate::freestanding::memset(dest, value, n) }
            }

            /// # Safety
            /// As for `memcmp` in C: valid ranges.
            #[unsafe(no_mangle)]
            unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
                // SAFETY: the caller's guarantees are the function's.
                unsafe { $crate::freestanding::memcmp(a, b, n) }
            }

            /// # Safety
            /// As for `bcmp` in C: valid ranges.
            #[unsafe(no_mangle)]
            unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
                // SAFETY: the caller's guarantees are the function's.
                unsafe { $crate::freestanding::bcmp(a, b, n) }
            }
        }
    };
}

/// The capability `name` of the process's environment (e.g. `ROOT`), or `None` after saying on
/// the console that `program` needs it and what the profile must have for it (`needs`).
pub fn required_capability(
    env: &crate::process::Environment<'_>,
    name: &str,
    program: &str,
    needs: &str,
) -> Option<crate::capability::Capability> {
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
        assert_eq!(timeout_nanos(None), crate::syscall::NO_TIMEOUT);
        assert_eq!(timeout_nanos(Some(Duration::from_millis(3))), 3_000_000);
        assert_eq!(
            timeout_nanos(Some(Duration::MAX)),
            crate::syscall::NO_TIMEOUT - 1
        );
    }
}
