//! The Amoeba partition of a disk that also boots: an appliance image (`amoeba-build`'s
//! `NAME.img`, `docs/appliance-image.md`) carries an MBR partition table, an EFI system
//! partition with GRUB and the kernel, and the node's own disk as a partition of type 0x93,
//! the MBR type historically registered for Amoeba. The vdisk server serves that partition as
//! the disk (its label at the partition's first block), leaving the rest of the disk alone.
//!
//! MBR layout (the IBM PC partition table, as in the UEFI specification 2.10, 5.2.1 "Legacy
//! Master Boot Record"): four 16-byte entries from byte 446, the signature 0x55 0xAA at bytes
//! 510-511; an entry's type is byte 4, its first block and block count little-endian u32s at
//! bytes 8 and 12.

use super::{BLOCK_BYTES, Piece};

/// The MBR partition type of Amoeba.
pub const AMOEBA_PARTITION_TYPE: u8 = 0x93;
const ENTRIES_AT: usize = 446;
const ENTRY_BYTES: usize = 16;
const SIGNATURE: [u8; 2] = [0x55, 0xAA];

/// The first Amoeba partition of a disk of `blocks` blocks whose first block is `sector`, when
/// it has an MBR naming one that lies inside the disk; `None` otherwise (no MBR, no such
/// partition, or one that does not fit: then the disk is taken as a whole, as before).
pub fn amoeba_partition(sector: &[u8; BLOCK_BYTES], blocks: u64) -> Option<Piece> {
    if sector[510..512] != SIGNATURE {
        return None;
    }
    sector[ENTRIES_AT..510]
        .chunks_exact(ENTRY_BYTES)
        .filter(|entry| entry[4] == AMOEBA_PARTITION_TYPE)
        .map(|entry| Piece {
            first: u64::from(u32::from_le_bytes([
                entry[8], entry[9], entry[10], entry[11],
            ])),
            blocks: u64::from(u32::from_le_bytes([
                entry[12], entry[13], entry[14], entry[15],
            ])),
        })
        .find(|piece| {
            piece.first > 0
                && piece.blocks > 0
                && piece
                    .first
                    .checked_add(piece.blocks)
                    .is_some_and(|end| end <= blocks)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An MBR with `entries` (type, first, count) in slots 0.., written byte by byte.
    fn mbr(entries: &[(u8, u32, u32)]) -> [u8; BLOCK_BYTES] {
        let mut sector = [0u8; BLOCK_BYTES];
        for (i, (kind, first, count)) in entries.iter().enumerate() {
            let entry = &mut sector[ENTRIES_AT + i * ENTRY_BYTES..][..ENTRY_BYTES];
            entry[4] = *kind;
            entry[8..12].copy_from_slice(&first.to_le_bytes());
            entry[12..16].copy_from_slice(&count.to_le_bytes());
        }
        sector[510] = 0x55;
        sector[511] = 0xAA;
        sector
    }

    #[test]
    fn the_amoeba_partition_after_an_efi_partition_is_found() {
        let sector = mbr(&[(0xEF, 2048, 2048), (0x93, 4096, 8192)]);
        assert_eq!(
            amoeba_partition(&sector, 12288),
            Some(Piece {
                first: 4096,
                blocks: 8192
            })
        );
    }

    #[test]
    fn no_signature_no_partition_or_one_past_the_end_means_the_whole_disk() {
        let mut unsigned = mbr(&[(0x93, 2048, 100)]);
        unsigned[511] = 0;
        assert_eq!(amoeba_partition(&unsigned, 4096), None);
        assert_eq!(amoeba_partition(&mbr(&[(0xEF, 2048, 100)]), 4096), None);
        assert_eq!(amoeba_partition(&mbr(&[(0x93, 4000, 100)]), 4096), None);
        assert_eq!(amoeba_partition(&mbr(&[(0x93, 0, 100)]), 4096), None);
        assert_eq!(
            amoeba_partition(&mbr(&[(0x93, u32::MAX, u32::MAX)]), u64::MAX),
            Some(Piece {
                first: u64::from(u32::MAX),
                blocks: u64::from(u32::MAX)
            })
        );
        // Our own label is no MBR: it has no 0x55AA at the end.
        assert_eq!(amoeba_partition(&[0u8; BLOCK_BYTES], 4096), None);
    }
}
