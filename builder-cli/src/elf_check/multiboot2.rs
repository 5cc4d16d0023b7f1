//! The Multiboot 2 header GRUB's `multiboot2` command looks for.
//!
//! Layout: Multiboot2 Specification 2.0, section 3.1: magic, architecture, header_length,
//! checksum, then 8-byte aligned tags (`u16 type, u16 flags, u32 size`) ending with the end
//! tag (type 0, size 8). GRUB refuses a header whose tags it cannot walk, and a tag type it
//! does not know unless the tag is marked optional (flags bit 0).

use thiserror::Error;

use super::read_u32;

pub const MAGIC: u32 = 0xE852_50D6;
pub const SEARCH_LIMIT: usize = 32768;
pub const ALIGN: usize = 8;
/// Architecture 0: 32-bit protected mode of i386, which is how both loaders enter us.
pub const ARCH_I386: u32 = 0;
const FIXED_LEN: usize = 16;
const END_TAG_SIZE: u32 = 8;
/// Highest tag type the specification defines (10: relocatable header).
const LAST_KNOWN_TAG: u16 = 10;
const TAG_OPTIONAL: u16 = 1;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum Mb2Error {
    #[error("no magic {MAGIC:#010x} at an 8-byte aligned offset in the first {SEARCH_LIMIT} bytes")]
    NotFound,
    #[error(
        "at offset {offset:#x}: magic + architecture + header_length + checksum is {sum:#010x}, not 0"
    )]
    BadChecksum { offset: usize, sum: u32 },
    #[error("architecture {0} is not 0 (i386 protected mode)")]
    BadArchitecture(u32),
    #[error(
        "header_length {length} is too short or runs past the first {SEARCH_LIMIT} bytes / the file"
    )]
    BadLength { length: u32 },
    #[error("tag at header offset {at:#x}: size {size} is too small or runs past header_length")]
    BadTagSize { at: usize, size: u32 },
    #[error("tag at header offset {at:#x}: unknown type {tag_type} is not marked optional")]
    UnknownRequiredTag { at: usize, tag_type: u16 },
    #[error("the end tag at header offset {at:#x} has size {size}, not 8, or is not last")]
    BadEndTag { at: usize, size: u32 },
    #[error("the tags run to header_length without an end tag")]
    NoEndTag,
}

/// A valid header, as found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mb2Header {
    pub offset: usize,
    pub header_length: u32,
    /// Tags before the end tag.
    pub tags: usize,
}

pub fn check(image: &[u8]) -> Result<Mb2Header, Mb2Error> {
    let (offset, header_length) = find(image)?;
    let header = &image[offset..offset + header_length as usize];
    let tags = walk_tags(header)?;
    Ok(Mb2Header {
        offset,
        header_length,
        tags,
    })
}

/// The first candidate with a right checksum (the magic may occur by chance elsewhere).
fn find(image: &[u8]) -> Result<(usize, u32), Mb2Error> {
    let mut first_error = None;
    for offset in (0..SEARCH_LIMIT.min(image.len())).step_by(ALIGN) {
        if read_u32(image, offset) != Some(MAGIC) {
            continue;
        }
        let field = |i: usize| read_u32(image, offset + 4 * i).unwrap_or(0);
        let (arch, length) = (field(1), field(2));
        let sum = MAGIC
            .wrapping_add(arch)
            .wrapping_add(length)
            .wrapping_add(field(3));
        if sum != 0 {
            first_error.get_or_insert(Mb2Error::BadChecksum { offset, sum });
            continue;
        }
        if arch != ARCH_I386 {
            return Err(Mb2Error::BadArchitecture(arch));
        }
        let end = offset.checked_add(length as usize);
        let fits = end.is_some_and(|end| end <= SEARCH_LIMIT && end <= image.len());
        if (length as usize) < FIXED_LEN + END_TAG_SIZE as usize || !fits {
            return Err(Mb2Error::BadLength { length });
        }
        return Ok((offset, length));
    }
    Err(first_error.unwrap_or(Mb2Error::NotFound))
}

/// Walks the tags; returns how many came before the end tag.
fn walk_tags(header: &[u8]) -> Result<usize, Mb2Error> {
    let mut at = FIXED_LEN;
    let mut count = 0;
    while at + 8 <= header.len() {
        let word = read_u32(header, at).unwrap_or(0);
        let (tag_type, flags) = ((word & 0xFFFF) as u16, (word >> 16) as u16);
        let size = read_u32(header, at + 4).unwrap_or(0);
        if tag_type == 0 {
            if size != END_TAG_SIZE || at + 8 != header.len() {
                return Err(Mb2Error::BadEndTag { at, size });
            }
            return Ok(count);
        }
        if size < 8 || at + size as usize > header.len() {
            return Err(Mb2Error::BadTagSize { at, size });
        }
        if tag_type > LAST_KNOWN_TAG && flags & TAG_OPTIONAL == 0 {
            return Err(Mb2Error::UnknownRequiredTag { at, tag_type });
        }
        count += 1;
        at += (size as usize).next_multiple_of(8);
    }
    Err(Mb2Error::NoEndTag)
}
