//! Host tests of the Bullet store on the in-memory disk: round trips, durability across a
//! remount, space accounting, crashes at every write (files made in pieces, edited on the
//! way), and garbage on the disk. Uncommitted files' own tests are in `open_tests.rs`.

use alloc::vec;
use alloc::vec::Vec;

use super::error::Damage;
use super::layout::{FS_BLOCK_BYTES, INODE_BYTES, SECTOR_BYTES, SECTORS_PER_BLOCK};
use super::{FsckProblem, MountError, StoreError, Volume};
use crate::capability::Port;
use crate::random::{Entropy, SeededGenerator};
use crate::servers::vdisk::tests::MemoryDisk;
use crate::servers::vdisk::{BlockDevice, DeviceError};

const PORT: Port = Port([0xb1, 0x11, 0xe7, 0x5e, 0x4e, 0x01]);
const SECRET: [u8; 6] = [0x5e, 0xc4, 0xe7, 1, 2, 3];
/// A disk of 4 MiB: 1024 filesystem blocks.
pub(super) const DISK_SECTORS: usize = 8192;
const INODES: u32 = 200;

pub(super) fn formatted(sectors: usize) -> Volume<MemoryDisk> {
    Volume::format(MemoryDisk::new(sectors), PORT, SECRET, INODES).unwrap()
}

pub(super) fn remount<D: BlockDevice>(volume: Volume<D>) -> Volume<D> {
    Volume::mount(volume.into_device()).unwrap()
}

pub(super) fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

pub(super) fn read_all<D: BlockDevice>(
    volume: &mut Volume<D>,
    inode: u32,
) -> Result<Vec<u8>, StoreError> {
    let mut data = vec![0; volume.size(inode)? as usize];
    let read = volume.read(inode, 0, &mut data)?;
    assert_eq!(read, data.len());
    Ok(data)
}

#[test]
fn format_and_mount_agree_on_the_superblock() {
    let volume = formatted(DISK_SECTORS);
    let superblock = *volume.superblock();
    assert_eq!(
        superblock.total_blocks,
        (DISK_SECTORS as u64 / SECTORS_PER_BLOCK) as u32
    );
    assert_eq!((superblock.port, superblock.secret), (PORT, SECRET));
    assert_eq!(superblock.generation, 1);
    let mut mounted = remount(volume);
    assert_eq!(*mounted.superblock(), superblock);
    let report = mounted.fsck().unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!((report.files, report.used_blocks), (0, 0));
    assert_eq!(report.free_blocks, mounted.free_blocks());
    // A format over a Bullet volume counts up the generation.
    let again = Volume::format(mounted.into_device(), PORT, SECRET, INODES).unwrap();
    assert_eq!(again.superblock().generation, 2);
}

#[test]
fn committed_files_of_every_size_survive_a_remount() {
    let mut volume = formatted(DISK_SECTORS);
    let mut entropy = SeededGenerator::new(1);
    let sizes = [0, 1, 511, 512, 4097, 29768, 1 << 20];
    let files: Vec<(u32, Vec<u8>)> = sizes
        .iter()
        .enumerate()
        .map(|(n, &size)| {
            let data = pattern(size, n as u8);
            let (inode, _) = volume.create(&data, true, &mut entropy).unwrap();
            (inode, data)
        })
        .collect();
    let mut volume = remount(volume);
    for (inode, data) in &files {
        assert_eq!(
            &read_all(&mut volume, *inode).unwrap(),
            data,
            "{} bytes",
            data.len()
        );
        // Reads from the middle, and at and past the end.
        let mut piece = [0; 700];
        let offset = data.len() as u64 / 2;
        let read = volume.read(*inode, offset, &mut piece).unwrap();
        assert_eq!(piece[..read], data[offset as usize..][..read]);
        assert_eq!(volume.read(*inode, data.len() as u64, &mut piece), Ok(0));
        let past = data.len() as u64 + 1;
        assert_eq!(
            volume.read(*inode, past, &mut piece),
            Err(StoreError::OutOfRange)
        );
    }
    let report = volume.fsck().unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.files, sizes.len() as u32);
}

