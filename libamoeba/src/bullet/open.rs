//! An uncommitted Bullet file, ours (`docs/bullet-format.md`, "Uncommitted files"): its bytes
//! are on the disk, in an extent of its own that no inode record names, so that a 64 MiB file
//! never has to fit the kernel heap (a sixteenth of the node's memory) and a crash leaves only
//! blocks that the next mount finds free. The bytes after the last whole block, less than a
//! block, wait in memory until they fill it or the file is committed.
//!
//! - The extent grows with the file: in place when the blocks after it are free, else the
//!   file moves to a new extent, copied [`TRANSFER_BYTES`] at a time. A growth asks for twice
//!   the blocks held (just enough when that does not fit), so a file sent in 29768-byte
//!   chunks moves a few times at most and each byte is copied about once on average.
//! - A running CRC-32 follows a file that only grows at its end; once an earlier byte changes
//!   it is dropped, and the commit reads the file back to compute it.
//! - Insert and delete shift the bytes after the place, [`TRANSFER_BYTES`] at a time.
//! - When the record write of a commit fails, the record may still be on the disk, naming the
//!   extent. The file is then pinned: its blocks never return to the free space while this
//!   mount lasts (the next mount judges the disk as it is), unless a destroy first writes a
//!   free record over that one.

use alloc::vec;
use alloc::vec::Vec;

use super::device::{TRANSFER_BYTES, copy_blocks, overwrite, read_from_block, write_from_block};
use super::error::StoreError;
use super::free::FreeSpace;
use super::layout::{Extent, FS_BLOCK_BYTES, InodeRecord};
use super::table::blocks_for;
use crate::crc32::Crc32;
use crate::servers::vdisk::{BlockDevice, DeviceError};

const BLOCK: u64 = FS_BLOCK_BYTES as u64;

/// Where open files keep their bytes: the device, and the free space extents come from.
pub(super) struct Room<'a, D> {
    pub(super) device: &'a mut D,
    pub(super) free: &'a mut FreeSpace,
}

/// One uncommitted file.
pub(super) struct OpenFile {
    /// The check field of its capability.
    pub(super) check: [u8; 6],
    /// The server's clock at the file's last request; the store only compares it.
    pub(super) last_use: u64,
    size: u64,
    /// Bytes `0..on_disk` are on the disk, whole blocks; bytes `on_disk..size` are `tail`.
    on_disk: u64,
    /// Shorter than a block, but for a moment when a full one could not be written.
    tail: Vec<u8>,
    /// The blocks held: at least the blocks of `size` bytes.
    extent: Extent,
    /// The CRC-32 of bytes `0..size` while the file has only grown at its end.
    crc: Option<Crc32>,
    /// A record naming the extent may be on the disk (a failed commit).
    pinned: bool,
}

impl OpenFile {
    /// An empty file.
    pub(super) fn new(check: [u8; 6]) -> Self {
        Self {
            check,
            last_use: 0,
            size: 0,
            on_disk: 0,
            tail: Vec::new(),
            extent: Extent::default(),
            crc: Some(Crc32::new()),
            pinned: false,
        }
    }

    pub(super) fn size(&self) -> u64 {
        self.size
    }

    pub(super) fn pinned(&self) -> bool {
        self.pinned
    }

    /// A commit's record write failed: that record may be on the disk.
    pub(super) fn pin(&mut self) {
        self.pinned = true;
    }

