//! Filesystem blocks of [`FS_BLOCK_BYTES`] on a [`BlockDevice`] of 512-byte sectors, ours.
//!
//! Transfers go in pieces of at most [`TRANSFER_BYTES`], so a driver's bounce buffer and the
//! time one request holds the device stay bounded whatever the size of a file.

use alloc::vec;

use super::layout::{FS_BLOCK_BYTES, SECTOR_BYTES, SECTORS_PER_BLOCK};
use crate::servers::vdisk::{BlockDevice, DeviceError};

/// The most bytes one device read or write moves.
pub const TRANSFER_BYTES: usize = 64 * 1024;
const _: () = assert!(TRANSFER_BYTES.is_multiple_of(FS_BLOCK_BYTES));

/// The first sector of filesystem block `block`.
pub fn sector_of(block: u32) -> u64 {
    u64::from(block) * SECTORS_PER_BLOCK
}

/// Writes `data` from the start of filesystem block `block`, the last sector padded with
/// zeros so that no stale bytes follow a file's end.
pub fn write_from_block(
    device: &mut impl BlockDevice,
    block: u32,
    data: &[u8],
) -> Result<(), DeviceError> {
    let mut sector = sector_of(block);
    let whole = data.len() - data.len() % SECTOR_BYTES;
    for piece in data[..whole].chunks(TRANSFER_BYTES) {
        device.write(sector, piece)?;
        sector += (piece.len() / SECTOR_BYTES) as u64;
    }
    let tail = &data[whole..];
    if !tail.is_empty() {
        let mut last = [0; SECTOR_BYTES];
        last[..tail.len()].copy_from_slice(tail);
        device.write(sector, &last)?;
    }
    Ok(())
}

/// Fills `out` with the bytes that start `offset` bytes into filesystem block `block`.
pub fn read_from_block(
    device: &mut impl BlockDevice,
    block: u32,
    offset: u64,
    out: &mut [u8],
) -> Result<(), DeviceError> {
    let sector_bytes = SECTOR_BYTES as u64;
    let mut sector = sector_of(block) + offset / sector_bytes;
    let mut skip = (offset % sector_bytes) as usize;
    let mut piece = vec![0; TRANSFER_BYTES.min((skip + out.len()).next_multiple_of(SECTOR_BYTES))];
    let mut done = 0;
    while done < out.len() {
        let wanted = (skip + out.len() - done).next_multiple_of(SECTOR_BYTES);
        let span = &mut piece[..wanted.min(TRANSFER_BYTES)];
        device.read(sector, span)?;
        let taken = (span.len() - skip).min(out.len() - done);
        out[done..done + taken].copy_from_slice(&span[skip..skip + taken]);
        done += taken;
        sector += (span.len() / SECTOR_BYTES) as u64;
        skip = 0;
    }
    Ok(())
}

/// Writes `data` over the bytes that start `offset` bytes into filesystem block `block`,
/// keeping the rest of the sectors it touches at either end (read, changed, written back).
pub fn overwrite(
    device: &mut impl BlockDevice,
    block: u32,
    offset: u64,
    data: &[u8],
) -> Result<(), DeviceError> {
    let sector_bytes = SECTOR_BYTES as u64;
    let mut sector = sector_of(block) + offset / sector_bytes;
    let skip = (offset % sector_bytes) as usize;
    let mut done = 0;
    if !data.is_empty() && (skip != 0 || data.len() < SECTOR_BYTES) {
        done = (SECTOR_BYTES - skip).min(data.len());
        patch_sector(device, sector, skip, &data[..done])?;
        sector += 1;
    }
    let whole = (data.len() - done) / SECTOR_BYTES * SECTOR_BYTES;
    for piece in data[done..done + whole].chunks(TRANSFER_BYTES) {
        device.write(sector, piece)?;
        sector += (piece.len() / SECTOR_BYTES) as u64;
    }
    done += whole;
    if done < data.len() {
        patch_sector(device, sector, 0, &data[done..])?;
    }
    Ok(())
}