#[test]
fn an_uncommitted_file_grows_changes_commits_and_is_then_immutable() {
    let mut volume = formatted(DISK_SECTORS);
    let mut entropy = SeededGenerator::new(2);
    let (inode, check) = volume.create(b"hello", false, &mut entropy).unwrap();
    assert_eq!(volume.check(inode), Ok((check, false)));
    assert_eq!(
        volume.read(inode, 0, &mut [0; 5]),
        Err(StoreError::NotCommitted)
    );
    volume.append(inode, b" world").unwrap();
    volume.modify(inode, 0, b"J").unwrap();
    assert_eq!(volume.modify(inode, 12, b"x"), Err(StoreError::OutOfRange));
    volume.commit(inode).unwrap();
    assert_eq!(read_all(&mut volume, inode).unwrap(), b"Jello world");
    assert_eq!(volume.append(inode, b"!"), Err(StoreError::Committed));
    assert_eq!(volume.commit(inode), Err(StoreError::Committed));
    // Changing it means a copy under a new capability.
    let (copy, copy_check) = volume.copy(inode, &mut entropy).unwrap();
    assert_ne!((copy, copy_check), (inode, check));
    volume.append(copy, b"!").unwrap();
    volume.commit(copy).unwrap();
    let mut volume = remount(volume);
    assert_eq!(volume.check(inode), Ok((check, true)));
    assert_eq!(read_all(&mut volume, inode).unwrap(), b"Jello world");
    assert_eq!(read_all(&mut volume, copy).unwrap(), b"Jello world!");
}

#[test]
fn an_uncommitted_file_is_gone_after_a_remount() {
    let mut volume = formatted(DISK_SECTORS);
    let mut entropy = SeededGenerator::new(3);
    let (kept, _) = volume.create(b"kept", true, &mut entropy).unwrap();
    let (lost, _) = volume
        .create(&pattern(10_000, 1), false, &mut entropy)
        .unwrap();
    let mut volume = remount(volume);
    assert_eq!(volume.size(lost), Err(StoreError::NotFound));
    assert_eq!(read_all(&mut volume, kept).unwrap(), b"kept");
}

#[test]
fn destroy_frees_space_and_a_remount_agrees() {
    let mut volume = formatted(DISK_SECTORS);
    let mut entropy = SeededGenerator::new(4);
    let empty = volume.free_blocks();
    let (a, _) = volume
        .create(&pattern(100_000, 1), true, &mut entropy)
        .unwrap();
    let (b, _) = volume
        .create(&pattern(5000, 2), true, &mut entropy)
        .unwrap();
    assert_eq!(volume.free_blocks(), empty - 25 - 2);
    volume.destroy(a).unwrap();
    assert_eq!(volume.free_blocks(), empty - 2);
    assert_eq!(volume.destroy(a), Err(StoreError::NotFound));
    let mut volume = remount(volume);
    assert_eq!(volume.free_blocks(), empty - 2);
    assert_eq!(volume.size(a), Err(StoreError::NotFound));
    assert_eq!(read_all(&mut volume, b).unwrap(), pattern(5000, 2));
    let report = volume.fsck().unwrap();
    assert_eq!((report.files, report.used_blocks), (1, 2));
}

#[test]
fn a_full_disk_says_no_space_and_the_volume_still_works() {
    let mut volume = formatted(DISK_SECTORS);
    let mut entropy = SeededGenerator::new(5);
    let chunk = pattern(256 * 1024, 9);
    let mut files = Vec::new();
    let error = loop {
        match volume.create(&chunk, true, &mut entropy) {
            Ok((inode, _)) => files.push(inode),
            Err(error) => break error,
        }
    };
    assert_eq!(error, StoreError::NoSpace);
    // An uncommitted file may not grow past what a commit could place either.
    let (open, _) = volume.create(b"", false, &mut entropy).unwrap();
    assert_eq!(volume.append(open, &chunk), Err(StoreError::NoSpace));
    volume.destroy(open).unwrap();
    let left = volume.free_blocks() as usize * FS_BLOCK_BYTES;
    volume
        .create(&pattern(left, 3), true, &mut entropy)
        .unwrap();
    assert_eq!(volume.free_blocks(), 0);
    assert_eq!(
        volume.create(b"x", true, &mut entropy),
        Err(StoreError::NoSpace)
    );
    volume.create(b"", true, &mut entropy).unwrap();
    volume.destroy(files[0]).unwrap();
    volume.create(&chunk, true, &mut entropy).unwrap();
    let mut volume = remount(volume);
    assert_eq!(read_all(&mut volume, files[1]).unwrap(), chunk);
    assert!(volume.fsck().unwrap().is_clean());
}

