//! The Bullet volume's on-disk records, ours (5.3 leaves the layout to each implementation).
//! All integers are little-endian, as in every layout of our own (`docs/amoeba-protocol.md`,
//! "Conventions"); `docs/bullet-format.md` has the same tables.
//!
//! The volume is counted in filesystem blocks of [`FS_BLOCK_BYTES`] (4096) bytes, 8 sectors
//! of the 512-byte device: a page of the kernel, so a block's buffer is one frame; a 64 MiB
//! file is 16384 blocks, and u32 block numbers reach 16 TiB. The price, up to 4 KiB of slack
//! at the end of each file, is small next to Bullet's whole-file contiguous storage.
//!
//! Filesystem block 0 holds the [`Superblock`] in its first sector ([`SUPERBLOCK_BYTES`]):
//!
//! | bytes  | field          |
//! |--------|----------------|
//! | 0..8   | magic "AMBULLET" |
//! | 8..12  | format version ([`FORMAT_VERSION`]) |
//! | 12..16 | bytes of a filesystem block (4096) |
//! | 16..20 | total filesystem blocks |
//! | 20..24 | first block of the inode table (1) |
//! | 24..28 | blocks of the inode table |
//! | 28..32 | inode records in the table (record 0, the server's own object, stays free) |
//! | 32..36 | first data block (right after the inode table) |
//! | 36..42 | the server's get-port |
//! | 42..48 | the check field of the server's super capability (object 0) |
//! | 48..56 | generation: 1 at the first format, one more at each format over a Bullet volume |
//! | 56..60 | zero |
//! | 60..64 | CRC-32 of bytes 0..60 |
//!
//! The inode table is an array of [`InodeRecord`]s of [`INODE_BYTES`] (32) bytes; record n
//! is inode n, the object number of the file's capability:
//!
//! | bytes  | field |
//! |--------|-------|
//! | 0      | state: 0 free, 1 uncommitted (never written by this store), 2 committed |
//! | 1      | zero |
//! | 2..8   | the check field of the file's capability |
//! | 8..16  | size in bytes |
//! | 16..20 | first filesystem block of the extent |
//! | 20..24 | filesystem blocks of the extent (0 for an empty file) |
//! | 24..28 | CRC-32 of the file's `size` bytes |
//! | 28..32 | CRC-32 of bytes 0..28 |
//!
//! Records are 32 bytes so that 16 fit a sector exactly and none straddles two: a record is
//! written by writing its one sector, which a disk writes whole or not at all.

use crate::capability::Port;
use crate::crc32::crc32;
use crate::le;

/// Bytes of a device sector ([`crate::servers::vdisk::BLOCK_BYTES`]).
pub const SECTOR_BYTES: usize = crate::servers::vdisk::BLOCK_BYTES;
/// Bytes of a filesystem block.
pub const FS_BLOCK_BYTES: usize = 4096;
/// Sectors of a filesystem block.
pub const SECTORS_PER_BLOCK: u64 = (FS_BLOCK_BYTES / SECTOR_BYTES) as u64;
const _: () = assert!(FS_BLOCK_BYTES.is_multiple_of(SECTOR_BYTES));

/// The first bytes of every Bullet volume.
pub const MAGIC: [u8; 8] = *b"AMBULLET";
/// The version of the layout this module reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// The filesystem block that holds the superblock.
pub const SUPERBLOCK_BLOCK: u32 = 0;
/// Where the inode table starts: right after the superblock's block.
pub const INODE_TABLE_START: u32 = 1;

