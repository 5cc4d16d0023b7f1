//! The C symbols `memcpy`, `memmove`, `memset`, `memcmp` and `bcmp`, which the compiler emits
//! calls to and which a linux-gnu `compiler_builtins` leaves to a libc the kernel does not have.
//! The routines themselves are shared with user programs: `libamoeba::freestanding`.

use libamoeba::freestanding;

/// # Safety
/// `dest` and `src` must be valid for `n` bytes and must not overlap.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: same contract.
    unsafe { freestanding::memcpy(dest, src, n) }
}

/// # Safety
/// `dest` and `src` must be valid for `n` bytes; they may overlap.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: same contract.
    unsafe { freestanding::memmove(dest, src, n) }
}

/// # Safety
/// `dest` must be valid for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dest: *mut u8, value: i32, n: usize) -> *mut u8 {
    // SAFETY: same contract.
    unsafe { freestanding::memset(dest, value, n) }
}

/// # Safety
/// `a` and `b` must be valid for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract.
    unsafe { freestanding::memcmp(a, b, n) }
}

/// # Safety
/// `a` and `b` must be valid for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract.
    unsafe { freestanding::bcmp(a, b, n) }
}
