//! The host side of a node's virtio disk: a raw image file that `run` and `cluster` attach
//! (see [`crate::qemu::QemuSpec::disk`]) to nodes whose profile selects driver "virtio-blk".
//!
//! The file is made sparse (no blocks written), so a 64 MiB disk takes no space until the node
//! writes to it; it is kept across boots, since a disk is where a node's data outlives it, and
//! made anew only when asked (`--fresh-disk`). `run` gives the node `images/NAME/disk.img`,
//! `cluster` each such node its own `images/cluster/NODE.disk.img`. The image build writes no
//! disk: a disk is data of the node's runs, not part of the image.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::workspace::Workspace;

/// The disk a node with driver "virtio-blk" gets when its profile has no `[disk] size_mib`.
pub const DEFAULT_DISK_MIB: u32 = 64;
/// The smallest `[disk] size_mib`: a disk of no blocks would give the vdisk server nothing.
pub const MIN_DISK_MIB: u32 = 1;
/// The largest `[disk] size_mib` (64 GiB): the disk is a sparse file, so this bounds typos,
/// not the space used.
pub const MAX_DISK_MIB: u32 = 64 * 1024;

/// The disk of `run`, in the image directory.
pub const RUN_DISK_FILE: &str = "disk.img";

const MIB: u64 = 1 << 20;

/// The disk `run` gives the node of `image_dir` (`images/NAME/disk.img`).
pub fn run_disk(image_dir: &Path) -> PathBuf {
    image_dir.join(RUN_DISK_FILE)
}

/// The disk `cluster` gives node `node` (`images/cluster/NODE.disk.img`): one per node, as two
/// nodes writing one file would each overwrite the other's blocks.
pub fn cluster_disk(cluster_dir: &Path, node: &str) -> PathBuf {
    cluster_dir.join(format!("{node}.disk.img"))
}

/// Whether [`prepare`] made the disk or found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskState {
    /// Made now: every block reads as zeros.
    New,
    /// There already, with what earlier boots wrote.
    Kept,
}

impl DiskState {
    pub const fn word(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Kept => "kept",
        }
    }
}

/// A disk image ready to attach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disk {
    pub path: PathBuf,
    /// Its size in whole MiB: what the profile asked for, unless an older disk was kept.
    pub mib: u64,
    /// The size the profile asks for.
    pub wanted_mib: u32,
    pub state: DiskState,
}

impl Disk {
    /// The progress line: `disk images/pool/disk.img (64 MiB, new)`.
    pub fn describe(&self, ws: &Workspace) -> String {
        format!(
            "disk {} ({} MiB, {})",
            ws.display(&self.path),
            self.mib,
            self.state.word()
        )
    }

    /// A warning when a kept disk is not the size the profile now asks for: it stays as it
    /// is, since making it anew would lose what the node wrote.
    pub fn size_warning(&self) -> Option<String> {
        (self.mib != u64::from(self.wanted_mib)).then(|| {
            format!(
                "warning: the disk is {} MiB but the profile asks for {} MiB; kept as it is \
                 (--fresh-disk makes a new one of the profile's size, losing its blocks)",
                self.mib, self.wanted_mib
            )
        })
    }
}

#[derive(Debug, Error)]
pub enum DiskError {
    #[error("cannot make disk image {file}")]
    Create {
        file: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot read disk image {file}")]
    Inspect {
        file: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "{file} is in the way of the node's disk image: it is {what}, not a file; move it away"
    )]
    NotAFile { file: String, what: FileKind },
}

/// What is at a disk image's path instead of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Directory,
    Other,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Directory => "a directory",
            Self::Other => "neither a file nor a directory",
        })
    }
}

