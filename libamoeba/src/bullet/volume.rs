//! [`Volume`]: a Bullet file store on a [`BlockDevice`], ours (the format is in
//! [`super::layout`] and `docs/bullet-format.md`, the rules from the reference's "Bullet file
//! server").
//!
//! - A file is created uncommitted and may grow and change ([`Volume::append`],
//!   [`Volume::modify`], [`Volume::insert`], [`Volume::delete`]) until [`Volume::commit`]
//!   makes it immutable and durable. Its bytes are on the disk in blocks no record names
//!   (`open.rs`), so a crash forgets every uncommitted file, and nothing else, and
//!   the next mount finds their blocks free. At most [`MAX_UNCOMMITTED`] are open at once:
//!   each may keep up to a block in memory.
//! - Commit order: the data blocks are written and flushed, then the inode record's sector is
//!   written and flushed, and only then is the commit reported. A crash before the record's
//!   flush leaves at most data blocks that no record claims, which the next mount sees as
//!   free; a record on disk always names data that is already there.
//! - Destroy writes a free record and flushes before it reuses the blocks, so a crash never
//!   lets a new file's data show through an old record.
//! - A committed file's data CRC is checked on its first read after mount, over the whole
//!   file; committed files are immutable, so later reads trust it. Checking on every read
//!   would read a 64 MiB file again for each of its 29768-byte chunks. A copy (how a
//!   committed file is modified) checks the bytes it copies the same way.
//! - When a write fails after the allocation the blocks stay allocated until the next
//!   mount: the disk may or may not hold a record that names them.
//! - Expiry is the server's rule: the store keeps each uncommitted file's time of last use
//!   ([`Volume::touch`]) and destroys those idle too long when asked ([`Volume::expire`]).

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::device::{read_from_block, read_sector, sector_of, write_from_block};
use super::error::{Damage, FormatError, MountError, StoreError};
use super::free::FreeSpace;
use super::fsck::{self, FsckReport};
use super::layout::{
    INODE_BYTES, INODE_TABLE_START, INODES_PER_SECTOR, InodeRecord, InodeState, SECTOR_BYTES,
    SECTORS_PER_BLOCK, SUPERBLOCK_BLOCK, Superblock, inode_table_blocks,
};
use super::open::{OpenFile, Room};
use super::table::{self, Judged, claim, data_region};
use crate::capability::{MAX_OBJECT, Port};
use crate::random::Entropy;
use crate::servers::vdisk::{BlockDevice, DeviceError};

/// Uncommitted files at most at once (each keeps up to a block in memory).
pub const MAX_UNCOMMITTED: usize = 64;

