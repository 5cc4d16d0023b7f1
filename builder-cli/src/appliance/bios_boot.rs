//! The BIOS boot of the disk image: GRUB's boot.img as the MBR's code and a core.img in the
//! gap after the MBR, with the pointers between them written here, as `grub-bios-setup`
//! writes them when it embeds a core image after an MBR (GRUB 2.06 `util/setup.c`; the
//! offsets are `include/grub/i386/pc/boot.h` and `include/grub/offsets.h`):
//!
//! - boot.img is 512 bytes; of them the MBR keeps bytes 0..0x1B8 (the partition table and
//!   the signature follow, from the partition table code). In them: the BIOS parameter block
//!   area 0x03..0x5A is copied from the disk's old sector 0 (zeros on a new disk);
//!   `KERNEL_SECTOR` at 0x5C, a little-endian u64, is the disk sector of core.img's first
//!   sector; `BOOT_DRIVE` at 0x64 is 0xFF ("the drive the BIOS booted from", in DL); and the
//!   2-byte jump at `DRIVE_CHECK` 0x66 becomes two NOPs (0x90) on a hard disk, which makes
//!   boot.img take drive 0x80 when a BIOS passes a floppy number in DL.
//! - core.img's first sector is diskboot.img, which loads the rest by the block list that ends
//!   its sector: entries of 12 bytes (`struct grub_pc_bios_boot_blocklist`: u64 start sector,
//!   u16 sector count, u16 load segment, little-endian), the first at 0x200 − 12, the next
//!   below it, a count of 0 ending the list. One entry covers an embedded core: start = core's
//!   first sector + 1, count = core sectors − 1, segment 0x820 (`GRUB_BOOT_I386_PC_KERNEL_SEG`
//!   0x800 + 512 >> 4: the rest loads right after the first sector, which boot.img loads at
//!   0x8000).
//! - grub-bios-setup can add Reed-Solomon codes after core.img (`--no-rs-codes` leaves them
//!   out); we leave them out: the redundancy field grub-mkimage wrote stays 0, and GRUB's
//!   startup code then skips the recovery (`grub_reed_solomon_recover` returns at once).

use thiserror::Error;

/// The bytes of a sector, and so of boot.img.
pub const SECTOR: usize = 512;
/// The MBR code area mbrman keeps (`MBRHeader::bootstrap_code`): up to the disk signature at
/// 0x1B8 (`GRUB_BOOT_MACHINE_WINDOWS_NT_MAGIC`).
pub const BOOT_CODE_BYTES: usize = 0x1B8;
const BPB_START: usize = 0x03;
const BPB_END: usize = 0x5A;
const KERNEL_SECTOR: usize = 0x5C;
const BOOT_DRIVE: usize = 0x64;
const DRIVE_CHECK: usize = 0x66;
/// 0xFF: the drive number the BIOS passes.
const BOOT_DRIVE_FROM_BIOS: u8 = 0xFF;
const NOP: u8 = 0x90;
const BLOCKLIST_ENTRY: usize = 12;
/// Where the rest of core.img is loaded: segment 0x820, linear 0x8200.
const CORE_REST_SEGMENT: u16 = 0x820;
/// What boot.img and diskboot.img can load: from 0x8000 up to 0x78000, minus the kernel's
/// link address 0x9000 (setup.c's `maxsec` for BIOS: `(0x78000 - 0x9000) >> 9`).
pub const MAX_CORE_SECTORS: u64 = (0x78000 - 0x9000) >> 9;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BiosBootError {
    #[error("GRUB's boot.img is {0} bytes, not one sector of 512")]
    BootImageSize(usize),
    #[error(
        "GRUB's core.img is {sectors} sectors; a BIOS boot loads at most {MAX_CORE_SECTORS} \
         (and {gap} fit before the first partition)"
    )]
    CoreTooBig { sectors: u64, gap: u64 },
    #[error(
        "GRUB's core.img has no empty block list entry below its first one (not a GRUB 2 i386-pc core image)"
    )]
    NoTerminator,
}

