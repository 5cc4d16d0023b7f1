//! The host side of a node's virtio disk: raw image files that `run` and `cluster` attach
//! (see [`crate::qemu::QemuSpec::disk`]) to nodes whose profile selects driver "virtio-blk".
//!
//! The build writes the disk image as built, `images/NAME/disk.img` (`crate::disk_image`),
//! and never changes it after: it is an output, with its digest in the manifest. A node boots
//! on a copy, since a disk is where a node's data outlives it: `run` gives the node
//! `images/NAME/run.disk.img`, `cluster` each such node its own `images/cluster/NODE.disk.img`.
//! A copy is made from the built image the first time, kept across boots after, and made anew
//! only when asked (`--fresh-disk`). Copies are sparse: only the blocks the image has written
//! take space. Blank disks ([`prepare`]) are for tests of a node's first boot on an empty disk.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
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

/// The disk of `run`, in the image directory: a copy of the built `disk.img`.
pub const RUN_DISK_FILE: &str = "run.disk.img";

const MIB: u64 = 1 << 20;
/// What a copy reads at a time, and the granule of the blocks it leaves unwritten.
const COPY_CHUNK: usize = 1 << 20;
const COPY_BLOCK: usize = 4096;

/// The boot disk of `run --boot disk` and `run --boot qcow2`, in the image directory: a copy
/// of `NAME.img` or `NAME.qcow2`, kept like `run.disk.img` (its Amoeba partition is the node's
/// disk).
pub const RUN_IMAGE_FILE: &str = "run.img";
pub const RUN_QCOW2_FILE: &str = "run.qcow2";

/// The boot disk `run` gives the node of `image_dir` for a disk (or `qcow2`) boot.
pub fn run_boot_disk(image_dir: &Path, qcow2: bool) -> PathBuf {
    image_dir.join(if qcow2 {
        RUN_QCOW2_FILE
    } else {
        RUN_IMAGE_FILE
    })
}

/// The disk `run` gives the node of `image_dir` (`images/NAME/run.disk.img`).
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
    /// A kept copy whose label (sector 0) is not the built image's: made from an older build.
    pub from_older_image: bool,
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

    /// A warning when a kept copy comes from an older build of the disk image: it stays as
    /// it is, since making it anew would lose what the node wrote.
    pub fn older_image_warning(&self) -> Option<String> {
        self.from_older_image.then(|| {
            "warning: the disk is a copy of an older build's disk image (its label differs); \
             kept as it is (--fresh-disk makes a new copy of this build's, losing its blocks)"
                .to_string()
        })
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
    #[error("cannot copy the built disk image {file}")]
    ReadBuilt {
        file: String,
        #[source]
        source: io::Error,
    },
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

/// Makes a blank disk at `path` (a sparse file of `mib` MiB, its directory made if need be)
/// when there is none or `fresh` asks for a new one; keeps the one there otherwise.
pub fn prepare(ws: &Workspace, path: &Path, mib: u32, fresh: bool) -> Result<Disk, DiskError> {
    if let Some(kept) = kept(ws, path, u64::from(mib) * MIB, fresh)? {
        return Ok(kept);
    }
    let made = create(ws, path)?;
    made.set_len(u64::from(mib) * MIB)
        .map_err(create_error(ws, path))?;
    Ok(new_disk(path, u64::from(mib) * MIB))
}

/// Makes a copy of the built disk image `built` at `path` when there is none or `fresh` asks
/// for a new one; keeps the one there otherwise (saying whether it comes from another build).
pub fn prepare_from(
    ws: &Workspace,
    path: &Path,
    built: &Path,
    fresh: bool,
) -> Result<Disk, DiskError> {
    let read_error = |source| DiskError::ReadBuilt {
        file: ws.display(built),
        source,
    };
    let mut source = File::open(built).map_err(read_error)?;
    let bytes = source.metadata().map_err(read_error)?.len();
    if let Some(kept) = kept(ws, path, bytes, fresh)? {
        let older = first_sector(path) != first_sector(built);
        return Ok(Disk {
            from_older_image: older,
            ..kept
        });
    }
    let made = create(ws, path)?;
    made.set_len(bytes).map_err(create_error(ws, path))?;
    copy_sparse(&mut source, &made).map_err(|error| match error {
        CopyError::Read(source) => read_error(source),
        CopyError::Write(source) => create_error(ws, path)(source),
    })?;
    Ok(new_disk(path, bytes))
}

fn new_disk(path: &Path, bytes: u64) -> Disk {
    Disk {
        path: path.to_path_buf(),
        mib: bytes / MIB,
        wanted_mib: u32::try_from(bytes / MIB).unwrap_or(u32::MAX),
        state: DiskState::New,
        from_older_image: false,
    }
}

/// The disk already at `path`, unless `fresh` asks for a new one; refuses what is not a file.
fn kept(
    ws: &Workspace,
    path: &Path,
    wanted_bytes: u64,
    fresh: bool,
) -> Result<Option<Disk>, DiskError> {
    let file = || ws.display(path);
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(DiskError::NotAFile {
            file: file(),
            what: FileKind::Directory,
        }),
        // A block device or a named pipe might be meant, but QEMU's raw format on a FIFO would
        // hang and on a device would write to real hardware: refused either way.
        Ok(meta) if !meta.is_file() => Err(DiskError::NotAFile {
            file: file(),
            what: FileKind::Other,
        }),
        Ok(meta) if !fresh => Ok(Some(Disk {
            path: path.to_path_buf(),
            mib: meta.len() / MIB,
            wanted_mib: u32::try_from(wanted_bytes / MIB).unwrap_or(u32::MAX),
            state: DiskState::Kept,
            from_older_image: false,
        })),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(DiskError::Inspect {
            file: file(),
            source,
        }),
    }
}

