//! Where everything lies on the disk image, and its MBR partition table (written with the
//! `mbrman` crate). The layout is a contract with the kernel, which finds the node's disk in
//! the Amoeba partition (`libamoeba::servers::vdisk::mbr`); `docs/appliance-image.md` has it
//! in full:
//!
//! | sectors | what |
//! |---|---|
//! | 0 | MBR: GRUB's boot.img code, disk signature, partition table, 0x55 0xAA |
//! | 1 .. 2047 | GRUB's BIOS core.img (the "MBR gap", outside every partition) |
//! | 2048 .. | partition 1, type 0xEF: the EFI system partition (FAT32) |
//! | next MiB .. | partition 2, type 0x93 (Amoeba), for a node with a disk: `disk.img` |
//!
//! Partitions start on MiB boundaries (sector 2048 is where partitioning tools have put the
//! first one since about 2010, and the gap before it is what GRUB embeds core.img in).
//! MBR entries (UEFI 2.10, 5.2.1 "Legacy Master Boot Record"): the boot indicator 0x80 on
//! partition 1 (some BIOSes boot only a disk with an active partition; UEFI firmware ignores
//! it), the start and size as LBAs, and the CHS fields from the 255-head, 63-sector geometry,
//! 1023/254/63 past its end (UEFI and GRUB read only the LBAs).

use mbrman::{CHS, MBR, MBRHeader, MBRPartitionEntry};
use thiserror::Error;

use super::bios_boot::{BOOT_CODE_BYTES, SECTOR};

/// A MiB in sectors: where partitions start.
pub const ALIGN_SECTORS: u64 = 2048;
/// The EFI system partition's MBR type (UEFI 2.10, 5.2.2 "OS Types").
pub const EFI_SYSTEM_TYPE: u8 = 0xEF;
/// Amoeba's MBR type; the kernel looks for it (the value it uses, re-exported).
pub const AMOEBA_TYPE: u8 = libamoeba::servers::vdisk::mbr::AMOEBA_PARTITION_TYPE;
const ACTIVE: u8 = 0x80;
const HEADS: u8 = 255;
const SECTORS_PER_TRACK: u8 = 63;
const CYLINDERS: u16 = 1024;

/// One partition, in sectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    pub kind: u8,
    pub first: u64,
    pub sectors: u64,
}

impl Partition {
    pub fn end(&self) -> u64 {
        self.first + self.sectors
    }
}

/// The whole disk image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// core.img's first sector (1) and how many sectors it may take (up to the ESP).
    pub core_first: u64,
    pub core_gap: u64,
    pub esp: Partition,
    pub amoeba: Option<Partition>,
    pub sectors: u64,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum LayoutError {
    #[error("the disk image would be {sectors} sectors; an MBR addresses at most 2^32")]
    TooBig { sectors: u64 },
    #[error("cannot write the MBR partition table: {0}")]
    Mbr(String),
}

/// The layout for an ESP of `esp_sectors` and an Amoeba partition of `amoeba_sectors`.
pub fn layout(esp_sectors: u64, amoeba_sectors: Option<u64>) -> Result<Layout, LayoutError> {
    let esp = Partition {
        kind: EFI_SYSTEM_TYPE,
        first: ALIGN_SECTORS,
        sectors: esp_sectors,
    };
    let amoeba = amoeba_sectors.map(|sectors| Partition {
        kind: AMOEBA_TYPE,
        first: esp.end().div_ceil(ALIGN_SECTORS) * ALIGN_SECTORS,
        sectors,
    });
    let sectors = amoeba.map_or(esp.end(), |p| p.end());
    if sectors > u64::from(u32::MAX) {
        return Err(LayoutError::TooBig { sectors });
    }
    Ok(Layout {
        core_first: 1,
        core_gap: ALIGN_SECTORS - 1,
        esp,
        amoeba,
        sectors,
    })
}

