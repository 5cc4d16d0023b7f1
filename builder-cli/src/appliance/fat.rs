//! FAT file systems made in memory with the `fatfs` crate: the disk image's EFI system
//! partition and the ISO's El Torito EFI image.
//!
//! Reproducible: every date in the volume (directory entries' created, modified and accessed
//! dates) is the source date, the volume id is given, and the files are written in the order
//! given. UEFI firmware reads FAT12, FAT16 and FAT32 (UEFI 2.10, 13.3.1.1 "File System Format":
//! FAT32 for a system partition on a disk, any of the three on removable media); the system
//! partition is FAT32, so at least [`FAT32_MIN_BYTES`] long.

use std::io::{self, Cursor, Write};
use std::sync::Mutex;

use fatfs::{FatType, FileSystem, FormatVolumeOptions, FsOptions, TimeProvider};
use thiserror::Error;

use crate::source_date::DateTime;

/// The smallest FAT32 volume of 512-byte clusters fatfs makes: 65525 clusters (fewer make a
/// FAT16, Microsoft's FAT specification, "FAT Type Determination") plus two FATs.
pub const FAT32_MIN_BYTES: u64 = 33 << 20;

/// One file: its path from the root (`/`-separated, directories made as needed).
#[derive(Clone, Copy, Debug)]
pub struct FatFile<'a> {
    pub path: &'a str,
    pub bytes: &'a [u8],
}

/// What goes into one volume.
#[derive(Clone, Copy, Debug)]
pub struct FatRequest<'a> {
    pub files: &'a [FatFile<'a>],
    /// The volume's size; grown to what the files need.
    pub min_bytes: u64,
    /// None: what fatfs picks for the size.
    pub fat_type: Option<FatType>,
    /// GRUB shows it as the volume's UUID, `XXXX-XXXX`.
    pub volume_id: u32,
    /// Upper case, padded with spaces.
    pub label: [u8; 11],
    /// Unix time of every date in the volume.
    pub epoch: u64,
}

#[derive(Debug, Error)]
pub enum FatError {
    #[error("cannot format the FAT volume ({bytes} bytes)")]
    Format {
        bytes: u64,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {path} into the FAT volume")]
    File {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// GRUB's spelling of a FAT volume id (`grub-core/fs/fat.c`, `grub_fat_uuid`: the two halves
/// as four hex digits each, upper case).
pub fn grub_uuid(volume_id: u32) -> String {
    format!("{:04X}-{:04X}", volume_id >> 16, volume_id & 0xFFFF)
}

/// The volume's bytes.
pub fn make_fat(request: &FatRequest<'_>) -> Result<Vec<u8>, FatError> {
    let bytes = volume_bytes(request);
    let mut disk = Cursor::new(vec![0u8; bytes as usize]);
    let mut options = FormatVolumeOptions::new()
        .volume_id(request.volume_id)
        .volume_label(request.label);
    if let Some(fat_type) = request.fat_type {
        options = options.fat_type(fat_type);
    }
    let format_error = |source| FatError::Format { bytes, source };
    fatfs::format_volume(&mut disk, options).map_err(format_error)?;
    disk.set_position(0);
    let fs_options = FsOptions::new()
        .update_accessed_date(false)
        .time_provider(fixed_time(request.epoch));
    let fs = FileSystem::new(&mut disk, fs_options).map_err(format_error)?;
    for file in request.files {
        write_file(&fs, file).map_err(|source| FatError::File {
            path: file.path.into(),
            source,
        })?;
    }
    fs.unmount().map_err(format_error)?;
    Ok(disk.into_inner())
}

/// The size: `min_bytes`, or the files with room for the FATs, directories and cluster slack,
/// in whole MiB.
fn volume_bytes(request: &FatRequest<'_>) -> u64 {
    const MIB: u64 = 1 << 20;
    let files: u64 = request.files.iter().map(|f| f.bytes.len() as u64).sum();
    let needed = files + files / 8 + MIB;
    request.min_bytes.max(needed).div_ceil(MIB) * MIB
}

fn write_file<T: fatfs::ReadWriteSeek>(fs: &FileSystem<T>, file: &FatFile<'_>) -> io::Result<()> {
    let root = fs.root_dir();
    let path = file.path.trim_start_matches('/');
    let mut parts: Vec<&str> = path.split('/').collect();
    let name = parts.pop().unwrap_or_default();
    let mut dir = root;
    for part in parts {
        dir = match dir.open_dir(part) {
            Ok(found) => found,
            Err(_) => dir.create_dir(part)?,
        };
    }
    let mut out = dir.create_file(name)?;
    out.truncate()?;
    out.write_all(file.bytes)?;
    out.flush()
}

/// The source date as fatfs's clock. FAT dates run from 1980 to 2107: earlier dates become
/// 1980-01-01, later ones 2107-12-31.
#[derive(Debug)]
struct FixedTime(fatfs::DateTime);

impl TimeProvider for FixedTime {
    fn get_current_date(&self) -> fatfs::Date {
        self.0.date
    }

    fn get_current_date_time(&self) -> fatfs::DateTime {
        self.0
    }
}

/// fatfs 0.3 takes its clock as a `&'static`: each distinct date is made once and kept for
/// the process (a build uses one).
fn fixed_time(epoch: u64) -> &'static FixedTime {
    static TIMES: Mutex<Vec<(u64, &'static FixedTime)>> = Mutex::new(Vec::new());
    let mut times = TIMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, time)) = times.iter().find(|(e, _)| *e == epoch) {
        return time;
    }
    let time: &'static FixedTime = Box::leak(Box::new(FixedTime(dos_date_time(epoch))));
    times.push((epoch, time));
    time
}

fn dos_date_time(epoch: u64) -> fatfs::DateTime {
    let t = DateTime::from_unix(epoch).civil();
    let (year, month, day, hour, min, sec) = match t.year {
        ..1980 => (1980, 1, 1, 0, 0, 0),
        2108.. => (2107, 12, 31, 23, 59, 58),
        year => (year, t.month, t.day, t.hour, t.minute, t.second),
    };
    fatfs::DateTime {
        date: fatfs::Date {
            year,
            month: month.into(),
            day: day.into(),
        },
        time: fatfs::Time {
            hour: hour.into(),
            min: min.into(),
            sec: sec.into(),
            millis: 0,
        },
    }
}
