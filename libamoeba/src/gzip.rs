//! The gzip container (RFC 1952) around a raw deflate stream (RFC 1951).
//!
//! We parse the container ourselves, because the kernel must check everything an image file
//! says: the header with its optional parts (RFC 1952 section 2.3: FEXTRA, FNAME, FCOMMENT,
//! FHCRC), the trailer's CRC-32 and ISIZE, and that nothing follows the one member we accept.
//! `miniz_oxide` (no_std + alloc) inflates the stream between them, and deflates it for
//! `compress` in builds with the `encode` feature (host tools).
//!
//! ```text
//! +---+---+---+---+---+---+---+---+---+---+
//! |ID1|ID2|CM |FLG|     MTIME     |XFL|OS |   10 bytes, integers little-endian
//! +---+---+---+---+---+---+---+---+---+---+
//! [FEXTRA: XLEN (u16) + XLEN bytes] [FNAME: bytes, NUL] [FCOMMENT: bytes, NUL] [FHCRC: u16]
//! deflate stream ... | CRC32 (u32) | ISIZE (u32, input size mod 2^32) |
//! ```

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::{self as inflate_core, DecompressorOxide, inflate_flags};

use crate::crc32::crc32;
use crate::le;

/// First magic byte.
pub const ID1: u8 = 0x1f;
/// Second magic byte.
pub const ID2: u8 = 0x8b;
/// Compression method 8: deflate, the only one RFC 1952 defines.
pub const CM_DEFLATE: u8 = 8;

/// Bytes of the fixed header part.
pub const HEADER_LEN: usize = 10;
/// Offset of the first magic byte.
pub const ID1_OFFSET: usize = 0;
/// Offset of the second magic byte.
pub const ID2_OFFSET: usize = 1;
/// Offset of the compression method.
pub const CM_OFFSET: usize = 2;
/// Offset of the flag byte.
pub const FLG_OFFSET: usize = 3;
/// Offset of the modification time (u32, Unix seconds, 0 = none).
pub const MTIME_OFFSET: usize = 4;
/// Offset of the extra flags (2 = maximum compression, 4 = fastest).
pub const XFL_OFFSET: usize = 8;
/// Offset of the operating-system byte.
pub const OS_OFFSET: usize = 9;
const _: () = assert!(MTIME_OFFSET + 4 == XFL_OFFSET && OS_OFFSET + 1 == HEADER_LEN);

/// Bytes of the trailer: CRC-32, then ISIZE.
pub const TRAILER_LEN: usize = 8;
/// Offset of the CRC-32 within the trailer.
pub const TRAILER_CRC_OFFSET: usize = 0;
/// Offset of ISIZE within the trailer.
pub const TRAILER_ISIZE_OFFSET: usize = 4;
const _: () = assert!(TRAILER_ISIZE_OFFSET + 4 == TRAILER_LEN);

/// FLG bit: the data is probably text (informational only).
pub const FTEXT: u8 = 0x01;
/// FLG bit: a CRC-16 of the header precedes the deflate stream.
pub const FHCRC: u8 = 0x02;
/// FLG bit: an extra field is present.
pub const FEXTRA: u8 = 0x04;
/// FLG bit: a NUL-terminated file name is present.
pub const FNAME: u8 = 0x08;
/// FLG bit: a NUL-terminated comment is present.
pub const FCOMMENT: u8 = 0x10;
/// FLG bits RFC 1952 reserves; a decoder "must give an error" if any is set.
pub const FLG_RESERVED: u8 = 0xe0;

/// XFL value written by `compress`: the compressor used its slowest, strongest setting.
pub const XFL_MAX_COMPRESSION: u8 = 2;
/// OS value written by `compress`: unknown, so images do not depend on the building host.
pub const OS_UNKNOWN: u8 = 255;

/// `miniz_oxide` level used by `compress`: images are built once and loaded many times.
pub const COMPRESSION_LEVEL: u8 = 9;

/// What the header of a gzip member says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// Bytes of the whole header, optional parts included: the deflate stream starts here.
    pub len: usize,
    pub flags: u8,
    pub mtime: u32,
    pub os: u8,
    pub extra: Option<&'a [u8]>,
    /// The file name without its NUL (ISO 8859-1 by the RFC; not interpreted here).
    pub name: Option<&'a [u8]>,
    pub comment: Option<&'a [u8]>,
}

