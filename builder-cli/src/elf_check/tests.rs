//! Synthetic kernels: a minimal ELF64 with one executable PT_LOAD at 1 MiB, file offset
//! 0x1000, holding a Multiboot 2 header then a Multiboot 1 header, as the real linker script
//! lays them out. Each test breaks one thing.

use super::*;

const LOAD_ADDR: u32 = 0x10_0000;
const LOAD_OFFSET: usize = 0x1000;
const CODE_LEN: usize = 0x1000;
const BSS_LEN: u32 = 0x2000;
const ENTRY: u32 = LOAD_ADDR + 0x100;

struct Image {
    bytes: Vec<u8>,
}

impl Image {
    /// A good kernel: MB2 at 0x1000 (24 bytes), MB1 right after it at 0x1018.
    fn good() -> Self {
        Self::good_with_tags(&[])
    }

    /// A good kernel whose MB2 header has `tags` (padded) before its end tag.
    fn good_with_tags(tags: &[u8]) -> Self {
        let mut image = Self {
            bytes: vec![0; LOAD_OFFSET + CODE_LEN],
        };
        image.elf_header(u64::from(ENTRY));
        image.load_segment(
            1 | 4,
            LOAD_OFFSET as u64,
            u64::from(LOAD_ADDR),
            CODE_LEN as u64,
        );
        image.mb2(LOAD_OFFSET, tags);
        let mb2_len = 24 + tags.len();
        image.mb1(
            LOAD_OFFSET + mb2_len,
            0x0001_0003,
            LOAD_ADDR + mb2_len as u32,
        );
        image
    }

