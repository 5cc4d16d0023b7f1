//! The C memory routines a freestanding binary on a linux-gnu target needs: `memcpy`,
//! `memmove`, `memset`, `memcmp` and `bcmp`, which the compiler emits calls to and which that
//! target's `compiler_builtins` leaves to a libc (see `notes/bare-metal-rust.md`). Neither the
//! kernel nor an Amoeba program has a libc, so both link this crate and name it once
//! (`use amoeba_freestanding as _;`), which puts the symbols into the binary.
//!
//! Written by hand: `compiler_builtins`' own `mem` feature is not reachable on stable, and no
//! crate offers these symbols for a no-libc binary on a linux target.
//!
//! The symbols are left out of this crate's host unit tests, where they would shadow the libc
//! the test harness runs on; the routines themselves are tested there against slices.
#![no_std]

mod routines;

pub use routines::{bcmp, memcmp, memcpy, memmove, memset};

/// The C symbols, each calling its routine.
#[cfg(not(test))]
mod symbols {
    /// # Safety
    /// As for `memcpy` in C: valid, disjoint ranges.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        // SAFETY: the caller's guarantees are the routine's.
        unsafe { super::memcpy(dest, src, n) }
    }

    /// # Safety
    /// As for `memmove` in C: valid ranges, which may overlap.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        // SAFETY: the caller's guarantees are the routine's.
        unsafe { super::memmove(dest, src, n) }
    }

    /// # Safety
    /// As for `memset` in C: a valid range.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memset(dest: *mut u8, value: i32, n: usize) -> *mut u8 {
        // SAFETY: the caller's guarantees are the routine's.
        unsafe { super::memset(dest, value, n) }
    }

    /// # Safety
    /// As for `memcmp` in C: valid ranges.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        // SAFETY: the caller's guarantees are the routine's.
        unsafe { super::memcmp(a, b, n) }
    }

    /// # Safety
    /// As for `bcmp` in C: valid ranges.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        // SAFETY: the caller's guarantees are the routine's.
        unsafe { super::bcmp(a, b, n) }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn copies_moves_fills_and_compares() {
        let src = *b"abcdefgh";
        let mut dest = [0u8; 8];
        // SAFETY: both arrays hold 8 bytes and are distinct.
        unsafe { super::memcpy(dest.as_mut_ptr(), src.as_ptr(), 8) };
        assert_eq!(&dest, b"abcdefgh");
        let mut overlap = *b"abcdefgh";
        // SAFETY: 6 bytes from offset 0 to offset 2 stay inside the 8-byte array.
        unsafe { super::memmove(overlap.as_mut_ptr().add(2), overlap.as_ptr(), 6) };
        assert_eq!(&overlap, b"ababcdef");
        // SAFETY: 6 bytes from offset 2 to offset 0 stay inside the array.
        unsafe { super::memmove(overlap.as_mut_ptr(), overlap.as_ptr().add(2), 6) };
        assert_eq!(&overlap, b"abcdefef");
        // SAFETY: 3 bytes of an 8-byte array.
        unsafe { super::memset(dest.as_mut_ptr(), i32::from(b'z'), 3) };
        assert_eq!(&dest, b"zzzdefgh");
        // SAFETY: both arrays hold 8 bytes.
        let order = unsafe { super::memcmp(dest.as_ptr(), src.as_ptr(), 8) };
        assert!(order > 0);
        // SAFETY: the last 5 bytes of both arrays.
        let same = unsafe { super::bcmp(dest.as_ptr().add(3), src.as_ptr().add(3), 5) };
        assert_eq!(same, 0);
    }
}
