//! The process image file: what `exec` loads and a checkpoint writes.
//!
//! An image file is one gzip member (RFC 1952; the stream inside is deflate, RFC 1951) whose
//! uncompressed content is
//!
//! ```text
//! 0 .. D            the process descriptor (see `descriptor`; D = its encoded length)
//! D .. end          segment contents, where each segment descriptor's offset says
//! ```
//!
//! Segment offsets count from the start of the uncompressed image. A file-backed segment
//! holds all `length` bytes at `offset..offset + length`; offset [`ZERO_FILLED`] (0, which
//! can never be content because the descriptor sits there) means the image holds no bytes for
//! the segment and it starts zero-filled: stacks, bss. A loader maps `length` bytes at
//! `address`, page-granular.
//!
//! Decoding checks everything a kernel relies on before it maps anything: the gzip framing
//! and checksums, an output bound, the descriptor (its own module's checks) and the layout:
//! file parts inside the image, page-aligned non-overlapping segments in user space, no
//! writable text, and threads that start in text.

use alloc::vec::Vec;
use core::fmt;

use super::descriptor::{ArchMagic, DescriptorError, ProcessDescriptor, SegmentDescriptor};
use crate::gzip::{self, GzipError};
use crate::memory::PAGE_SIZE;

/// Segment offset meaning "no bytes in the image: zero-filled".
pub const ZERO_FILLED: u64 = 0;

/// Largest inflated image a kernel accepts; the builder refuses bigger programs up front.
pub const MAX_IMAGE_BYTES: usize = 16 << 20;

/// Lowest address a segment may use: the first page stays unmapped so null pointers fault.
pub const USER_SPACE_START: u64 = PAGE_SIZE;
/// One past the highest user address: the end of the lower canonical half of x86-64's
/// 48-bit address space (the upper half belongs to the kernel).
pub const USER_SPACE_END: u64 = 0x0000_8000_0000_0000;

/// A decoded, checked process image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessImage {
    descriptor: ProcessDescriptor,
    /// The whole uncompressed image; segment contents are slices of it.
    data: Vec<u8>,
}

impl ProcessImage {
    pub fn descriptor(&self) -> &ProcessDescriptor {
        &self.descriptor
    }

    pub fn into_descriptor(self) -> ProcessDescriptor {
        self.descriptor
    }

    /// The bytes the image holds for segment `index`: all `length` bytes of a file-backed
    /// segment, nothing for a zero-filled one. `None` if there is no such segment.
    pub fn segment_bytes(&self, index: usize) -> Option<&[u8]> {
        let segment = self.descriptor.segments.get(index)?;
        if segment.offset == ZERO_FILLED {
            return Some(&[]);
        }
        // Decoding checked the range lies inside `data`; `get` keeps this panic-free anyway.
        let start = usize::try_from(segment.offset).ok()?;
        let len = usize::try_from(segment.length).ok()?;
        self.data.get(start..start.checked_add(len)?)
    }

    /// Every segment with its bytes (see [`segment_bytes`](Self::segment_bytes)).
    pub fn segments(&self) -> impl Iterator<Item = (&SegmentDescriptor, &[u8])> {
        self.descriptor
            .segments
            .iter()
            .enumerate()
            .map(|(index, segment)| (segment, self.segment_bytes(index).unwrap_or(&[])))
    }
}

/// Why an image file was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageError {
    Gzip(GzipError),
    Descriptor(DescriptorError),
    EmptySegment {
        index: usize,
    },
    MisalignedSegment {
        index: usize,
        address: u64,
    },
    /// Not inside `USER_SPACE_START..USER_SPACE_END` (or the end overflows).
    OutsideUserSpace {
        index: usize,
        address: u64,
        length: u64,
    },
    /// A file-backed segment's bytes would start inside the descriptor.
    SegmentOverlapsDescriptor {
        index: usize,
        offset: u64,
        descriptor_len: usize,
    },
    /// A file-backed segment's bytes would run past the end of the image.
    SegmentOutsideFile {
        index: usize,
        offset: u64,
        length: u64,
        image_len: usize,
    },
    /// Two segments share a page of address space.
    SegmentsOverlap {
        first: usize,
        second: usize,
    },
    /// Text would be writable and executable at once.
    WritableText {
        index: usize,
    },
    NoText,
    NoThreads,
    PcOutsideText {
        thread: usize,
        pc: u64,
    },
    /// `encode_image`: not one content slice per segment.
    SegmentCountMismatch {
        segments: usize,
        contents: usize,
    },
    /// `encode_image`: contents neither empty (zero-filled) nor the segment's length.
    SegmentSizeMismatch {
        index: usize,
        length: u64,
        contents: usize,
    },
}

