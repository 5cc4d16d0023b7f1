//! 5.3's buffer conventions for SOAP requests and replies (reference, "Conventions in
//! buffers"; 5.3's `buf_put_*` / `buf_get_*`): int16 and int32 little-endian, strings
//! NUL-terminated, capabilities as their 16 bytes.
//!
//! [`Writer`] refuses to grow past a limit, as 5.3's writers return NULL at the buffer's end,
//! so a reply never overruns the client's buffer; [`Reader`] returns `None` at the end of the
//! bytes instead of panicking on a short or hostile buffer.

use alloc::vec::Vec;

use crate::capability::{CAPABILITY_LEN, Capability};

/// Bytes written front to back, at most `limit` of them.
#[derive(Debug)]
pub struct Writer {
    bytes: Vec<u8>,
    limit: usize,
}

/// The writer's limit was reached: nothing of the last value was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

impl Writer {
    pub fn new(limit: usize) -> Self {
        Self {
            bytes: Vec::new(),
            limit,
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    pub fn bytes(&mut self, value: &[u8]) -> Result<(), Full> {
        if self.bytes.len() + value.len() > self.limit {
            return Err(Full);
        }
        self.bytes.extend_from_slice(value);
        Ok(())
    }

    pub fn i16(&mut self, value: i16) -> Result<(), Full> {
        self.bytes(&value.to_le_bytes())
    }

    pub fn i32(&mut self, value: i32) -> Result<(), Full> {
        self.bytes(&value.to_le_bytes())
    }

    pub fn u32(&mut self, value: u32) -> Result<(), Full> {
        self.bytes(&value.to_le_bytes())
    }

    /// `value` and its NUL; the caller has checked it holds no NUL of its own.
    pub fn string(&mut self, value: &str) -> Result<(), Full> {
        if self.bytes.len() + value.len() + 1 > self.limit {
            return Err(Full);
        }
        self.bytes.extend_from_slice(value.as_bytes());
        self.bytes.push(0);
        Ok(())
    }

    pub fn capability(&mut self, cap: &Capability) -> Result<(), Full> {
        self.bytes(&cap.to_bytes())
    }

    /// Drops what was written after `len` bytes: a row that did not fit whole.
    pub fn truncate(&mut self, len: usize) {
        self.bytes.truncate(len);
    }
}

/// Bytes read front to back.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub const fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    /// Whether every byte was read.
    pub fn at_end(&self) -> bool {
        self.at >= self.bytes.len()
    }

    /// Offset of the next byte.
    pub fn position(&self) -> usize {
        self.at
    }

    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let taken = self.bytes.get(self.at..self.at.checked_add(len)?)?;
        self.at += len;
        Some(taken)
    }

    pub fn i16(&mut self) -> Option<i16> {
        Some(i16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }

    pub fn i32(&mut self) -> Option<i32> {
        Some(i32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    /// A NUL-terminated string of UTF-8 (names are printable ASCII; paths may carry more).
    pub fn string(&mut self) -> Option<&'a str> {
        let rest = self.bytes.get(self.at..)?;
        let len = rest.iter().position(|&b| b == 0)?;
        let text = core::str::from_utf8(&rest[..len]).ok()?;
        self.at += len + 1;
        Some(text)
    }

    pub fn capability(&mut self) -> Option<Capability> {
        let bytes: &[u8; CAPABILITY_LEN] = self.take(CAPABILITY_LEN)?.try_into().ok()?;
        Some(Capability::from_array(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_the_limit_holds() {
        let mut writer = Writer::new(11);
        writer.i16(-2).unwrap();
        writer.i32(0x0102_0304).unwrap();
        writer.string("abc").unwrap();
        assert_eq!(writer.string("x"), Err(Full));
        assert_eq!(writer.len(), 10);
        let bytes = writer.into_bytes();
        assert_eq!(&bytes[..2], &[0xFE, 0xFF]);
        let mut reader = Reader::new(&bytes);
        assert_eq!(reader.i16(), Some(-2));
        assert_eq!(reader.i32(), Some(0x0102_0304));
        assert_eq!(reader.string(), Some("abc"));
        assert!(reader.at_end());
        assert_eq!(reader.i16(), None);
    }

    #[test]
    fn a_string_without_its_nul_is_not_read() {
        let mut reader = Reader::new(b"abc");
        assert_eq!(reader.string(), None);
        assert_eq!(reader.position(), 0);
    }
}
