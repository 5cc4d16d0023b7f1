//! Host tests of uncommitted files on the disk (`open.rs`): every edit against a model, a
//! file that must move as it grows, block-wise copies, expiry, and a crash with a file
//! half made.

use alloc::vec::Vec;

use super::error::Damage;
use super::layout::FS_BLOCK_BYTES;
use super::table::blocks_for;
use super::tests::{DISK_SECTORS, formatted, pattern, read_all, remount};
use super::{StoreError, Volume};
use crate::random::{Entropy, SeededGenerator};

/// A number below `bound` (at least 1).
fn below(random: &mut SeededGenerator, bound: usize) -> usize {
    let mut bytes = [0; 8];
    random.fill(&mut bytes);
    (u64::from_le_bytes(bytes) % bound as u64) as usize
}

fn blocks(len: usize) -> u64 {
    blocks_for(len as u64)
}

#[test]
fn uncommitted_files_follow_a_model_through_random_edits() {
    let mut volume = formatted(DISK_SECTORS);
    let mut entropy = SeededGenerator::new(21);
    let mut random = SeededGenerator::new(22);
    let empty = volume.free_blocks();
    // Three files at once, so that they get in each other's way as they grow.
    let mut files: Vec<(u32, Vec<u8>)> = (0..3)
        .map(|_| {
            (
                volume.create(b"", false, &mut entropy).unwrap().0,
                Vec::new(),
            )
        })
        .collect();
    let sizes = [1, 100, 511, 4095, 4096, 4097, 9000, 29768];
    for round in 0..300 {
        let (inode, model) = &mut files[below(&mut random, 3)];
        let data = pattern(sizes[below(&mut random, sizes.len())], round as u8);
        let at = below(&mut random, model.len() + 1);
        // Files of more than 200 000 bytes only shrink, so the disk never fills.
        let kind = match model.len() > 200_000 {
            true => 3,
            false => below(&mut random, 4),
        };
        match kind {
            0 => {
                volume.append(*inode, &data).unwrap();
                model.extend_from_slice(&data);
            }
            1 => {
                volume.modify(*inode, at as u64, &data).unwrap();
                let end = (at + data.len()).min(model.len());
                model.splice(at..end, data);
            }
            2 => {
                volume.insert(*inode, at as u64, &data).unwrap();
                model.splice(at..at, data);
            }
            _ => {
                let len = below(&mut random, (model.len() - at).min(60_000) + 1);
                volume.delete(*inode, at as u64, len as u64).unwrap();
                model.drain(at..at + len);
            }
        }
        assert_eq!(volume.size(*inode), Ok(model.len() as u64), "round {round}");
    }
    for (inode, _) in &files {
        volume.commit(*inode).unwrap();
    }
    let used: u64 = files.iter().map(|(_, model)| blocks(model.len())).sum();
    assert_eq!(volume.free_blocks(), empty - used);
    // After a remount the first read of each checks its bytes against the CRC the commit
    // wrote, read back, as the files were edited.
    let mut volume = remount(volume);
    for (inode, model) in &files {
        assert_eq!(&read_all(&mut volume, *inode).unwrap(), model);
    }
    assert_eq!(volume.free_blocks(), empty - used);
    assert!(volume.fsck().unwrap().is_clean());
}

#[test]
fn a_growing_file_moves_past_a_neighbour_and_its_commit_gives_back_the_rest() {
    let mut volume = formatted(DISK_SECTORS);
    let mut entropy = SeededGenerator::new(23);
    let empty = volume.free_blocks();
    let mut model = pattern(5000, 1);
    let (file, _) = volume.create(&model, false, &mut entropy).unwrap();
    // First fit puts this one right after the first file's two blocks.
    let (neighbour, _) = volume.create(&pattern(100, 2), true, &mut entropy).unwrap();
    for n in 0..20 {
        let piece = pattern(29768, n);
        volume.append(file, &piece).unwrap();
        model.extend_from_slice(&piece);
        // Held: what the file needs, and at most twice that as it grows.
        let held = empty - 1 - volume.free_blocks();
        let needed = blocks(model.len());
        assert!(held >= needed && held <= 2 * needed, "{held} for {needed}");
    }
    volume.commit(file).unwrap();
    assert_eq!(volume.free_blocks(), empty - 1 - blocks(model.len()));
    // The two blocks it started in are free again: a small file fits there, and after it
    // the rest of the disk in one piece.
    let left = volume.free_blocks() as usize - 2;
    volume
        .create(&pattern(2 * FS_BLOCK_BYTES, 3), true, &mut entropy)
        .unwrap();
    let (rest, _) = volume
        .create(&pattern(left * FS_BLOCK_BYTES, 4), true, &mut entropy)
        .unwrap();
    assert_eq!(volume.free_blocks(), 0);
    let mut volume = remount(volume);
    assert_eq!(read_all(&mut volume, file).unwrap(), model);
    assert_eq!(read_all(&mut volume, neighbour).unwrap(), pattern(100, 2));
    assert_eq!(
        read_all(&mut volume, rest).unwrap(),
        pattern(left * FS_BLOCK_BYTES, 4)
    );
    assert!(volume.fsck().unwrap().is_clean());
}

