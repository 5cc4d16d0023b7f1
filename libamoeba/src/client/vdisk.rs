//! Virtual disk stubs (format in `servers/vdisk.rs`).
//!
//! As 5.3's `disk_read` and `disk_write` do, a transfer longer than a transaction
//! ([`MAX_TRANSFER_BYTES`]) goes as several, one after another; the first failing one ends
//! it, and blocks before it may already be written. Block numbers and counts are in blocks of
//! 2^`log2_block` bytes, which must be 512 to 16384: a larger block fits no transaction.

use alloc::vec::Vec;

use super::{GARBLED, transact, transact_bare};
use crate::capability::Capability;
use crate::rpc::codes::{Command, ErrorCode};
use crate::rpc::header::Header;
use crate::rpc::transport::Rpc;
use crate::servers::vdisk::{
    DS_CONTROL, DS_GETGEOMETRY, DS_INFO, DS_READ, DS_SIZE, DS_WRITE, DSC_FLUSH, DURABLE, DiskPiece,
    Durability, GEOMETRY_BYTES, Geometry, MAX_BLOCK_SHIFT, MAX_PIECES, MAX_TRANSFER_BYTES,
    MIN_BLOCK_SHIFT, PIECE_BYTES,
};

/// How many blocks of 2^`log2_block` bytes the disk holds (at most `i32::MAX`).
pub fn ds_size(rpc: &impl Rpc, disk: &Capability, log2_block: u32) -> Result<u32, ErrorCode> {
    if !(MIN_BLOCK_SHIFT..=MAX_BLOCK_SHIFT).contains(&log2_block) {
        return Err(ErrorCode::STD_ARGBAD);
    }
    let request = Header {
        size: log2_block as u16,
        ..Header::request(disk, DS_SIZE)
    };
    let reply = transact_bare(rpc, &request, &[])?;
    u32::try_from(reply.offset).map_err(|_| GARBLED)
}

/// Reads `count` blocks from `first_block` into the start of `buffer`, which must hold them.
pub fn ds_read(
    rpc: &impl Rpc,
    disk: &Capability,
    first_block: u32,
    log2_block: u32,
    count: u32,
    buffer: &mut [u8],
) -> Result<(), ErrorCode> {
    let range = BlockRange::new(first_block, log2_block, count)?;
    let wanted = buffer
        .get_mut(..range.bytes()?)
        .ok_or(ErrorCode::STD_ARGBAD)?;
    for (index, chunk) in wanted.chunks_mut(range.transaction_bytes()).enumerate() {
        let request = range.request(disk, DS_READ, index, chunk.len())?;
        let expected = chunk.len();
        let answer = transact(rpc, &request, &[], chunk)?;
        if answer.truncated || answer.data.len() != expected {
            return Err(GARBLED);
        }
    }
    Ok(())
}

/// Writes `data`, whole blocks, from `first_block`. With [`Durability::Flushed`] the last
/// transaction asks for a flush, which makes every block durable before the reply.
pub fn ds_write(
    rpc: &impl Rpc,
    disk: &Capability,
    first_block: u32,
    log2_block: u32,
    data: &[u8],
    durability: Durability,
) -> Result<(), ErrorCode> {
    let count = data.len() >> log2_block.min(usize::BITS - 1);
    let count = u32::try_from(count).map_err(|_| ErrorCode::STD_ARGBAD)?;
    let range = BlockRange::new(first_block, log2_block, count)?;
    if range.bytes()? != data.len() {
        return Err(ErrorCode::STD_ARGBAD);
    }
    let chunks = data.chunks(range.transaction_bytes());
    let last = chunks.len().saturating_sub(1);
    for (index, chunk) in chunks.enumerate() {
        let mut request = range.request(disk, DS_WRITE, index, chunk.len())?;
        if index == last && durability == Durability::Flushed {
            request.size |= DURABLE;
        }
        transact_bare(rpc, &request, chunk)?;
    }
    Ok(())
}