#[test]
fn inodes_run_out_with_no_inodes() {
    let mut volume = Volume::format(MemoryDisk::new(DISK_SECTORS), PORT, SECRET, 3).unwrap();
    let mut entropy = SeededGenerator::new(6);
    let inodes: Vec<u32> = (0..3)
        .map(|_| volume.create(b"", false, &mut entropy).unwrap().0)
        .collect();
    assert_eq!(inodes, [1, 2, 3]);
    assert_eq!(
        volume.create(b"", false, &mut entropy),
        Err(StoreError::NoInodes)
    );
    assert_eq!(volume.size(0), Err(StoreError::NotFound));
}

#[test]
fn a_foreign_or_damaged_superblock_is_refused() {
    assert_eq!(
        Volume::mount(MemoryDisk::new(DISK_SECTORS)).err(),
        Some(MountError::Foreign)
    );
    let mut disk = formatted(DISK_SECTORS).into_device();
    disk.bytes[20] ^= 1;
    assert_eq!(
        Volume::mount(disk).err(),
        Some(MountError::DamagedSuperblock)
    );
    // A volume bigger than its device (an image file cut short).
    let mut disk = formatted(DISK_SECTORS).into_device();
    disk.bytes.truncate(DISK_SECTORS / 2 * SECTOR_BYTES);
    assert!(matches!(
        Volume::mount(disk).err(),
        Some(MountError::DeviceTooSmall { .. })
    ));
}

#[test]
fn a_damaged_file_is_refused_on_first_read_and_reported_by_fsck() {
    let mut volume = formatted(DISK_SECTORS);
    let mut entropy = SeededGenerator::new(7);
    let (inode, _) = volume
        .create(&pattern(9000, 4), true, &mut entropy)
        .unwrap();
    let data_start = volume.superblock().data_start as usize;
    let mut disk = volume.into_device();
    disk.bytes[data_start * FS_BLOCK_BYTES + 5000] ^= 0x40;
    let mut volume = Volume::mount(disk).unwrap();
    let damaged = StoreError::Damaged {
        inode,
        damage: Damage::DataCrc,
    };
    assert_eq!(volume.read(inode, 0, &mut [0; 10]), Err(damaged));
    assert_eq!(volume.read(inode, 0, &mut [0; 10]), Err(damaged));
    let report = volume.fsck().unwrap();
    assert_eq!(
        report.problems,
        [FsckProblem {
            inode,
            damage: Damage::DataCrc
        }]
    );
}

/// A disk that takes `writes_left` more writes, then "loses power": the write that finds
/// none left puts only its first half of sectors on the disk, and every later write and
/// flush fails.
struct CrashingDisk {
    disk: MemoryDisk,
    writes_left: usize,
}

impl BlockDevice for CrashingDisk {
    fn blocks(&self) -> u64 {
        self.disk.blocks()
    }

    fn read(&mut self, first: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        self.disk.read(first, buffer)
    }

    fn write(&mut self, first: u64, data: &[u8]) -> Result<(), DeviceError> {
        if self.writes_left == 0 {
            let torn = data.len() / SECTOR_BYTES / 2 * SECTOR_BYTES;
            if torn > 0 {
                self.disk.write(first, &data[..torn])?;
            }
            self.writes_left = usize::MAX;
        }
        match self.writes_left {
            usize::MAX => Err(DeviceError::Failed),
            _ => {
                self.writes_left -= 1;
                self.disk.write(first, data)
            }
        }
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        match self.writes_left {
            usize::MAX => Err(DeviceError::Failed),
            _ => self.disk.flush(),
        }
    }
}

/// Creates files in pieces (changed on the way, as a client editing a file does), commits
/// and destroys them until the disk fails; returns the disk and what must be on it: each
/// live file's inode and bytes, and whether the disk did fail.
fn crash_workload(disk: MemoryDisk, writes: usize) -> (MemoryDisk, Vec<(u32, Vec<u8>)>, bool) {
    let crashing = CrashingDisk {
        disk,
        writes_left: writes,
    };
    let mut volume = Volume::mount(crashing).unwrap();
    let mut entropy = SeededGenerator::new(writes as u64);
    let mut live: Vec<(u32, Vec<u8>)> = Vec::new();
    for step in 0..20u8 {
        let size = [0, 1, 700, 4096, 70_000, 150_000][step as usize % 6];
        let Ok((inode, data)) = make_in_pieces(&mut volume, size, step, &mut entropy) else {
            break;
        };
        if volume.commit(inode).is_err() {
            break;
        }
        live.push((inode, data));
        if step % 3 == 2 {
            let (gone, _) = live.remove(live.len() / 2);
            if volume.destroy(gone).is_err() {
                break;
            }
        }
    }
    let crashing = volume.into_device();
    (crashing.disk, live, crashing.writes_left == usize::MAX)
}