#[test]
fn a_copy_is_checked_as_it_is_made_and_a_damaged_source_is_refused() {
    let mut volume = formatted(DISK_SECTORS);
    let mut entropy = SeededGenerator::new(24);
    let data = pattern((1 << 20) + 123, 5);
    let (file, _) = volume.create(&data, true, &mut entropy).unwrap();
    // Not yet read since the mount: the copy is its first check.
    let mut volume = remount(volume);
    let (copy, _) = volume.copy(file, &mut entropy).unwrap();
    volume.modify(copy, 500_000, b"changed").unwrap();
    volume.append(copy, b"!").unwrap();
    volume.commit(copy).unwrap();
    let mut expected = data.clone();
    expected[500_000..500_007].copy_from_slice(b"changed");
    expected.push(b'!');
    assert_eq!(read_all(&mut volume, copy).unwrap(), expected);
    assert_eq!(read_all(&mut volume, file).unwrap(), data);
    // A byte of the first file goes bad on the disk.
    let data_start = volume.superblock().data_start as usize;
    let mut disk = volume.into_device();
    disk.bytes[data_start * FS_BLOCK_BYTES + 700_000] ^= 1;
    let mut volume = Volume::mount(disk).unwrap();
    let free = volume.free_blocks();
    let damaged = StoreError::Damaged {
        inode: file,
        damage: Damage::DataCrc,
    };
    assert_eq!(volume.copy(file, &mut entropy), Err(damaged));
    assert_eq!((volume.uncommitted(), volume.free_blocks()), (0, free));
    assert_eq!(read_all(&mut volume, copy).unwrap(), expected);
}

#[test]
fn expire_destroys_the_files_idle_long_enough() {
    let mut volume = formatted(DISK_SECTORS);
    let mut entropy = SeededGenerator::new(25);
    let empty = volume.free_blocks();
    let (old, _) = volume
        .create(&pattern(9000, 1), false, &mut entropy)
        .unwrap();
    let (young, _) = volume.create(b"young", false, &mut entropy).unwrap();
    let (done, _) = volume.create(b"done", true, &mut entropy).unwrap();
    volume.touch(old, 100);
    volume.touch(young, 500);
    volume.touch(done, 0);
    assert_eq!(volume.expire(599, 500), 0);
    assert_eq!(volume.expire(600, 500), 1);
    assert_eq!(volume.size(old), Err(StoreError::NotFound));
    assert_eq!(volume.expire(1000, 500), 1);
    assert_eq!((volume.uncommitted(), volume.free_blocks()), (0, empty - 1));
    assert_eq!(read_all(&mut volume, done).unwrap(), b"done");
}

#[test]
fn a_crash_with_a_file_half_made_frees_its_blocks_and_keeps_the_committed_ones() {
    let mut volume = formatted(DISK_SECTORS);
    let mut entropy = SeededGenerator::new(26);
    let (kept, _) = volume
        .create(&pattern(50_000, 1), true, &mut entropy)
        .unwrap();
    let before = volume.free_blocks();
    let data = pattern(300_000, 2);
    let mut pieces = data.chunks(29768);
    let (open, _) = volume
        .create(pieces.next().unwrap(), false, &mut entropy)
        .unwrap();
    for piece in pieces {
        volume.append(open, piece).unwrap();
    }
    volume.modify(open, 10, b"edited").unwrap();
    assert!(volume.free_blocks() <= before - blocks(data.len()));
    // Its bytes are on the disk already, not in memory: all but the last part block.
    let disk = volume.into_device();
    let whole = data.len() / FS_BLOCK_BYTES;
    for block in [1, whole / 2, whole - 1] {
        let bytes = &data[block * FS_BLOCK_BYTES..][..FS_BLOCK_BYTES];
        let found = disk
            .bytes
            .chunks_exact(FS_BLOCK_BYTES)
            .any(|on_disk| on_disk == bytes);
        assert!(
            found,
            "block {block} of the uncommitted file is not on the disk"
        );
    }
    // The power goes: nothing was committed after the first file.
    let mut volume = Volume::mount(disk).unwrap();
    assert_eq!(volume.size(open), Err(StoreError::NotFound));
    assert_eq!(read_all(&mut volume, kept).unwrap(), pattern(50_000, 1));
    assert_eq!(volume.free_blocks(), before);
    let report = volume.fsck().unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!((report.files, report.free_blocks), (1, before));
}