/// Why bytes are not an acceptable gzip file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GzipError {
    /// The bytes end before the header, the deflate stream or the trailer does.
    Truncated,
    /// The first two bytes are not 1f 8b.
    NotGzip {
        magic: [u8; 2],
    },
    UnsupportedMethod {
        method: u8,
    },
    ReservedFlags {
        flags: u8,
    },
    HeaderCrcMismatch {
        stored: u16,
        computed: u16,
    },
    /// The deflate stream is invalid (RFC 1951).
    BadDeflate,
    /// The data would inflate to more than the caller allows.
    OutputTooLarge {
        limit: usize,
    },
    CrcMismatch {
        stored: u32,
        computed: u32,
    },
    /// ISIZE is not the inflated size modulo 2^32.
    SizeMismatch {
        stored: u32,
        actual: u32,
    },
    /// Bytes follow the trailer (a second member, or garbage): we accept exactly one member.
    TrailingData {
        bytes: usize,
    },
}

impl fmt::Display for GzipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => write!(f, "gzip data is truncated"),
            Self::NotGzip { magic: [a, b] } => {
                write!(f, "not gzip data: starts {a:02x} {b:02x}, not 1f 8b")
            }
            Self::UnsupportedMethod { method } => {
                write!(
                    f,
                    "gzip compression method {method} unsupported (only 8, deflate)"
                )
            }
            Self::ReservedFlags { flags } => {
                write!(f, "gzip header sets reserved flag bits ({flags:#04x})")
            }
            Self::HeaderCrcMismatch { stored, computed } => write!(
                f,
                "gzip header CRC-16 is {stored:#06x}, the header gives {computed:#06x}"
            ),
            Self::BadDeflate => write!(f, "invalid deflate data in gzip member"),
            Self::OutputTooLarge { limit } => {
                write!(
                    f,
                    "gzip data inflates to more than the limit of {limit} bytes"
                )
            }
            Self::CrcMismatch { stored, computed } => write!(
                f,
                "gzip CRC-32 is {stored:#010x} but the data gives {computed:#010x}"
            ),
            Self::SizeMismatch { stored, actual } => write!(
                f,
                "gzip ISIZE is {stored} but the data is {actual} bytes (mod 2^32)"
            ),
            Self::TrailingData { bytes } => write!(
                f,
                "{bytes} bytes follow the gzip trailer (only one member is accepted)"
            ),
        }
    }
}

/// Parses the header of the gzip member at the start of `bytes`.
pub fn parse_header(bytes: &[u8]) -> Result<Header<'_>, GzipError> {
    let fixed = le::array::<HEADER_LEN>(bytes, 0).ok_or(GzipError::Truncated)?;
    let field = |at| u8::from_le_bytes(le::field(&fixed, at));
    let magic = [field(ID1_OFFSET), field(ID2_OFFSET)];
    if magic != [ID1, ID2] {
        return Err(GzipError::NotGzip { magic });
    }
    let method = field(CM_OFFSET);
    if method != CM_DEFLATE {
        return Err(GzipError::UnsupportedMethod { method });
    }
    let flags = field(FLG_OFFSET);
    if flags & FLG_RESERVED != 0 {
        return Err(GzipError::ReservedFlags { flags });
    }

    let mut at = HEADER_LEN;
    let extra = if flags & FEXTRA != 0 {
        let xlen = le::u16_at(bytes, at).ok_or(GzipError::Truncated)?;
        let start = at + 2;
        at = start + usize::from(xlen);
        Some(bytes.get(start..at).ok_or(GzipError::Truncated)?)
    } else {
        None
    };
    let mut zero_terminated = |flag| -> Result<Option<&[u8]>, GzipError> {
        if flags & flag == 0 {
            return Ok(None);
        }
        let rest = bytes.get(at..).ok_or(GzipError::Truncated)?;
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(GzipError::Truncated)?;
        at += end + 1;
        Ok(rest.get(..end))
    };
    let name = zero_terminated(FNAME)?;
    let comment = zero_terminated(FCOMMENT)?;
    if flags & FHCRC != 0 {
        let stored = le::u16_at(bytes, at).ok_or(GzipError::Truncated)?;
        // The CRC-16 is the low half of the CRC-32 of every header byte before it.
        let covered = bytes.get(..at).ok_or(GzipError::Truncated)?;
        let computed = crc32(covered) as u16;
        if stored != computed {
            return Err(GzipError::HeaderCrcMismatch { stored, computed });
        }
        at += 2;
    }
    Ok(Header {
        len: at,
        flags,
        mtime: le::field_u32(&fixed, MTIME_OFFSET),
        os: field(OS_OFFSET),
        extra,
        name,
        comment,
    })
}

