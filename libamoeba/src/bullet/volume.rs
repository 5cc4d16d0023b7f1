//! [`Volume`]: a Bullet file store on a [`BlockDevice`], ours (the format is in
//! [`super::layout`], the rules from the reference's "Bullet file server").
//!
//! - A file is created uncommitted; it lives in memory only and may grow and change
//!   ([`Volume::append`], [`Volume::modify`]) until [`Volume::commit`] makes it immutable and
//!   durable. A crash forgets every uncommitted file and nothing else.
//! - Commit order: the data blocks are written and flushed, then the inode record's sector is
//!   written and flushed, and only then is the commit reported. A crash before the record's
//!   flush leaves at most data blocks that no record claims, which the next mount sees as
//!   free; a record on disk always names data that is already there.
//! - Destroy writes a free record and flushes before it reuses the blocks, so a crash never
//!   lets a new file's data show through an old record.
//! - A committed file's data CRC is checked on its first read after mount, over the whole
//!   file; committed files are immutable, so later reads trust it. Checking on every read
//!   would read a 64 MiB file again for each of its 29768-byte chunks.
//! - When a write fails after the allocation the blocks stay allocated until the next
//!   mount: the disk may or may not hold a record that names them.

use alloc::vec::Vec;

use super::device::{read_from_block, read_sector, sector_of, write_from_block};
use super::error::{Damage, FormatError, MountError, StoreError};
use super::free::FreeSpace;
use super::fsck::{self, FsckReport};
use super::layout::{
    Extent, INODE_BYTES, INODE_TABLE_START, INODES_PER_SECTOR, InodeRecord, InodeState,
    SECTOR_BYTES, SECTORS_PER_BLOCK, SUPERBLOCK_BLOCK, Superblock, inode_table_blocks,
};
use super::table::{self, Judged, blocks_for, claim, data_region};
use crate::capability::{MAX_OBJECT, Port};
use crate::crc32::crc32;
use crate::random::Entropy;
use crate::servers::vdisk::{BlockDevice, DeviceError};

/// One inode as the store holds it.
#[derive(Clone, Debug)]
enum Slot {
    Free,
    /// Inode 0, the server's own object.
    Reserved,
    Uncommitted {
        check: [u8; 6],
        data: Vec<u8>,
    },
    Committed {
        record: InodeRecord,
        verified: bool,
    },
    Damaged(Damage),
}

/// A mounted Bullet volume.
pub struct Volume<D> {
    device: D,
    superblock: Superblock,
    inodes: Vec<Slot>,
    free: FreeSpace,
}

impl<D: BlockDevice> Volume<D> {
    /// Makes a new, empty volume on `device` with `inodes` files at most, 1 to 2^24 - 1
    /// (mkfs). `port`
    /// and `secret` are the server's get-port and its super capability's check field.
    pub fn format(
        mut device: D,
        port: Port,
        secret: [u8; 6],
        inodes: u32,
    ) -> Result<Self, FormatError> {
        // Inode n is object n of a capability, whose object numbers have 24 bits.
        if inodes == 0 || inodes > MAX_OBJECT {
            return Err(FormatError::InodeCount(inodes));
        }
        let records = inodes + 1;
        // Planned before anything is read, so a device too small to hold a sector is
        // TooSmall rather than a device error.
        let mut superblock = plan(&device, port, secret, records)?;
        superblock.generation = match table::read_superblock(&mut device) {
            Ok(old) => old.generation.wrapping_add(1),
            Err(MountError::Device(error)) => return Err(error.into()),
            Err(_) => 1,
        };
        write_empty_volume(&mut device, &superblock)?;
        let mut slots = alloc::vec![Slot::Free; records as usize];
        slots[0] = Slot::Reserved;
        Ok(Self {
            free: FreeSpace::from_used(data_region(&superblock), []),
            device,
            superblock,
            inodes: slots,
        })
    }