/// An uncommitted file of `size` bytes sent in 29768-byte pieces, with an insert and a
/// delete on the way for some steps; its inode and the bytes it must end with.
fn make_in_pieces<D: BlockDevice>(
    volume: &mut Volume<D>,
    size: usize,
    step: u8,
    entropy: &mut impl Entropy,
) -> Result<(u32, Vec<u8>), StoreError> {
    let mut data = pattern(size, step);
    let mut pieces = data.chunks(29768);
    let (inode, _) = volume.create(pieces.next().unwrap_or(&[]), false, entropy)?;
    for piece in pieces {
        volume.append(inode, piece)?;
    }
    if step % 4 == 1 {
        let at = size / 3;
        volume.insert(inode, at as u64, b"inserted")?;
        data.splice(at..at, *b"inserted");
    }
    if step % 4 == 3 && size > 10 {
        volume.delete(inode, 3, (size / 2) as u64)?;
        data.drain(3..3 + size / 2);
    }
    Ok((inode, data))
}

#[test]
fn after_a_crash_at_any_write_committed_files_are_intact_and_fsck_is_clean() {
    let mut entropy = SeededGenerator::new(8);
    let mut base = formatted(DISK_SECTORS);
    let (old, _) = base
        .create(&pattern(12_345, 77), true, &mut entropy)
        .unwrap();
    let base = base.into_device();
    let mut writes = 0;
    loop {
        let (disk, live, crashed) = crash_workload(clone_disk(&base), writes);
        let mut volume = Volume::mount(disk).unwrap();
        let report = volume.fsck().unwrap();
        assert!(report.is_clean(), "crash after {writes} writes: {report:?}");
        assert_eq!(read_all(&mut volume, old).unwrap(), pattern(12_345, 77));
        for (inode, data) in &live {
            assert_eq!(
                &read_all(&mut volume, *inode).unwrap(),
                data,
                "after {writes}"
            );
        }
        // Files beyond those (a destroy or commit that failed) may be visible, but whole.
        assert!(report.files as usize > live.len(), "after {writes}");
        if !crashed {
            break;
        }
        writes += 1;
    }
    // The workload is long enough to crash in every kind of step.
    assert!(writes > 100, "{writes} writes");
}

pub(super) fn clone_disk(disk: &MemoryDisk) -> MemoryDisk {
    MemoryDisk {
        bytes: disk.bytes.clone(),
        reads: 0,
        flushes: 0,
        unflushed: false,
    }
}

#[test]
fn garbage_in_the_inode_table_is_reported_or_refused_never_a_panic() {
    let mut entropy = SeededGenerator::new(9);
    let mut base = formatted(DISK_SECTORS);
    for n in 0..20u8 {
        base.create(&pattern(usize::from(n) * 3000, n), true, &mut entropy)
            .unwrap();
    }
    let table_start = base.superblock().inode_start as usize * FS_BLOCK_BYTES;
    // The records in use; the slack after the last record of the table means nothing.
    let table_bytes = base.superblock().inode_count as usize * INODE_BYTES;
    let base = base.into_device();
    for seed in 0..200 {
        let mut fuzz = SeededGenerator::new(1000 + seed);
        let mut disk = clone_disk(&base);
        let mut garbage = [0; 8];
        fuzz.fill(&mut garbage);
        let spots = 1 + garbage[0] as usize % 16;
        for _ in 0..spots {
            fuzz.fill(&mut garbage);
            let at = table_start + u64::from_le_bytes(garbage) as usize % table_bytes;
            let end = (at + 1 + garbage[1] as usize % 64).min(table_start + table_bytes);
            fuzz.fill(&mut disk.bytes[at..end]);
        }
        let damaged = disk.bytes != base.bytes;
        let Ok(mut volume) = Volume::mount(disk) else {
            continue;
        };
        let report = volume.fsck().unwrap();
        assert!(!damaged || !report.is_clean(), "seed {seed}");
        for inode in 0..=INODES + 1 {
            let _ = read_all(&mut volume, inode);
        }
        let _ = volume.create(&pattern(9000, 1), true, &mut entropy);
        let again = volume.fsck().unwrap();
        assert!(
            again.problems.len() <= report.problems.len(),
            "seed {seed}: {report:?} then {again:?}"
        );
    }
}

