//! The virtual disk server ("vdisk"): one block device as one Amoeba object, read and written
//! in blocks of a size each request chooses.
//!
//! From `docs/amoeba-protocol.md#kernel-servers` and the reference's "Virtual disk server"
//! (5.3: `src/h/server/disk/disk.h`, `src/kernel/server/vdisk/virdisk.c`): rights [`READ`] 2,
//! [`WRITE`] 4, [`CTL`] 8; 512-byte physical blocks ([`BLOCK_BYTES`]); a request names its
//! block size as log2 in h_size, 9..=31 ([`MIN_BLOCK_SHIFT`]..=[`MAX_BLOCK_SHIFT`]), and
//! moves at most [`MAX_TRANSFER_BYTES`] (29 KiB, 5.3's `D_REQBUFSZ`). Block numbers and
//! counts are in blocks of the request's size. Integers in data are little-endian, as 5.3's
//! `buf_put_*` write them.
//!
//! | command | rights | request → reply |
//! |---|---|---|
//! | DS_INFO 2201 | READ | no data → 12 bytes a piece ([`DiskPiece`]): i32 unit, i32 first block, i32 blocks (512-byte); h_size = bytes |
//! | DS_READ 2202 | READ | h_offset first block, h_size log2 block size, h_extra count → the blocks; h_size = bytes |
//! | DS_SIZE 2203 | READ | h_size log2 block size → h_offset = whole blocks of that size on the disk |
//! | DS_WRITE 2204 | WRITE | as DS_READ, data = the blocks (exactly count of them); h_size may carry [`DURABLE`] → no data |
//! | DS_GETGEOMETRY 2205 | READ | → 12 bytes ([`Geometry`]): i16 bytes a track, bytes a sector, cylinders, alternate cylinders, heads, sectors a track |
//! | DS_CONTROL 2206 | CTL | h_extra sub-command: [`DSC_FLUSH`] (ours) → no data |
//!
//! Every refusal is 5.3's STD_ARGBAD: a log2 size outside 9..=31, a count of 0, a transfer of
//! more than 29 KiB, a negative first block, a range past the end of the disk, DS_INFO with
//! data; and ours where 5.3 does not check: DS_WRITE data that is not exactly count blocks.
//! Device errors become what 5.3's drivers answer ([`DeviceError`]): STD_SYSERR for a failed
//! transfer, STD_WRITEPROT, STD_NOMEDIUM. A reply to DS_WRITE comes once the device took the
//! write, which is not yet on stable storage; [`DURABLE`] or a [`DSC_FLUSH`] makes it so.
//!
//! Ours, where 5.3 is silent or is built for a label of pieces on several disks:
//! - One device is one server; its pieces (from the disk label, `servers/vdisk/label.rs`) are
//!   its objects, piece n object n, block numbers counted from the piece's start, and DS_INFO
//!   describes the piece asked about. Without pieces object 0 is the whole device. 5.3
//!   serves every disk of a node as objects of one port.
//! - Block counts that do not fit 5.3's `int32` (`disk_addr`) are cut to `i32::MAX`: beyond
//!   that no h_offset can reach a block anyway.
//! - DS_WRITE's [`DURABLE`] flag is bit 15 of h_size, which 5.3 reads as a negative size and
//!   refuses, so a client asking for durability from a 5.3 server is refused, not misled.
//! - DS_CONTROL's [`DSC_FLUSH`] 3 is ours; 5.3's [`DSC_EJECT`] 1 and [`DSC_FORMAT`] 2, and any
//!   other sub-command, are STD_COMBAD, as 5.3's drivers answer one they do not have.
//! - DS_GETGEOMETRY answers the BIOS "LBA assist" translation of the size ([`Geometry::of`]):
//!   5.3 reads it from the disk label or the controller, and a virtual device has neither.
//! - STD_INFO needs no right (`servers/standard.rs`) and says "virtual disk, N blocks of 512
//!   bytes"; 5.3's needs READ and says "@ N KB". STD_AGE and STD_TOUCH, which 5.3 answers
//!   with nothing done, are STD_COMBAD.

pub mod label;
pub mod mbr;

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use crate::capability::{CHECK_LEN, Capability, Port};
use crate::le;
use crate::random::Entropy;
use crate::rpc::codes::{Command, DISK_FIRST_COM, ErrorCode};
use crate::rpc::header::Header;
use crate::rpc::objects::ObjectTable;
use crate::rpc::server::{Reply, Request, Server};
use crate::servers::server_object::CommandRights;
use crate::servers::standard::{answer_standard, server_table, whole_data};

/// Right to read, size up and describe the disk.
pub const READ: u8 = 0x02;
/// Right to write blocks.
pub const WRITE: u8 = 0x04;
/// Right to DS_CONTROL.
pub const CTL: u8 = 0x08;

