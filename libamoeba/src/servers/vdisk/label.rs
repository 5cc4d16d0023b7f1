//! The disk label (ours; `docs/disk-label.md`): sector 0 of a node's disk says which pieces the
//! vdisk server serves and keeps the server's port and each piece's check, so vdisk
//! capabilities survive reboots ("the disk label keeps the vdisk capability", reference).
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | magic `AMLABEL1` |
//! | 8..12 | version 1 |
//! | 12..16 | pieces, 1 to [`MAX_LABEL_PIECES`] |
//! | 16..22 | the vdisk server's get-port |
//! | 32 + 32n .. | piece n: u64 first sector, u64 sectors, check (6), zeros |
//! | 508..512 | CRC-32 of bytes 0..508 |
//!
//! Pieces lie after the label, inside the disk, without overlapping. The default layout
//! ([`Label::new_default`]): piece 0 (`vdisk:00`, the Bullet volume) all but the label and the
//! last [`TABLE_PIECE_SECTORS`], piece 1 (`vdisk:01`, the SOAP server's table) those.

use alloc::vec::Vec;
use core::fmt;

use super::{BLOCK_BYTES, Piece};
use crate::capability::{CHECK_LEN, Port};
use crate::crc32::crc32;
use crate::le;
use crate::random::Entropy;

const MAGIC: &[u8; 8] = b"AMLABEL1";
const VERSION: u32 = 1;
/// The most pieces a label holds.
pub const MAX_LABEL_PIECES: usize = 4;
const PIECES_AT: usize = 32;
const PIECE_BYTES: usize = 32;
const CRC_AT: usize = BLOCK_BYTES - 4;
const _: () = assert!(PIECES_AT + MAX_LABEL_PIECES * PIECE_BYTES <= CRC_AT);
/// Sectors of the default layout's last piece (1 MiB), less on a small disk.
pub const TABLE_PIECE_SECTORS: u64 = 2048;
/// The smallest disk the default layout fits: the label, and 64 sectors a piece.
pub const MIN_LABELLED_SECTORS: u64 = 1 + 2 * 64;

/// A disk's label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub get_port: Port,
    pub pieces: Vec<(Piece, [u8; CHECK_LEN])>,
}

/// Why sector 0 is not a label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelError {
    /// All zeros: a disk never written.
    Blank,
    /// No magic: a disk of another format.
    Foreign,
    /// The magic, but a bad CRC, version or pieces.
    Damaged,
    /// Smaller than [`MIN_LABELLED_SECTORS`].
    TooSmall { sectors: u64 },
}

impl fmt::Display for LabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Blank => write!(f, "a blank disk (no label)"),
            Self::Foreign => write!(f, "no label of ours (a disk of another format)"),
            Self::Damaged => write!(f, "a damaged label"),
            Self::TooSmall { sectors } => {
                write!(
                    f,
                    "{sectors} sectors is too small for a labelled disk (at least {MIN_LABELLED_SECTORS})"
                )
            }
        }
    }
}

impl Label {
    /// The default layout for a disk of `sectors`, with a fresh port and checks.
    pub fn new_default(sectors: u64, entropy: &mut impl Entropy) -> Result<Self, LabelError> {
        if sectors < MIN_LABELLED_SECTORS {
            return Err(LabelError::TooSmall { sectors });
        }
        let table = TABLE_PIECE_SECTORS.min((sectors - 1) / 8).max(64);
        let volume = Piece {
            first: 1,
            blocks: sectors - 1 - table,
        };
        let table = Piece {
            first: sectors - table,
            blocks: table,
        };
        let get_port = Port(entropy.nonzero48());
        let pieces = [volume, table]
            .into_iter()
            .map(|piece| (piece, entropy.nonzero48()))
            .collect();
        Ok(Self { get_port, pieces })
    }