    /// Opens the volume on `device`, refusing a foreign or damaged superblock. Damaged inode
    /// records do not stop the mount: their files answer [`StoreError::Damaged`].
    pub fn mount(mut device: D) -> Result<Self, MountError> {
        let superblock = table::read_superblock(&mut device)?;
        let judged = table::read_table(&mut device, &superblock)?;
        let free = FreeSpace::from_used(data_region(&superblock), judged.iter().filter_map(claim));
        let inodes = judged.iter().enumerate().map(slot_of).collect();
        Ok(Self {
            device,
            superblock,
            inodes,
            free,
        })
    }

    pub fn superblock(&self) -> &Superblock {
        &self.superblock
    }

    pub fn device(&self) -> &D {
        &self.device
    }

    pub fn into_device(self) -> D {
        self.device
    }

    /// Free data blocks.
    pub fn free_blocks(&self) -> u64 {
        self.free.free_blocks()
    }

    /// Makes a file of `data` with a fresh random check field, committed if `commit`.
    pub fn create(
        &mut self,
        data: &[u8],
        commit: bool,
        entropy: &mut impl Entropy,
    ) -> Result<(u32, [u8; 6]), StoreError> {
        self.fits(data.len() as u64)?;
        let inode = self.free_inode()?;
        let check = entropy.nonzero48();
        self.inodes[inode as usize] = Slot::Uncommitted {
            check,
            data: data.to_vec(),
        };
        if commit && let Err(error) = self.commit(inode) {
            self.inodes[inode as usize] = Slot::Free;
            return Err(error);
        }
        Ok((inode, check))
    }

    /// A new uncommitted file with the bytes of committed file `inode`: how a committed file
    /// is modified, under a new capability.
    pub fn copy(
        &mut self,
        inode: u32,
        entropy: &mut impl Entropy,
    ) -> Result<(u32, [u8; 6]), StoreError> {
        let size = self.size(inode)?;
        let mut data = alloc::vec![0; size as usize];
        self.read(inode, 0, &mut data)?;
        self.create(&data, false, entropy)
    }

    /// Adds `data` at the end of uncommitted file `inode`.
    pub fn append(&mut self, inode: u32, data: &[u8]) -> Result<(), StoreError> {
        let size = self.size(inode)?;
        self.modify(inode, size, data)
    }

    /// Overwrites uncommitted file `inode` from `offset` (at most its size) with `data`,
    /// growing it if `data` reaches past the end.
    pub fn modify(&mut self, inode: u32, offset: u64, data: &[u8]) -> Result<(), StoreError> {
        let size = self.size(inode)?;
        if offset > size {
            return Err(StoreError::OutOfRange);
        }
        let end = offset + data.len() as u64;
        self.fits(end)?;
        let file = self.uncommitted_data(inode)?;
        let start = offset as usize;
        if file.len() < end as usize {
            file.resize(end as usize, 0);
        }
        file[start..start + data.len()].copy_from_slice(data);
        Ok(())
    }

    /// Makes uncommitted file `inode` durable and immutable (see the module's ordering).
    pub fn commit(&mut self, inode: u32) -> Result<(), StoreError> {
        let Some(Slot::Uncommitted { check, data }) = self.inodes.get(inode as usize) else {
            return Err(self.not_uncommitted(inode));
        };
        let blocks =
            u32::try_from(blocks_for(data.len() as u64)).map_err(|_| StoreError::NoSpace)?;
        let extent = match blocks {
            0 => Extent::default(),
            _ => self.free.allocate(blocks).ok_or(StoreError::NoSpace)?,
        };
        let record = InodeRecord {
            state: InodeState::Committed,
            check: *check,
            size: data.len() as u64,
            extent,
            data_crc: crc32(data),
        };
        if let Err(error) = write_data(&mut self.device, extent, data) {
            self.free.release(extent);
            return Err(error.into());
        }
        self.write_record(inode, &record)?;
        self.inodes[inode as usize] = Slot::Committed {
            record,
            verified: true,
        };
        Ok(())
    }