/// The disk's pieces.
pub const DS_INFO: Command = Command(DISK_FIRST_COM + 1);
pub const DS_READ: Command = Command(DISK_FIRST_COM + 2);
/// The number of blocks of a size.
pub const DS_SIZE: Command = Command(DISK_FIRST_COM + 3);
pub const DS_WRITE: Command = Command(DISK_FIRST_COM + 4);
pub const DS_GETGEOMETRY: Command = Command(DISK_FIRST_COM + 5);
/// A sub-command in h_extra.
pub const DS_CONTROL: Command = Command(DISK_FIRST_COM + 6);

/// DS_CONTROL: eject the medium (5.3's; not served).
pub const DSC_EJECT: u16 = 1;
/// DS_CONTROL: format the medium (5.3's; not served).
pub const DSC_FORMAT: u16 = 2;
/// DS_CONTROL: put every write the device took on stable storage before the reply (ours).
pub const DSC_FLUSH: u16 = 3;

/// DS_WRITE's h_size flag: flush after the write, before the reply (ours).
pub const DURABLE: u16 = 0x8000;

/// Bytes of a physical block, the unit of [`BlockDevice`].
pub const BLOCK_BYTES: usize = 512;
/// log2 of [`BLOCK_BYTES`]: the smallest block size a request may choose.
pub const MIN_BLOCK_SHIFT: u32 = 9;
/// log2 of the largest block size a request may choose (5.3's `MAX_VBLK_SHIFT`).
pub const MAX_BLOCK_SHIFT: u32 = 31;
/// The most bytes one DS_READ or DS_WRITE moves (5.3's `D_REQBUFSZ`).
pub const MAX_TRANSFER_BYTES: usize = 29 * 1024;
const _: () = assert!(BLOCK_BYTES == 1 << MIN_BLOCK_SHIFT);
// So a transfer's length always fits h_size.
const _: () = assert!(MAX_TRANSFER_BYTES <= u16::MAX as usize);

/// Bytes of one DS_INFO piece.
pub const PIECE_BYTES: usize = 12;
/// The most pieces a 5.3 disk has (`MAX_PARTNS_VDISK`): what a DS_INFO reply can hold.
pub const MAX_PIECES: usize = 8;
/// Bytes of a DS_GETGEOMETRY reply.
pub const GEOMETRY_BYTES: usize = 12;

const COMMANDS: [CommandRights; 6] = [
    (DS_INFO, READ),
    (DS_READ, READ),
    (DS_SIZE, READ),
    (DS_WRITE, WRITE),
    (DS_GETGEOMETRY, READ),
    (DS_CONTROL, CTL),
];

/// Why a device did not do a transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceError {
    /// The device reported an error or did not answer: STD_SYSERR.
    Failed,
    /// A block past the device's end: STD_ARGBAD (the server checks first, so only a device
    /// that shrank says this).
    OutOfRange,
    /// The device takes no writes: STD_WRITEPROT.
    WriteProtected,
    /// There is no medium: STD_NOMEDIUM.
    NoMedium,
}

impl From<DeviceError> for ErrorCode {
    fn from(error: DeviceError) -> Self {
        match error {
            DeviceError::Failed => ErrorCode::STD_SYSERR,
            DeviceError::OutOfRange => ErrorCode::STD_ARGBAD,
            DeviceError::WriteProtected => ErrorCode::STD_WRITEPROT,
            DeviceError::NoMedium => ErrorCode::STD_NOMEDIUM,
        }
    }
}

/// A disk of 512-byte blocks (the kernel's virtio-blk driver, a file on a host).
///
/// The server calls `read` and `write` only with whole blocks (lengths that are multiples
/// of [`BLOCK_BYTES`], at least one) that lie inside [`blocks`](Self::blocks).
pub trait BlockDevice {
    /// The device's size in 512-byte blocks.
    fn blocks(&self) -> u64;
    /// Fills `buffer` from the blocks starting at `first`.
    fn read(&mut self, first: u64, buffer: &mut [u8]) -> Result<(), DeviceError>;
    /// Writes `data` to the blocks starting at `first`; once it returns the device has the
    /// data (a later read sees it), though perhaps not yet on stable storage.
    fn write(&mut self, first: u64, data: &[u8]) -> Result<(), DeviceError>;
    /// Puts every write returned so far on stable storage.
    fn flush(&mut self) -> Result<(), DeviceError>;
}

/// A device lent out (a disk image's piece handed to a store that takes its device).
impl<D: BlockDevice + ?Sized> BlockDevice for &mut D {
    fn blocks(&self) -> u64 {
        (**self).blocks()
    }

    fn read(&mut self, first: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        (**self).read(first, buffer)
    }

    fn write(&mut self, first: u64, data: &[u8]) -> Result<(), DeviceError> {
        (**self).write(first, data)
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        (**self).flush()
    }
}

/// Whether DS_WRITE's reply waits for stable storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// The reply comes once the device took the data.
    Accepted,
    /// The reply comes once the data is on stable storage ([`DURABLE`]).
    Flushed,
}