fn create_error<'a>(ws: &'a Workspace, path: &'a Path) -> impl FnOnce(io::Error) -> DiskError + 'a {
    move |source| DiskError::Create {
        file: ws.display(path),
        source,
    }
}

/// An empty file at `path`, its directory made if need be. Truncating to nothing first drops
/// every block an earlier disk had, so the file stays sparse as it grows.
fn create(ws: &Workspace, path: &Path) -> Result<File, DiskError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(create_error(ws, path))?;
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(create_error(ws, path))
}

/// A file's first sector, if it can be read.
fn first_sector(path: &Path) -> Option<[u8; 512]> {
    let mut sector = [0u8; 512];
    File::open(path).ok()?.read_exact(&mut sector).ok()?;
    Some(sector)
}

enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

/// Copies `source` into `target` (already of its length), writing only the blocks that are
/// not all zeros, so the copy is as sparse as the image.
fn copy_sparse(source: &mut File, target: &File) -> Result<(), CopyError> {
    let mut chunk = vec![0u8; COPY_CHUNK];
    let mut at = 0u64;
    loop {
        let got = read_full(source, &mut chunk).map_err(CopyError::Read)?;
        if got == 0 {
            return Ok(());
        }
        for (index, block) in chunk[..got].chunks(COPY_BLOCK).enumerate() {
            if block.iter().any(|&b| b != 0) {
                let offset = at + (index * COPY_BLOCK) as u64;
                target
                    .write_all_at(block, offset)
                    .map_err(CopyError::Write)?;
            }
        }
        at += got as u64;
    }
}

/// Fills `buffer` as far as the file goes; the bytes read.
fn read_full(file: &mut File, buffer: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buffer.len() {
        match file.read(&mut buffer[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
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
            "disk images/pool/run.disk.img (16 MiB, new)"
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
            "disk images/pool/run.disk.img (16 MiB, kept)"
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

    /// A built image of `mib` MiB with a few non-zero blocks, its label sector `label`.
    fn built_image(dir: &Path, mib: u64, label: u8) -> PathBuf {
        let path = dir.join("images/pool/disk.img");
        fs::create_dir_all(path.parent().expect("a directory")).expect("image dir");
        let file = File::create(&path).expect("image");
        file.set_len(mib * MIB).expect("length");
        file.write_all_at(&[label; 512], 0).expect("label");
        file.write_all_at(&[5; 100], 3 * MIB + 7).expect("data");
        path
    }

    #[test]
    fn a_copy_of_the_built_image_is_sparse_and_then_kept() {
        let (ws, dir) = scratch("copied");
        let built = built_image(&dir, 8, 1);
        let path = run_disk(&dir.join("images/pool"));
        let made = prepare_from(&ws, &path, &built, false).expect("copied");
        assert_eq!(
            (made.state, made.mib, made.wanted_mib),
            (DiskState::New, 8, 8)
        );
        assert_eq!(
            fs::read(&path).expect("copy"),
            fs::read(&built).expect("image")
        );
        {
            use std::os::unix::fs::MetadataExt;
            let blocks = fs::metadata(&path).expect("copy").blocks();
            assert!(blocks * 512 < MIB, "sparse: {blocks} blocks");
        }
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.write_all_at(b"the node's", 2 * MIB))
            .expect("written by the node");
        let kept = prepare_from(&ws, &path, &built, false).expect("kept");
        assert_eq!(kept.state, DiskState::Kept);
        assert_eq!(
            (kept.size_warning(), kept.older_image_warning()),
            (None, None)
        );
        // A newer build: the copy stays, with a warning; --fresh-disk copies the new one.
        let built = built_image(&dir, 8, 2);
        let kept = prepare_from(&ws, &path, &built, false).expect("kept");
        let warning = kept.older_image_warning().expect("a warning");
        assert!(warning.contains("--fresh-disk"), "{warning}");
        assert!(fs::read(&path).expect("copy")[2 * MIB as usize..].starts_with(b"the node's"));
        let fresh = prepare_from(&ws, &path, &built, true).expect("copied anew");
        assert_eq!(fresh.state, DiskState::New);
        assert_eq!(
            fs::read(&path).expect("copy"),
            fs::read(&built).expect("image")
        );
        let missing = prepare_from(&ws, &path, &dir.join("none.img"), true);
        assert!(
            matches!(missing, Err(DiskError::ReadBuilt { .. })),
            "{missing:?}"
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