    /// A copy of the committed file `record` describes, block by block, and the CRC-32 of the
    /// bytes copied for the caller to hold against the record's.
    pub(super) fn copy_of<D: BlockDevice>(
        room: &mut Room<'_, D>,
        record: &InodeRecord,
        check: [u8; 6],
    ) -> Result<(Self, u32), StoreError> {
        let mut file = Self::new(check);
        file.reserve(room, record.size)?;
        let whole = record.size / BLOCK * BLOCK;
        let mut crc = Crc32::new();
        let mut tail = vec![0; (record.size - whole) as usize];
        let blocks = (whole / BLOCK) as u32;
        let to = file.extent.first;
        let copied = copy_blocks(room.device, record.extent.first, to, blocks, &mut |piece| {
            crc.update(piece)
        })
        .and_then(|()| match tail.is_empty() {
            true => Ok(()),
            false => read_from_block(room.device, record.extent.first, whole, &mut tail),
        });
        if let Err(error) = copied {
            file.release_all(room.free);
            return Err(error.into());
        }
        crc.update(&tail);
        let sum = crc.finish();
        file.size = record.size;
        file.on_disk = whole;
        file.tail = tail;
        file.crc = Some(crc);
        Ok((file, sum))
    }

    /// Writes `data` at `offset` (at most the size), growing the file if it reaches past the
    /// end.
    pub(super) fn write<D: BlockDevice>(
        &mut self,
        room: &mut Room<'_, D>,
        offset: u64,
        data: &[u8],
    ) -> Result<(), StoreError> {
        if offset > self.size {
            return Err(StoreError::OutOfRange);
        }
        let end = offset
            .checked_add(data.len() as u64)
            .ok_or(StoreError::NoSpace)?;
        self.reserve(room, end.max(self.size))?;
        if offset < self.size {
            self.crc = None;
        }
        let written = self.write_reserved(room.device, offset, data);
        if written.is_err() {
            // Some of the bytes may be in place: the running CRC no longer tells.
            self.crc = None;
        }
        Ok(written?)
    }

    /// Puts `data` at `offset` (at most the size), shifting the bytes from there on up.
    pub(super) fn insert<D: BlockDevice>(
        &mut self,
        room: &mut Room<'_, D>,
        offset: u64,
        data: &[u8],
    ) -> Result<(), StoreError> {
        if offset > self.size {
            return Err(StoreError::OutOfRange);
        }
        if data.is_empty() {
            return Ok(());
        }
        let old = self.size;
        // The file first grows by zeros, so that every write of the shift lands inside it.
        let zeros = vec![0; TRANSFER_BYTES.min(data.len())];
        let mut grown = 0;
        while grown < data.len() {
            let len = zeros.len().min(data.len() - grown);
            self.write(room, old + grown as u64, &zeros[..len])?;
            grown += len;
        }
        self.crc = None;
        self.shift_back(room.device, offset, old, data.len() as u64)?;
        self.write(room, offset, data)
    }

    /// Removes `len` bytes at `offset`, shifting the rest down.
    pub(super) fn delete<D: BlockDevice>(
        &mut self,
        room: &mut Room<'_, D>,
        offset: u64,
        len: u64,
    ) -> Result<(), StoreError> {
        let end = offset
            .checked_add(len)
            .filter(|&end| end <= self.size)
            .ok_or(StoreError::OutOfRange)?;
        if len == 0 {
            return Ok(());
        }
        self.crc = None;
        let mut piece = vec![0; TRANSFER_BYTES.min((self.size - end) as usize)];
        let mut from = end;
        while from < self.size {
            let span_len = (self.size - from).min(TRANSFER_BYTES as u64) as usize;
            let span = &mut piece[..span_len];
            self.read_at(room.device, from, span)?;
            self.write_reserved(room.device, from - len, span)?;
            from += span_len as u64;
        }
        self.truncate(room, self.size - len)
    }

    /// Puts the whole file on the disk for its commit: the last block written, its CRC-32
    /// (read back if the running one was dropped), the extent cut to the blocks it needs,
    /// the device flushed. The extent and the CRC for the record.
    pub(super) fn seal<D: BlockDevice>(
        &mut self,
        room: &mut Room<'_, D>,
    ) -> Result<(Extent, u32), StoreError> {
        self.settle(room.device)?;
        if !self.tail.is_empty() {
            write_from_block(room.device, self.block_at(self.on_disk), &self.tail)?;
        }
        let crc = match &self.crc {
            Some(crc) => crc.finish(),
            None => self.crc_by_reading(room.device)?,
        };
        self.trim(room.free);
        room.device.flush()?;
        Ok((self.extent, crc))
    }