/// One piece of a virtual disk, as DS_INFO describes it: `blocks` 512-byte blocks from
/// `first_block` of the physical `unit`. 5.3's fields are `int32`, so each is at most
/// `i32::MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskPiece {
    pub unit: u32,
    pub first_block: u32,
    pub blocks: u32,
}

const PIECE_UNIT: usize = 0;
const PIECE_FIRST: usize = 4;
const PIECE_BLOCKS: usize = 8;
const _: () = assert!(PIECE_BLOCKS + 4 == PIECE_BYTES);

impl DiskPiece {
    pub fn encode(&self) -> [u8; PIECE_BYTES] {
        let mut bytes = [0; PIECE_BYTES];
        le::put(&mut bytes, PIECE_UNIT, &self.unit.to_le_bytes());
        le::put(&mut bytes, PIECE_FIRST, &self.first_block.to_le_bytes());
        le::put(&mut bytes, PIECE_BLOCKS, &self.blocks.to_le_bytes());
        bytes
    }

    /// The piece in the first [`PIECE_BYTES`] of `bytes`; `None` if they are fewer or a
    /// field is negative as an `int32`.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let field = |at| {
            let value = u32::from_le_bytes(le::array(bytes, at)?);
            i32::try_from(value).is_ok().then_some(value)
        };
        Some(Self {
            unit: field(PIECE_UNIT)?,
            first_block: field(PIECE_FIRST)?,
            blocks: field(PIECE_BLOCKS)?,
        })
    }
}

/// A disk's geometry as 5.3's `struct geometry` (`src/h/server/vdisk/disklabel.h`) has it.
/// 5.3's fields are `int16`, so each is at most `i16::MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub bytes_per_track: u16,
    pub bytes_per_sector: u16,
    /// Data cylinders, from cylinder 0.
    pub cylinders: u16,
    /// Cylinders after the data ones, kept for bad blocks.
    pub alternate_cylinders: u16,
    pub heads: u16,
    pub sectors_per_track: u16,
}

const SECTORS_PER_TRACK: u16 = 63;
/// Cylinders the translation tries to stay within, doubling the heads while it cannot.
const TRANSLATED_CYLINDERS: u64 = 1024;
const TRANSLATED_HEADS: [u16; 5] = [16, 32, 64, 128, 255];

impl Geometry {
    /// The geometry a PC BIOS gives a disk of `blocks` 512-byte blocks ("LBA assist"
    /// translation): 63 sectors a track, the fewest heads of 16, 32, 64, 128 and 255 that
    /// keep the cylinders within 1024 (else 255), as many whole cylinders as fit, at most
    /// `i16::MAX`.
    pub fn of(blocks: u64) -> Self {
        let per_cylinder = |heads: u16| u64::from(heads) * u64::from(SECTORS_PER_TRACK);
        let heads = TRANSLATED_HEADS
            .into_iter()
            .find(|&heads| blocks / per_cylinder(heads) <= TRANSLATED_CYLINDERS)
            .unwrap_or(255);
        let cylinders = (blocks / per_cylinder(heads)).min(i16::MAX as u64);
        Self {
            bytes_per_track: SECTORS_PER_TRACK * BLOCK_BYTES as u16,
            bytes_per_sector: BLOCK_BYTES as u16,
            cylinders: cylinders as u16,
            alternate_cylinders: 0,
            heads,
            sectors_per_track: SECTORS_PER_TRACK,
        }
    }

    pub fn encode(&self) -> [u8; GEOMETRY_BYTES] {
        let fields = self.fields();
        let mut bytes = [0; GEOMETRY_BYTES];
        for (at, field) in fields.iter().enumerate() {
            le::put(&mut bytes, 2 * at, &field.to_le_bytes());
        }
        bytes
    }

    /// The geometry in the first [`GEOMETRY_BYTES`] of `bytes`; `None` if they are fewer.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let field = |index: usize| le::u16_at(bytes, 2 * index);
        Some(Self {
            bytes_per_track: field(0)?,
            bytes_per_sector: field(1)?,
            cylinders: field(2)?,
            alternate_cylinders: field(3)?,
            heads: field(4)?,
            sectors_per_track: field(5)?,
        })
    }

    /// The fields in 5.3's order.
    fn fields(&self) -> [u16; GEOMETRY_BYTES / 2] {
        [
            self.bytes_per_track,
            self.bytes_per_sector,
            self.cylinders,
            self.alternate_cylinders,
            self.heads,
            self.sectors_per_track,
        ]
    }
}

/// A piece of the device: its first block and its blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub first: u64,
    pub blocks: u64,
}

/// The virtual disk server of one device: each piece of the device is an object (object 0
/// the whole device when there are no pieces), as 5.3 serves a disk's pieces on one port.
pub struct VdiskServer<D> {
    objects: ObjectTable<Piece>,
    device: D,
    /// Where DS_READ's blocks land before they go into the reply.
    transfer_buffer: Vec<u8>,
}