/// The MBR's code: boot.img's first [`BOOT_CODE_BYTES`] with the fields grub-bios-setup
/// writes, for a core image at sector `core_sector`.
pub fn boot_code(
    boot_img: &[u8],
    core_sector: u64,
) -> Result<[u8; BOOT_CODE_BYTES], BiosBootError> {
    if boot_img.len() != SECTOR {
        return Err(BiosBootError::BootImageSize(boot_img.len()));
    }
    let mut code = [0u8; BOOT_CODE_BYTES];
    code.copy_from_slice(&boot_img[..BOOT_CODE_BYTES]);
    // A new disk's sector 0 is zeros: so is the BPB grub-bios-setup would copy from it.
    code[BPB_START..BPB_END].fill(0);
    code[KERNEL_SECTOR..KERNEL_SECTOR + 8].copy_from_slice(&core_sector.to_le_bytes());
    code[BOOT_DRIVE] = BOOT_DRIVE_FROM_BIOS;
    code[DRIVE_CHECK] = NOP;
    code[DRIVE_CHECK + 1] = NOP;
    Ok(code)
}

/// core.img padded to whole sectors, its first block list naming the rest at `core_sector`
/// + 1; it must fit in `gap` sectors.
pub fn embedded_core(
    core_img: &[u8],
    core_sector: u64,
    gap: u64,
) -> Result<Vec<u8>, BiosBootError> {
    let sectors = core_img.len().div_ceil(SECTOR) as u64;
    if sectors > MAX_CORE_SECTORS || sectors > gap || sectors < 2 {
        return Err(BiosBootError::CoreTooBig { sectors, gap });
    }
    let mut core = core_img.to_vec();
    core.resize(sectors as usize * SECTOR, 0);
    let first = SECTOR - BLOCKLIST_ENTRY;
    let below = first - BLOCKLIST_ENTRY;
    let below_count = u16::from_le_bytes([core[below + 8], core[below + 9]]);
    if below_count != 0 {
        return Err(BiosBootError::NoTerminator);
    }
    // `sectors` is at most MAX_CORE_SECTORS (888): the count fits a u16.
    let rest = (sectors - 1) as u16;
    core[first..first + 8].copy_from_slice(&(core_sector + 1).to_le_bytes());
    core[first + 8..first + 10].copy_from_slice(&rest.to_le_bytes());
    core[first + 10..first + 12].copy_from_slice(&CORE_REST_SEGMENT.to_le_bytes());
    Ok(core)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_code_gets_the_core_sector_drive_and_nops() {
        let boot = vec![0xAAu8; SECTOR];
        let code = boot_code(&boot, 1).expect("one sector");
        assert_eq!(&code[0x5C..0x64], &[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(code[0x64], 0xFF);
        assert_eq!(&code[0x66..0x68], &[0x90, 0x90]);
        assert!(code[0x03..0x5A].iter().all(|&b| b == 0));
        assert_eq!(code[0x02], 0xAA);
        assert_eq!(code[0x5A], 0xAA);
        assert_eq!(code[0x1B7], 0xAA);
        assert_eq!(
            boot_code(&[0; 400], 1),
            Err(BiosBootError::BootImageSize(400))
        );
    }

    #[test]
    fn the_core_lists_its_other_sectors() {
        let core = vec![0x11u8; 3 * SECTOR + 100];
        let mut core = core;
        core[0x1E8..0x1F4].fill(0);
        let embedded = embedded_core(&core, 1, 2047).expect("fits");
        assert_eq!(embedded.len(), 4 * SECTOR);
        assert_eq!(&embedded[0x1F4..0x1FC], &2u64.to_le_bytes());
        assert_eq!(&embedded[0x1FC..0x1FE], &3u16.to_le_bytes());
        assert_eq!(&embedded[0x1FE..0x200], &0x820u16.to_le_bytes());
        assert!(embedded[3 * SECTOR + 100..].iter().all(|&b| b == 0));
    }

    #[test]
    fn a_core_that_does_not_fit_or_is_no_core_is_refused() {
        let core = vec![0u8; 900 * SECTOR];
        assert!(matches!(
            embedded_core(&core, 1, 2047),
            Err(BiosBootError::CoreTooBig { sectors: 900, .. })
        ));
        let core = vec![0u8; 20 * SECTOR];
        assert!(matches!(
            embedded_core(&core, 1, 10),
            Err(BiosBootError::CoreTooBig { .. })
        ));
        let core = vec![0x11u8; 4 * SECTOR];
        assert_eq!(
            embedded_core(&core, 1, 2047),
            Err(BiosBootError::NoTerminator)
        );
    }
}