/// The disk's pieces: where on which physical unit its blocks are.
pub fn ds_info(rpc: &impl Rpc, disk: &Capability) -> Result<Vec<DiskPiece>, ErrorCode> {
    let mut pieces = [0; MAX_PIECES * PIECE_BYTES];
    let answer = transact(rpc, &Header::request(disk, DS_INFO), &[], &mut pieces)?;
    if answer.truncated || !answer.data.len().is_multiple_of(PIECE_BYTES) {
        return Err(GARBLED);
    }
    answer
        .data
        .chunks(PIECE_BYTES)
        .map(|piece| DiskPiece::decode(piece).ok_or(GARBLED))
        .collect()
}

/// The disk's geometry; fields a later server appends are not read.
pub fn ds_getgeometry(rpc: &impl Rpc, disk: &Capability) -> Result<Geometry, ErrorCode> {
    let mut geometry = [0; GEOMETRY_BYTES];
    let request = Header::request(disk, DS_GETGEOMETRY);
    let answer = transact(rpc, &request, &[], &mut geometry)?;
    Geometry::decode(answer.data).ok_or(GARBLED)
}

/// Puts every write the disk took so far on stable storage (DS_CONTROL's flush).
pub fn ds_flush(rpc: &impl Rpc, disk: &Capability) -> Result<(), ErrorCode> {
    let request = Header {
        extra: DSC_FLUSH,
        ..Header::request(disk, DS_CONTROL)
    };
    transact_bare(rpc, &request, &[])?;
    Ok(())
}

/// A transfer's blocks, checked against what the server takes, before anything is sent.
struct BlockRange {
    first_block: u32,
    log2_block: u32,
    count: u32,
    blocks_per_transaction: u32,
}

impl BlockRange {
    /// STD_ARGBAD for no blocks, a block size out of range or too big for a transaction, or
    /// a last block that h_offset (an `i32`) cannot name.
    fn new(first_block: u32, log2_block: u32, count: u32) -> Result<Self, ErrorCode> {
        let fits_a_transaction = MAX_TRANSFER_BYTES.checked_shr(log2_block).unwrap_or(0);
        let last = u64::from(first_block) + u64::from(count);
        let addressable = count > 0 && last - 1 <= i32::MAX as u64;
        if log2_block < MIN_BLOCK_SHIFT || fits_a_transaction == 0 || !addressable {
            return Err(ErrorCode::STD_ARGBAD);
        }
        Ok(Self {
            first_block,
            log2_block,
            count,
            blocks_per_transaction: fits_a_transaction as u32,
        })
    }

    /// The bytes of all the blocks.
    fn bytes(&self) -> Result<usize, ErrorCode> {
        let bytes = u64::from(self.count) << self.log2_block;
        usize::try_from(bytes).map_err(|_| ErrorCode::STD_ARGBAD)
    }

    fn transaction_bytes(&self) -> usize {
        (self.blocks_per_transaction as usize) << self.log2_block
    }

