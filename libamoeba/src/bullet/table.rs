//! Reading a Bullet volume's superblock and inode table from the disk and judging every
//! record, ours: the one place where mount and fsck decide what the disk's bytes mean.
//!
//! A record is one of free, committed (its extent inside the data region, as long as its
//! size needs, sharing no block with another file's) or damaged. A damaged record that still
//! names blocks inside the data region keeps them from reuse, since its data may be a file
//! someone still wants to recover; one whose bytes are unreadable claims nothing.

use alloc::vec::Vec;

use super::device::{TRANSFER_BYTES, read_from_block, read_sector, sector_of};
use super::error::{Damage, MountError};
use super::layout::{
    Extent, FS_BLOCK_BYTES, INODE_BYTES, INODE_TABLE_START, INODES_PER_BLOCK, InodeError,
    InodeRecord, InodeState, SECTORS_PER_BLOCK, SUPERBLOCK_BLOCK, Superblock, SuperblockError,
};
use crate::capability::MAX_OBJECT;
use crate::servers::vdisk::{BlockDevice, DeviceError};

/// What one inode record of the disk says, once judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judged {
    Free,
    Committed(InodeRecord),
    Damaged {
        damage: Damage,
        /// The blocks it names, kept from reuse.
        claims: Option<Extent>,
    },
}

/// Reads and checks the superblock, and that its regions fit together and on the device.
pub fn read_superblock(device: &mut impl BlockDevice) -> Result<Superblock, MountError> {
    let sector = read_sector(device, sector_of(SUPERBLOCK_BLOCK))?;
    let superblock = Superblock::decode(&sector).map_err(|error| match error {
        SuperblockError::Short | SuperblockError::BadCrc => MountError::DamagedSuperblock,
        SuperblockError::Foreign => MountError::Foreign,
        SuperblockError::UnsupportedVersion(version) => MountError::UnsupportedVersion(version),
        SuperblockError::BlockSize(bytes) => MountError::BlockSize(bytes),
    })?;
    check_geometry(&superblock, device.blocks())?;
    Ok(superblock)
}

fn check_geometry(superblock: &Superblock, device_sectors: u64) -> Result<(), MountError> {
    let table_end = u64::from(superblock.inode_start) + u64::from(superblock.inode_blocks);
    let records = u64::from(superblock.inode_blocks) * INODES_PER_BLOCK as u64;
    if superblock.inode_start != INODE_TABLE_START {
        return Err(MountError::BadGeometry("the inode table is not at block 1"));
    }
    // Records 0..=MAX_OBJECT: inode numbers are 24-bit object numbers.
    let counts = 2..=MAX_OBJECT + 1;
    if !counts.contains(&superblock.inode_count) || u64::from(superblock.inode_count) > records {
        return Err(MountError::BadGeometry(
            "inode count does not fit the table",
        ));
    }
    if u64::from(superblock.data_start) != table_end {
        return Err(MountError::BadGeometry(
            "data does not follow the inode table",
        ));
    }
    if superblock.data_start >= superblock.total_blocks {
        return Err(MountError::BadGeometry("no data blocks"));
    }
    let needs_sectors = u64::from(superblock.total_blocks) * SECTORS_PER_BLOCK;
    if needs_sectors > device_sectors {
        return Err(MountError::DeviceTooSmall {
            needs_sectors,
            has_sectors: device_sectors,
        });
    }
    Ok(())
}

/// The data region of `superblock`'s volume.
pub fn data_region(superblock: &Superblock) -> Extent {
    Extent {
        first: superblock.data_start,
        blocks: superblock.total_blocks - superblock.data_start,
    }
}

/// Every record of the table, judged; index n is inode n.
pub fn read_table(
    device: &mut impl BlockDevice,
    superblock: &Superblock,
) -> Result<Vec<Judged>, DeviceError> {
    let count = superblock.inode_count as usize;
    let mut judged = Vec::with_capacity(count);
    let mut piece = alloc::vec![0; TRANSFER_BYTES];
    let records_per_piece = TRANSFER_BYTES / INODE_BYTES;
    let region = data_region(superblock);
    while judged.len() < count {
        let records = records_per_piece.min(count - judged.len());
        let bytes = &mut piece[..(records * INODE_BYTES).next_multiple_of(FS_BLOCK_BYTES)];
        let offset = (judged.len() * INODE_BYTES) as u64;
        read_from_block(device, superblock.inode_start, offset, bytes)?;
        for record in bytes.chunks_exact(INODE_BYTES).take(records) {
            judged.push(judge(judged.len(), record, region));
        }
    }
    mark_overlaps(&mut judged);
    Ok(judged)
}

fn judge(inode: usize, bytes: &[u8], region: Extent) -> Judged {
    let record = match InodeRecord::decode(bytes) {
        Ok(record) => record,
        Err(InodeError::BadState(state)) => return damaged(Damage::State(state), None),
        Err(InodeError::Short | InodeError::BadCrc) => return damaged(Damage::RecordCrc, None),
    };
    if record.state != InodeState::Committed {
        // An uncommitted record is never written; if one appears it holds nothing.
        return Judged::Free;
    }
    let extent = record.extent;
    let inside =
        extent.blocks == 0 || (extent.first >= region.first && extent.end() <= region.end());
    if inode == 0 {
        damaged(Damage::ReservedInode, inside.then_some(extent))
    } else if !inside {
        damaged(Damage::ExtentOutside, None)
    } else if u64::from(extent.blocks) != blocks_for(record.size) {
        damaged(Damage::ExtentLength, Some(extent))
    } else {
        Judged::Committed(record)
    }
}

fn damaged(damage: Damage, claims: Option<Extent>) -> Judged {
    Judged::Damaged { damage, claims }
}

/// Filesystem blocks for `size` bytes.
pub fn blocks_for(size: u64) -> u64 {
    size.div_ceil(FS_BLOCK_BYTES as u64)
}

/// Turns every committed record whose extent shares a block with another's into damage:
/// neither can be trusted to hold its own bytes.
fn mark_overlaps(judged: &mut [Judged]) {
    let mut claimed: Vec<(Extent, usize)> = judged
        .iter()
        .enumerate()
        .filter_map(|(inode, record)| claim(record).map(|extent| (extent, inode)))
        .filter(|(extent, _)| extent.blocks > 0)
        .collect();
    claimed.sort_by_key(|(extent, _)| extent.first);
    let mut overlapping = Vec::new();
    let mut reach: Option<(Extent, usize)> = None;
    for &(extent, inode) in &claimed {
        if let Some((furthest, owner)) = reach {
            if furthest.overlaps(&extent) {
                overlapping.extend([owner, inode]);
            }
            if extent.end() <= furthest.end() {
                continue;
            }
        }
        reach = Some((extent, inode));
    }
    for inode in overlapping {
        if let Some(Judged::Committed(record)) = judged.get(inode) {
            judged[inode] = damaged(Damage::Overlap, Some(record.extent));
        }
    }
}

/// The blocks a judged record keeps from reuse.
pub fn claim(judged: &Judged) -> Option<Extent> {
    match judged {
        Judged::Free => None,
        Judged::Committed(record) => Some(record.extent),
        Judged::Damaged { claims, .. } => *claims,
    }
}
