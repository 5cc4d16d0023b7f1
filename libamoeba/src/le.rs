//! Little-endian fields at named offsets of fixed-size records, without panics.
//!
//! The byte codecs of this crate (capabilities, process descriptors, ...) read and write each
//! field at a named offset constant, so the layout is written down once. Reads return `None`
//! instead of panicking when a field would lie outside the bytes, so a decoder turns a short
//! buffer into a typed error; writes go into records whose size the layout constants fix at
//! compile time.

/// The `N` bytes at `at`, or `None` if they are not all inside `bytes`.
pub(crate) fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..)?.first_chunk::<N>().copied()
}

pub(crate) fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    array(bytes, at).map(u16::from_le_bytes)
}

/// The `N` bytes at `at` of a fixed-size record.
///
/// Callers pass offsets from layout constants that are checked against the record size at
/// compile time, so a miss is a bug in this crate: it trips a debug assertion (host tests)
/// and reads zeros in a release build rather than panicking in the kernel.
pub(crate) fn field<const N: usize>(record: &[u8], at: usize) -> [u8; N] {
    let value = array(record, at);
    debug_assert!(
        value.is_some(),
        "field at {at} outside a {}-byte record",
        record.len()
    );
    value.unwrap_or([0; N])
}

pub(crate) fn field_u16(record: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(field(record, at))
}

pub(crate) fn field_u32(record: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(field(record, at))
}

pub(crate) fn field_u64(record: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(field(record, at))
}

/// Copies `value` into `record` at `at`.
///
/// As for [`field`], the offset comes from a layout constant checked at compile time.
pub(crate) fn put(record: &mut [u8], at: usize, value: &[u8]) {
    match record.get_mut(at..at.saturating_add(value.len())) {
        Some(field) => field.copy_from_slice(value),
        None => debug_assert!(
            false,
            "field at {at} outside a {}-byte record",
            record.len()
        ),
    }
}

/// Reads a variable-length record front to back (the boot table, the process environment).
///
/// Every read is bounds-checked and returns `None` instead of panicking; a failed read leaves
/// the position where it was, so a decoder can say at which offset the bytes ran out.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) const fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    /// Offset of the next byte to read.
    pub(crate) const fn position(&self) -> usize {
        self.at
    }

    /// Bytes not read yet.
    pub(crate) const fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.at)
    }

    /// The next `len` bytes.
    pub(crate) fn bytes(&mut self, len: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(len)?;
        let taken = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(taken)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let value = array(self.bytes, self.at)?;
        self.at += N;
        Some(value)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.array().map(u8::from_le_bytes)
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_outside_the_bytes_are_none_not_panics() {
        let bytes = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(u16_at(&bytes, 0), Some(0x0201));
        assert_eq!(array(&bytes, 5), Some([6, 7, 8, 9]));
        assert_eq!(array::<4>(&bytes, 6), None);
        assert_eq!(u16_at(&bytes, 8), None);
        assert_eq!(u16_at(&bytes, 100), None);
        assert_eq!(u16_at(&bytes, usize::MAX), None);
        let mut record = [0u8; 4];
        put(&mut record, 1, &[0xAA, 0xBB]);
        assert_eq!(record, [0, 0xAA, 0xBB, 0]);
        assert_eq!(field_u16(&record, 1), 0xBBAA);
        assert_eq!(field_u32(&record, 0), 0x00BB_AA00);
        assert_eq!(field_u64(&bytes, 0), 0x0807_0605_0403_0201);
    }

    #[test]
    fn a_reader_stops_at_the_end_without_moving() {
        let bytes = [1, 2, 3, 4, 5, 6, 7];
        let mut reader = Reader::new(&bytes);
        assert_eq!(reader.u8(), Some(1));
        assert_eq!(reader.u16(), Some(0x0302));
        assert_eq!(reader.position(), 3);
        assert_eq!(reader.u32(), Some(0x0706_0504));
        assert_eq!(reader.remaining(), 0);
        assert_eq!(reader.u8(), None);
        assert_eq!(reader.position(), 7);
        let mut reader = Reader::new(&bytes);
        assert_eq!(reader.bytes(8), None);
        assert_eq!(reader.bytes(usize::MAX), None);
        assert_eq!(reader.bytes(2), Some(&bytes[..2]));
        assert_eq!(reader.array::<6>(), None);
        assert_eq!(reader.array::<5>(), Some([3, 4, 5, 6, 7]));
    }
}