/// One inode as the store holds it.
enum Slot {
    Free,
    /// Inode 0, the server's own object.
    Reserved,
    Uncommitted(Box<OpenFile>),
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
    /// The uncommitted files' inodes, at most [`MAX_UNCOMMITTED`].
    open: Vec<u32>,
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
        let slots = (0..records)
            .map(|inode| match inode {
                0 => Slot::Reserved,
                _ => Slot::Free,
            })
            .collect();
        Ok(Self {
            free: FreeSpace::from_used(data_region(&superblock), []),
            device,
            superblock,
            inodes: slots,
            open: Vec::new(),
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
            open: Vec::new(),
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

    /// Uncommitted files now.
    pub fn uncommitted(&self) -> usize {
        self.open.len()
    }

    /// Makes a file of `data` with a fresh random check field, committed if `commit`.
    pub fn create(
        &mut self,
        data: &[u8],
        commit: bool,
        entropy: &mut impl Entropy,
    ) -> Result<(u32, [u8; 6]), StoreError> {
        // A file committed at once is not kept open between requests: not counted.
        let inode = self.vacant_inode(!commit)?;
        let check = entropy.nonzero48();
        self.open_slot(inode, OpenFile::new(check));
        let mut made = self.append(inode, data);
        if made.is_ok() && commit {
            made = self.commit(inode);
        }
        if let Err(error) = made {
            // Nobody has its capability yet. Should even that fail (a record that may be on
            // the disk, which cannot be cleared), it waits to expire.
            let _ = self.destroy(inode);
            return Err(error);
        }
        Ok((inode, check))
    }

    /// A new uncommitted file with the bytes of committed file `inode`, copied block by
    /// block: how a committed file is modified, under a new capability.
    pub fn copy(
        &mut self,
        inode: u32,
        entropy: &mut impl Entropy,
    ) -> Result<(u32, [u8; 6]), StoreError> {
        let record = match self.slot(inode)? {
            Slot::Committed { record, .. } => *record,
            Slot::Uncommitted(_) => return Err(StoreError::NotCommitted),
            _ => return Err(StoreError::NotFound),
        };
        let copy = self.vacant_inode(true)?;
        let check = entropy.nonzero48();
        let mut room = Room {
            device: &mut self.device,
            free: &mut self.free,
        };
        let (file, crc) = OpenFile::copy_of(&mut room, &record, check)?;
        if crc != record.data_crc {
            file.release_all(&mut self.free);
            self.inodes[inode as usize] = Slot::Damaged(Damage::DataCrc);
            return Err(StoreError::Damaged {
                inode,
                damage: Damage::DataCrc,
            });
        }
        self.inodes[inode as usize] = Slot::Committed {
            record,
            verified: true,
        };
        self.open_slot(copy, file);
        Ok((copy, check))
    }

    /// Adds `data` at the end of uncommitted file `inode`.
    pub fn append(&mut self, inode: u32, data: &[u8]) -> Result<(), StoreError> {
        self.with_open(inode, |file, room| file.write(room, file.size(), data))
    }

    /// Overwrites uncommitted file `inode` from `offset` (at most its size) with `data`,
    /// growing it if `data` reaches past the end.
    pub fn modify(&mut self, inode: u32, offset: u64, data: &[u8]) -> Result<(), StoreError> {
        self.with_open(inode, |file, room| file.write(room, offset, data))
    }

    /// Puts `data` into uncommitted file `inode` at `offset` (at most its size), the bytes
    /// from there on moving up.
    pub fn insert(&mut self, inode: u32, offset: u64, data: &[u8]) -> Result<(), StoreError> {
        self.with_open(inode, |file, room| file.insert(room, offset, data))
    }

    /// Takes `len` bytes out of uncommitted file `inode` at `offset`, the rest moving down.
    pub fn delete(&mut self, inode: u32, offset: u64, len: u64) -> Result<(), StoreError> {
        self.with_open(inode, |file, room| file.delete(room, offset, len))
    }

    /// Makes uncommitted file `inode` durable and immutable (see the module's ordering).
    pub fn commit(&mut self, inode: u32) -> Result<(), StoreError> {
        let (check, size, (extent, data_crc)) = self.with_open(inode, |file, room| {
            Ok((file.check, file.size(), file.seal(room)?))
        })?;
        let record = InodeRecord {
            state: InodeState::Committed,
            check,
            size,
            extent,
            data_crc,
        };
        if let Err(error) = self.write_record(inode, &record) {
            if let Some(Slot::Uncommitted(file)) = self.inodes.get_mut(inode as usize) {
                file.pin();
            }
            return Err(error.into());
        }
        self.close_slot(
            inode,
            Slot::Committed {
                record,
                verified: true,
            },
        );
        Ok(())
    }

    /// Notes `now`, on the server's clock, as uncommitted file `inode`'s last use.
    pub fn touch(&mut self, inode: u32, now: u64) {
        if let Some(Slot::Uncommitted(file)) = self.inodes.get_mut(inode as usize) {
            file.last_use = now;
        }
    }

    /// Destroys every uncommitted file not used for `idle` or longer at `now`; how many.
    pub fn expire(&mut self, now: u64, idle: u64) -> usize {
        let due: Vec<u32> = self
            .open
            .iter()
            .copied()
            .filter(|&inode| match self.inodes.get(inode as usize) {
                Some(Slot::Uncommitted(file)) => now.saturating_sub(file.last_use) >= idle,
                _ => false,
            })
            .collect();
        // One that cannot be destroyed now (a device error) is tried again next time.
        due.into_iter()
            .filter(|&inode| self.destroy(inode).is_ok())
            .count()
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
            Slot::Uncommitted(file) => Ok(file.size()),
            Slot::Committed { record, .. } => Ok(record.size),
            _ => Err(StoreError::NotFound),
        }
    }

    /// The check field of file `inode`'s capability, and whether it is committed.
    pub fn check(&self, inode: u32) -> Result<([u8; 6], bool), StoreError> {
        match self.slot(inode)? {
            Slot::Uncommitted(file) => Ok((file.check, false)),
            Slot::Committed { record, .. } => Ok((record.check, true)),
            _ => Err(StoreError::NotFound),
        }
    }

    /// Removes file `inode`. A committed (or damaged) file's record is cleared and flushed
    /// before its blocks can be reused, as is one an uncommitted file's failed commit may
    /// have left; a damaged record's blocks wait for the next mount.
    pub fn destroy(&mut self, inode: u32) -> Result<(), StoreError> {
        let (on_disk, extent) = match self.inodes.get(inode as usize) {
            Some(Slot::Uncommitted(file)) => (file.pinned(), None),
            Some(Slot::Committed { record, .. }) => (true, Some(record.extent)),
            Some(Slot::Damaged(_)) => (true, None),
            _ => return Err(StoreError::NotFound),
        };
        if on_disk {
            self.write_record(inode, &InodeRecord::FREE)?;
        }
        if let Slot::Uncommitted(file) = self.close_slot(inode, Slot::Free) {
            file.release_all(&mut self.free);
        }
        if let Some(extent) = extent {
            self.free.release(extent);
        }
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

    /// Runs `change` on uncommitted file `inode` and the room its bytes live in.
    fn with_open<R>(
        &mut self,
        inode: u32,
        change: impl FnOnce(&mut OpenFile, &mut Room<'_, D>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let error = self.not_uncommitted(inode);
        let Some(Slot::Uncommitted(file)) = self.inodes.get_mut(inode as usize) else {
            return Err(error);
        };
        let mut room = Room {
            device: &mut self.device,
            free: &mut self.free,
        };
        change(file, &mut room)
    }

    /// A free inode for a new file, and if `counted` one more may be open.
    fn vacant_inode(&self, counted: bool) -> Result<u32, StoreError> {
        if counted && self.open.len() >= MAX_UNCOMMITTED {
            return Err(StoreError::TooManyUncommitted);
        }
        let free = self
            .inodes
            .iter()
            .position(|slot| matches!(slot, Slot::Free));
        free.map(|inode| inode as u32).ok_or(StoreError::NoInodes)
    }

    /// Puts `file` in the free `inode` (from [`Self::vacant_inode`]).
    fn open_slot(&mut self, inode: u32, file: OpenFile) {
        self.inodes[inode as usize] = Slot::Uncommitted(Box::new(file));
        self.open.push(inode);
    }

    /// Puts `slot` in `inode`'s place; what was there.
    fn close_slot(&mut self, inode: u32, slot: Slot) -> Slot {
        self.open.retain(|&open| open != inode);
        core::mem::replace(&mut self.inodes[inode as usize], slot)
    }

    /// Committed file `inode`'s record, its data CRC checked if this is the first read.
    fn verified_record(&mut self, inode: u32) -> Result<InodeRecord, StoreError> {
        let (record, verified) = match self.slot(inode)? {
            Slot::Committed { record, verified } => (*record, *verified),
            Slot::Uncommitted(_) => return Err(StoreError::NotCommitted),
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
