//! Filesystem blocks of [`FS_BLOCK_BYTES`] on a [`BlockDevice`] of 512-byte sectors, ours.
//!
//! Transfers go in pieces of at most [`TRANSFER_BYTES`], so a driver's bounce buffer and the
//! time one request holds the device stay bounded whatever the size of a file.

use alloc::vec;

use super::layout::{SECTOR_BYTES, SECTORS_PER_BLOCK};
use crate::servers::vdisk::{BlockDevice, DeviceError};

/// The most bytes one device read or write moves.
pub const TRANSFER_BYTES: usize = 64 * 1024;
const _: () = assert!(TRANSFER_BYTES.is_multiple_of(SECTOR_BYTES));

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
}