impl From<GzipError> for ImageError {
    fn from(error: GzipError) -> Self {
        Self::Gzip(error)
    }
}

impl From<DescriptorError> for ImageError {
    fn from(error: DescriptorError) -> Self {
        Self::Descriptor(error)
    }
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gzip(error) => write!(f, "process image: {error}"),
            Self::Descriptor(error) => write!(f, "process image: {error}"),
            Self::EmptySegment { index } => write!(f, "process image: segment {index} is empty"),
            Self::MisalignedSegment { index, address } => write!(
                f,
                "process image: segment {index} at {address:#x} is not page-aligned ({PAGE_SIZE})"
            ),
            Self::OutsideUserSpace {
                index,
                address,
                length,
            } => write!(
                f,
                "process image: segment {index} ({length:#x} bytes at {address:#x}) is outside \
                 user space {USER_SPACE_START:#x}..{USER_SPACE_END:#x}"
            ),
            Self::SegmentOverlapsDescriptor {
                index,
                offset,
                descriptor_len,
            } => write!(
                f,
                "process image: segment {index}'s bytes at offset {offset} lie inside the \
                 {descriptor_len}-byte descriptor"
            ),
            Self::SegmentOutsideFile {
                index,
                offset,
                length,
                image_len,
            } => write!(
                f,
                "process image: segment {index}'s {length} bytes at offset {offset} run past \
                 the {image_len}-byte image"
            ),
            Self::SegmentsOverlap { first, second } => write!(
                f,
                "process image: segments {first} and {second} overlap in the address space"
            ),
            Self::WritableText { index } => {
                write!(f, "process image: text segment {index} is writable")
            }
            Self::NoText => write!(f, "process image has no text segment"),
            Self::NoThreads => write!(f, "process image has no thread"),
            Self::PcOutsideText { thread, pc } => write!(
                f,
                "process image: thread {thread}'s pc {pc:#x} is not in a text segment"
            ),
            Self::SegmentCountMismatch { segments, contents } => write!(
                f,
                "process image: {segments} segments but {contents} contents given"
            ),
            Self::SegmentSizeMismatch {
                index,
                length,
                contents,
            } => write!(
                f,
                "process image: segment {index} is {length} bytes but its contents are \
                 {contents} (give all of them, or none for zero-filled)"
            ),
        }
    }
}

/// Inflates (at most `max_uncompressed` bytes) and checks an image file made for
/// `expected_arch`.
pub fn decode_image(
    file: &[u8],
    expected_arch: ArchMagic,
    max_uncompressed: usize,
) -> Result<ProcessImage, ImageError> {
    let data = gzip::decompress(file, max_uncompressed)?;
    let (descriptor, descriptor_len) = ProcessDescriptor::decode(&data, expected_arch)?;
    check_layout(&descriptor, descriptor_len, data.len())?;
    Ok(ProcessImage { descriptor, data })
}

/// The descriptor at the start of an uncompressed image of `image_len` bytes (as a file
/// server keeps a program, for pool processors to read its segments in place), checked as
/// [`decode_image`] checks it; `head` holds at least the descriptor.
pub fn decode_inflated_head(
    head: &[u8],
    image_len: usize,
    expected_arch: ArchMagic,
) -> Result<ProcessDescriptor, ImageError> {
    let (descriptor, descriptor_len) = ProcessDescriptor::decode(head, expected_arch)?;
    check_layout(&descriptor, descriptor_len, image_len)?;
    Ok(descriptor)
}

/// The uncompressed content of an image file (at most `max_uncompressed` bytes), checked:
/// what a file server keeps for pool processors to exec in place.
pub fn inflate_image(
    file: &[u8],
    expected_arch: ArchMagic,
    max_uncompressed: usize,
) -> Result<Vec<u8>, ImageError> {
    Ok(decode_image(file, expected_arch, max_uncompressed)?.data)
}