/// Sector 0: `boot_code`, the disk signature and the partition table.
pub fn mbr_sector(
    layout: &Layout,
    boot_code: &[u8; BOOT_CODE_BYTES],
    signature: [u8; 4],
) -> Result<Vec<u8>, LayoutError> {
    let mut header = MBRHeader::new(signature);
    header.bootstrap_code.copy_from_slice(boot_code);
    header.partition_1 = entry(&layout.esp, ACTIVE);
    if let Some(amoeba) = &layout.amoeba {
        header.partition_2 = entry(amoeba, 0);
    }
    let mut mbr = MBR {
        sector_size: SECTOR as u32,
        header,
        logical_partitions: Vec::new(),
        align: ALIGN_SECTORS as u32,
        cylinders: 0,
        heads: 0,
        sectors: 0,
        // `layout` refused more than 2^32 sectors.
        disk_size: layout.sectors as u32,
    };
    let mut sector = std::io::Cursor::new(vec![0u8; SECTOR]);
    mbr.write_into(&mut sector)
        .map_err(|e| LayoutError::Mbr(e.to_string()))?;
    Ok(sector.into_inner())
}

fn entry(partition: &Partition, boot: u8) -> MBRPartitionEntry {
    // Both fit a u32: `layout` refused a disk of more sectors.
    let (first, sectors) = (partition.first as u32, partition.sectors as u32);
    MBRPartitionEntry {
        boot,
        first_chs: chs(first),
        sys: partition.kind,
        last_chs: chs(first + sectors - 1),
        starting_lba: first,
        sectors,
    }
}

fn chs(lba: u32) -> CHS {
    CHS::from_lba_exact(lba, CYLINDERS, HEADS, SECTORS_PER_TRACK)
        .unwrap_or_else(|_| CHS::new(1023, HEADS - 1, SECTORS_PER_TRACK))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_start_on_mib_boundaries() {
        let l = layout(33 * 2048 + 5, Some(64 * 2048)).expect("fits");
        assert_eq!(l.esp.first, 2048);
        assert_eq!(l.amoeba.map(|p| p.first), Some(35 * 2048));
        assert_eq!(l.sectors, 35 * 2048 + 64 * 2048);
        assert_eq!(l.core_gap, 2047);
        let bare = layout(33 * 2048, None).expect("fits");
        assert_eq!(bare.sectors, 34 * 2048);
        assert!(matches!(
            layout(2048, Some(1 << 32)),
            Err(LayoutError::TooBig { .. })
        ));
    }

    #[test]
    fn the_mbr_is_what_the_kernel_and_grub_read() {
        let l = layout(33 * 2048, Some(8 * 2048)).expect("fits");
        let code = [0x33u8; BOOT_CODE_BYTES];
        let mbr = mbr_sector(&l, &code, [1, 2, 3, 4]).expect("written");
        assert_eq!(mbr.len(), 512);
        assert_eq!(&mbr[..BOOT_CODE_BYTES], &code[..]);
        assert_eq!(&mbr[0x1B8..0x1BC], &[1, 2, 3, 4]);
        assert_eq!(&mbr[510..], &[0x55, 0xAA]);
        let p1 = &mbr[446..462];
        assert_eq!((p1[0], p1[4]), (0x80, 0xEF));
        assert_eq!(&p1[8..12], &2048u32.to_le_bytes());
        assert_eq!(&p1[12..16], &(33u32 * 2048).to_le_bytes());
        let sector: [u8; 512] = mbr.clone().try_into().expect("a sector");
        let found = libamoeba::servers::vdisk::mbr::amoeba_partition(&sector, l.sectors);
        assert_eq!(
            found.map(|p| (p.first, p.blocks)),
            Some((34 * 2048, 8 * 2048))
        );
        // CHS of sector 2048 in 255/63 geometry: cylinder 0, head 32, sector 33.
        assert_eq!(&p1[1..4], &[32, 33, 0]);
    }
}
