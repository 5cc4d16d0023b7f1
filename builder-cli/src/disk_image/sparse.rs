//! A disk in memory that holds only the sectors written, so a 64 GiB disk costs what its
//! label, superblock, inode table and files take; written out as a sparse file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use libamoeba::servers::vdisk::{BLOCK_BYTES, BlockDevice, DeviceError};
use sha2::{Digest, Sha256};

const SECTOR: u64 = BLOCK_BYTES as u64;
/// The most bytes one write to the file carries (runs of written sectors are gathered).
const WRITE_BYTES: usize = 1 << 20;

/// `sectors` sectors, all zero but those written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SparseDisk {
    sectors: u64,
    /// Sectors that are not all zeros, by number.
    written: BTreeMap<u64, [u8; BLOCK_BYTES]>,
}

impl SparseDisk {
    pub fn new(sectors: u64) -> Self {
        Self {
            sectors,
            written: BTreeMap::new(),
        }
    }

    pub fn bytes(&self) -> u64 {
        self.sectors * SECTOR
    }

    /// Copies every sector of `piece` here, its sector 0 at sector `at`.
    pub fn place(&mut self, at: u64, piece: &SparseDisk) {
        for (&sector, bytes) in &piece.written {
            self.written.insert(at + sector, *bytes);
        }
    }

    /// The SHA-256 of all its bytes, zeros included (what `sha256sum` says of the file).
    pub fn sha256(&self) -> String {
        let zeros = [0u8; WRITE_BYTES];
        let mut hasher = Sha256::new();
        let zero_bytes = |hasher: &mut Sha256, mut bytes: u64| {
            while bytes > 0 {
                let now = bytes.min(zeros.len() as u64);
                hasher.update(&zeros[..now as usize]);
                bytes -= now;
            }
        };
        let mut next = 0;
        for (&sector, bytes) in &self.written {
            zero_bytes(&mut hasher, (sector - next) * SECTOR);
            hasher.update(bytes);
            next = sector + 1;
        }
        zero_bytes(&mut hasher, (self.sectors - next) * SECTOR);
        hex::encode(hasher.finalize())
    }

    /// Writes it to `path` through a file beside it, renamed into place, so a VM booting the
    /// previous file never sees half of this one.
    pub fn write_file(&self, path: &Path) -> io::Result<()> {
        let partial = path.with_extension("partial");
        let file = File::create(&partial)?;
        self.write_to(&file)?;
        drop(file);
        std::fs::rename(&partial, path)
    }

    /// Writes it to `file` (emptied first): its full length, but only the written sectors'
    /// blocks, so the file stays sparse.
    pub fn write_to(&self, file: &File) -> io::Result<()> {
        file.set_len(0)?;
        file.set_len(self.bytes())?;
        let mut run: Vec<u8> = Vec::with_capacity(WRITE_BYTES);
        let mut run_start = 0;
        for (&sector, bytes) in &self.written {
            let follows = run_start + (run.len() as u64 / SECTOR) == sector;
            if !run.is_empty() && (!follows || run.len() == WRITE_BYTES) {
                file.write_all_at(&run, run_start * SECTOR)?;
                run.clear();
            }
            if run.is_empty() {
                run_start = sector;
            }
            run.extend_from_slice(bytes);
        }
        if !run.is_empty() {
            file.write_all_at(&run, run_start * SECTOR)?;
        }
        file.sync_all()
    }

    fn check(&self, first: u64, len: usize) -> Result<(), DeviceError> {
        let sectors = (len as u64).div_ceil(SECTOR);
        match first.checked_add(sectors) {
            Some(end) if end <= self.sectors => Ok(()),
            _ => Err(DeviceError::OutOfRange),
        }
    }
}

impl BlockDevice for SparseDisk {
    fn blocks(&self) -> u64 {
        self.sectors
    }

    fn read(&mut self, first: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        self.check(first, buffer.len())?;
        for (sector, chunk) in (first..).zip(buffer.chunks_mut(BLOCK_BYTES)) {
            match self.written.get(&sector) {
                Some(bytes) => chunk.copy_from_slice(&bytes[..chunk.len()]),
                None => chunk.fill(0),
            }
        }
        Ok(())
    }

    fn write(&mut self, first: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.check(first, data.len())?;
        for (sector, chunk) in (first..).zip(data.chunks(BLOCK_BYTES)) {
            let mut bytes = [0u8; BLOCK_BYTES];
            bytes[..chunk.len()].copy_from_slice(chunk);
            // Zeros are not kept, so equal disks are equal values whatever wrote them.
            if bytes.iter().all(|&b| b == 0) {
                self.written.remove(&sector);
            } else {
                self.written.insert(sector, bytes);
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_was_written_and_zeros_elsewhere() {
        let mut disk = SparseDisk::new(8);
        disk.write(2, &[7u8; 700]).expect("in range");
        let mut back = [1u8; 4 * BLOCK_BYTES];
        disk.read(1, &mut back).expect("in range");
        assert!(back[..512].iter().all(|&b| b == 0));
        assert!(back[512..1212].iter().all(|&b| b == 7));
        assert!(back[1212..].iter().all(|&b| b == 0));
        assert_eq!(disk.write(8, &[1]), Err(DeviceError::OutOfRange));
        assert_eq!(disk.read(7, &mut [0; 1024]), Err(DeviceError::OutOfRange));
        assert_eq!(disk.write(u64::MAX, &[1]), Err(DeviceError::OutOfRange));
        disk.write(2, &[0; 1024]).expect("zeros");
        assert_eq!(disk, SparseDisk::new(8), "zeros are not kept");
    }

    #[test]
    fn the_file_and_the_digest_hold_every_byte() {
        let mut piece = SparseDisk::new(4);
        piece.write(0, &[1; 512]).expect("in range");
        piece.write(3, &[3; 512]).expect("in range");
        let mut disk = SparseDisk::new(4000);
        disk.place(10, &piece);
        disk.write(3999, &[9; 512]).expect("in range");
        let path = std::env::temp_dir().join(format!("amoeba-sparse-{}", std::process::id()));
        let file = File::create(&path).expect("temp file");
        disk.write_to(&file).expect("written");
        let bytes = std::fs::read(&path).expect("read back");
        let _ = std::fs::remove_file(&path);
        assert_eq!(bytes.len(), 4000 * 512);
        assert!(bytes[10 * 512..11 * 512].iter().all(|&b| b == 1));
        assert!(bytes[13 * 512..14 * 512].iter().all(|&b| b == 3));
        assert!(bytes[3999 * 512..].iter().all(|&b| b == 9));
        let nonzero = bytes.iter().filter(|&&b| b != 0).count();
        assert_eq!(nonzero, 3 * 512);
        assert_eq!(disk.sha256(), crate::digest::sha256_hex(&bytes));
    }
}
