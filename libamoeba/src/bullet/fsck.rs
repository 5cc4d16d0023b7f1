//! The Bullet volume's consistency check, ours: every inode record as the disk has it (its
//! CRC, its extent inside the data region and sharing no block, its length matching its
//! size) and every committed file's bytes against its data CRC.

use alloc::vec::Vec;

use super::device::{TRANSFER_BYTES, read_from_block};
use super::error::Damage;
use super::free::FreeSpace;
use super::layout::{InodeRecord, Superblock};
use super::table::{Judged, claim, data_region, read_table};
use crate::crc32::Crc32;
use crate::servers::vdisk::{BlockDevice, DeviceError};

/// One thing wrong with one inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsckProblem {
    pub inode: u32,
    pub damage: Damage,
}

/// What fsck found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FsckReport {
    /// Committed files with no problem.
    pub files: u32,
    /// Data blocks that committed or damaged records claim.
    pub used_blocks: u64,
    pub free_blocks: u64,
    pub problems: Vec<FsckProblem>,
}

impl FsckReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the volume `superblock` describes, as it is on `device`.
pub fn check(
    device: &mut impl BlockDevice,
    superblock: &Superblock,
) -> Result<FsckReport, DeviceError> {
    let judged = read_table(device, superblock)?;
    let region = data_region(superblock);
    let free = FreeSpace::from_used(region, judged.iter().filter_map(claim));
    let mut report = FsckReport {
        free_blocks: free.free_blocks(),
        used_blocks: u64::from(region.blocks) - free.free_blocks(),
        ..FsckReport::default()
    };
    for (inode, record) in judged.iter().enumerate() {
        let damage = match record {
            Judged::Free => continue,
            Judged::Damaged { damage, .. } => Some(*damage),
            Judged::Committed(record) => {
                (data_crc(device, record)? != record.data_crc).then_some(Damage::DataCrc)
            }
        };
        match damage {
            Some(damage) => report.problems.push(FsckProblem {
                inode: inode as u32,
                damage,
            }),
            None => report.files += 1,
        }
    }
    Ok(report)
}

/// The CRC-32 of a committed file's bytes as the disk has them.
pub fn data_crc(device: &mut impl BlockDevice, record: &InodeRecord) -> Result<u32, DeviceError> {
    let mut crc = Crc32::new();
    let mut piece = alloc::vec![0; TRANSFER_BYTES];
    let mut offset = 0;
    while offset < record.size {
        let len = (record.size - offset).min(TRANSFER_BYTES as u64) as usize;
        read_from_block(device, record.extent.first, offset, &mut piece[..len])?;
        crc.update(&piece[..len]);
        offset += len as u64;
    }
    Ok(crc.finish())
}