    /// Gives every block back; no record may name them (not pinned, or a free record over
    /// the one that might).
    pub(super) fn release_all(self, free: &mut FreeSpace) {
        free.release(self.extent);
    }

    /// Fills `out` from `offset`; `offset + out.len()` is at most the size.
    fn read_at<D: BlockDevice>(
        &self,
        device: &mut D,
        offset: u64,
        out: &mut [u8],
    ) -> Result<(), DeviceError> {
        let mut done = 0;
        if offset < self.on_disk {
            done = (self.on_disk - offset).min(out.len() as u64) as usize;
            read_from_block(device, self.extent.first, offset, &mut out[..done])?;
        }
        if done < out.len() {
            let at = (offset + done as u64 - self.on_disk) as usize;
            let rest = out.len() - done;
            out[done..].copy_from_slice(&self.tail[at..at + rest]);
        }
        Ok(())
    }

    /// [`Self::write`] once the extent holds the file's new size.
    fn write_reserved<D: BlockDevice>(
        &mut self,
        device: &mut D,
        mut offset: u64,
        mut data: &[u8],
    ) -> Result<(), DeviceError> {
        if offset < self.on_disk {
            let len = (self.on_disk - offset).min(data.len() as u64) as usize;
            overwrite(device, self.extent.first, offset, &data[..len])?;
            offset += len as u64;
            data = &data[len..];
        }
        while !data.is_empty() {
            self.settle(device)?;
            let at = (offset - self.on_disk) as usize;
            let len = match at == 0 && self.tail.is_empty() && data.len() >= FS_BLOCK_BYTES {
                true => self.append_blocks(device, data)?,
                false => self.write_tail(at, data),
            };
            offset += len as u64;
            data = &data[len..];
        }
        self.settle(device)
    }

    /// Appends the whole blocks at the start of `data` straight to the disk (the tail is
    /// empty); how many bytes that was.
    fn append_blocks<D: BlockDevice>(
        &mut self,
        device: &mut D,
        data: &[u8],
    ) -> Result<usize, DeviceError> {
        let len = data.len() / FS_BLOCK_BYTES * FS_BLOCK_BYTES;
        write_from_block(device, self.block_at(self.on_disk), &data[..len])?;
        if let Some(crc) = &mut self.crc {
            crc.update(&data[..len]);
        }
        self.on_disk += len as u64;
        self.size = self.on_disk;
        Ok(len)
    }

    /// Puts the start of `data` at `at` of the tail, up to the block's end; how many bytes.
    fn write_tail(&mut self, at: usize, data: &[u8]) -> usize {
        let len = (FS_BLOCK_BYTES - at).min(data.len());
        let grown = (at + len).saturating_sub(self.tail.len());
        if grown > 0 {
            self.tail.resize(at + len, 0);
        }
        self.tail[at..at + len].copy_from_slice(&data[..len]);
        if let Some(crc) = &mut self.crc {
            crc.update(&data[len - grown..len]);
        }
        self.size = self.on_disk + self.tail.len() as u64;
        len
    }

    /// Writes a tail that fills its block to the disk.
    fn settle<D: BlockDevice>(&mut self, device: &mut D) -> Result<(), DeviceError> {
        if self.tail.len() == FS_BLOCK_BYTES {
            write_from_block(device, self.block_at(self.on_disk), &self.tail)?;
            self.on_disk += BLOCK;
            self.tail.clear();
        }
        Ok(())
    }

    /// Moves bytes `from..end` up by `by` (the file already holds `end + by` bytes), the
    /// last piece first so that no byte is overwritten before it is read.
    fn shift_back<D: BlockDevice>(
        &mut self,
        device: &mut D,
        from: u64,
        end: u64,
        by: u64,
    ) -> Result<(), DeviceError> {
        let mut piece = vec![0; TRANSFER_BYTES.min((end - from) as usize)];
        let mut high = end;
        while high > from {
            let low = high.saturating_sub(TRANSFER_BYTES as u64).max(from);
            let span = &mut piece[..(high - low) as usize];
            self.read_at(device, low, span)?;
            self.write_reserved(device, low + by, span)?;
            high = low;
        }
        Ok(())
    }