    pub fn encode(&self) -> [u8; BLOCK_BYTES] {
        let mut sector = [0u8; BLOCK_BYTES];
        sector[..8].copy_from_slice(MAGIC);
        le::put(&mut sector, 8, &VERSION.to_le_bytes());
        le::put(&mut sector, 12, &(self.pieces.len() as u32).to_le_bytes());
        le::put(&mut sector, 16, &self.get_port.0);
        for (n, (piece, check)) in self.pieces.iter().take(MAX_LABEL_PIECES).enumerate() {
            let at = PIECES_AT + n * PIECE_BYTES;
            le::put(&mut sector, at, &piece.first.to_le_bytes());
            le::put(&mut sector, at + 8, &piece.blocks.to_le_bytes());
            le::put(&mut sector, at + 16, check);
        }
        let crc = crc32(&sector[..CRC_AT]);
        le::put(&mut sector, CRC_AT, &crc.to_le_bytes());
        sector
    }

    /// The label in `sector` (a disk's first) of a disk of `sectors`.
    pub fn decode(sector: &[u8], sectors: u64) -> Result<Self, LabelError> {
        let sector: &[u8; BLOCK_BYTES] = sector.first_chunk().ok_or(LabelError::Damaged)?;
        if sector.iter().all(|&b| b == 0) {
            return Err(LabelError::Blank);
        }
        if &sector[..8] != MAGIC {
            return Err(LabelError::Foreign);
        }
        let count = le::field_u32(sector, 12) as usize;
        let sound = le::field_u32(sector, CRC_AT) == crc32(&sector[..CRC_AT])
            && le::field_u32(sector, 8) == VERSION
            && (1..=MAX_LABEL_PIECES).contains(&count);
        if !sound {
            return Err(LabelError::Damaged);
        }
        let mut pieces: Vec<(Piece, [u8; CHECK_LEN])> = Vec::with_capacity(count);
        for n in 0..count {
            let at = PIECES_AT + n * PIECE_BYTES;
            let piece = Piece {
                first: le::field_u64(sector, at),
                blocks: le::field_u64(sector, at + 8),
            };
            let check: [u8; CHECK_LEN] = le::field(sector, at + 16);
            let end = piece.first.checked_add(piece.blocks);
            let placed = piece.first >= 1 && piece.blocks > 0 && end.is_some_and(|e| e <= sectors);
            let apart = pieces.iter().all(|(other, _)| {
                piece.first >= other.first + other.blocks
                    || other.first >= piece.first + piece.blocks
            });
            if !placed || !apart || check == [0; CHECK_LEN] {
                return Err(LabelError::Damaged);
            }
            pieces.push((piece, check));
        }
        Ok(Self {
            get_port: Port(le::field(sector, 16)),
            pieces,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededGenerator;

    #[test]
    fn the_default_label_round_trips() {
        let label = Label::new_default(32768, &mut SeededGenerator::new(1)).unwrap();
        let (volume, table) = (label.pieces[0].0, label.pieces[1].0);
        assert_eq!((volume.first, volume.blocks), (1, 32768 - 1 - 2048));
        assert_eq!((table.first, table.blocks), (32768 - 2048, 2048));
        assert_eq!(Label::decode(&label.encode(), 32768), Ok(label));
    }

    #[test]
    fn blank_foreign_damaged_and_small_disks_are_told_apart() {
        assert_eq!(Label::decode(&[0; 512], 100), Err(LabelError::Blank));
        assert_eq!(Label::decode(&[1; 512], 100), Err(LabelError::Foreign));
        let label = Label::new_default(4096, &mut SeededGenerator::new(2)).unwrap();
        let sector = label.encode();
        for at in [9, 13, 40, 300, 510] {
            let mut bad = sector;
            bad[at] ^= 1;
            assert_eq!(
                Label::decode(&bad, 4096),
                Err(LabelError::Damaged),
                "byte {at}"
            );
        }
        // A disk that shrank below its pieces.
        assert_eq!(Label::decode(&sector, 4000), Err(LabelError::Damaged));
        let small = Label::new_default(100, &mut SeededGenerator::new(3));
        assert_eq!(small, Err(LabelError::TooSmall { sectors: 100 }));
    }

    #[test]
    fn overlapping_pieces_are_damage() {
        let mut label = Label::new_default(4096, &mut SeededGenerator::new(4)).unwrap();
        label.pieces[1].0.first -= 1;
        assert_eq!(
            Label::decode(&label.encode(), 4096),
            Err(LabelError::Damaged)
        );
    }
}