pub const SUPERBLOCK_BYTES: usize = 64;
const MAGIC_AT: usize = 0;
const VERSION_AT: usize = 8;
const BLOCK_BYTES_AT: usize = 12;
const TOTAL_BLOCKS_AT: usize = 16;
const INODE_START_AT: usize = 20;
const INODE_BLOCKS_AT: usize = 24;
const INODE_COUNT_AT: usize = 28;
const DATA_START_AT: usize = 32;
const PORT_AT: usize = 36;
const SECRET_AT: usize = 42;
const GENERATION_AT: usize = 48;
const SUPERBLOCK_CRC_AT: usize = 60;
const _: () = assert!(SUPERBLOCK_CRC_AT + 4 == SUPERBLOCK_BYTES);
const _: () = assert!(GENERATION_AT + 8 <= SUPERBLOCK_CRC_AT);
const _: () = assert!(SUPERBLOCK_BYTES <= SECTOR_BYTES);

pub const INODE_BYTES: usize = 32;
const STATE_AT: usize = 0;
const CHECK_AT: usize = 2;
const SIZE_AT: usize = 8;
const FIRST_BLOCK_AT: usize = 16;
const BLOCK_COUNT_AT: usize = 20;
const DATA_CRC_AT: usize = 24;
const RECORD_CRC_AT: usize = 28;
const _: () = assert!(RECORD_CRC_AT + 4 == INODE_BYTES);
const _: () = assert!(SECTOR_BYTES.is_multiple_of(INODE_BYTES));
/// Inode records in a filesystem block.
pub const INODES_PER_BLOCK: usize = FS_BLOCK_BYTES / INODE_BYTES;
/// Inode records in a sector.
pub const INODES_PER_SECTOR: usize = SECTOR_BYTES / INODE_BYTES;

/// Why bytes from the disk are not a superblock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuperblockError {
    /// Fewer than [`SUPERBLOCK_BYTES`] bytes.
    Short,
    /// No "AMBULLET": not a Bullet volume.
    Foreign,
    /// The magic is there but the CRC does not match.
    BadCrc,
    UnsupportedVersion(u32),
    /// A block size this module does not use.
    BlockSize(u32),
}

/// The volume's description in block 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Superblock {
    pub total_blocks: u32,
    pub inode_start: u32,
    pub inode_blocks: u32,
    pub inode_count: u32,
    pub data_start: u32,
    pub port: Port,
    pub secret: [u8; 6],
    pub generation: u64,
}

impl Superblock {
    pub fn encode(&self) -> [u8; SUPERBLOCK_BYTES] {
        let mut bytes = [0; SUPERBLOCK_BYTES];
        le::put(&mut bytes, MAGIC_AT, &MAGIC);
        le::put(&mut bytes, VERSION_AT, &FORMAT_VERSION.to_le_bytes());
        le::put(
            &mut bytes,
            BLOCK_BYTES_AT,
            &(FS_BLOCK_BYTES as u32).to_le_bytes(),
        );
        le::put(
            &mut bytes,
            TOTAL_BLOCKS_AT,
            &self.total_blocks.to_le_bytes(),
        );
        le::put(&mut bytes, INODE_START_AT, &self.inode_start.to_le_bytes());
        le::put(
            &mut bytes,
            INODE_BLOCKS_AT,
            &self.inode_blocks.to_le_bytes(),
        );
        le::put(&mut bytes, INODE_COUNT_AT, &self.inode_count.to_le_bytes());
        le::put(&mut bytes, DATA_START_AT, &self.data_start.to_le_bytes());
        le::put(&mut bytes, PORT_AT, &self.port.0);
        le::put(&mut bytes, SECRET_AT, &self.secret);
        le::put(&mut bytes, GENERATION_AT, &self.generation.to_le_bytes());
        let crc = crc32(&bytes[..SUPERBLOCK_CRC_AT]);
        le::put(&mut bytes, SUPERBLOCK_CRC_AT, &crc.to_le_bytes());
        bytes
    }