impl<D: BlockDevice> VdiskServer<D> {
    /// The server of the whole `device` at `put_port` with its owner capability.
    pub fn new(put_port: Port, entropy: &mut impl Entropy, device: D) -> (Self, Capability) {
        let whole = Piece {
            first: 0,
            blocks: device.blocks(),
        };
        let (objects, owner) = server_table(put_port, entropy, whole);
        (Self::serving(objects, device), owner)
    }

    /// The server of `pieces` of `device` at `put_port`, piece n as object n with the check
    /// given for it (kept in the disk label, so capabilities survive reboots). STD_ARGBAD for
    /// a piece past the device's end or a zero check.
    pub fn with_pieces(
        put_port: Port,
        device: D,
        pieces: &[(Piece, [u8; CHECK_LEN])],
    ) -> Result<Self, ErrorCode> {
        let mut objects = ObjectTable::new(put_port);
        for (object, (piece, check)) in (0u32..).zip(pieces) {
            let end = piece.first.checked_add(piece.blocks);
            if end.is_none_or(|end| end > device.blocks()) {
                return Err(ErrorCode::STD_ARGBAD);
            }
            objects.restore(object, *check, *piece)?;
        }
        Ok(Self::serving(objects, device))
    }

    fn serving(objects: ObjectTable<Piece>, device: D) -> Self {
        Self {
            objects,
            device,
            transfer_buffer: vec![0; MAX_TRANSFER_BYTES],
        }
    }

    /// Piece `object`'s capability with `rights`.
    pub fn capability(&self, object: u32, rights: u8) -> Option<Capability> {
        self.objects.capability(object, rights)
    }

    pub fn device(&self) -> &D {
        &self.device
    }
}

/// One piece of a device, as the device its requests see: a request's piece, or the Amoeba
/// partition of a disk that also boots ([`mbr`]). `D` may be a borrowed device (`&mut D`).
pub struct Window<D> {
    device: D,
    piece: Piece,
}

impl<D: BlockDevice> Window<D> {
    /// `piece` of `device`; the caller has checked that it lies inside the device.
    pub fn new(device: D, piece: Piece) -> Self {
        Self { device, piece }
    }
}

impl<D: BlockDevice> BlockDevice for Window<D> {
    fn blocks(&self) -> u64 {
        self.piece.blocks
    }

    fn read(&mut self, first: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        self.device.read(self.piece.first + first, buffer)
    }

    fn write(&mut self, first: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.device.write(self.piece.first + first, data)
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        self.device.flush()
    }
}

impl<D: BlockDevice> Server for VdiskServer<D> {
    fn handle(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let describe = |_, piece: &Piece| {
            format!(
                "virtual disk, {} blocks of {BLOCK_BYTES} bytes",
                piece.blocks
            )
        };
        if let Some(result) = answer_standard(&self.objects, request, reply, describe) {
            return result;
        }
        let command = request.header.command();
        let (_, needed) = COMMANDS
            .iter()
            .find(|(known, _)| *known == command)
            .ok_or(ErrorCode::STD_COMBAD)?;
        let (_, piece) = self.objects.get(&request.header, *needed)?;
        let piece = *piece;
        let device = &mut Window {
            device: &mut self.device,
            piece,
        };
        let blocks = piece.blocks;
        match command {
            DS_READ => read(device, &mut self.transfer_buffer, &request.header, reply),
            DS_WRITE => write(device, request),
            DS_SIZE => size(blocks, &request.header, reply),
            DS_INFO => pieces(piece, request, reply),
            DS_GETGEOMETRY => geometry(blocks, reply),
            DS_CONTROL => control(device, &request.header),
            _ => Err(ErrorCode::STD_COMBAD),
        }
    }
}

/// The physical blocks a DS_READ or DS_WRITE names.
struct Span {
    first: u64,
    bytes: usize,
}

/// The span that h_offset, `size_field` (h_size less any flags) and h_extra of `header` name
/// on a disk of `device_blocks`, checked as the module header says.
fn requested_span(header: &Header, size_field: u16, device_blocks: u64) -> Result<Span, ErrorCode> {
    let shift = block_shift(size_field)?;
    let first = u64::try_from(header.offset).map_err(|_| ErrorCode::STD_ARGBAD)?;
    let count = u64::from(header.extra);
    // count < 2^16 and shift <= 31: the product fits 64 bits.
    let bytes = count << shift;
    if count == 0 || bytes > MAX_TRANSFER_BYTES as u64 {
        return Err(ErrorCode::STD_ARGBAD);
    }
    let first = first
        .checked_mul(1 << (shift - MIN_BLOCK_SHIFT))
        .ok_or(ErrorCode::STD_ARGBAD)?;
    let end = first.checked_add(bytes / BLOCK_BYTES as u64);
    if end.is_none_or(|end| end > device_blocks) {
        return Err(ErrorCode::STD_ARGBAD);
    }
    Ok(Span {
        first,
        bytes: bytes as usize,
    })
}

