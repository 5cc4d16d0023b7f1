//! SHA-256 digests of the outputs, for the manifest: of one file, and of a directory tree.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Size and digest of one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileDigest {
    pub size: u64,
    pub sha256: String,
}

pub fn file_digest(path: &Path) -> io::Result<FileDigest> {
    let bytes = std::fs::read(path)?;
    Ok(FileDigest {
        size: bytes.len() as u64,
        sha256: sha256_hex(&bytes),
    })
}

/// Digest of a directory tree's regular files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TreeDigest {
    pub files: usize,
    /// Total bytes of all files.
    pub size: u64,
    /// SHA-256 over, for each file in byte order of its `/`-separated relative path: the
    /// path, a 0 byte, the content length as a little-endian u64, the content. Names and
    /// contents count, timestamps and permissions do not.
    pub sha256: String,
}

pub fn tree_digest(root: &Path) -> io::Result<TreeDigest> {
    let mut files = Vec::new();
    collect_files(root, Path::new(""), &mut files)?;
    let mut paths: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|rel| (rel_string(&rel), root.join(&rel)))
        .collect();
    paths.sort();
    let mut hasher = Sha256::new();
    let mut size = 0;
    for (rel, path) in &paths {
        let bytes = std::fs::read(path)?;
        hasher.update(rel.as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
        size += bytes.len() as u64;
    }
    Ok(TreeDigest {
        files: paths.len(),
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}

fn collect_files(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(root.join(rel))? {
        let entry = entry?;
        let rel = rel.join(entry.file_name());
        let meta = std::fs::metadata(root.join(&rel))?;
        if meta.is_dir() {
            collect_files(root, &rel, out)?;
        } else if meta.is_file() {
            out.push(rel);
        }
    }
    Ok(())
}

fn rel_string(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sha256() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn tree_digest_depends_on_names_and_contents_only() {
        let dir = std::env::temp_dir().join(format!("amoeba-digest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a/b")).expect("temp dir");
        std::fs::write(dir.join("a/b/x"), b"xx").expect("write");
        std::fs::write(dir.join("top"), b"t").expect("write");
        let first = tree_digest(&dir).expect("digest");
        assert_eq!((first.files, first.size), (2, 3));
        std::fs::write(dir.join("top"), b"t").expect("rewrite with a new mtime");
        assert_eq!(tree_digest(&dir).expect("digest"), first);
        std::fs::rename(dir.join("top"), dir.join("top2")).expect("rename");
        assert_ne!(tree_digest(&dir).expect("digest").sha256, first.sha256);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