    /// Cuts the file to `size` bytes (at most its size) and gives back the blocks it no
    /// longer needs.
    fn truncate<D: BlockDevice>(
        &mut self,
        room: &mut Room<'_, D>,
        size: u64,
    ) -> Result<(), StoreError> {
        if size >= self.on_disk {
            self.tail.truncate((size - self.on_disk) as usize);
        } else {
            let whole = size / BLOCK * BLOCK;
            let mut tail = vec![0; (size - whole) as usize];
            read_from_block(room.device, self.extent.first, whole, &mut tail)?;
            self.tail = tail;
            self.on_disk = whole;
        }
        self.size = size;
        self.trim(room.free);
        Ok(())
    }

    /// Gives back the blocks past those the size needs.
    fn trim(&mut self, free: &mut FreeSpace) {
        let need = blocks_for(self.size) as u32;
        if self.extent.blocks <= need {
            return;
        }
        let rest = Extent {
            first: self.extent.first + need,
            blocks: self.extent.blocks - need,
        };
        self.extent = match need {
            0 => Extent::default(),
            _ => Extent {
                first: self.extent.first,
                blocks: need,
            },
        };
        self.give_back(free, rest);
    }

    /// Makes the extent hold at least `size` bytes: grown in place, or the file moved.
    fn reserve<D: BlockDevice>(
        &mut self,
        room: &mut Room<'_, D>,
        size: u64,
    ) -> Result<(), StoreError> {
        let need = u32::try_from(blocks_for(size)).map_err(|_| StoreError::NoSpace)?;
        let held = self.extent.blocks;
        if need <= held {
            return Ok(());
        }
        let tries = [held.saturating_mul(2).max(need), need];
        if held > 0 {
            for blocks in tries {
                if room.free.extend(&mut self.extent, blocks - held) {
                    return Ok(());
                }
            }
        }
        for blocks in tries {
            if let Some(extent) = room.free.allocate(blocks) {
                return self.move_to(room, extent);
            }
        }
        Err(StoreError::NoSpace)
    }

    /// Copies the blocks on the disk to the newly allocated `extent` and gives the old back.
    fn move_to<D: BlockDevice>(
        &mut self,
        room: &mut Room<'_, D>,
        extent: Extent,
    ) -> Result<(), StoreError> {
        let blocks = (self.on_disk / BLOCK) as u32;
        let from = self.extent.first;
        if let Err(error) = copy_blocks(room.device, from, extent.first, blocks, &mut |_| {}) {
            room.free.release(extent);
            return Err(error.into());
        }
        let old = core::mem::replace(&mut self.extent, extent);
        self.give_back(room.free, old);
        Ok(())
    }

    /// Returns blocks to the free space, unless a record on the disk may name them.
    fn give_back(&self, free: &mut FreeSpace, extent: Extent) {
        if !self.pinned {
            free.release(extent);
        }
    }

    fn block_at(&self, offset: u64) -> u32 {
        self.extent.first + (offset / BLOCK) as u32
    }

    /// The CRC-32 of the file's bytes, read back; kept as the running one from now on.
    fn crc_by_reading<D: BlockDevice>(&mut self, device: &mut D) -> Result<u32, DeviceError> {
        let mut crc = Crc32::new();
        let mut piece = vec![0; TRANSFER_BYTES.min(self.size as usize)];
        let mut offset = 0;
        while offset < self.size {
            let len = (self.size - offset).min(TRANSFER_BYTES as u64) as usize;
            self.read_at(device, offset, &mut piece[..len])?;
            crc.update(&piece[..len]);
            offset += len as u64;
        }
        let sum = crc.finish();
        self.crc = Some(crc);
        Ok(sum)
    }
}
