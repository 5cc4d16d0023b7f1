//! The Bullet volume of a built disk (piece `vdisk:00`): made by libamoeba's
//! `Volume::format`, the code the kernel's Bullet server runs on a blank disk, with every file
//! of the profile created and committed by `Volume::create`, as `BS_CREATE` with COMMIT does.

use std::collections::BTreeMap;

use libamoeba::bullet::layout::FS_BLOCK_BYTES;
use libamoeba::bullet::table::blocks_for;
use libamoeba::bullet::{FormatError, StoreError, Volume};
use libamoeba::capability::{ALL_RIGHTS, Capability, Port};
use libamoeba::oneway::put_port;
use libamoeba::random::Entropy;
use thiserror::Error;

use super::sparse::SparseDisk;
use super::tree::DiskPath;

/// Files a built volume has room for: as many as the kernel's Bullet server gives the volume
/// it makes on a blank disk (`NEW_VOLUME_FILES`), so both kinds of disk hold as much.
pub const VOLUME_FILES: u32 = 4096;

/// The files do not fit the volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoRoom {
    pub files: usize,
    /// Data blocks of [`FS_BLOCK_BYTES`] the files take.
    pub needed_blocks: u64,
    /// Data blocks a new volume of this size has.
    pub free_blocks: u64,
    /// Blocks before the data (superblock, inode table): as many on a volume of any size.
    pub metadata_blocks: u64,
    pub inodes: u32,
}

impl NoRoom {
    pub const fn needed_bytes(&self) -> u64 {
        self.needed_blocks * FS_BLOCK_BYTES as u64
    }

    pub const fn free_bytes(&self) -> u64 {
        self.free_blocks * FS_BLOCK_BYTES as u64
    }
}

#[derive(Debug, Error)]
pub enum VolumeError {
    #[error("the disk's Bullet piece cannot hold a volume: {0}")]
    Format(FormatError),
    #[error(
        "{} files take {} bytes; the volume holds {} bytes and {} files",
        .0.files, .0.needed_bytes(), .0.free_bytes(), .0.inodes
    )]
    NoRoom(NoRoom),
    #[error("cannot put {path} on the Bullet volume: {error}")]
    Store { path: DiskPath, error: StoreError },
}

/// A new volume and the owner capability of each file's committed Bullet file.
pub struct FilledVolume {
    pub volume: Volume<SparseDisk>,
    pub files: BTreeMap<DiskPath, Capability>,
}

/// A new volume on a piece of `sectors`, its port and secrets and files' checks drawn from
/// `entropy`, holding `files`; refused before anything is created when they cannot all fit.
pub fn make_volume(
    sectors: u64,
    files: &[(DiskPath, Vec<u8>)],
    entropy: &mut impl Entropy,
) -> Result<FilledVolume, VolumeError> {
    let port = Port(entropy.nonzero48());
    let secret = entropy.nonzero48();
    let device = SparseDisk::new(sectors);
    let mut volume =
        Volume::format(device, port, secret, VOLUME_FILES).map_err(VolumeError::Format)?;
    let room = NoRoom {
        files: files.len(),
        needed_blocks: files.iter().map(|(_, b)| blocks_for(b.len() as u64)).sum(),
        free_blocks: volume.free_blocks(),
        metadata_blocks: u64::from(volume.superblock().data_start),
        inodes: VOLUME_FILES,
    };
    // A new volume allocates first fit from one free run, so the sum is exactly what fits.
    if room.needed_blocks > room.free_blocks || files.len() > VOLUME_FILES as usize {
        return Err(VolumeError::NoRoom(room));
    }
    let mut made = BTreeMap::new();
    for (path, bytes) in files {
        let (inode, check) = volume
            .create(bytes, true, entropy)
            .map_err(|error| match error {
                // Should the store's own bookkeeping need more than the sum, it is still room.
                StoreError::NoSpace | StoreError::NoInodes => VolumeError::NoRoom(room),
                error => VolumeError::Store {
                    path: path.clone(),
                    error,
                },
            })?;
        // The capability the Bullet server answers BS_CREATE with (`bullet/server.rs`).
        let file = Capability {
            port: put_port(port),
            object: inode,
            rights: ALL_RIGHTS,
            check,
        };
        made.insert(path.clone(), file);
    }
    Ok(FilledVolume {
        volume,
        files: made,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk_image::entropy::SeededEntropy;

    fn path(text: &str) -> DiskPath {
        DiskPath::parse(text).expect("valid")
    }

    #[test]
    fn files_are_committed_and_read_back_after_a_mount() {
        let files = vec![
            (path("/a"), b"hello".to_vec()),
            (path("/b/c"), vec![7; 10_000]),
            (path("/empty"), Vec::new()),
        ];
        let filled = make_volume(2048, &files, &mut SeededEntropy::new([1; 32])).expect("made");
        let port = filled.volume.superblock().port;
        let mut volume = Volume::mount(filled.volume.into_device()).expect("mounts");
        assert_eq!(volume.superblock().port, port);
        for (path, bytes) in &files {
            let cap = filled.files[path];
            assert_eq!(cap.port, put_port(port));
            let (check, committed) = volume.check(cap.object).expect("a file");
            assert!(committed && check == cap.check, "{path}");
            let mut back = vec![0; bytes.len() + 1];
            let got = volume.read(cap.object, 0, &mut back).expect("reads");
            assert_eq!(&back[..got], &bytes[..], "{path}");
        }
        assert!(volume.fsck().expect("checks").is_clean());
    }

    #[test]
    fn too_much_is_refused_with_the_sizes() {
        let files = vec![(path("/big"), vec![1; 2 << 20])];
        let error = make_volume(2048, &files, &mut SeededEntropy::new([1; 32]));
        let Err(VolumeError::NoRoom(room)) = error else {
            panic!("expected no room");
        };
        assert_eq!(room.needed_blocks, 512);
        assert!(room.free_blocks < 512 && room.free_blocks > 0, "{room:?}");
    }
}