    /// Reads a superblock from the start of `bytes`. Only the record itself is checked here;
    /// whether its geometry fits the device is the mount's question.
    pub fn decode(bytes: &[u8]) -> Result<Self, SuperblockError> {
        let record: &[u8; SUPERBLOCK_BYTES] = bytes.first_chunk().ok_or(SuperblockError::Short)?;
        if le::field::<8>(record, MAGIC_AT) != MAGIC {
            return Err(SuperblockError::Foreign);
        }
        let crc = le::field_u32(record, SUPERBLOCK_CRC_AT);
        if crc32(&record[..SUPERBLOCK_CRC_AT]) != crc {
            return Err(SuperblockError::BadCrc);
        }
        let version = le::field_u32(record, VERSION_AT);
        if version != FORMAT_VERSION {
            return Err(SuperblockError::UnsupportedVersion(version));
        }
        let block_bytes = le::field_u32(record, BLOCK_BYTES_AT);
        if block_bytes as usize != FS_BLOCK_BYTES {
            return Err(SuperblockError::BlockSize(block_bytes));
        }
        Ok(Self {
            total_blocks: le::field_u32(record, TOTAL_BLOCKS_AT),
            inode_start: le::field_u32(record, INODE_START_AT),
            inode_blocks: le::field_u32(record, INODE_BLOCKS_AT),
            inode_count: le::field_u32(record, INODE_COUNT_AT),
            data_start: le::field_u32(record, DATA_START_AT),
            port: Port(le::field(record, PORT_AT)),
            secret: le::field(record, SECRET_AT),
            generation: le::field_u64(record, GENERATION_AT),
        })
    }
}

/// Inode table blocks for `inode_count` records.
pub fn inode_table_blocks(inode_count: u32) -> u32 {
    (inode_count as usize).div_ceil(INODES_PER_BLOCK) as u32
}

/// What an inode record says of its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InodeState {
    Free = 0,
    /// Never written: an uncommitted file has no record (its bytes are on the disk in blocks
    /// no record names). Read as free, so a crash cannot leave one behind that takes space.
    Uncommitted = 1,
    Committed = 2,
}

/// A contiguous run of filesystem blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Extent {
    pub first: u32,
    pub blocks: u32,
}

impl Extent {
    /// One past the last block, in u64 so that a garbage extent cannot overflow.
    pub fn end(&self) -> u64 {
        u64::from(self.first) + u64::from(self.blocks)
    }

    pub fn overlaps(&self, other: &Extent) -> bool {
        self.blocks > 0
            && other.blocks > 0
            && u64::from(self.first) < other.end()
            && u64::from(other.first) < self.end()
    }
}

/// Why bytes from the disk are not an inode record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InodeError {
    Short,
    BadCrc,
    /// A state byte that is none of [`InodeState`]'s.
    BadState(u8),
}

/// One inode: a file's capability check, size and place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InodeRecord {
    pub state: InodeState,
    pub check: [u8; 6],
    pub size: u64,
    pub extent: Extent,
    pub data_crc: u32,
}

impl InodeRecord {
    pub const FREE: InodeRecord = InodeRecord {
        state: InodeState::Free,
        check: [0; 6],
        size: 0,
        extent: Extent {
            first: 0,
            blocks: 0,
        },
        data_crc: 0,
    };