#[test]
fn garbage_in_the_superblock_is_refused_never_a_panic() {
    let base = formatted(DISK_SECTORS).into_device();
    for seed in 0..100 {
        let mut disk = clone_disk(&base);
        SeededGenerator::new(seed).fill(&mut disk.bytes[8..64]);
        assert!(Volume::mount(disk).is_err(), "seed {seed}");
    }
}

/// A disk whose write number `failing` (counting from 0) fails without touching the disk.
struct FailOnceDisk {
    disk: MemoryDisk,
    writes: usize,
    failing: usize,
}

impl BlockDevice for FailOnceDisk {
    fn blocks(&self) -> u64 {
        self.disk.blocks()
    }

    fn read(&mut self, first: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        self.disk.read(first, buffer)
    }

    fn write(&mut self, first: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.writes += 1;
        match self.writes - 1 == self.failing {
            true => Err(DeviceError::Failed),
            false => self.disk.write(first, data),
        }
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        self.disk.flush()
    }
}

#[test]
fn a_write_that_fails_leaves_the_file_uncommitted_and_the_volume_working() {
    let mut entropy = SeededGenerator::new(11);
    let data = pattern(10_000, 6);
    // Each write of creating and committing the file fails once in turn; after a failed
    // commit the file is committed again or destroyed.
    for failing in 0.. {
        let mut done = false;
        for retry in [true, false] {
            let disk = FailOnceDisk {
                disk: formatted(DISK_SECTORS).into_device(),
                writes: 0,
                failing,
            };
            let mut volume = Volume::mount(disk).unwrap();
            let empty = volume.free_blocks();
            let failed = StoreError::Device(DeviceError::Failed);
            let (inode, _) = match volume.create(&data, false, &mut entropy) {
                Ok(made) => made,
                Err(error) => {
                    // Nothing is left of a file whose create failed.
                    assert_eq!(error, failed, "failing write {failing}");
                    assert_eq!((volume.uncommitted(), volume.free_blocks()), (0, empty));
                    continue;
                }
            };
            match volume.commit(inode) {
                Ok(()) => {
                    done = true;
                    break;
                }
                Err(error) => assert_eq!(error, failed, "failing write {failing}"),
            }
            assert_eq!(volume.check(inode).map(|(_, c)| c), Ok(false));
            let expected_free = match retry {
                true => {
                    volume.commit(inode).unwrap();
                    assert_eq!(read_all(&mut volume, inode).unwrap(), data);
                    empty - 3
                }
                false => {
                    volume.destroy(inode).unwrap();
                    empty
                }
            };
            let mut volume = remount(volume);
            // Blocks held back after a failed record write come back at the next mount.
            assert_eq!(
                volume.free_blocks(),
                expected_free,
                "failing write {failing}"
            );
            match retry {
                true => assert_eq!(read_all(&mut volume, inode).unwrap(), data),
                false => assert_eq!(volume.size(inode), Err(StoreError::NotFound)),
            }
            assert!(volume.fsck().unwrap().is_clean());
        }
        if done {
            // The data in pieces, the last block, the record: every kind of write failed.
            assert!(failing >= 3, "{failing} writes");
            break;
        }
    }
}

#[test]
fn a_device_that_fails_is_a_device_error_and_bad_inode_counts_are_refused() {
    use crate::servers::vdisk::tests::FailingDisk;
    let failing = FailingDisk {
        blocks: DISK_SECTORS as u64,
        error: DeviceError::NoMedium,
    };
    assert_eq!(
        Volume::mount(failing).err(),
        Some(MountError::Device(DeviceError::NoMedium))
    );
    for inodes in [0, 1 << 24] {
        let volume = Volume::format(MemoryDisk::new(DISK_SECTORS), PORT, SECRET, inodes);
        assert_eq!(volume.err(), Some(super::FormatError::InodeCount(inodes)));
    }
    for sectors in [0, 16] {
        let tiny = Volume::format(MemoryDisk::new(sectors), PORT, SECRET, 1);
        let expected = super::FormatError::TooSmall {
            sectors: sectors as u64,
        };
        assert_eq!(tiny.err(), Some(expected));
    }
}
