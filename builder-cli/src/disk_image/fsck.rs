//! `amoeba-build fsck IMAGE`: a disk image checked offline. The label is read, piece
//! `vdisk:00` is mounted as the Bullet server mounts it (libamoeba's `Volume::mount`, on a
//! read-only view of the file) and `Volume::fsck` checks every record and file. Nothing is
//! written to the image.

use std::fmt::Write as _;
use std::path::Path;

use libamoeba::bullet::layout::FS_BLOCK_BYTES;
use libamoeba::bullet::{FsckReport, MountError, Volume};
use libamoeba::servers::vdisk::BLOCK_BYTES;

use super::image_file::{FilePiece, ImageFile, ImageFileError};

/// The piece the Bullet volume is in.
const VOLUME_PIECE: usize = 0;

/// What was found on the Bullet piece.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VolumeFinding {
    /// The volume mounted and was checked.
    Checked {
        generation: u64,
        report: FsckReport,
        /// Bytes of the committed files the check found sound.
        file_bytes: u64,
    },
    /// The Bullet server would refuse it too.
    Refused(String),
}

/// The outcome of a check of one image file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageCheck {
    pub sectors: u64,
    /// Each piece's first sector and sectors, in label order.
    pub pieces: Vec<(u64, u64)>,
    pub volume: VolumeFinding,
}

impl ImageCheck {
    pub fn is_clean(&self) -> bool {
        matches!(&self.volume, VolumeFinding::Checked { report, .. } if report.is_clean())
    }

    /// The report, one finding a line.
    pub fn render(&self, shown: &str) -> String {
        let mut out = String::new();
        let mib = (self.sectors * BLOCK_BYTES as u64) >> 20;
        let _ = writeln!(out, "{shown}: {} sectors ({mib} MiB)", self.sectors);
        for (n, (first, sectors)) in self.pieces.iter().enumerate() {
            let _ = writeln!(out, "vdisk:{n:02}: sectors {first}..{}", first + sectors);
        }
        match &self.volume {
            VolumeFinding::Refused(reason) => {
                let _ = writeln!(out, "vdisk:00: not a usable Bullet volume: {reason}");
            }
            VolumeFinding::Checked {
                generation,
                report,
                file_bytes,
            } => render_report(&mut out, *generation, report, *file_bytes),
        }
        out
    }
}

fn render_report(out: &mut String, generation: u64, report: &FsckReport, file_bytes: u64) {
    let block = FS_BLOCK_BYTES as u64;
    let _ = writeln!(
        out,
        "vdisk:00: Bullet volume, generation {generation}: {} files, {file_bytes} bytes; \
         {} blocks used, {} free ({} bytes)",
        report.files,
        report.used_blocks,
        report.free_blocks,
        report.free_blocks * block
    );
    for problem in &report.problems {
        let _ = writeln!(out, "problem: inode {}: {}", problem.inode, problem.damage);
    }
    let count = report.problems.len();
    match count {
        0 => out.push_str("clean\n"),
        _ => {
            let _ = writeln!(out, "{count} problem{}", if count == 1 { "" } else { "s" });
        }
    }
}

/// Checks the image at `path` (shown as `shown` in messages).
pub fn check_image(path: &Path, shown: &str) -> Result<ImageCheck, ImageFileError> {
    let image = ImageFile::open(path, shown)?;
    let pieces = image
        .label
        .pieces
        .iter()
        .map(|(piece, _)| (piece.first, piece.blocks))
        .collect();
    let volume = match image.piece(VOLUME_PIECE) {
        Some(device) => check_volume(device),
        None => VolumeFinding::Refused("the label has no piece vdisk:00".into()),
    };
    Ok(ImageCheck {
        sectors: image.sectors,
        pieces,
        volume,
    })
}

fn check_volume(device: FilePiece<'_>) -> VolumeFinding {
    let mut volume = match Volume::mount(device) {
        Ok(volume) => volume,
        Err(MountError::Device(error)) => {
            return VolumeFinding::Refused(format!("the image cannot be read ({error:?})"));
        }
        Err(error) => return VolumeFinding::Refused(error.to_string()),
    };
    let report = match volume.fsck() {
        Ok(report) => report,
        Err(error) => return VolumeFinding::Refused(format!("reading it failed ({error:?})")),
    };
    let superblock = volume.superblock();
    let generation = superblock.generation;
    let damaged: Vec<u32> = report.problems.iter().map(|p| p.inode).collect();
    let file_bytes = (1..superblock.inode_count)
        .filter(|inode| !damaged.contains(inode))
        .filter(|&inode| volume.check(inode).is_ok_and(|(_, committed)| committed))
        .filter_map(|inode| volume.size(inode).ok())
        .sum();
    VolumeFinding::Checked {
        generation,
        report,
        file_bytes,
    }
}
