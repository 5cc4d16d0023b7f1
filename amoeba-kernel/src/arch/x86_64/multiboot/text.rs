//! Short strings copied out of boot-loader memory before any allocator exists.

/// Up to `N` bytes of UTF-8 text; longer input is cut at a character boundary and flagged.
pub struct BootText<const N: usize> {
    bytes: [u8; N],
    len: usize,
    pub truncated: bool,
}

impl<const N: usize> BootText<N> {
    pub const fn new() -> Self {
        Self {
            bytes: [0; N],
            len: 0,
            truncated: false,
        }
    }

    pub fn as_str(&self) -> &str {
        // Only whole characters of valid UTF-8 are ever stored (see `push_str`).
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }

    pub fn push_str(&mut self, text: &str) {
        let room = N - self.len;
        let mut take = text.len().min(room);
        while !text.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&text.as_bytes()[..take]);
        self.len += take;
        self.truncated |= take < text.len();
    }

    /// Appends a NUL-terminated string from memory; bytes that are not UTF-8 become `?`.
    ///
    /// # Safety
    /// `address` must point to a readable NUL-terminated string.
    pub unsafe fn copy_c_string(&mut self, address: usize) {
        let mut at = address as *const u8;
        loop {
            // SAFETY: the caller guarantees a readable string up to and including its NUL.
            let byte = unsafe { at.read() };
            if byte == 0 {
                break;
            }
            let printable = if byte.is_ascii() { byte } else { b'?' };
            if self.len == N {
                self.truncated = true;
                break;
            }
            self.bytes[self.len] = printable;
            self.len += 1;
            // SAFETY: the string continues past a non-NUL byte.
            at = unsafe { at.add(1) };
        }
    }
}