    /// Fills `buffer` from `offset` of committed file `inode`; returns the bytes read, fewer
    /// than the buffer holds at the end of the file.
    pub fn read(
        &mut self,
        inode: u32,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, StoreError> {
        let record = self.verified_record(inode)?;
        if offset > record.size {
            return Err(StoreError::OutOfRange);
        }
        let len = (record.size - offset).min(buffer.len() as u64) as usize;
        if len > 0 {
            read_from_block(
                &mut self.device,
                record.extent.first,
                offset,
                &mut buffer[..len],
            )?;
        }
        Ok(len)
    }

    /// The size of file `inode`, committed or not.
    pub fn size(&self, inode: u32) -> Result<u64, StoreError> {
        match self.slot(inode)? {
            Slot::Uncommitted { data, .. } => Ok(data.len() as u64),
            Slot::Committed { record, .. } => Ok(record.size),
            _ => Err(StoreError::NotFound),
        }
    }

    /// The check field of file `inode`'s capability, and whether it is committed.
    pub fn check(&self, inode: u32) -> Result<([u8; 6], bool), StoreError> {
        match self.slot(inode)? {
            Slot::Uncommitted { check, .. } => Ok((*check, false)),
            Slot::Committed { record, .. } => Ok((record.check, true)),
            _ => Err(StoreError::NotFound),
        }
    }

    /// Removes file `inode`. A committed (or damaged) file's record is cleared and flushed
    /// before its blocks can be reused; a damaged record's blocks wait for the next mount.
    pub fn destroy(&mut self, inode: u32) -> Result<(), StoreError> {
        let freed = match self.inodes.get(inode as usize) {
            Some(Slot::Uncommitted { .. }) => None,
            Some(Slot::Committed { record, .. }) => Some(record.extent),
            Some(Slot::Damaged(_)) => Some(Extent::default()),
            _ => return Err(StoreError::NotFound),
        };
        if let Some(extent) = freed {
            self.write_record(inode, &InodeRecord::FREE)?;
            self.free.release(extent);
        }
        self.inodes[inode as usize] = Slot::Free;
        Ok(())
    }

    /// Checks the volume as it is on the disk (uncommitted files are not there).
    pub fn fsck(&mut self) -> Result<FsckReport, DeviceError> {
        fsck::check(&mut self.device, &self.superblock)
    }

    /// Puts every write on stable storage. Commits and destroys already flush.
    pub fn sync(&mut self) -> Result<(), DeviceError> {
        self.device.flush()
    }

    fn slot(&self, inode: u32) -> Result<&Slot, StoreError> {
        match self.inodes.get(inode as usize) {
            Some(Slot::Damaged(damage)) => Err(StoreError::Damaged {
                inode,
                damage: *damage,
            }),
            Some(slot) => Ok(slot),
            None => Err(StoreError::NotFound),
        }
    }

    /// Why `inode` is not an uncommitted file.
    fn not_uncommitted(&self, inode: u32) -> StoreError {
        match self.slot(inode) {
            Ok(Slot::Committed { .. }) => StoreError::Committed,
            Ok(_) => StoreError::NotFound,
            Err(error) => error,
        }
    }

    fn uncommitted_data(&mut self, inode: u32) -> Result<&mut Vec<u8>, StoreError> {
        let error = self.not_uncommitted(inode);
        match self.inodes.get_mut(inode as usize) {
            Some(Slot::Uncommitted { data, .. }) => Ok(data),
            _ => Err(error),
        }
    }

    /// Refuses a file of `size` bytes that no free run could hold at commit.
    fn fits(&self, size: u64) -> Result<(), StoreError> {
        match blocks_for(size) <= u64::from(self.free.largest_run()) {
            true => Ok(()),
            false => Err(StoreError::NoSpace),
        }
    }

    fn free_inode(&self) -> Result<u32, StoreError> {
        let free = self
            .inodes
            .iter()
            .position(|slot| matches!(slot, Slot::Free));
        free.map(|inode| inode as u32).ok_or(StoreError::NoInodes)
    }

    /// Committed file `inode`'s record, its data CRC checked if this is the first read.
    fn verified_record(&mut self, inode: u32) -> Result<InodeRecord, StoreError> {
        let (record, verified) = match self.slot(inode)? {
            Slot::Committed { record, verified } => (*record, *verified),
            Slot::Uncommitted { .. } => return Err(StoreError::NotCommitted),
            _ => return Err(StoreError::NotFound),
        };
        if !verified {
            let good = fsck::data_crc(&mut self.device, &record)? == record.data_crc;
            self.inodes[inode as usize] = match good {
                true => Slot::Committed {
                    record,
                    verified: true,
                },
                false => Slot::Damaged(Damage::DataCrc),
            };
            if !good {
                return Err(StoreError::Damaged {
                    inode,
                    damage: Damage::DataCrc,
                });
            }
        }
        Ok(record)
    }

    /// Writes `record` as inode `inode` by rewriting its sector, then flushes.
    fn write_record(&mut self, inode: u32, record: &InodeRecord) -> Result<(), DeviceError> {
        let index = inode as usize;
        let sector = sector_of(self.superblock.inode_start) + (index / INODES_PER_SECTOR) as u64;
        let mut bytes = read_sector(&mut self.device, sector)?;
        let at = (index % INODES_PER_SECTOR) * INODE_BYTES;
        bytes[at..at + INODE_BYTES].copy_from_slice(&record.encode());
        self.device.write(sector, &bytes)?;
        self.device.flush()
    }
}

/// The in-memory slot of a judged record.
fn slot_of((inode, judged): (usize, &Judged)) -> Slot {
    match judged {
        Judged::Free if inode == 0 => Slot::Reserved,
        Judged::Free => Slot::Free,
        Judged::Committed(record) => Slot::Committed {
            record: *record,
            verified: false,
        },
        Judged::Damaged { damage, .. } => Slot::Damaged(*damage),
    }
}

/// The superblock of a new volume of `records` inode records filling `device`, of
/// generation 1.
fn plan(
    device: &impl BlockDevice,
    port: Port,
    secret: [u8; 6],
    records: u32,
) -> Result<Superblock, FormatError> {
    let sectors = device.blocks();
    let total_blocks = u32::try_from(sectors / SECTORS_PER_BLOCK).unwrap_or(u32::MAX);
    let inode_blocks = inode_table_blocks(records);
    let data_start = INODE_TABLE_START
        .checked_add(inode_blocks)
        .filter(|&start| start < total_blocks)
        .ok_or(FormatError::TooSmall { sectors })?;
    Ok(Superblock {
        total_blocks,
        inode_start: INODE_TABLE_START,
        inode_blocks,
        inode_count: records,
        data_start,
        port,
        secret,
        generation: 1,
    })
}

/// Writes an empty volume: first a blank sector over any old superblock, so that a crash
/// half-way leaves no superblock over a half-written table, then the table of free records,
/// then the superblock, each step flushed before the next.
fn write_empty_volume(
    device: &mut impl BlockDevice,
    superblock: &Superblock,
) -> Result<(), DeviceError> {
    let superblock_sector = sector_of(SUPERBLOCK_BLOCK);
    device.write(superblock_sector, &[0; SECTOR_BYTES])?;
    device.flush()?;
    let free_sector: Vec<u8> = InodeRecord::FREE.encode().repeat(INODES_PER_SECTOR);
    let table_bytes = superblock.inode_blocks as usize * super::layout::FS_BLOCK_BYTES;
    let table: Vec<u8> = free_sector.repeat(table_bytes / SECTOR_BYTES);
    write_from_block(device, superblock.inode_start, &table)?;
    device.flush()?;
    let mut sector = [0; SECTOR_BYTES];
    sector[..super::layout::SUPERBLOCK_BYTES].copy_from_slice(&superblock.encode());
    device.write(superblock_sector, &sector)?;
    device.flush()
}

/// Writes a file's bytes into its extent and flushes.
fn write_data(
    device: &mut impl BlockDevice,
    extent: Extent,
    data: &[u8],
) -> Result<(), DeviceError> {
    if data.is_empty() {
        return Ok(());
    }
    write_from_block(device, extent.first, data)?;
    device.flush()
}