/// Puts `bytes` at `at` of sector `sector`, the sector's other bytes kept.
fn patch_sector(
    device: &mut impl BlockDevice,
    sector: u64,
    at: usize,
    bytes: &[u8],
) -> Result<(), DeviceError> {
    let mut whole = read_sector(device, sector)?;
    whole[at..at + bytes.len()].copy_from_slice(bytes);
    device.write(sector, &whole)
}

/// Copies `blocks` filesystem blocks from block `from` to block `to` (the two runs apart),
/// [`TRANSFER_BYTES`] at a time, so no more than that is ever in memory; `seen` gets every
/// piece in order (to checksum it on the way).
pub fn copy_blocks(
    device: &mut impl BlockDevice,
    from: u32,
    to: u32,
    blocks: u32,
    seen: &mut dyn FnMut(&[u8]),
) -> Result<(), DeviceError> {
    let total = u64::from(blocks) * FS_BLOCK_BYTES as u64;
    let mut piece = vec![0; TRANSFER_BYTES.min(total as usize)];
    let mut done = 0u64;
    while done < total {
        let len = (total - done).min(TRANSFER_BYTES as u64) as usize;
        let span = &mut piece[..len];
        let sectors = done / SECTOR_BYTES as u64;
        device.read(sector_of(from) + sectors, span)?;
        device.write(sector_of(to) + sectors, span)?;
        seen(span);
        done += len as u64;
    }
    Ok(())
}

/// Reads one sector.
pub fn read_sector(
    device: &mut impl BlockDevice,
    sector: u64,
) -> Result<[u8; SECTOR_BYTES], DeviceError> {
    let mut bytes = [0; SECTOR_BYTES];
    device.read(sector, &mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::vdisk::tests::MemoryDisk;

    #[test]
    fn bytes_written_from_a_block_read_back_at_any_offset() {
        let mut disk = MemoryDisk::new(64);
        let data: alloc::vec::Vec<u8> = (0..20_000u32).map(|i| (i * 7) as u8).collect();
        write_from_block(&mut disk, 1, &data).unwrap();
        for (offset, len) in [(0, 20_000), (1, 511), (511, 2), (4095, 4097), (19_999, 1)] {
            let mut out = vec![0; len];
            read_from_block(&mut disk, 1, offset as u64, &mut out).unwrap();
            assert_eq!(out, data[offset..offset + len], "{offset} + {len}");
        }
        // The padding after the end is zeros.
        let mut tail = vec![0xff; 20_480 - 20_000];
        read_from_block(&mut disk, 1, 20_000, &mut tail).unwrap();
        assert!(tail.iter().all(|&byte| byte == 0));
    }

    #[test]
    fn an_overwrite_changes_only_its_bytes_and_a_copy_moves_whole_blocks() {
        let mut disk = MemoryDisk::new(64);
        let data: alloc::vec::Vec<u8> = (0..12_288u32).map(|i| (i * 13) as u8).collect();
        write_from_block(&mut disk, 1, &data).unwrap();
        let mut expected = data.clone();
        for (offset, len) in [
            (0, 1),
            (3, 509),
            (510, 3),
            (100, 5000),
            (1024, 1024),
            (12_287, 1),
        ] {
            let patch: alloc::vec::Vec<u8> = (0..len).map(|i| (i as u8) ^ 0xa5).collect();
            overwrite(&mut disk, 1, offset as u64, &patch).unwrap();
            expected[offset..offset + len].copy_from_slice(&patch);
            let mut out = vec![0; expected.len()];
            read_from_block(&mut disk, 1, 0, &mut out).unwrap();
            assert_eq!(out, expected, "{offset} + {len}");
        }
        let mut seen = 0;
        copy_blocks(&mut disk, 1, 4, 3, &mut |piece| seen += piece.len()).unwrap();
        let mut out = vec![0; expected.len()];
        read_from_block(&mut disk, 4, 0, &mut out).unwrap();
        assert_eq!((out, seen), (expected, 3 * FS_BLOCK_BYTES));
    }
}
