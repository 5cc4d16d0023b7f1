//! The SOAP server's table on a raw disk piece (5.3 keeps "the table of directories on a raw
//! vdisk"; this layout is ours, `docs/soap-format.md`): for each directory object, its secret
//! check and the Bullet file that holds it.
//!
//! Sector 0 is the header (64 bytes): magic `AMSPTAB1`, u32 version 1, u32 records, the
//! server's get-port (6), zeros, CRC-32 of bytes 0..60. Records follow from sector 1, 64
//! bytes each, 8 a sector, record n for object n:
//!
//! | bytes | field |
//! |---|---|
//! | 0 | state: 0 free, 1 in use, 2 removed (its file still to destroy) |
//! | 1 | zero |
//! | 2..8 | the directory's check field |
//! | 8..24 | the Bullet file holding the directory |
//! | 24..40 | an older file to destroy (null if none) |
//! | 40..60 | zeros |
//! | 60..64 | CRC-32 of bytes 0..60 |
//!
//! A record is rewritten with its one sector, which a disk writes whole or not at all (the
//! rule the Bullet volume's records rely on too), and flushed before the old file is
//! destroyed: after a crash the record names either the old file or the new one with the old
//! still to destroy, never a file that is gone.

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::capability::{CAPABILITY_LEN, CHECK_LEN, Capability, Port};
use crate::crc32::crc32;
use crate::le;
use crate::servers::vdisk::{BLOCK_BYTES, BlockDevice, DeviceError};

const MAGIC: &[u8; 8] = b"AMSPTAB1";
const VERSION: u32 = 1;
const RECORD_BYTES: usize = 64;
const RECORDS_PER_SECTOR: usize = BLOCK_BYTES / RECORD_BYTES;
const CRC_AT: usize = 60;
const _: () = assert!(BLOCK_BYTES.is_multiple_of(RECORD_BYTES));

/// A directory's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// The directory is gone; only `old` is left to destroy.
    pub removed: bool,
    pub check: [u8; CHECK_LEN],
    pub file: Capability,
    /// A file the directory was kept in before, not destroyed yet.
    pub old: Capability,
}

/// Why a table cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableError {
    /// The piece has no table (or another format): a blank piece gets a new one.
    Foreign,
    /// The header is damaged or describes more records than the piece holds.
    Damaged,
    /// The piece cannot hold a header and one sector of records.
    TooSmall,
    Device(DeviceError),
}

impl From<DeviceError> for TableError {
    fn from(error: DeviceError) -> Self {
        Self::Device(error)
    }
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Foreign => write!(f, "no SOAP table (no AMSPTAB1 magic)"),
            Self::Damaged => write!(f, "the SOAP table's header is damaged"),
            Self::TooSmall => write!(f, "the disk piece is too small for a SOAP table"),
            Self::Device(error) => write!(f, "disk error: {error:?}"),
        }
    }
}

/// A mounted table.
pub struct Table<D> {
    device: D,
    get_port: Port,
    records: u32,
}

/// What mounting found: each directory's record, and records that failed their CRC.
pub struct Mounted<D> {
    pub table: Table<D>,
    pub records: Vec<(u32, Record)>,
    pub damaged: Vec<u32>,
}

fn sector_of(object: u32) -> u64 {
    1 + u64::from(object) / RECORDS_PER_SECTOR as u64
}

impl<D: BlockDevice> Table<D> {
    /// Writes an empty table of at most `records` records (fewer if the piece is smaller).
    pub fn format(mut device: D, get_port: Port, records: u32) -> Result<Self, TableError> {
        let sectors = device.blocks().saturating_sub(1);
        let fit = sectors.saturating_mul(RECORDS_PER_SECTOR as u64);
        let records = u32::try_from(fit.min(u64::from(records))).unwrap_or(u32::MAX);
        if records == 0 {
            return Err(TableError::TooSmall);
        }
        device.write(0, &[0; BLOCK_BYTES])?;
        device.flush()?;
        let zeros = vec![0; BLOCK_BYTES];
        for sector in 1..=sector_of(records - 1) {
            device.write(sector, &zeros)?;
        }
        device.flush()?;
        device.write(0, &header(get_port, records))?;
        device.flush()?;
        Ok(Self {
            device,
            get_port,
            records,
        })
    }

    /// Reads the table's header and every record in use.
    pub fn mount(mut device: D) -> Result<Mounted<D>, TableError> {
        let mut sector = [0u8; BLOCK_BYTES];
        device.read(0, &mut sector)?;
        if &sector[..MAGIC.len()] != MAGIC {
            return Err(TableError::Foreign);
        }
        let crc_ok = le::field_u32(&sector, CRC_AT) == crc32(&sector[..CRC_AT]);
        let records = le::field_u32(&sector, 12);
        let fits =
            u64::from(records) <= device.blocks().saturating_sub(1) * RECORDS_PER_SECTOR as u64;
        if !crc_ok || le::field_u32(&sector, 8) != VERSION || records == 0 || !fits {
            return Err(TableError::Damaged);
        }
        let get_port = Port(le::field(&sector, 16));
        let mut table = Self {
            device,
            get_port,
            records,
        };
        let (records, damaged) = table.read_records()?;
        Ok(Mounted {
            table,
            records,
            damaged,
        })
    }