    /// The request for the `index`th transaction, carrying `bytes`.
    fn request(
        &self,
        disk: &Capability,
        command: Command,
        index: usize,
        bytes: usize,
    ) -> Result<Header, ErrorCode> {
        let skipped = u64::from(self.blocks_per_transaction) * index as u64;
        let first = u64::from(self.first_block) + skipped;
        let count = bytes >> self.log2_block;
        Ok(Header {
            offset: i32::try_from(first).map_err(|_| ErrorCode::STD_ARGBAD)?,
            size: self.log2_block as u16,
            extra: u16::try_from(count).map_err(|_| ErrorCode::STD_ARGBAD)?,
            ..Header::request(disk, command)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::scripted::scripted;
    use crate::servers::loopback::Loopback;
    use crate::servers::refusals::restrict;
    use crate::servers::vdisk::READ;
    use crate::servers::vdisk::tests::{MemoryDisk, PORT, server};
    use alloc::rc::Rc;
    use alloc::vec;
    use core::cell::RefCell;

    type Disk = Rc<RefCell<crate::servers::vdisk::VdiskServer<MemoryDisk>>>;

    const BLOCKS: usize = 1024;

    fn node() -> (Loopback, Disk, Capability) {
        let (server, owner) = server(MemoryDisk::new(BLOCKS));
        let mut rpc = Loopback::new();
        let disk = rpc.add(PORT, server);
        (rpc, disk, owner)
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i % 253) as u8 ^ seed).collect()
    }

    #[test]
    fn long_transfers_go_in_pieces_and_round_trip() {
        let (rpc, disk, owner) = node();
        for (log2_block, first, count) in [(9, 5, 200), (10, 7, 100), (12, 3, 20), (14, 1, 5)] {
            let data = pattern(count << log2_block, log2_block as u8);
            let written = ds_write(&rpc, &owner, first, log2_block, &data, Durability::Accepted);
            assert_eq!(written, Ok(()));
            let mut back = vec![0; data.len() + 7];
            let read = ds_read(&rpc, &owner, first, log2_block, count as u32, &mut back);
            assert_eq!(read, Ok(()));
            assert_eq!(back[..data.len()], data, "2^{log2_block}");
            assert_eq!(back[data.len()..], [0; 7]);
            let physical = u64::from(first) << (log2_block - 9);
            let disk = disk.borrow();
            let at = disk.device().range(physical, data.len());
            assert_eq!(disk.device().bytes[at], data);
        }
        assert_eq!(disk.borrow().device().flushes, 0);
    }

    #[test]
    fn durability_is_asked_once_at_the_end() {
        let (rpc, disk, owner) = node();
        let data = pattern(3 * MAX_TRANSFER_BYTES, 1);
        assert_eq!(
            ds_write(&rpc, &owner, 0, 9, &data, Durability::Flushed),
            Ok(())
        );
        assert_eq!(disk.borrow().device().flushes, 1);
        assert!(!disk.borrow().device().unflushed);
        ds_write(&rpc, &owner, 0, 9, &data[..512], Durability::Accepted).unwrap();
        assert!(disk.borrow().device().unflushed);
        assert_eq!(ds_flush(&rpc, &owner), Ok(()));
        assert_eq!(disk.borrow().device().flushes, 2);
    }

    #[test]
    fn size_info_and_geometry_end_to_end() {
        let (rpc, _, owner) = node();
        assert_eq!(ds_size(&rpc, &owner, 9), Ok(BLOCKS as u32));
        assert_eq!(ds_size(&rpc, &owner, 12), Ok(BLOCKS as u32 / 8));
        assert_eq!(ds_size(&rpc, &owner, 31), Ok(0));
        let whole = DiskPiece {
            unit: 0,
            first_block: 0,
            blocks: BLOCKS as u32,
        };
        assert_eq!(ds_info(&rpc, &owner), Ok(vec![whole]));
        assert_eq!(
            ds_getgeometry(&rpc, &owner),
            Ok(Geometry::of(BLOCKS as u64))
        );
    }

    #[test]
    fn arguments_the_server_would_refuse_are_refused_here() {
        let (rpc, disk, owner) = node();
        let mut buffer = vec![0; 64 * 1024];
        let argbad = Err(ErrorCode::STD_ARGBAD);
        for log2_block in [0, 8, 15, 31, 32, 64, u32::MAX] {
            let read = ds_read(&rpc, &owner, 0, log2_block, 1, &mut buffer);
            assert_eq!(read, argbad, "2^{log2_block}");
        }
        assert_eq!(ds_size(&rpc, &owner, 8), Err(ErrorCode::STD_ARGBAD));
        assert_eq!(ds_size(&rpc, &owner, 32), Err(ErrorCode::STD_ARGBAD));
        assert_eq!(ds_read(&rpc, &owner, 0, 9, 0, &mut buffer), argbad);
        assert_eq!(ds_read(&rpc, &owner, 0, 9, 2, &mut buffer[..1023]), argbad);
        let past_i32 = i32::MAX as u32;
        assert_eq!(ds_read(&rpc, &owner, past_i32, 9, 2, &mut buffer), argbad);
        for len in [0, 511, 513] {
            let write = ds_write(&rpc, &owner, 0, 9, &buffer[..len], Durability::Flushed);
            assert_eq!(write, argbad, "{len} bytes");
        }
        assert_eq!(disk.borrow().device().reads, 0);
    }

    #[test]
    fn the_server_refusals_come_through() {
        let (rpc, disk, owner) = node();
        let mut buffer = [0; 1024];
        let past_end = BLOCKS as u32 - 1;
        let argbad = Err(ErrorCode::STD_ARGBAD);
        assert_eq!(ds_read(&rpc, &owner, past_end, 9, 2, &mut buffer), argbad);
        let read_only = restrict(&mut *disk.borrow_mut(), &owner, READ);
        let denied = Err(ErrorCode::STD_DENIED);
        let write = ds_write(&rpc, &read_only, 0, 9, &buffer, Durability::Accepted);
        assert_eq!(write, denied);
        assert_eq!(ds_flush(&rpc, &read_only), denied);
        assert_eq!(ds_read(&rpc, &read_only, 0, 9, 2, &mut buffer), Ok(()));
    }

    #[test]
    fn a_server_with_small_buffers_overflows_before_reading_the_disk() {
        let (server, owner) = server(MemoryDisk::new(BLOCKS));
        let mut rpc = Loopback::with_server_buffers(4096);
        let disk = rpc.add(PORT, server);
        let mut buffer = vec![0; 8192];
        let read = ds_read(&rpc, &owner, 0, 9, 16, &mut buffer);
        assert_eq!(read, Err(ErrorCode::STD_OVERFLOW));
        assert_eq!(disk.borrow().device().reads, 0);
    }

    #[test]
    fn garbled_replies_are_garbled() {
        let ok = Header::default();
        let negative = Header {
            offset: -1,
            ..Header::default()
        };
        let (rpc, cap) = scripted(negative, b"");
        assert_eq!(ds_size(&rpc, &cap, 9), Err(GARBLED));
        let (rpc, cap) = scripted(ok, b"data");
        assert_eq!(ds_size(&rpc, &cap, 9), Err(GARBLED));
        assert_eq!(ds_flush(&rpc, &cap), Err(GARBLED));
        assert_eq!(
            ds_write(&rpc, &cap, 0, 9, &[0; 512], Durability::Accepted),
            Err(GARBLED)
        );
        let mut buffer = [0; 1024];
        for reply in [&[7; 511][..], &[7; 513][..], &[][..]] {
            let (rpc, cap) = scripted(ok, reply);
            let read = ds_read(&rpc, &cap, 0, 9, 1, &mut buffer);
            assert_eq!(read, Err(GARBLED), "{} bytes", reply.len());
        }
        let piece = DiskPiece {
            unit: 0,
            first_block: 1,
            blocks: 2,
        }
        .encode();
        let mut negative_piece = piece;
        negative_piece[11] = 0xff;
        let too_many = piece.repeat(MAX_PIECES + 1);
        for reply in [&piece[..11], &negative_piece[..], &too_many[..]] {
            let (rpc, cap) = scripted(ok, reply);
            assert_eq!(ds_info(&rpc, &cap), Err(GARBLED), "{} bytes", reply.len());
        }
        let (rpc, cap) = scripted(ok, &[1; GEOMETRY_BYTES - 1]);
        assert_eq!(ds_getgeometry(&rpc, &cap), Err(GARBLED));
        let mut longer = Geometry::of(9).encode().to_vec();
        longer.extend_from_slice(b"later field");
        let (rpc, cap) = scripted(ok, &longer);
        assert_eq!(ds_getgeometry(&rpc, &cap), Ok(Geometry::of(9)));
    }

    #[test]
    fn a_failing_transaction_ends_the_transfer_after_the_earlier_ones() {
        let (rpc, disk, owner) = node();
        let per_transaction = (MAX_TRANSFER_BYTES / 512) as u32;
        let data = pattern(2 * MAX_TRANSFER_BYTES, 3);
        let crossing_the_end = BLOCKS as u32 - per_transaction;
        let write = ds_write(
            &rpc,
            &owner,
            crossing_the_end,
            9,
            &data,
            Durability::Flushed,
        );
        assert_eq!(write, Err(ErrorCode::STD_ARGBAD));
        let disk = disk.borrow();
        let written = disk
            .device()
            .range(crossing_the_end.into(), MAX_TRANSFER_BYTES);
        assert_eq!(disk.device().bytes[written], data[..MAX_TRANSFER_BYTES]);
        assert_eq!(disk.device().flushes, 0);
        let refused = Header {
            command: ErrorCode::STD_SYSERR.get() as u16,
            ..Header::default()
        };
        let (rpc, cap) = scripted(refused, b"");
        let mut buffer = vec![0; 2 * MAX_TRANSFER_BYTES];
        let read = ds_read(&rpc, &cap, 0, 9, 2 * per_transaction, &mut buffer);
        assert_eq!(read, Err(ErrorCode::STD_SYSERR));
    }
}
