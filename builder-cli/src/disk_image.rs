//! The disk image a build writes for a node with a disk, `images/NAME/disk.img` (the
//! builder is the node's mkfs): the disk label in sector 0 (`docs/disk-label.md`), piece
//! `vdisk:00` a Bullet volume holding the profile's files (`docs/bullet-format.md`), piece
//! `vdisk:01` the SOAP server's table. All of it is made by the libamoeba code the node's
//! servers run (`Label::new_default`, `Volume::format`, `Volume::create`), so the node boots
//! it as if it had made it itself: the vdisk server serves the pieces under the label's port,
//! the Bullet server mounts the volume, and the capabilities the build made work there.
//!
//! The image is made in memory ([`sparse::SparseDisk`] keeps only the sectors written) and
//! written as a sparse file. Its ports and secrets come from a seed that is a digest of what
//! the image is made of ([`seed`]), so two builds of one profile at one commit give the same
//! bytes.
//!
//! | module | what it holds |
//! |---|---|
//! | [`tree`] | paths on the disk, and the tree of files and directories |
//! | [`contents`] | the bytes of each file: host files, programs' process images |
//! | [`seed`], [`entropy`] | the seed, and the deterministic generator drawn from it |
//! | [`sparse`] | the disk in memory, its digest, the sparse file |
//! | [`bullet_volume`] | the Bullet volume with the files committed |
//! | [`directories`] | the seam where the SOAP directories are to be made |
//! | [`for_profile`] | one profile's image, and its problems told as the profile's |
//! | [`image_file`], [`fsck`] | an image file read back, and checked offline |

pub mod bullet_volume;
pub mod contents;
pub mod directories;
pub mod entropy;
pub mod for_profile;
pub mod fsck;
pub mod image_file;
pub mod seed;
pub mod sparse;
pub mod tree;

use std::io;
use std::path::Path;

use libamoeba::servers::vdisk::BlockDevice;
use libamoeba::servers::vdisk::label::{Label, LabelError};
use thiserror::Error;

use bullet_volume::{VolumeError, make_volume};
use directories::{DirectoriesError, write_directories};
use entropy::SeededEntropy;
use sparse::SparseDisk;
use tree::{DiskPath, DiskTree};

/// The disk image's file in the image directory.
pub const DISK_IMAGE_FILE: &str = "disk.img";

/// Sectors of a MiB.
const MIB_SECTORS: u64 = 2048;

/// What goes into a disk image.
#[derive(Clone, Copy, Debug)]
pub struct DiskRequest<'a> {
    pub mib: u32,
    pub files: &'a [(DiskPath, Vec<u8>)],
    pub dirs: &'a [DiskPath],
    pub seed: [u8; 32],
}

/// A disk image made in memory.
#[derive(Clone, Debug)]
pub struct DiskImage {
    pub disk: SparseDisk,
    pub label: Label,
    pub tree: DiskTree,
}

#[derive(Debug, Error)]
pub enum DiskImageError {
    #[error("the disk cannot be labelled: {0}")]
    Label(LabelError),
    /// `Label::new_default` always makes two pieces; kept for a label made otherwise.
    #[error("the default label has {0} pieces; the disk needs the Bullet and SOAP pieces")]
    Pieces(usize),
    #[error(transparent)]
    Volume(#[from] VolumeError),
    #[error(transparent)]
    Directories(#[from] DirectoriesError),
}

/// Makes the disk image of `request`.
pub fn make(request: &DiskRequest<'_>) -> Result<DiskImage, DiskImageError> {
    let mut entropy = SeededEntropy::new(request.seed);
    let sectors = u64::from(request.mib) * MIB_SECTORS;
    let label = Label::new_default(sectors, &mut entropy).map_err(DiskImageError::Label)?;
    let [(volume_piece, _), (table_piece, _)] = label.pieces[..] else {
        return Err(DiskImageError::Pieces(label.pieces.len()));
    };
    let filled = make_volume(volume_piece.blocks, request.files, &mut entropy)?;
    let mut volume = filled.volume;
    let tree = DiskTree {
        files: filled.files,
        dirs: request.dirs.iter().cloned().collect(),
    };
    let mut table = SparseDisk::new(table_piece.blocks);
    write_directories(&tree, &mut table, &mut volume, &mut entropy)?;
    let mut disk = SparseDisk::new(sectors);
    disk.place(0, &label_sector(&label));
    disk.place(volume_piece.first, volume.device());
    disk.place(table_piece.first, &table);
    Ok(DiskImage { disk, label, tree })
}

/// The label's sector as a one-sector disk.
fn label_sector(label: &Label) -> SparseDisk {
    let mut sector = SparseDisk::new(1);
    // One sector into a one-sector disk is in range.
    let _ = sector.write(0, &label.encode());
    sector
}

impl DiskImage {
    /// Writes the image to `path` ([`SparseDisk::write_file`]: never half of it).
    pub fn write(&self, path: &Path) -> io::Result<()> {
        self.disk.write_file(path)
    }
}

#[cfg(test)]
mod tests;
