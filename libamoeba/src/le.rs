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
}