/// Inflates a gzip file of exactly one member into at most `max_output` bytes, checking the
/// header, the trailer's CRC-32 and ISIZE, and that nothing follows the trailer.
pub fn decompress(bytes: &[u8], max_output: usize) -> Result<Vec<u8>, GzipError> {
    let header = parse_header(bytes)?;
    let stream = bytes.get(header.len..).ok_or(GzipError::Truncated)?;
    let (data, used) = inflate(stream, max_output)?;
    let rest = stream.get(used..).ok_or(GzipError::Truncated)?;
    let trailer = le::array::<TRAILER_LEN>(rest, 0).ok_or(GzipError::Truncated)?;

    let stored = le::field_u32(&trailer, TRAILER_CRC_OFFSET);
    let computed = crc32(&data);
    if stored != computed {
        return Err(GzipError::CrcMismatch { stored, computed });
    }
    let stored = le::field_u32(&trailer, TRAILER_ISIZE_OFFSET);
    let actual = isize_of(&data);
    if stored != actual {
        return Err(GzipError::SizeMismatch { stored, actual });
    }
    match rest.len().saturating_sub(TRAILER_LEN) {
        0 => Ok(data),
        bytes => Err(GzipError::TrailingData { bytes }),
    }
}

/// Smallest output buffer the inflater starts with or grows by.
const MIN_OUTPUT_CHUNK: usize = 4096;

/// Inflates the raw deflate stream at the start of `input`; returns the data and how many
/// input bytes the stream occupied (so the caller finds the trailer right after it).
fn inflate(input: &[u8], max_output: usize) -> Result<(Vec<u8>, usize), GzipError> {
    // One growing buffer that never wraps, so back-references reach all earlier output; no
    // HAS_MORE_INPUT flag: the whole stream is here, running out means truncation.
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    // The decompressor's tables are about 11 KiB: on the heap, not on a kernel stack.
    let mut decompressor = Box::<DecompressorOxide>::default();
    let first_size = input.len().saturating_mul(4).max(MIN_OUTPUT_CHUNK);
    let mut output = vec![0; first_size.min(max_output)];
    let mut out_pos = 0;
    let mut in_pos = 0;
    loop {
        let rest = input.get(in_pos..).ok_or(GzipError::BadDeflate)?;
        let (status, in_used, out_used) =
            inflate_core::decompress(&mut decompressor, rest, &mut output, out_pos, flags);
        in_pos += in_used;
        out_pos += out_used;
        match status {
            TINFLStatus::Done => {
                output.truncate(out_pos);
                return Ok((output, in_pos));
            }
            TINFLStatus::HasMoreOutput => {
                if output.len() >= max_output {
                    return Err(GzipError::OutputTooLarge { limit: max_output });
                }
                let grown = output.len().saturating_mul(2).max(MIN_OUTPUT_CHUNK);
                output.resize(grown.min(max_output), 0);
            }
            TINFLStatus::FailedCannotMakeProgress | TINFLStatus::NeedsMoreInput => {
                return Err(GzipError::Truncated);
            }
            _ => return Err(GzipError::BadDeflate),
        }
    }
}

/// ISIZE: the length modulo 2^32, as RFC 1952 defines it (the truncating cast is the modulo).
fn isize_of(data: &[u8]) -> u32 {
    data.len() as u32
}

/// A gzip file of one member holding `data`: minimal header (no name, MTIME 0, OS unknown) so
/// the same input always gives the same bytes. Feature `encode` (see Cargo.toml for why).
#[cfg(any(feature = "encode", test))]
pub fn compress(data: &[u8]) -> Vec<u8> {
    let stream = miniz_oxide::deflate::compress_to_vec(data, COMPRESSION_LEVEL);
    let mut header = [0; HEADER_LEN];
    le::put(&mut header, ID1_OFFSET, &[ID1]);
    le::put(&mut header, ID2_OFFSET, &[ID2]);
    le::put(&mut header, CM_OFFSET, &[CM_DEFLATE]);
    le::put(&mut header, XFL_OFFSET, &[XFL_MAX_COMPRESSION]);
    le::put(&mut header, OS_OFFSET, &[OS_UNKNOWN]);
    let mut trailer = [0; TRAILER_LEN];
    le::put(&mut trailer, TRAILER_CRC_OFFSET, &crc32(data).to_le_bytes());
    le::put(
        &mut trailer,
        TRAILER_ISIZE_OFFSET,
        &isize_of(data).to_le_bytes(),
    );

    let mut file = Vec::with_capacity(HEADER_LEN + stream.len() + TRAILER_LEN);
    file.extend_from_slice(&header);
    file.extend_from_slice(&stream);
    file.extend_from_slice(&trailer);
    file
}