/// h_size as a log2 block size: 9..=31, else STD_ARGBAD.
fn block_shift(size: u16) -> Result<u32, ErrorCode> {
    let shift = u32::from(size);
    if (MIN_BLOCK_SHIFT..=MAX_BLOCK_SHIFT).contains(&shift) {
        Ok(shift)
    } else {
        Err(ErrorCode::STD_ARGBAD)
    }
}

/// A block count as 5.3's `int32` holds it: at most `i32::MAX`.
fn disk_address(blocks: u64) -> u32 {
    blocks.min(i32::MAX as u64) as u32
}

fn read(
    device: &mut impl BlockDevice,
    transfer_buffer: &mut [u8],
    header: &Header,
    reply: &mut Reply<'_>,
) -> Result<(), ErrorCode> {
    let span = requested_span(header, header.size, device.blocks())?;
    // Refused before the device is asked, so a server with a small reply buffer reads nothing.
    if reply.room() < span.bytes {
        return Err(ErrorCode::STD_OVERFLOW);
    }
    let blocks = transfer_buffer
        .get_mut(..span.bytes)
        .ok_or(ErrorCode::STD_SYSERR)?;
    device.read(span.first, blocks)?;
    reply.push(blocks)?;
    reply.header.size = span.bytes as u16;
    Ok(())
}

fn write(device: &mut impl BlockDevice, request: &Request<'_>) -> Result<(), ErrorCode> {
    let header = &request.header;
    let span = requested_span(header, header.size & !DURABLE, device.blocks())?;
    let data = whole_data(request)?;
    if data.len() != span.bytes {
        return Err(ErrorCode::STD_ARGBAD);
    }
    device.write(span.first, data)?;
    if header.size & DURABLE != 0 {
        device.flush()?;
    }
    Ok(())
}

fn size(device_blocks: u64, header: &Header, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
    let shift = block_shift(header.size)?;
    let blocks = device_blocks >> (shift - MIN_BLOCK_SHIFT);
    reply.header.offset = disk_address(blocks) as i32;
    Ok(())
}

fn pieces(piece: Piece, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
    if !request.data.is_empty() || request.truncated {
        return Err(ErrorCode::STD_ARGBAD);
    }
    let this_piece = DiskPiece {
        unit: 0,
        first_block: disk_address(piece.first),
        blocks: disk_address(piece.blocks),
    };
    reply.push(&this_piece.encode())?;
    reply.header.size = PIECE_BYTES as u16;
    Ok(())
}

fn geometry(device_blocks: u64, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
    reply.push(&Geometry::of(device_blocks).encode())?;
    reply.header.size = GEOMETRY_BYTES as u16;
    Ok(())
}