    fn put(&mut self, at: usize, bytes: &[u8]) {
        if self.bytes.len() < at + bytes.len() {
            self.bytes.resize(at + bytes.len(), 0);
        }
        self.bytes[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn put32(&mut self, at: usize, value: u32) {
        self.put(at, &value.to_le_bytes());
    }

    fn elf_header(&mut self, entry: u64) {
        let mut h = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
        h.resize(16, 0);
        h.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        h.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
        h.extend_from_slice(&1u32.to_le_bytes());
        h.extend_from_slice(&entry.to_le_bytes());
        h.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
        h.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
        h.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        for half in [64u16, 56, 1, 64, 0, 0] {
            h.extend_from_slice(&half.to_le_bytes()); // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
        }
        self.put(0, &h);
    }

    fn load_segment(&mut self, flags: u32, offset: u64, addr: u64, filesz: u64) {
        let mut p = Vec::new();
        p.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        p.extend_from_slice(&flags.to_le_bytes());
        for word in [
            offset,
            addr,
            addr,
            filesz,
            filesz + u64::from(BSS_LEN),
            0x1000,
        ] {
            p.extend_from_slice(&word.to_le_bytes());
        }
        self.put(64, &p);
    }

    fn mb1(&mut self, at: usize, flags: u32, header_addr: u32) {
        let fields = [
            0x1BAD_B002,
            flags,
            0u32.wrapping_sub(0x1BAD_B002u32.wrapping_add(flags)),
            header_addr,
            LOAD_ADDR,
            LOAD_ADDR + CODE_LEN as u32,
            LOAD_ADDR + CODE_LEN as u32 + BSS_LEN,
            ENTRY,
        ];
        for (i, field) in fields.into_iter().enumerate() {
            self.put32(at + 4 * i, field);
        }
    }

    /// An MB2 header with the given tags (already padded) before the end tag.
    fn mb2(&mut self, at: usize, tags: &[u8]) {
        let length = (16 + tags.len() + 8) as u32;
        let checksum = 0u32.wrapping_sub(0xE852_50D6u32.wrapping_add(length));
        for (i, field) in [0xE852_50D6, 0, length, checksum].into_iter().enumerate() {
            self.put32(at + 4 * i, field);
        }
        self.put(at + 16, tags);
        self.put(at + 16 + tags.len(), &[0, 0, 0, 0, 8, 0, 0, 0]);
    }

    fn check(&self) -> Result<KernelHeaders, ElfCheckError> {
        check_kernel(&self.bytes)
    }
}

const MB1_AT: usize = LOAD_OFFSET + 24;

#[test]
fn a_good_image_passes() {
    let headers = Image::good().check().expect("good image");
    assert_eq!(headers.entry, u64::from(ENTRY));
    assert_eq!(headers.multiboot1.offset, MB1_AT);
    assert_eq!(headers.multiboot2.offset, LOAD_OFFSET);
    assert_eq!(headers.multiboot2.tags, 0);
}

#[test]
fn not_an_elf() {
    assert!(matches!(
        check_kernel(b"MZ not an elf at all"),
        Err(ElfCheckError::NotElf64(_))
    ));
}

#[test]
fn wrong_machine() {
    let mut image = Image::good();
    image.put(18, &3u16.to_le_bytes());
    assert_eq!(image.check(), Err(ElfCheckError::NotX86_64(3)));
}

#[test]
fn entry_must_be_in_executable_code() {
    let mut image = Image::good();
    image.load_segment(4, LOAD_OFFSET as u64, u64::from(LOAD_ADDR), CODE_LEN as u64);
    assert_eq!(
        image.check(),
        Err(ElfCheckError::EntryNotExecutable {
            entry: u64::from(ENTRY)
        })
    );
    let mut image = Image::good();
    image.elf_header(0x40_0000);
    assert_eq!(
        image.check(),
        Err(ElfCheckError::EntryNotExecutable { entry: 0x40_0000 })
    );
}

#[test]
fn mb1_missing() {
    let mut image = Image::good();
    image.put32(MB1_AT, 0);
    assert_eq!(image.check(), Err(Mb1Error::NotFound.into()));
}

#[test]
fn mb1_misaligned_is_not_found() {
    let mut image = Image::good();
    image.put(MB1_AT, &[0; 32]);
    image.mb1(MB1_AT + 2, 0x0001_0003, LOAD_ADDR + 26);
    assert_eq!(image.check(), Err(Mb1Error::NotFound.into()));
}

#[test]
fn mb1_beyond_8_kib() {
    let mut image = Image::good();
    image.put(MB1_AT, &[0; 32]);
    image.put(0x2000 + CODE_LEN, &[0; 64]);
    image.mb1(0x2000, 0x0001_0003, LOAD_ADDR + 0x1000);
    assert_eq!(image.check(), Err(Mb1Error::NotFound.into()));
    let mut image = Image::good();
    image.put(MB1_AT, &[0; 32]);
    image.mb1(0x2000 - 16, 0x0001_0003, LOAD_ADDR + 0x1000 - 16);
    assert_eq!(
        image.check(),
        Err(Mb1Error::BeyondLimit {
            offset: 0x2000 - 16
        }
        .into())
    );
}

#[test]
fn mb1_bad_checksum() {
    let mut image = Image::good();
    image.put32(MB1_AT + 8, 0x1234);
    assert!(matches!(
        image.check(),
        Err(ElfCheckError::Multiboot1(Mb1Error::BadChecksum {
            offset: MB1_AT,
            ..
        }))
    ));
}

#[test]
fn mb1_needs_address_fields() {
    let mut image = Image::good();
    image.mb1(MB1_AT, 0x0000_0003, LOAD_ADDR + 24);
    assert_eq!(
        image.check(),
        Err(Mb1Error::NoAddressFields { flags: 3 }.into())
    );
}

#[test]
fn mb1_unknown_requirement() {
    let mut image = Image::good();
    image.mb1(MB1_AT, 0x0001_0013, LOAD_ADDR + 24);
    assert_eq!(
        image.check(),
        Err(Mb1Error::UnknownRequirement { flags: 0x0001_0013 }.into())
    );
}

#[test]
fn mb1_header_addr_must_match_its_file_position() {
    let mut image = Image::good();
    image.mb1(MB1_AT, 0x0001_0003, LOAD_ADDR + 0x20);
    assert_eq!(
        image.check(),
        Err(Mb1Error::SegmentMismatch {
            paddr: u64::from(LOAD_ADDR),
            offset: LOAD_OFFSET as u64
        }
        .into())
    );
    let mut image = Image::good();
    image.mb1(MB1_AT, 0x0001_0003, LOAD_ADDR + 0x2000);
    assert_eq!(
        image.check(),
        Err(Mb1Error::LoadBeforeFile {
            load_addr: LOAD_ADDR,
            before: 0x2000 - MB1_AT as u64
        }
        .into())
    );
    let mut image = Image::good();
    image.mb1(MB1_AT, 0x0001_0003, LOAD_ADDR - 4);
    assert_eq!(
        image.check(),
        Err(Mb1Error::HeaderBeforeLoad {
            header_addr: LOAD_ADDR - 4,
            load_addr: LOAD_ADDR
        }
        .into())
    );
}

#[test]
fn mb1_load_end_past_the_file() {
    let mut image = Image::good();
    image.put32(MB1_AT + 20, LOAD_ADDR + CODE_LEN as u32 + 4);
    assert!(matches!(
        image.check(),
        Err(ElfCheckError::Multiboot1(Mb1Error::BadLoadEnd { .. }))
    ));
}

#[test]
fn mb1_bss_end_before_load_end() {
    let mut image = Image::good();
    image.put32(MB1_AT + 24, LOAD_ADDR + 8);
    assert!(matches!(
        image.check(),
        Err(ElfCheckError::Multiboot1(Mb1Error::BssBeforeLoadEnd { .. }))
    ));
}

#[test]
fn mb1_bss_must_cover_the_segment() {
    let mut image = Image::good();
    image.put32(MB1_AT + 24, LOAD_ADDR + CODE_LEN as u32 + 8);
    assert!(matches!(
        image.check(),
        Err(ElfCheckError::Multiboot1(Mb1Error::SegmentMismatch { .. }))
    ));
}

#[test]
fn mb1_entry_outside_the_load() {
    let mut image = Image::good();
    image.put32(MB1_AT + 28, LOAD_ADDR + CODE_LEN as u32 + 0x10);
    assert!(matches!(
        image.check(),
        Err(ElfCheckError::Multiboot1(Mb1Error::EntryOutside { .. }))
    ));
}

#[test]
fn mb2_missing() {
    let mut image = Image::good();
    image.put32(LOAD_OFFSET, 0);
    assert_eq!(image.check(), Err(Mb2Error::NotFound.into()));
}

#[test]
fn mb2_bad_checksum() {
    let mut image = Image::good();
    image.put32(LOAD_OFFSET + 12, 7);
    assert!(matches!(
        image.check(),
        Err(ElfCheckError::Multiboot2(Mb2Error::BadChecksum { .. }))
    ));
}

#[test]
fn mb2_must_be_8_byte_aligned_and_early() {
    let mut image = Image::good();
    image.put32(LOAD_OFFSET, 0);
    image.mb2(0x204, &[]);
    assert_eq!(image.check(), Err(Mb2Error::NotFound.into()));
    let mut image = Image::good();
    image.put32(LOAD_OFFSET, 0);
    image.mb2(0x8000, &[]);
    assert_eq!(image.check(), Err(Mb2Error::NotFound.into()));
}

#[test]
fn mb2_bad_architecture() {
    let mut image = Image::good();
    image.put32(LOAD_OFFSET + 4, 4);
    image.put32(
        LOAD_OFFSET + 12,
        0u32.wrapping_sub(0xE852_50D6u32.wrapping_add(4 + 24)),
    );
    assert_eq!(image.check(), Err(Mb2Error::BadArchitecture(4).into()));
}

#[test]
fn mb2_tags_are_walked() {
    // An information-request tag (type 1) asking for the memory map (6): 12 bytes, padded.
    let tag = [1, 0, 0, 0, 12, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0];
    let image = Image::good_with_tags(&tag);
    assert_eq!(image.check().map(|h| h.multiboot2.tags), Ok(1));
}

#[test]
fn mb2_unknown_required_tag() {
    let image = Image::good_with_tags(&[42, 0, 0, 0, 8, 0, 0, 0]);
    assert_eq!(
        image.check(),
        Err(Mb2Error::UnknownRequiredTag {
            at: 16,
            tag_type: 42
        }
        .into())
    );
}

#[test]
fn mb2_bad_tag_size() {
    let image = Image::good_with_tags(&[1, 0, 0, 0, 64, 0, 0, 0]);
    assert_eq!(
        image.check(),
        Err(Mb2Error::BadTagSize { at: 16, size: 64 }.into())
    );
}

#[test]
fn mb2_end_tag_must_be_last_and_8_bytes() {
    let mut image = Image::good();
    image.put32(LOAD_OFFSET + 20, 16);
    assert_eq!(
        image.check(),
        Err(Mb2Error::BadEndTag { at: 16, size: 16 }.into())
    );
}

#[test]
fn mb2_without_end_tag() {
    let mut image = Image::good_with_tags(&[4, 0, 1, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    // Overwrite the end tag with another optional console tag: the walk runs out.
    image.put(LOAD_OFFSET + 32, &[4, 0, 1, 0, 8, 0, 0, 0]);
    assert_eq!(image.check(), Err(Mb2Error::NoEndTag.into()));
}