    /// Records in use, and the objects whose records are damaged.
    #[allow(clippy::type_complexity, reason = "two lists, named at the one caller")]
    fn read_records(&mut self) -> Result<(Vec<(u32, Record)>, Vec<u32>), TableError> {
        let (mut found, mut damaged) = (Vec::new(), Vec::new());
        let mut sector = [0u8; BLOCK_BYTES];
        for object in 0..self.records {
            let at = object as usize % RECORDS_PER_SECTOR;
            if at == 0 {
                self.device.read(sector_of(object), &mut sector)?;
            }
            match decode(&sector[at * RECORD_BYTES..(at + 1) * RECORD_BYTES]) {
                Ok(Some(record)) => found.push((object, record)),
                Ok(None) => {}
                Err(()) => damaged.push(object),
            }
        }
        Ok((found, damaged))
    }

    pub fn get_port(&self) -> Port {
        self.get_port
    }

    pub fn into_device(self) -> D {
        self.device
    }

    /// Records the table holds: the most directories.
    pub fn capacity(&self) -> u32 {
        self.records
    }

    /// Writes object `object`'s record (`None`: free) and flushes it.
    pub fn write(&mut self, object: u32, record: Option<&Record>) -> Result<(), TableError> {
        if object >= self.records {
            return Err(TableError::TooSmall);
        }
        let mut sector = [0u8; BLOCK_BYTES];
        self.device.read(sector_of(object), &mut sector)?;
        let at = object as usize % RECORDS_PER_SECTOR * RECORD_BYTES;
        sector[at..at + RECORD_BYTES].copy_from_slice(&encode(record));
        self.device.write(sector_of(object), &sector)?;
        self.device.flush()?;
        Ok(())
    }
}

fn header(get_port: Port, records: u32) -> [u8; BLOCK_BYTES] {
    let mut sector = [0u8; BLOCK_BYTES];
    sector[..8].copy_from_slice(MAGIC);
    le::put(&mut sector, 8, &VERSION.to_le_bytes());
    le::put(&mut sector, 12, &records.to_le_bytes());
    le::put(&mut sector, 16, &get_port.0);
    let crc = crc32(&sector[..CRC_AT]);
    le::put(&mut sector, CRC_AT, &crc.to_le_bytes());
    sector
}

fn encode(record: Option<&Record>) -> [u8; RECORD_BYTES] {
    let mut bytes = [0u8; RECORD_BYTES];
    if let Some(record) = record {
        bytes[0] = if record.removed { 2 } else { 1 };
        bytes[2..8].copy_from_slice(&record.check);
        bytes[8..24].copy_from_slice(&record.file.to_bytes());
        bytes[24..40].copy_from_slice(&record.old.to_bytes());
    }
    let crc = crc32(&bytes[..CRC_AT]);
    bytes[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
    bytes
}

/// A record's bytes: `Ok(None)` free (all zeros counts as free: a fresh table), `Err` for a
/// bad CRC or state.
fn decode(bytes: &[u8]) -> Result<Option<Record>, ()> {
    if bytes.iter().all(|&b| b == 0) {
        return Ok(None);
    }
    if le::field_u32(bytes, CRC_AT) != crc32(&bytes[..CRC_AT]) {
        return Err(());
    }
    let cap = |at: usize| -> Result<Capability, ()> {
        let raw: [u8; CAPABILITY_LEN] = le::field(bytes, at);
        Ok(Capability::from_array(&raw))
    };
    let removed = match bytes[0] {
        0 => return Ok(None),
        1 => false,
        2 => true,
        _ => return Err(()),
    };
    Ok(Some(Record {
        removed,
        check: le::field(bytes, 2),
        file: cap(8)?,
        old: cap(24)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::vdisk::tests::MemoryDisk;

    fn record(n: u8) -> Record {
        let cap = |n: u8| Capability::new(Port([n; 6]), u32::from(n), 0xFF, [n; 6]).unwrap();
        Record {
            removed: false,
            check: [n; 6],
            file: cap(n),
            old: Capability::NULL,
        }
    }

    #[test]
    fn records_survive_a_remount_and_damage_is_reported() {
        let mut table = Table::format(MemoryDisk::new(64), Port([9; 6]), 100).unwrap();
        assert_eq!(table.capacity(), 100);
        table.write(0, Some(&record(1))).unwrap();
        table
            .write(
                9,
                Some(&Record {
                    removed: true,
                    ..record(2)
                }),
            )
            .unwrap();
        table.write(10, Some(&record(3))).unwrap();
        table.write(10, None).unwrap();
        assert_eq!(table.write(100, None), Err(TableError::TooSmall));
        let mounted = Table::mount(table.into_device()).unwrap();
        assert_eq!(mounted.table.get_port(), Port([9; 6]));
        let objects: Vec<u32> = mounted.records.iter().map(|(o, _)| *o).collect();
        assert_eq!(objects, [0, 9]);
        assert!(mounted.records[1].1.removed);
        // Record 9 is the second of sector 2.
        let mut device = mounted.table.into_device();
        device.bytes[2 * BLOCK_BYTES + RECORD_BYTES + 5] ^= 1;
        let mounted = Table::mount(device).unwrap();
        assert_eq!(mounted.damaged, [9]);
    }

    #[test]
    fn foreign_damaged_and_small_pieces_are_refused() {
        let mut blank = MemoryDisk::new(8);
        blank.bytes.fill(0);
        assert!(matches!(Table::mount(blank), Err(TableError::Foreign)));
        let table = Table::format(MemoryDisk::new(8), Port([1; 6]), 4096).unwrap();
        assert_eq!(table.capacity(), 7 * 8);
        let mut device = table.into_device();
        device.bytes[13] ^= 1;
        assert!(matches!(Table::mount(device), Err(TableError::Damaged)));
        assert!(matches!(
            Table::format(MemoryDisk::new(1), Port([1; 6]), 10),
            Err(TableError::TooSmall)
        ));
    }
}