/// Builds an image file from a descriptor and one content slice per segment: either all
/// `length` bytes of the segment or none (zero-filled). The segments' offsets are assigned
/// here (contents follow the descriptor in segment order); those in `descriptor` are ignored.
/// The result passes [`decode_image`]'s checks, or this refuses with the error it would give.
///
/// Feature `encode` (host tools): the compressor needs about 64 KiB of stack, so the kernel
/// does not have this function at all.
#[cfg(any(feature = "encode", test))]
pub fn encode_image(
    descriptor: &ProcessDescriptor,
    contents: &[&[u8]],
) -> Result<Vec<u8>, ImageError> {
    descriptor.validate()?;
    if contents.len() != descriptor.segments.len() {
        return Err(ImageError::SegmentCountMismatch {
            segments: descriptor.segments.len(),
            contents: contents.len(),
        });
    }
    let mut placed = descriptor.clone();
    let descriptor_len = placed.encoded_len();
    let mut next = descriptor_len as u64;
    for (index, (segment, bytes)) in placed.segments.iter_mut().zip(contents).enumerate() {
        if bytes.is_empty() {
            segment.offset = ZERO_FILLED;
        } else if bytes.len() as u64 == segment.length {
            segment.offset = next;
            next += segment.length;
        } else {
            return Err(ImageError::SegmentSizeMismatch {
                index,
                length: segment.length,
                contents: bytes.len(),
            });
        }
    }
    let mut image = placed.encode();
    for bytes in contents {
        image.extend_from_slice(bytes);
    }
    check_layout(&placed, descriptor_len, image.len())?;
    Ok(gzip::compress(&image))
}

/// The layout checks of [`decode_image`] for a descriptor of `descriptor_len` bytes at the
/// start of an uncompressed image of `image_len` bytes.
pub fn check_layout(
    descriptor: &ProcessDescriptor,
    descriptor_len: usize,
    image_len: usize,
) -> Result<(), ImageError> {
    check_layout_within(descriptor, Some((descriptor_len, image_len)))
}

/// The address-space checks of [`check_layout`] alone, for a descriptor whose segment offsets
/// point into other objects than an image (PS_EXEC's, each read from its capability).
pub fn check_address_layout(descriptor: &ProcessDescriptor) -> Result<(), ImageError> {
    check_layout_within(descriptor, None)
}

/// `file` is the descriptor's and the image's length when the offsets count in an image.
fn check_layout_within(
    descriptor: &ProcessDescriptor,
    file: Option<(usize, usize)>,
) -> Result<(), ImageError> {
    let segments = &descriptor.segments;
    for (index, segment) in segments.iter().enumerate() {
        check_segment(index, segment, file)?;
    }
    // At most MAX_SEGMENTS (64): comparing every pair is cheap and obviously right.
    for (first, a) in segments.iter().enumerate() {
        for (second, b) in segments.iter().enumerate().skip(first + 1) {
            if page_span(a).0 < page_span(b).1 && page_span(b).0 < page_span(a).1 {
                return Err(ImageError::SegmentsOverlap { first, second });
            }
        }
    }
    if !segments.iter().any(|s| s.kind.is_text()) {
        return Err(ImageError::NoText);
    }
    if descriptor.threads.is_empty() {
        return Err(ImageError::NoThreads);
    }
    for (thread, t) in descriptor.threads.iter().enumerate() {
        if !segments
            .iter()
            .any(|s| s.kind.is_text() && s.contains(t.pc))
        {
            return Err(ImageError::PcOutsideText { thread, pc: t.pc });
        }
    }
    Ok(())
}

fn check_segment(
    index: usize,
    segment: &SegmentDescriptor,
    file: Option<(usize, usize)>,
) -> Result<(), ImageError> {
    let SegmentDescriptor {
        offset,
        address,
        length,
        kind,
        ..
    } = *segment;
    if length == 0 {
        return Err(ImageError::EmptySegment { index });
    }
    if !address.is_multiple_of(PAGE_SIZE) {
        return Err(ImageError::MisalignedSegment { index, address });
    }
    let in_user_space = address >= USER_SPACE_START
        && segment
            .end()
            .and_then(|end| end.checked_next_multiple_of(PAGE_SIZE))
            .is_some_and(|end| end <= USER_SPACE_END);
    if !in_user_space {
        return Err(ImageError::OutsideUserSpace {
            index,
            address,
            length,
        });
    }
    if let Some((descriptor_len, image_len)) = file
        && offset != ZERO_FILLED
    {
        if offset < descriptor_len as u64 {
            return Err(ImageError::SegmentOverlapsDescriptor {
                index,
                offset,
                descriptor_len,
            });
        }
        if offset
            .checked_add(length)
            .is_none_or(|end| end > image_len as u64)
        {
            return Err(ImageError::SegmentOutsideFile {
                index,
                offset,
                length,
                image_len,
            });
        }
    }
    if kind.is_text() && kind.is_writable() {
        return Err(ImageError::WritableText { index });
    }
    Ok(())
}