fn control(device: &mut impl BlockDevice, header: &Header) -> Result<(), ErrorCode> {
    match header.extra {
        DSC_FLUSH => Ok(device.flush()?),
        _ => Err(ErrorCode::STD_COMBAD),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::random::SeededGenerator;
    use crate::servers::loopback::call;
    use crate::servers::refusals::{assert_refusals, restrict};
    use core::ops::Range;

    /// A disk in memory that counts what it was asked, and fails a test that breaks the
    /// [`BlockDevice`] rules.
    pub(crate) struct MemoryDisk {
        pub(crate) bytes: Vec<u8>,
        pub(crate) reads: usize,
        pub(crate) flushes: usize,
        /// A write came after the last flush.
        pub(crate) unflushed: bool,
    }

    impl MemoryDisk {
        /// `blocks` blocks, block n filled with the byte n.
        pub(crate) fn new(blocks: usize) -> Self {
            let bytes = (0..blocks * BLOCK_BYTES)
                .map(|i| (i / BLOCK_BYTES) as u8)
                .collect();
            Self {
                bytes,
                reads: 0,
                flushes: 0,
                unflushed: false,
            }
        }

        pub(crate) fn range(&self, first: u64, len: usize) -> Range<usize> {
            assert!(len > 0 && len.is_multiple_of(BLOCK_BYTES), "{len} bytes");
            let start = first as usize * BLOCK_BYTES;
            assert!(start + len <= self.bytes.len(), "{first} + {len} bytes");
            start..start + len
        }
    }

    impl BlockDevice for MemoryDisk {
        fn blocks(&self) -> u64 {
            (self.bytes.len() / BLOCK_BYTES) as u64
        }

        fn read(&mut self, first: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
            let range = self.range(first, buffer.len());
            buffer.copy_from_slice(&self.bytes[range]);
            self.reads += 1;
            Ok(())
        }

        fn write(&mut self, first: u64, data: &[u8]) -> Result<(), DeviceError> {
            let range = self.range(first, data.len());
            self.bytes[range].copy_from_slice(data);
            self.unflushed = true;
            Ok(())
        }

        fn flush(&mut self) -> Result<(), DeviceError> {
            self.flushes += 1;
            self.unflushed = false;
            Ok(())
        }
    }

    /// A disk of any size that fails every transfer with `error`.
    pub(crate) struct FailingDisk {
        pub(crate) blocks: u64,
        pub(crate) error: DeviceError,
    }

    impl BlockDevice for FailingDisk {
        fn blocks(&self) -> u64 {
            self.blocks
        }

        fn read(&mut self, _: u64, _: &mut [u8]) -> Result<(), DeviceError> {
            Err(self.error)
        }

        fn write(&mut self, _: u64, _: &[u8]) -> Result<(), DeviceError> {
            Err(self.error)
        }

        fn flush(&mut self) -> Result<(), DeviceError> {
            Err(self.error)
        }
    }

    pub(crate) const PORT: Port = Port([0xd5; 6]);
    const DISK_BLOCKS: usize = 256;

    pub(crate) fn server<D: BlockDevice>(device: D) -> (VdiskServer<D>, Capability) {
        VdiskServer::new(PORT, &mut SeededGenerator::new(7), device)
    }

    fn transfer(cap: &Capability, command: Command, first: i32, shift: u16, count: u16) -> Header {
        Header {
            offset: first,
            size: shift,
            extra: count,
            ..Header::request(cap, command)
        }
    }

    fn status(reply: &Header) -> Result<(), ErrorCode> {
        reply.error().map_or(Ok(()), Err)
    }

    #[test]
    fn blocks_written_read_back_at_every_size() {
        let (mut disk, owner) = server(MemoryDisk::new(DISK_BLOCKS));
        for shift in MIN_BLOCK_SHIFT as u16..=14 {
            let count = ((MAX_TRANSFER_BYTES >> shift) as u16).min(3);
            let bytes = usize::from(count) << shift;
            let data: Vec<u8> = (0..bytes).map(|i| (i % 251) as u8 ^ shift as u8).collect();
            let put = transfer(&owner, DS_WRITE, 1, shift, count);
            let (reply, sent) = call(&mut disk, put, &data);
            assert_eq!((status(&reply), reply.size, sent.len()), (Ok(()), 0, 0));
            let get = transfer(&owner, DS_READ, 1, shift, count);
            let (reply, back) = call(&mut disk, get, &[]);
            assert_eq!((status(&reply), usize::from(reply.size)), (Ok(()), bytes));
            assert_eq!(back, data, "shift {shift}");
            let physical = 1 << (shift - 9);
            let at = disk.device().range(physical, bytes);
            assert_eq!(disk.device().bytes[at], data);
        }
    }

    #[test]
    fn a_read_gives_the_blocks_asked_for() {
        let (mut disk, owner) = server(MemoryDisk::new(DISK_BLOCKS));
        let (reply, data) = call(&mut disk, transfer(&owner, DS_READ, 3, 10, 2), &[]);
        assert_eq!(
            (status(&reply), reply.size, data.len()),
            (Ok(()), 2048, 2048)
        );
        assert_eq!((data[0], data[511], data[512], data[2047]), (6, 6, 7, 9));
        let last = DISK_BLOCKS as i32 - 1;
        let (reply, data) = call(&mut disk, transfer(&owner, DS_READ, last, 9, 1), &[]);
        assert_eq!((status(&reply), data), (Ok(()), [last as u8; 512].to_vec()));
    }

    #[test]
    fn ranges_outside_the_rules_are_argbad_and_reach_no_device() {
        let (mut disk, owner) = server(MemoryDisk::new(DISK_BLOCKS));
        let most = (MAX_TRANSFER_BYTES / BLOCK_BYTES) as u16;
        let end = DISK_BLOCKS as i32;
        let refused = [
            (end, 9, 1),
            (end - 1, 9, 2),
            (end / 2, 10, 1),
            (-1, 9, 1),
            (0, 9, 0),
            (0, 8, 1),
            (0, 32, 1),
            (0, 15, 1),
            (0, 9, most + 1),
            (0, 10, most / 2 + 1),
            (i32::MAX, 14, 1),
            (i32::MAX, 9, u16::MAX),
            (0, DURABLE | 9, 1),
        ];
        for (first, shift, count) in refused {
            let (reply, data) = call(
                &mut disk,
                transfer(&owner, DS_READ, first, shift, count),
                &[],
            );
            let case = (first, shift, count);
            assert_eq!(
                (status(&reply), data.len()),
                (Err(ErrorCode::STD_ARGBAD), 0),
                "{case:?}"
            );
        }
        assert_eq!(disk.device().reads, 0);
        let (reply, data) = call(&mut disk, transfer(&owner, DS_READ, 0, 9, most), &[]);
        assert_eq!((status(&reply), data.len()), (Ok(()), MAX_TRANSFER_BYTES));
    }

    #[test]
    fn a_write_must_carry_exactly_its_blocks() {
        let (mut disk, owner) = server(MemoryDisk::new(DISK_BLOCKS));
        let before = disk.device().bytes.clone();
        for len in [0, 511, 513, 1024] {
            let put = transfer(&owner, DS_WRITE, 0, 9, 1);
            let (reply, _) = call(&mut disk, put, &vec![0xee; len]);
            assert_eq!(status(&reply), Err(ErrorCode::STD_ARGBAD), "{len} bytes");
        }
        let past_end = transfer(&owner, DS_WRITE, DISK_BLOCKS as i32, 9, 1);
        let (reply, _) = call(&mut disk, past_end, &[0xee; 512]);
        assert_eq!(status(&reply), Err(ErrorCode::STD_ARGBAD));
        assert_eq!(disk.device().bytes, before);
    }

    #[test]
    fn a_write_is_durable_only_when_asked_or_flushed() {
        let (mut disk, owner) = server(MemoryDisk::new(DISK_BLOCKS));
        call(&mut disk, transfer(&owner, DS_WRITE, 0, 9, 1), &[1; 512]);
        assert_eq!((disk.device().unflushed, disk.device().flushes), (true, 0));
        let flush = Header {
            extra: DSC_FLUSH,
            ..Header::request(&owner, DS_CONTROL)
        };
        let (reply, data) = call(&mut disk, flush, &[]);
        assert_eq!((status(&reply), data.len()), (Ok(()), 0));
        assert_eq!((disk.device().unflushed, disk.device().flushes), (false, 1));
        let durable = transfer(&owner, DS_WRITE, 2, DURABLE | 9, 1);
        let (reply, _) = call(&mut disk, durable, &[2; 512]);
        assert_eq!(status(&reply), Ok(()));
        assert_eq!((disk.device().unflushed, disk.device().flushes), (false, 2));
        assert_eq!(disk.device().bytes[1024..1536], [2; 512]);
    }

    #[test]
    fn control_serves_only_flush() {
        let (mut disk, owner) = server(MemoryDisk::new(DISK_BLOCKS));
        for sub_command in [0, DSC_EJECT, DSC_FORMAT, 4, u16::MAX] {
            let control = Header {
                extra: sub_command,
                ..Header::request(&owner, DS_CONTROL)
            };
            let (reply, _) = call(&mut disk, control, &[]);
            assert_eq!(status(&reply), Err(ErrorCode::STD_COMBAD), "{sub_command}");
        }
        assert_eq!(disk.device().flushes, 0);
    }

    #[test]
    fn size_counts_whole_blocks_of_the_size_asked() {
        let (mut disk, owner) = server(MemoryDisk::new(DISK_BLOCKS + 3));
        for (shift, blocks) in [(9, 259), (10, 129), (13, 16), (17, 1), (18, 0), (31, 0)] {
            let (reply, _) = call(&mut disk, transfer(&owner, DS_SIZE, 0, shift, 0), &[]);
            assert_eq!((status(&reply), reply.offset), (Ok(()), blocks), "{shift}");
        }
        for shift in [0, 8, 32, DURABLE | 9] {
            let (reply, _) = call(&mut disk, transfer(&owner, DS_SIZE, 0, shift, 0), &[]);
            assert_eq!(status(&reply), Err(ErrorCode::STD_ARGBAD), "{shift}");
        }
    }

    #[test]
    fn a_disk_too_big_for_int32_is_cut_to_it() {
        let error = DeviceError::Failed;
        let (mut disk, owner) = server(FailingDisk {
            blocks: 1 << 40,
            error,
        });
        let (reply, _) = call(&mut disk, transfer(&owner, DS_SIZE, 0, 9, 0), &[]);
        assert_eq!(reply.offset, i32::MAX);
        let (reply, _) = call(&mut disk, transfer(&owner, DS_SIZE, 0, 19, 0), &[]);
        assert_eq!(reply.offset, 1 << 30);
        let (_, info) = call(&mut disk, Header::request(&owner, DS_INFO), &[]);
        assert_eq!(
            DiskPiece::decode(&info).map(|piece| piece.blocks),
            Some(i32::MAX as u32)
        );
    }

    #[test]
    fn info_describes_one_piece_and_takes_no_data() {
        let (mut disk, owner) = server(MemoryDisk::new(DISK_BLOCKS));
        let (reply, data) = call(&mut disk, Header::request(&owner, DS_INFO), &[]);
        assert_eq!(
            (status(&reply), usize::from(reply.size)),
            (Ok(()), PIECE_BYTES)
        );
        let piece = DiskPiece {
            unit: 0,
            first_block: 0,
            blocks: DISK_BLOCKS as u32,
        };
        assert_eq!(data, piece.encode());
        assert_eq!(data[8..], (DISK_BLOCKS as u32).to_le_bytes());
        let (reply, _) = call(&mut disk, Header::request(&owner, DS_INFO), b"x");
        assert_eq!(status(&reply), Err(ErrorCode::STD_ARGBAD));
        let (_, text) = call(&mut disk, Header::request(&owner, Command::STD_INFO), &[]);
        assert_eq!(text, b"virtual disk, 256 blocks of 512 bytes");
    }

    #[test]
    fn geometry_follows_the_lba_assist_translation() {
        let (mut disk, owner) = server(MemoryDisk::new(DISK_BLOCKS));
        let (reply, data) = call(&mut disk, Header::request(&owner, DS_GETGEOMETRY), &[]);
        assert_eq!(
            (status(&reply), usize::from(reply.size)),
            (Ok(()), GEOMETRY_BYTES)
        );
        let small = Geometry::decode(&data).unwrap();
        assert_eq!(
            (small.cylinders, small.heads, small.sectors_per_track),
            (0, 16, 63)
        );
        assert_eq!(
            (small.bytes_per_sector, small.bytes_per_track),
            (512, 32256)
        );
        assert_eq!(data[..4], [0x00, 0x7e, 0x00, 0x02]);
        let gib = 1 << 21;
        let one_gib = Geometry::of(gib);
        assert_eq!((one_gib.cylinders, one_gib.heads), (520, 64));
        assert_eq!(Geometry::of(1024 * 16 * 63).heads, 16);
        assert_eq!(Geometry::of(1024 * 16 * 63 + 16 * 63).heads, 32);
        let huge = Geometry::of(1 << 40);
        assert_eq!((huge.cylinders, huge.heads), (i16::MAX as u16, 255));
        assert_eq!(Geometry::decode(&huge.encode()), Some(huge));
        assert_eq!(Geometry::decode(&huge.encode()[..11]), None);
    }

    #[test]
    fn device_errors_are_5_3_errors_and_carry_no_data() {
        let cases = [
            (DeviceError::Failed, ErrorCode::STD_SYSERR),
            (DeviceError::OutOfRange, ErrorCode::STD_ARGBAD),
            (DeviceError::WriteProtected, ErrorCode::STD_WRITEPROT),
            (DeviceError::NoMedium, ErrorCode::STD_NOMEDIUM),
        ];
        for (error, code) in cases {
            let (mut disk, owner) = server(FailingDisk { blocks: 8, error });
            let flush = Header {
                extra: DSC_FLUSH,
                ..Header::request(&owner, DS_CONTROL)
            };
            let requests = [
                (transfer(&owner, DS_READ, 0, 9, 1), &[][..]),
                (transfer(&owner, DS_WRITE, 0, 9, 1), &[0; 512][..]),
                (flush, &[][..]),
            ];
            for (header, data) in requests {
                let (reply, sent) = call(&mut disk, header, data);
                assert_eq!((status(&reply), sent.len()), (Err(code), 0), "{error:?}");
            }
        }
    }

    #[test]
    fn a_read_only_capability_cannot_write_or_control() {
        let (mut disk, owner) = server(MemoryDisk::new(DISK_BLOCKS));
        let read_only = restrict(&mut disk, &owner, READ);
        let put = transfer(&read_only, DS_WRITE, 0, 9, 1);
        let (reply, _) = call(&mut disk, put, &[0xee; 512]);
        assert_eq!(status(&reply), Err(ErrorCode::STD_DENIED));
        let (reply, _) = call(&mut disk, Header::request(&read_only, DS_CONTROL), &[]);
        assert_eq!(status(&reply), Err(ErrorCode::STD_DENIED));
        assert_eq!(disk.device().bytes[..512], [0; 512]);
        let (reply, _) = call(&mut disk, transfer(&read_only, DS_READ, 0, 9, 1), &[]);
        assert_eq!(status(&reply), Ok(()));
    }

    #[test]
    fn bad_capabilities_are_refused_for_every_command() {
        let (mut disk, owner) = server(MemoryDisk::new(DISK_BLOCKS));
        for (command, needed) in COMMANDS {
            assert_refusals(&mut disk, owner, needed, |cap| {
                transfer(cap, command, 0, 9, 1)
            });
        }
        assert!(!disk.device().unflushed);
    }

    #[test]
    fn pieces_round_trip_and_negative_fields_are_refused() {
        let piece = DiskPiece {
            unit: 2,
            first_block: 17,
            blocks: i32::MAX as u32,
        };
        assert_eq!(DiskPiece::decode(&piece.encode()), Some(piece));
        assert_eq!(DiskPiece::decode(&piece.encode()[..11]), None);
        for at in [PIECE_UNIT, PIECE_FIRST, PIECE_BLOCKS] {
            let mut bytes = piece.encode();
            bytes[at + 3] = 0x80;
            assert_eq!(DiskPiece::decode(&bytes), None, "field at {at}");
        }
    }
}
