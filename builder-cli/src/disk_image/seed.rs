//! The seed of a built disk image's randomness ([`super::entropy`]): SHA-256 over what the
//! image is made of (the profile's bytes, the commit it is built from, its size, every file's
//! path and bytes, every directory), so one profile at one commit gives one image.
//!
//! Why a derived secret is no weaker than a random one against whoever holds the image: every
//! secret the seed gives (the vdisk server's port and its pieces' checks in the label, the
//! Bullet server's port and super check in its superblock, each file's check in its inode
//! record) is written on the disk in the clear, as it must be for the servers to find it at
//! boot; whoever can read the image reads them off it, however they were made. It does differ
//! against someone who has the inputs but not the image: the profile and the commit are in
//! the repository, so they could compute the capabilities. Hence the seed also takes the
//! environment's `AMOEBA_DISK_SECRET` when it is set: an image for real use is built with a
//! secret of its owner's and stays reproducible for whoever knows that secret.

use std::path::Path;
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use super::tree::DiskPath;

/// The environment variable whose value, when set, goes into every disk image's seed.
pub const SECRET_VARIABLE: &str = "AMOEBA_DISK_SECRET";

/// Everything a disk image's seed is a digest of.
#[derive(Clone, Copy, Debug)]
pub struct SeedInputs<'a> {
    pub profile: &'a [u8],
    /// The commit of the sources (`git rev-parse HEAD`), when there is one.
    pub commit: Option<&'a str>,
    /// [`SECRET_VARIABLE`]'s value, when set.
    pub secret: Option<&'a [u8]>,
    pub mib: u32,
    pub files: &'a [(DiskPath, Vec<u8>)],
    pub dirs: &'a [DiskPath],
}

/// The seed: each input length-prefixed, so no two different inputs give the same bytes.
pub fn seed(inputs: &SeedInputs<'_>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(b"amoeba-build disk image 1");
    field(inputs.profile);
    field(inputs.commit.unwrap_or("").as_bytes());
    field(inputs.secret.unwrap_or(b""));
    field(&inputs.mib.to_le_bytes());
    for (path, bytes) in inputs.files {
        field(path.to_string().as_bytes());
        field(bytes);
    }
    for dir in inputs.dirs {
        field(dir.to_string().as_bytes());
    }
    hasher.finalize().into()
}

/// The commit checked out in `root`, or `None` outside a git checkout (or without git).
pub fn source_commit(root: &Path) -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let commit = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !commit.trim().is_empty()).then(|| commit.trim().to_string())
}

/// [`SECRET_VARIABLE`]'s value, when set and not empty.
pub fn secret_from_environment() -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    let value = std::env::var_os(SECRET_VARIABLE)?.into_vec();
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs<'a>(files: &'a [(DiskPath, Vec<u8>)]) -> SeedInputs<'a> {
        SeedInputs {
            profile: b"description = \"d\"\n",
            commit: Some("abc"),
            secret: None,
            mib: 16,
            files,
            dirs: &[],
        }
    }

    #[test]
    fn every_input_changes_the_seed() {
        let path = |text| DiskPath::parse(text).expect("valid");
        let files = [(path("/a"), b"x".to_vec())];
        let base = seed(&inputs(&files));
        assert_eq!(seed(&inputs(&files)), base);
        let others = [
            SeedInputs {
                profile: b"description = \"e\"\n",
                ..inputs(&files)
            },
            SeedInputs {
                commit: Some("abd"),
                ..inputs(&files)
            },
            SeedInputs {
                commit: None,
                ..inputs(&files)
            },
            SeedInputs {
                secret: Some(b"s"),
                ..inputs(&files)
            },
            SeedInputs {
                mib: 17,
                ..inputs(&files)
            },
            SeedInputs {
                dirs: &[path("/home")],
                ..inputs(&files)
            },
        ];
        for other in others {
            assert_ne!(seed(&other), base, "{other:?}");
        }
        let moved = [(path("/b"), b"x".to_vec())];
        assert_ne!(seed(&inputs(&moved)), base);
        let changed = [(path("/a"), b"y".to_vec())];
        assert_ne!(seed(&inputs(&changed)), base);
    }

    #[test]
    fn this_checkout_has_a_commit() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let commit = source_commit(&root).expect("the tests run in a git checkout");
        assert_eq!(commit.len(), 40, "{commit}");
        assert_eq!(source_commit(Path::new("/")), None);
    }
}
