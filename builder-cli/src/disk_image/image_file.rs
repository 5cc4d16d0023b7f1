//! A disk image file read offline (for `amoeba-build fsck`): its label, and one of its pieces
//! as a read-only [`BlockDevice`], the way the vdisk server serves it to the Bullet server.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use libamoeba::servers::vdisk::label::{Label, LabelError};
use libamoeba::servers::vdisk::{BLOCK_BYTES, BlockDevice, DeviceError, Piece};
use thiserror::Error;

const SECTOR: u64 = BLOCK_BYTES as u64;

#[derive(Debug, Error)]
pub enum ImageFileError {
    #[error("cannot read {file}")]
    Open {
        file: String,
        #[source]
        source: io::Error,
    },
    #[error("{file} is not a disk image: {reason}")]
    NotADiskImage { file: String, reason: String },
    /// Ours, but its label fails its checks: there is nothing to say which piece is which.
    #[error("{file}: the disk label (sector 0) is damaged; the disk's pieces cannot be found")]
    DamagedLabel { file: String },
}

impl ImageFileError {
    /// Whether the file is a disk image of ours at all (a damaged one is).
    pub fn is_disk_image(&self) -> bool {
        matches!(self, Self::DamagedLabel { .. })
    }
}

/// An image file and its label.
pub struct ImageFile {
    file: File,
    pub sectors: u64,
    pub label: Label,
}

impl ImageFile {
    /// Opens `path` (shown as `shown`) and reads its label.
    pub fn open(path: &Path, shown: &str) -> Result<Self, ImageFileError> {
        let open = |source| ImageFileError::Open {
            file: shown.to_string(),
            source,
        };
        let file = File::open(path).map_err(open)?;
        let meta = file.metadata().map_err(open)?;
        let not_image = |reason: String| ImageFileError::NotADiskImage {
            file: shown.to_string(),
            reason,
        };
        if !meta.is_file() {
            return Err(not_image("not a file".into()));
        }
        if meta.len() < SECTOR || meta.len() % SECTOR != 0 {
            let reason = format!(
                "{} bytes is not a whole number of 512-byte sectors",
                meta.len()
            );
            return Err(not_image(reason));
        }
        let sectors = meta.len() / SECTOR;
        let mut first = [0u8; BLOCK_BYTES];
        file.read_exact_at(&mut first, 0).map_err(open)?;
        let label = match Label::decode(&first, sectors) {
            Ok(label) => label,
            Err(LabelError::Damaged) => {
                return Err(ImageFileError::DamagedLabel {
                    file: shown.to_string(),
                });
            }
            Err(error) => return Err(not_image(error.to_string())),
        };
        Ok(Self {
            file,
            sectors,
            label,
        })
    }

    /// Piece `index` of the label as a read-only device.
    pub fn piece(&self, index: usize) -> Option<FilePiece<'_>> {
        let (piece, _) = self.label.pieces.get(index)?;
        Some(FilePiece {
            file: &self.file,
            piece: *piece,
        })
    }
}

/// One piece of an image file; writes are refused, so a check never changes the image.
pub struct FilePiece<'f> {
    file: &'f File,
    piece: Piece,
}

impl BlockDevice for FilePiece<'_> {
    fn blocks(&self) -> u64 {
        self.piece.blocks
    }

    fn read(&mut self, first: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        let sectors = (buffer.len() as u64).div_ceil(SECTOR);
        if first
            .checked_add(sectors)
            .is_none_or(|end| end > self.piece.blocks)
        {
            return Err(DeviceError::OutOfRange);
        }
        let at = (self.piece.first + first) * SECTOR;
        self.file
            .read_exact_at(buffer, at)
            .map_err(|_| DeviceError::Failed)
    }

    fn write(&mut self, _: u64, _: &[u8]) -> Result<(), DeviceError> {
        Err(DeviceError::WriteProtected)
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }
}