/// Test support: gzip files with every optional header part, which [`compress`] never writes.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::crc32::Crc32;

    /// `compress(data)` with its header replaced: `flags` plus the parts given (each part's
    /// flag is set when it is `Some`), and an FHCRC over the result when `header_crc`.
    pub(crate) fn with_header(
        data: &[u8],
        extra: Option<&[u8]>,
        name: Option<&[u8]>,
        comment: Option<&[u8]>,
        header_crc: bool,
    ) -> Vec<u8> {
        let plain = compress(data);
        let mut flags = 0;
        let mut parts = Vec::new();
        if let Some(extra) = extra {
            flags |= FEXTRA;
            parts.extend_from_slice(&(extra.len() as u16).to_le_bytes());
            parts.extend_from_slice(extra);
        }
        for (flag, text) in [(FNAME, name), (FCOMMENT, comment)] {
            if let Some(text) = text {
                flags |= flag;
                parts.extend_from_slice(text);
                parts.push(0);
            }
        }
        if header_crc {
            flags |= FHCRC;
        }
        let mut file = plain[..HEADER_LEN].to_vec();
        file[FLG_OFFSET] = flags;
        file[MTIME_OFFSET..MTIME_OFFSET + 4].copy_from_slice(&0x6000_0000u32.to_le_bytes());
        file.extend_from_slice(&parts);
        if header_crc {
            let mut crc = Crc32::new();
            crc.update(&file);
            file.extend_from_slice(&(crc.finish() as u16).to_le_bytes());
        }
        file.extend_from_slice(&plain[HEADER_LEN..]);
        file
    }
}

#[cfg(test)]
mod tests {
    use super::testing::with_header;
    use super::*;
    use std::io::{Read, Write};

    fn sample_data() -> Vec<u8> {
        // Compressible but not trivial: a counter pattern with some text.
        let mut data = b"Amoeba process image test data. ".repeat(20);
        data.extend((0..2000u32).map(|i| (i * 7 % 251) as u8));
        data
    }

    const LIMIT: usize = 1 << 20;

    #[test]
    fn round_trip_and_deterministic() {
        let data = sample_data();
        let file = compress(&data);
        assert_eq!(file, compress(&data), "same input, same bytes");
        assert_eq!(&file[..4], &[ID1, ID2, CM_DEFLATE, 0]);
        assert_eq!(decompress(&file, LIMIT), Ok(data));
        assert_eq!(decompress(&compress(b""), LIMIT), Ok(Vec::new()));
        assert_eq!(decompress(&compress(b""), 0), Ok(Vec::new()));
    }

    #[test]
    fn other_implementations_agree() {
        // flate2 (independent gzip framing) reads ours and we read theirs, name and comment too.
        let data = sample_data();
        let mut theirs = Vec::new();
        flate2::read::GzDecoder::new(&compress(&data)[..])
            .read_to_end(&mut theirs)
            .unwrap();
        assert_eq!(theirs, data);

        let mut encoder = flate2::GzBuilder::new()
            .filename("hello.img")
            .comment("a comment")
            .extra(vec![1, 2, 3, 4])
            .mtime(1_700_000_000)
            .write(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&data).unwrap();
        let file = encoder.finish().unwrap();
        let header = parse_header(&file).unwrap();
        assert_eq!(header.name, Some(&b"hello.img"[..]));
        assert_eq!(header.comment, Some(&b"a comment"[..]));
        assert_eq!(header.extra, Some(&[1, 2, 3, 4][..]));
        assert_eq!(header.mtime, 1_700_000_000);
        assert_eq!(decompress(&file, LIMIT), Ok(data));
    }

    #[test]
    fn optional_header_parts_are_skipped_and_checked() {
        let data = sample_data();
        let file = with_header(&data, Some(b"xy"), Some(b"name"), Some(b"note"), true);
        let header = parse_header(&file).unwrap();
        assert_eq!(header.len, HEADER_LEN + 4 + 5 + 5 + 2);
        assert_eq!(header.flags, FEXTRA | FNAME | FCOMMENT | FHCRC);
        assert_eq!(decompress(&file, LIMIT), Ok(data.clone()));

        // Any changed header byte past the flags is refused; one that keeps the header's
        // structure (all but XLEN and the NULs) is caught by the header CRC.
        let structural = [HEADER_LEN, HEADER_LEN + 1, HEADER_LEN + 8, HEADER_LEN + 13];
        for index in FLG_OFFSET + 1..header.len {
            let mut bad = file.clone();
            bad[index] ^= 0x40;
            let result = decompress(&bad, LIMIT);
            assert!(
                matches!(result, Err(GzipError::HeaderCrcMismatch { .. }))
                    || structural.contains(&index) && result.is_err(),
                "byte {index}: {result:?}"
            );
        }
    }