/// Makes the disk at `path` (a sparse file of `mib` MiB, its directory made if need be) when
/// there is none or `fresh` asks for a new one; keeps the one there otherwise.
pub fn prepare(ws: &Workspace, path: &Path, mib: u32, fresh: bool) -> Result<Disk, DiskError> {
    let file = || ws.display(path);
    let disk = |mib_now, state| Disk {
        path: path.to_path_buf(),
        mib: mib_now,
        wanted_mib: mib,
        state,
    };
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(DiskError::NotAFile {
                file: file(),
                what: FileKind::Directory,
            });
        }
        // A block device or a named pipe might be meant, but QEMU's raw format on a FIFO would
        // hang and on a device would write to real hardware: refused either way.
        Ok(meta) if !meta.is_file() => {
            return Err(DiskError::NotAFile {
                file: file(),
                what: FileKind::Other,
            });
        }
        Ok(meta) if !fresh => return Ok(disk(meta.len() / MIB, DiskState::Kept)),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(DiskError::Inspect {
                file: file(),
                source,
            });
        }
    }
    let create = |source| DiskError::Create {
        file: file(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(create)?;
    }
    // Truncating to nothing first drops every block an earlier disk had; set_len then only
    // records the length, so the file stays sparse.
    let made: File = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(create)?;
    made.set_len(u64::from(mib) * MIB).map_err(create)?;
    Ok(disk(u64::from(mib), DiskState::New))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workspace in a scratch directory of its own (removed by the caller), and its root.
    fn scratch(name: &str) -> (Workspace, PathBuf) {
        let dir = std::env::temp_dir().join(format!("amoeba-disk-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        // What `Workspace::at` looks for in a checkout.
        fs::create_dir_all(dir.join("amoeba-kernel")).expect("scratch directory");
        fs::write(dir.join("Cargo.toml"), "[workspace]\n").expect("workspace manifest");
        fs::write(dir.join("amoeba-kernel/Cargo.toml"), "").expect("kernel manifest");
        let ws = Workspace::at(&dir).expect("scratch workspace");
        let root = ws.root().to_path_buf();
        (ws, root)
    }

    #[test]
    fn a_missing_disk_is_made_sparse_and_then_kept() {
        let (ws, dir) = scratch("kept");
        let path = run_disk(&dir.join("images/pool"));
        let made = prepare(&ws, &path, 16, false).expect("made");
        assert_eq!(made.state, DiskState::New);
        assert_eq!(made.mib, 16);
        assert_eq!(
            made.describe(&ws),
            "disk images/pool/disk.img (16 MiB, new)"
        );
        let meta = fs::metadata(&path).expect("the disk is there");
        assert_eq!(meta.len(), 16 * MIB);
        {
            use std::os::unix::fs::MetadataExt;
            assert!(
                meta.blocks() * 512 < MIB,
                "sparse: {} blocks",
                meta.blocks()
            );
        }
        fs::write(&path, b"written by the node").expect("write");
        OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(16 * MIB))
            .expect("length back");
        let kept = prepare(&ws, &path, 16, false).expect("kept");
        assert_eq!(kept.state, DiskState::Kept);
        assert_eq!(
            kept.describe(&ws),
            "disk images/pool/disk.img (16 MiB, kept)"
        );
        assert_eq!(kept.size_warning(), None);
        assert!(
            fs::read(&path)
                .expect("read")
                .starts_with(b"written by the node")
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_fresh_disk_replaces_the_old_one() {
        let (ws, dir) = scratch("fresh");
        let path = cluster_disk(&dir.join("images/cluster"), "test-disk-2");
        assert!(path.ends_with("images/cluster/test-disk-2.disk.img"));
        prepare(&ws, &path, 4, false).expect("made");
        fs::write(&path, b"old blocks").expect("write");
        let fresh = prepare(&ws, &path, 8, true).expect("made anew");
        assert_eq!((fresh.state, fresh.mib), (DiskState::New, 8));
        let bytes = fs::read(&path).expect("read");
        assert_eq!(bytes.len() as u64, 8 * MIB);
        assert!(bytes.iter().all(|&b| b == 0), "no old blocks");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_kept_disk_of_another_size_is_kept_with_a_warning() {
        let (ws, dir) = scratch("resized");
        let path = dir.join("disk.img");
        prepare(&ws, &path, 2, false).expect("made");
        let kept = prepare(&ws, &path, 64, false).expect("kept");
        assert_eq!((kept.state, kept.mib), (DiskState::Kept, 2));
        let warning = kept.size_warning().expect("a warning");
        assert!(
            warning.contains("2 MiB")
                && warning.contains("64 MiB")
                && warning.contains("--fresh-disk"),
            "{warning}"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_directory_in_the_way_is_refused() {
        let (ws, dir) = scratch("in-the-way");
        let path = dir.join("disk.img");
        fs::create_dir_all(&path).expect("directory");
        let error = prepare(&ws, &path, 1, true).expect_err("refused");
        assert_eq!(
            error.to_string(),
            "disk.img is in the way of the node's disk image: it is a directory, not a file; \
             move it away"
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
