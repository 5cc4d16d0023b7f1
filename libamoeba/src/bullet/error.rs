//! The typed errors of a Bullet volume: formatting, mounting, and the store's operations.

use core::fmt;

use crate::servers::vdisk::DeviceError;

/// Why `Volume::format` did not make a volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
    Device(DeviceError),
    /// The device has no room for the superblock, the inode table and one data block.
    TooSmall {
        sectors: u64,
    },
    /// A volume needs at least one inode, and at most 2^24 - 1, the largest object number.
    InodeCount(u32),
}

/// Why `Volume::mount` refused a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountError {
    Device(DeviceError),
    /// Block 0 does not start with "AMBULLET": not a Bullet volume.
    Foreign,
    /// The superblock's CRC does not match its bytes.
    DamagedSuperblock,
    UnsupportedVersion(u32),
    BlockSize(u32),
    /// The superblock's regions do not fit together.
    BadGeometry(&'static str),
    /// The superblock describes more blocks than the device has.
    DeviceTooSmall {
        needs_sectors: u64,
        has_sectors: u64,
    },
}

/// What is wrong with one inode or its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Damage {
    /// The record's CRC does not match its bytes.
    RecordCrc,
    /// The record's state byte is unknown.
    State(u8),
    /// Inode 0 is the server's own object and must stay free.
    ReservedInode,
    /// The extent lies outside the data region.
    ExtentOutside,
    /// The extent's length does not match the size.
    ExtentLength,
    /// The extent shares blocks with another file's.
    Overlap,
    /// The file's bytes do not match the record's data CRC.
    DataCrc,
}

/// Why a store operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// No free run is long enough for the file.
    NoSpace,
    /// Every inode is in use.
    NoInodes,
    /// As many files as the store keeps open are uncommitted
    /// ([`super::volume::MAX_UNCOMMITTED`]).
    TooManyUncommitted,
    /// No file has this inode number.
    NotFound,
    /// The file is committed, so immutable.
    Committed,
    /// The file is not committed yet, so not readable.
    NotCommitted,
    /// An offset past the file's end.
    OutOfRange,
    Damaged {
        inode: u32,
        damage: Damage,
    },
    Device(DeviceError),
}

impl From<DeviceError> for FormatError {
    fn from(error: DeviceError) -> Self {
        FormatError::Device(error)
    }
}

impl From<DeviceError> for MountError {
    fn from(error: DeviceError) -> Self {
        MountError::Device(error)
    }
}

impl From<DeviceError> for StoreError {
    fn from(error: DeviceError) -> Self {
        StoreError::Device(error)
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::Device(error) => write!(f, "device error: {error:?}"),
            FormatError::TooSmall { sectors } => {
                write!(
                    f,
                    "a device of {sectors} sectors is too small for a Bullet volume"
                )
            }
            FormatError::InodeCount(count) => write!(f, "{count} inodes: need 1 to 2^24 - 1"),
        }
    }
}

impl fmt::Display for MountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MountError::Device(error) => write!(f, "device error: {error:?}"),
            MountError::Foreign => f.write_str("not a Bullet volume (no AMBULLET magic)"),
            MountError::DamagedSuperblock => f.write_str("damaged superblock (bad CRC)"),
            MountError::UnsupportedVersion(version) => {
                write!(f, "Bullet format version {version} is not supported")
            }
            MountError::BlockSize(bytes) => write!(f, "unsupported block size {bytes}"),
            MountError::BadGeometry(why) => write!(f, "bad superblock geometry: {why}"),
            MountError::DeviceTooSmall {
                needs_sectors,
                has_sectors,
            } => write!(
                f,
                "the volume needs {needs_sectors} sectors, the device has {has_sectors}"
            ),
        }
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::RecordCrc => f.write_str("bad inode record CRC"),
            Damage::State(state) => write!(f, "unknown inode state {state}"),
            Damage::ReservedInode => f.write_str("inode 0 is in use"),
            Damage::ExtentOutside => f.write_str("extent outside the data region"),
            Damage::ExtentLength => f.write_str("extent length does not match the size"),
            Damage::Overlap => f.write_str("extent overlaps another file's"),
            Damage::DataCrc => f.write_str("bad data CRC"),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NoSpace => f.write_str("no space left on the volume"),
            StoreError::NoInodes => f.write_str("no free inode"),
            StoreError::TooManyUncommitted => f.write_str("too many uncommitted files"),
            StoreError::NotFound => f.write_str("no such file"),
            StoreError::Committed => f.write_str("the file is committed"),
            StoreError::NotCommitted => f.write_str("the file is not committed"),
            StoreError::OutOfRange => f.write_str("offset past the end of the file"),
            StoreError::Damaged { inode, damage } => write!(f, "inode {inode}: {damage}"),
            StoreError::Device(error) => write!(f, "device error: {error:?}"),
        }
    }
}