    pub fn encode(&self) -> [u8; INODE_BYTES] {
        let mut bytes = [0; INODE_BYTES];
        le::put(&mut bytes, STATE_AT, &[self.state as u8]);
        le::put(&mut bytes, CHECK_AT, &self.check);
        le::put(&mut bytes, SIZE_AT, &self.size.to_le_bytes());
        le::put(&mut bytes, FIRST_BLOCK_AT, &self.extent.first.to_le_bytes());
        le::put(
            &mut bytes,
            BLOCK_COUNT_AT,
            &self.extent.blocks.to_le_bytes(),
        );
        le::put(&mut bytes, DATA_CRC_AT, &self.data_crc.to_le_bytes());
        let crc = crc32(&bytes[..RECORD_CRC_AT]);
        le::put(&mut bytes, RECORD_CRC_AT, &crc.to_le_bytes());
        bytes
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, InodeError> {
        let record: &[u8; INODE_BYTES] = bytes.first_chunk().ok_or(InodeError::Short)?;
        if crc32(&record[..RECORD_CRC_AT]) != le::field_u32(record, RECORD_CRC_AT) {
            return Err(InodeError::BadCrc);
        }
        let state = match record[STATE_AT] {
            0 => InodeState::Free,
            1 => InodeState::Uncommitted,
            2 => InodeState::Committed,
            other => return Err(InodeError::BadState(other)),
        };
        Ok(Self {
            state,
            check: le::field(record, CHECK_AT),
            size: le::field_u64(record, SIZE_AT),
            extent: Extent {
                first: le::field_u32(record, FIRST_BLOCK_AT),
                blocks: le::field_u32(record, BLOCK_COUNT_AT),
            },
            data_crc: le::field_u32(record, DATA_CRC_AT),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn superblock() -> Superblock {
        Superblock {
            total_blocks: 1000,
            inode_start: INODE_TABLE_START,
            inode_blocks: 2,
            inode_count: 256,
            data_start: 3,
            port: Port([1, 2, 3, 4, 5, 6]),
            secret: [7, 8, 9, 10, 11, 12],
            generation: 3,
        }
    }

    #[test]
    fn superblock_round_trips_and_starts_with_the_magic() {
        let bytes = superblock().encode();
        assert_eq!(&bytes[..8], b"AMBULLET");
        assert_eq!(Superblock::decode(&bytes), Ok(superblock()));
    }

    #[test]
    fn every_flipped_superblock_byte_is_refused() {
        let bytes = superblock().encode();
        for at in 0..SUPERBLOCK_BYTES {
            let mut damaged = bytes;
            damaged[at] ^= 0x10;
            let expected = if at < 8 {
                SuperblockError::Foreign
            } else {
                SuperblockError::BadCrc
            };
            assert_eq!(Superblock::decode(&damaged), Err(expected), "byte {at}");
        }
        assert_eq!(
            Superblock::decode(&bytes[..63]),
            Err(SuperblockError::Short)
        );
    }

    #[test]
    fn inode_round_trips_and_damage_is_refused() {
        let record = InodeRecord {
            state: InodeState::Committed,
            check: [9; 6],
            size: 64 << 20,
            extent: Extent {
                first: 17,
                blocks: 16384,
            },
            data_crc: 0xdead_beef,
        };
        let bytes = record.encode();
        assert_eq!(InodeRecord::decode(&bytes), Ok(record));
        assert_eq!(
            InodeRecord::decode(&InodeRecord::FREE.encode()),
            Ok(InodeRecord::FREE)
        );
        for at in 0..INODE_BYTES {
            let mut damaged = bytes;
            damaged[at] ^= 1;
            assert_eq!(InodeRecord::decode(&damaged), Err(InodeError::BadCrc));
        }
        // An all-zero record (a never-written table) is damage, not a free inode.
        assert_eq!(
            InodeRecord::decode(&[0; INODE_BYTES]),
            Err(InodeError::BadCrc)
        );
        assert_eq!(InodeRecord::decode(&bytes[..31]), Err(InodeError::Short));
    }

    #[test]
    fn an_unknown_state_with_a_good_crc_is_refused() {
        let mut bytes = InodeRecord::FREE.encode();
        bytes[STATE_AT] = 7;
        let crc = crc32(&bytes[..RECORD_CRC_AT]);
        bytes[RECORD_CRC_AT..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(InodeRecord::decode(&bytes), Err(InodeError::BadState(7)));
    }

    #[test]
    fn extents_overlap_only_when_they_share_a_block() {
        let a = Extent {
            first: 10,
            blocks: 5,
        };
        let touching = Extent {
            first: 15,
            blocks: 1,
        };
        let inside = Extent {
            first: 14,
            blocks: 9,
        };
        let empty = Extent {
            first: 12,
            blocks: 0,
        };
        assert!(!a.overlaps(&touching));
        assert!(a.overlaps(&inside));
        assert!(!a.overlaps(&empty));
        let huge = Extent {
            first: u32::MAX,
            blocks: u32::MAX,
        };
        assert_eq!(huge.end(), 2 * u64::from(u32::MAX));
    }
}