    #[test]
    fn header_errors() {
        let file = compress(b"data");
        let mut bad = file.clone();
        bad[ID2_OFFSET] = 0x8c;
        assert_eq!(
            decompress(&bad, LIMIT),
            Err(GzipError::NotGzip {
                magic: [0x1f, 0x8c]
            })
        );
        let mut bad = file.clone();
        bad[CM_OFFSET] = 7;
        assert_eq!(
            decompress(&bad, LIMIT),
            Err(GzipError::UnsupportedMethod { method: 7 })
        );
        for bit in [0x20, 0x40, 0x80] {
            let mut bad = file.clone();
            bad[FLG_OFFSET] = bit;
            assert_eq!(
                decompress(&bad, LIMIT),
                Err(GzipError::ReservedFlags { flags: bit })
            );
        }
        // FNAME without its NUL, FEXTRA longer than the file.
        assert_eq!(
            parse_header(&[ID1, ID2, 8, FNAME, 0, 0, 0, 0, 0, 0, b'a', b'b']),
            Err(GzipError::Truncated)
        );
        assert_eq!(
            parse_header(&[ID1, ID2, 8, FEXTRA, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1]),
            Err(GzipError::Truncated)
        );
        // FTEXT is informational and accepted.
        let mut text = file.clone();
        text[FLG_OFFSET] = FTEXT;
        assert_eq!(decompress(&text, LIMIT), Ok(b"data".to_vec()));
    }

    #[test]
    fn every_truncation_is_reported_as_such() {
        let data = sample_data();
        for file in [
            compress(&data),
            with_header(&data, Some(b"e"), Some(b"n"), Some(b"c"), true),
        ] {
            for len in 0..file.len() {
                assert_eq!(
                    decompress(&file[..len], LIMIT),
                    Err(GzipError::Truncated),
                    "{len} of {} bytes",
                    file.len()
                );
            }
        }
    }

    #[test]
    fn trailer_errors() {
        let data = sample_data();
        let file = compress(&data);
        let crc_at = file.len() - TRAILER_LEN;
        for index in crc_at..crc_at + 4 {
            let mut bad = file.clone();
            bad[index] ^= 0x10;
            assert!(matches!(
                decompress(&bad, LIMIT),
                Err(GzipError::CrcMismatch { computed, .. }) if computed == crc32(&data)
            ));
        }
        for index in crc_at + 4..file.len() {
            let mut bad = file.clone();
            bad[index] ^= 0x10;
            assert!(matches!(
                decompress(&bad, LIMIT),
                Err(GzipError::SizeMismatch { actual, .. }) if actual as usize == data.len()
            ));
        }
        let mut two_members = file.clone();
        two_members.extend_from_slice(&file);
        assert_eq!(
            decompress(&two_members, LIMIT),
            Err(GzipError::TrailingData { bytes: file.len() })
        );
    }

    #[test]
    fn corrupt_deflate_data_is_refused() {
        // Block type 3 is reserved in RFC 1951.
        let mut file = compress(b"x");
        file[HEADER_LEN] = 0b111;
        assert_eq!(decompress(&file, LIMIT), Err(GzipError::BadDeflate));
    }

    #[test]
    fn output_limit_is_exact() {
        let data = vec![0x5a; 100_000];
        let file = compress(&data);
        assert!(file.len() < 1000);
        assert_eq!(decompress(&file, data.len()), Ok(data.clone()));
        assert_eq!(
            decompress(&file, data.len() - 1),
            Err(GzipError::OutputTooLarge {
                limit: data.len() - 1
            })
        );
        assert_eq!(
            decompress(&compress(b"x"), 0),
            Err(GzipError::OutputTooLarge { limit: 0 })
        );
    }

    #[test]
    fn errors_explain_themselves() {
        assert_eq!(
            GzipError::OutputTooLarge { limit: 10 }.to_string(),
            "gzip data inflates to more than the limit of 10 bytes"
        );
        assert_eq!(
            GzipError::NotGzip {
                magic: [0x7f, 0x45]
            }
            .to_string(),
            "not gzip data: starts 7f 45, not 1f 8b"
        );
    }
}
