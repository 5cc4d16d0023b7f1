//! THE SEAM where a built disk gets its directories; not built yet.
//!
//! The directories are the SOAP server's: each kept as a committed Bullet file on the volume,
//! the table of them on piece `vdisk:01` (`docs/soap-format.md`, `libamoeba::soap`). Given the
//! tree of what the builder committed (every file's path and Bullet capability, and the
//! directories the profile names), this is to make those directories in the volume and write
//! their table on the piece, with the checks and port drawn from `entropy` like the rest of
//! the image. Until it does, a tree with anything in it is refused, so a profile with
//! `[disk] dirs` or `[[disk.files]]` fails its build clearly instead of giving a disk whose
//! files no directory names. An empty tree is fine: the piece stays blank and the SOAP server
//! makes its table and an empty root at the node's first boot.

use libamoeba::bullet::Volume;
use libamoeba::random::Entropy;
use libamoeba::servers::vdisk::BlockDevice;
use thiserror::Error;

use super::tree::DiskTree;

#[derive(Debug, Error)]
pub enum DirectoriesError {
    #[error(
        "directories on disk images are not built yet; leave out [disk] dirs and \
         [[disk.files]] for now (a [disk] of size_mib alone builds)"
    )]
    NotBuiltYet,
}

/// Makes the directories of `tree` in `volume` and their table on `soap_piece`.
pub fn write_directories<S: BlockDevice, V: BlockDevice>(
    tree: &DiskTree,
    soap_piece: &mut S,
    volume: &mut Volume<V>,
    entropy: &mut impl Entropy,
) -> Result<(), DirectoriesError> {
    // Unused until the seam is wired: named here so the wiring needs no new arguments.
    let _ = (soap_piece, volume, entropy);
    match tree.is_empty() {
        true => Ok(()),
        false => Err(DirectoriesError::NotBuiltYet),
    }
}