/// The pages a segment occupies, as `start..end` (checked to be in user space first).
fn page_span(segment: &SegmentDescriptor) -> (u64, u64) {
    let end = segment.address.saturating_add(segment.length);
    let end = end.checked_next_multiple_of(PAGE_SIZE).unwrap_or(u64::MAX);
    (segment.address, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::{Capability, Port};
    use crate::gzip::testing::with_header;
    use crate::process::descriptor::{SegmentType, ThreadDescriptor, X86_64Registers};
    use alloc::vec;

    const LIMIT: usize = 1 << 20;
    const TEXT_AT: u64 = 0x40_0000;
    const DATA_AT: u64 = 0x60_0000;
    const STACK_AT: u64 = 0x7fff_fff0_0000;

    fn text() -> Vec<u8> {
        (0..300u32).map(|i| (i * 31 % 256) as u8).collect()
    }

    fn data() -> Vec<u8> {
        b"initialised data".repeat(4)
    }

    /// Text (file), data (file), bss (zero-filled) and a stack (zero-filled); a running main
    /// thread with registers and an idle one.
    fn program() -> ProcessDescriptor {
        let segment = |address, length, kind| SegmentDescriptor {
            cap: Capability::NULL,
            offset: 0xdead, // ignored by encode_image
            address,
            length,
            kind,
        };
        let mut registers = X86_64Registers {
            rip: TEXT_AT + 0x10,
            rsp: STACK_AT + 0x1_0000,
            rflags: 0x202,
            ..X86_64Registers::default()
        };
        registers.rdi = 1;
        ProcessDescriptor {
            arch: ArchMagic::X86_64,
            self_cap: Capability::new(Port([1; 6]), 1, 0xff, [9; 6]).unwrap(),
            owner_cap: Capability::NULL,
            segments: vec![
                segment(
                    TEXT_AT,
                    text().len() as u64,
                    SegmentType::TEXT | SegmentType::RO,
                ),
                segment(
                    DATA_AT,
                    data().len() as u64,
                    SegmentType::DATA | SegmentType::RW,
                ),
                segment(
                    DATA_AT + PAGE_SIZE,
                    2 * PAGE_SIZE,
                    SegmentType::DATA | SegmentType::RW,
                ),
                segment(
                    STACK_AT,
                    0x1_0000,
                    SegmentType::SYSTEM | SegmentType::RW | SegmentType::GROWDOWN,
                ),
            ],
            threads: vec![
                ThreadDescriptor {
                    state: 0,
                    idle: false,
                    pc: registers.rip,
                    sp: registers.rsp,
                    registers: Some(registers),
                    kernel: None,
                },
                ThreadDescriptor {
                    state: 0,
                    idle: true,
                    pc: TEXT_AT + 0x20,
                    sp: STACK_AT + 0x8000,
                    registers: None,
                    kernel: None,
                },
            ],
        }
    }

    fn contents() -> Vec<Vec<u8>> {
        vec![text(), data(), vec![], vec![]]
    }

    fn encode(descriptor: &ProcessDescriptor) -> Result<Vec<u8>, ImageError> {
        let contents = contents();
        let slices: Vec<&[u8]> = contents.iter().map(Vec::as_slice).collect();
        encode_image(descriptor, &slices)
    }

    fn decode(file: &[u8]) -> Result<ProcessImage, ImageError> {
        decode_image(file, ArchMagic::X86_64, LIMIT)
    }

    /// A good image's descriptor (offsets assigned) and the segment contents after it.
    fn good_parts() -> (ProcessDescriptor, Vec<u8>) {
        let raw = gzip::decompress(&encode(&program()).unwrap(), LIMIT).unwrap();
        let (descriptor, len) = ProcessDescriptor::decode(&raw, ArchMagic::X86_64).unwrap();
        (descriptor, raw[len..].to_vec())
    }

    /// An image file made without any checks, for the cases encode_image refuses to make.
    fn pack(descriptor: &ProcessDescriptor, tail: &[u8]) -> Vec<u8> {
        let mut raw = descriptor.encode();
        raw.extend_from_slice(tail);
        gzip::compress(&raw)
    }

    /// The good image with `change` applied to its descriptor.
    fn decode_changed(change: impl FnOnce(&mut ProcessDescriptor)) -> Result<(), ImageError> {
        let (mut descriptor, tail) = good_parts();
        change(&mut descriptor);
        decode(&pack(&descriptor, &tail)).map(drop)
    }

    #[test]
    fn round_trip() {
        let file = encode(&program()).unwrap();
        assert_eq!(file, encode(&program()).unwrap(), "reproducible");
        let image = decode(&file).unwrap();
        let descriptor_len = program().encoded_len() as u64;
        let mut expected = program();
        expected.segments[0].offset = descriptor_len;
        expected.segments[1].offset = descriptor_len + text().len() as u64;
        expected.segments[2].offset = ZERO_FILLED;
        expected.segments[3].offset = ZERO_FILLED;
        assert_eq!(image.descriptor(), &expected);
        let bytes: Vec<&[u8]> = image.segments().map(|(_, bytes)| bytes).collect();
        assert_eq!(bytes, [&text()[..], &data()[..], &[], &[]]);
        assert_eq!(image.segment_bytes(4), None);
        assert_eq!(image.into_descriptor(), expected);
    }

    #[test]
    fn every_truncation_is_refused() {
        let file = encode(&program()).unwrap();
        for len in 0..file.len() {
            assert_eq!(
                decode(&file[..len]),
                Err(ImageError::Gzip(GzipError::Truncated)),
                "{len} of {} bytes",
                file.len()
            );
        }
    }

    #[test]
    fn gzip_header_and_trailer_damage_is_refused() {
        let raw = gzip::decompress(&encode(&program()).unwrap(), LIMIT).unwrap();
        let file = with_header(&raw, Some(b"ex"), Some(b"hello"), Some(b"test"), true);
        decode(&file).unwrap();
        let header_len = gzip::parse_header(&file).unwrap().len;
        for index in 0..header_len {
            for bit in [0x01, 0x80] {
                let mut bad = file.clone();
                bad[index] ^= bit;
                let result = decode(&bad);
                assert!(
                    matches!(result, Err(ImageError::Gzip(_))),
                    "byte {index} ^ {bit:#x}: {result:?}"
                );
            }
        }
        let trailer = file.len() - gzip::TRAILER_LEN;
        for index in trailer..file.len() {
            let mut bad = file.clone();
            bad[index] ^= 0x04;
            let result = decode(&bad);
            let expected_crc = index < trailer + 4;
            assert!(
                matches!(
                    result,
                    Err(ImageError::Gzip(GzipError::CrcMismatch { .. })) if expected_crc
                ) || matches!(
                    result,
                    Err(ImageError::Gzip(GzipError::SizeMismatch { .. })) if !expected_crc
                ),
                "byte {index}: {result:?}"
            );
        }
    }

    #[test]
    fn oversize_output_is_refused() {
        let file = encode(&program()).unwrap();
        let raw_len = gzip::decompress(&file, LIMIT).unwrap().len();
        assert!(decode_image(&file, ArchMagic::X86_64, raw_len).is_ok());
        assert_eq!(
            decode_image(&file, ArchMagic::X86_64, raw_len - 1),
            Err(ImageError::Gzip(GzipError::OutputTooLarge {
                limit: raw_len - 1
            }))
        );
    }

    #[test]
    fn wrong_arch_is_refused() {
        let file = encode(&program()).unwrap();
        let other = ArchMagic::new("aarch64").unwrap();
        assert_eq!(
            decode_image(&file, other, LIMIT),
            Err(ImageError::Descriptor(DescriptorError::WrongArch {
                expected: other,
                found: ArchMagic::X86_64
            }))
        );
        // Not a descriptor at all, behind valid gzip.
        assert!(matches!(
            decode(&gzip::compress(b"short")),
            Err(ImageError::Descriptor(DescriptorError::Truncated { .. }))
        ));
    }

    #[test]
    fn segments_outside_the_file_are_refused() {
        let (good, tail) = good_parts();
        let image_len = good.encoded_len() + tail.len();
        let text_offset = good.segments[0].offset;
        assert_eq!(
            decode_changed(|d| d.segments[1].length += 1),
            Err(ImageError::SegmentOutsideFile {
                index: 1,
                offset: good.segments[1].offset,
                length: good.segments[1].length + 1,
                image_len
            })
        );
        assert!(matches!(
            decode_changed(|d| d.segments[0].offset = u64::MAX),
            Err(ImageError::SegmentOutsideFile { index: 0, .. })
        ));
        assert!(matches!(
            decode_changed(|d| d.segments[0].length = u64::MAX - text_offset + 1),
            Err(ImageError::OutsideUserSpace { index: 0, .. })
        ));
        assert_eq!(
            decode_changed(|d| d.segments[0].offset = 8),
            Err(ImageError::SegmentOverlapsDescriptor {
                index: 0,
                offset: 8,
                descriptor_len: good.encoded_len()
            })
        );
    }

    #[test]
    fn address_space_errors_are_refused() {
        // Overlap within the same page counts: segments are mapped page by page.
        assert_eq!(
            decode_changed(|d| d.segments[2].address = DATA_AT),
            Err(ImageError::SegmentsOverlap {
                first: 1,
                second: 2
            })
        );
        assert_eq!(
            decode_changed(|d| d.segments[3].address = TEXT_AT - PAGE_SIZE),
            Err(ImageError::SegmentsOverlap {
                first: 0,
                second: 3
            })
        );
        assert_eq!(
            decode_changed(|d| d.segments[1].address = DATA_AT + 8),
            Err(ImageError::MisalignedSegment {
                index: 1,
                address: DATA_AT + 8
            })
        );
        for address in [
            0,
            USER_SPACE_END,
            USER_SPACE_END - PAGE_SIZE,
            u64::MAX - 4095,
        ] {
            assert!(
                matches!(
                    decode_changed(|d| d.segments[3].address = address),
                    Err(ImageError::OutsideUserSpace { index: 3, .. })
                ),
                "{address:#x}"
            );
        }
        // The last user page is fine.
        let (mut d, tail) = good_parts();
        d.segments[2].address = USER_SPACE_END - PAGE_SIZE;
        d.segments[2].length = PAGE_SIZE;
        decode(&pack(&d, &tail)).unwrap();

        assert_eq!(
            decode_changed(|d| d.segments[2].length = 0),
            Err(ImageError::EmptySegment { index: 2 })
        );
        assert_eq!(
            decode_changed(|d| d.segments[0].kind = SegmentType::TEXT | SegmentType::RW),
            Err(ImageError::WritableText { index: 0 })
        );
    }

    #[test]
    fn threads_must_start_in_text() {
        for pc in [TEXT_AT - 1, TEXT_AT + text().len() as u64, DATA_AT] {
            assert_eq!(
                decode_changed(|d| d.threads[1].pc = pc),
                Err(ImageError::PcOutsideText { thread: 1, pc })
            );
        }
        assert_eq!(
            decode_changed(|d| {
                // Dropping the threads shortens the descriptor: contents move up with it.
                let before = d.encoded_len() as u64;
                d.threads.clear();
                let removed = before - d.encoded_len() as u64;
                for s in d.segments.iter_mut().filter(|s| s.offset != ZERO_FILLED) {
                    s.offset -= removed;
                }
            }),
            Err(ImageError::NoThreads)
        );
        assert_eq!(
            decode_changed(|d| d.segments[0].kind = SegmentType::DATA | SegmentType::RO),
            Err(ImageError::NoText)
        );
    }

    #[test]
    fn encode_refuses_what_decode_would() {
        let contents = contents();
        let slices: Vec<&[u8]> = contents.iter().map(Vec::as_slice).collect();
        assert_eq!(
            encode_image(&program(), &slices[..3]),
            Err(ImageError::SegmentCountMismatch {
                segments: 4,
                contents: 3
            })
        );
        let short_text = [&text()[..10], &data()[..], &[], &[]];
        assert_eq!(
            encode_image(&program(), &short_text),
            Err(ImageError::SegmentSizeMismatch {
                index: 0,
                length: 300,
                contents: 10
            })
        );
        let mut bad = program();
        bad.threads[0].pc = DATA_AT;
        assert!(matches!(
            encode(&bad),
            Err(ImageError::Descriptor(DescriptorError::RegisterMismatch {
                index: 0
            }))
        ));
        bad.threads[0].registers = None;
        assert_eq!(
            encode(&bad),
            Err(ImageError::PcOutsideText {
                thread: 0,
                pc: DATA_AT
            })
        );
    }

    #[test]
    fn errors_explain_themselves() {
        assert_eq!(
            ImageError::PcOutsideText {
                thread: 1,
                pc: 0x10
            }
            .to_string(),
            "process image: thread 1's pc 0x10 is not in a text segment"
        );
        assert_eq!(
            ImageError::Gzip(GzipError::Truncated).to_string(),
            "process image: gzip data is truncated"
        );
    }
}
