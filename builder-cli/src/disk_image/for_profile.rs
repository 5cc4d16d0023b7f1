//! The disk image of one profile's build: its files gathered, its seed derived, the image made
//! in memory; what cannot fit, or cannot be built yet, told as a problem of the profile.

use thiserror::Error;

use super::bullet_volume::{NoRoom, VolumeError};
use super::contents::{self, ContentsError};
use super::seed::{SeedInputs, secret_from_environment, seed, source_commit};
use super::{DiskImage, DiskImageError, DiskRequest, make};
use crate::node_spec::NodeSpec;
use crate::problem::{Problem, ProfileProblem, ProfileProblems};
use crate::profile::Profile;
use crate::workspace::Workspace;

/// Sectors of a MiB, and what the default label keeps besides the Bullet piece: the label and
/// at most a MiB of SOAP table, plus the sectors lost rounding to whole filesystem blocks.
const MIB_SECTORS: u64 = 2048;
const OUTSIDE_VOLUME_SECTORS: u64 = 1 + 2048 + 7;
const SECTORS_PER_BLOCK: u64 = 8;

#[derive(Debug, Error)]
pub enum DiskBuildError {
    #[error(transparent)]
    Problems(#[from] ProfileProblems),
    #[error(transparent)]
    Contents(#[from] ContentsError),
    #[error("cannot make the disk image: {0}")]
    Image(DiskImageError),
}

/// The disk image of `spec`'s node, or `None` for a node without a disk.
pub fn disk_image(
    ws: &Workspace,
    profile: &Profile,
    spec: &NodeSpec,
) -> Result<Option<DiskImage>, DiskBuildError> {
    let Some(mib) = spec.disk_mib else {
        return Ok(None);
    };
    let files = contents::gather(ws, &spec.disk_contents)?;
    let commit = source_commit(ws.root());
    let secret = secret_from_environment();
    let inputs = SeedInputs {
        profile: &profile.source,
        commit: commit.as_deref(),
        secret: secret.as_deref(),
        mib,
        files: &files,
        dirs: &spec.disk_contents.dirs,
    };
    let request = DiskRequest {
        mib,
        files: &files,
        dirs: &spec.disk_contents.dirs,
        seed: seed(&inputs),
    };
    match make(&request) {
        Ok(image) => Ok(Some(image)),
        Err(DiskImageError::Volume(VolumeError::NoRoom(room))) => {
            Err(too_small(profile, mib, &room).into())
        }
        Err(error) => Err(DiskBuildError::Image(error)),
    }
}

/// The problem of files that do not fit: at the size if the profile gives one, else at the
/// first file; with the size that would hold them.
fn too_small(profile: &Profile, mib: u32, room: &NoRoom) -> ProfileProblems {
    let (line, key) = match &profile.disk_size_mib {
        Some(size) => (Some(size.line), "[disk] size_mib"),
        None => (
            profile.disk_files.first().map(|f| f.path.line),
            "[[disk.files]]",
        ),
    };
    let blocks = room.needed_blocks + room.metadata_blocks;
    let sectors = SECTORS_PER_BLOCK * blocks + OUTSIDE_VOLUME_SECTORS;
    let problem = Problem::DiskTooSmall {
        files: room.files,
        needed_kib: room.needed_bytes() / 1024,
        mib,
        holds_kib: room.free_bytes() / 1024,
        inodes: room.inodes,
        suggested_mib: sectors.div_ceil(MIB_SECTORS).max(u64::from(mib) + 1),
    };
    one_problem(profile, line, key, problem)
}

fn one_problem(
    profile: &Profile,
    line: Option<usize>,
    key: &str,
    problem: Problem,
) -> ProfileProblems {
    ProfileProblems(vec![ProfileProblem {
        file: profile.file.clone(),
        line,
        key: Some(key.to_string()),
        problem,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;
    use crate::validate::validate;

    const DISK_NODE: &str =
        "description = \"d\"\n[kernel]\ndrivers = [\"pci\", \"virtio-blk\"]\n[disk]\n";

    fn ws() -> Workspace {
        Workspace::locate().expect("the tests run inside the workspace")
    }

    /// A profile of `text` whose host files are in a scratch directory holding `files`.
    fn profile_with(name: &str, text: &str, files: &[(&str, usize)]) -> (Profile, NodeSpec) {
        let dir =
            std::env::temp_dir().join(format!("amoeba-for-profile-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        for (file, bytes) in files {
            std::fs::write(dir.join(file), vec![0x5A; *bytes]).expect("host file");
        }
        let mut profile =
            Profile::parse("x", "node-profiles/x.toml", text.as_bytes().to_vec()).expect("parses");
        profile.dir = dir;
        let spec = validate(&profile, &Catalog::builtin()).expect("valid");
        (profile, spec)
    }

    fn problems(result: Result<Option<DiskImage>, DiskBuildError>) -> String {
        match result {
            Err(DiskBuildError::Problems(problems)) => problems.to_string(),
            Err(error) => panic!("not a profile problem: {error}"),
            Ok(_) => panic!("should be refused"),
        }
    }

    #[test]
    fn two_builds_of_one_profile_give_one_image() {
        let text = format!("{DISK_NODE}size_mib = 2\n");
        let (profile, spec) = profile_with("same", &text, &[]);
        let first = disk_image(&ws(), &profile, &spec)
            .expect("made")
            .expect("a disk");
        let second = disk_image(&ws(), &profile, &spec)
            .expect("made")
            .expect("a disk");
        assert_eq!(first.disk.sha256(), second.disk.sha256());
        let other = Profile {
            source: format!("{text}# another profile\n").into_bytes(),
            ..profile.clone()
        };
        let third = disk_image(&ws(), &other, &spec)
            .expect("made")
            .expect("a disk");
        assert_ne!(third.disk.sha256(), first.disk.sha256());
        let _ = std::fs::remove_dir_all(&profile.dir);
        let no_disk = NodeSpec {
            disk_mib: None,
            ..spec
        };
        assert!(
            disk_image(&ws(), &profile, &no_disk)
                .expect("nothing")
                .is_none()
        );
    }

    #[test]
    fn more_than_the_disk_holds_is_a_problem_of_the_size() {
        let text = format!(
            "{DISK_NODE}size_mib = 1\n[[disk.files]]\npath = \"/big\"\nsource = \"big\"\n\
             [[disk.files]]\npath = \"/small\"\nsource = \"small\"\n"
        );
        let (profile, spec) = profile_with("big", &text, &[("big", 2 << 20), ("small", 10)]);
        let message = problems(disk_image(&ws(), &profile, &spec));
        let _ = std::fs::remove_dir_all(&profile.dir);
        assert!(
            message.starts_with(
                "node-profiles/x.toml:5: [disk] size_mib: 2 files take 2052 KiB of a 1 MiB disk, \
                 whose Bullet volume holds "
            ) && message.ends_with(
                "KiB and 4096 files; set `size_mib = 4` or more under [disk], or put less on it"
            ),
            "{message}"
        );
        // The size suggested holds them, and their directories.
        let text = text.replace("size_mib = 1", "size_mib = 4");
        let (profile, spec) = profile_with("fits", &text, &[("big", 2 << 20), ("small", 10)]);
        let made = disk_image(&ws(), &profile, &spec)
            .expect("made")
            .expect("a disk");
        let _ = std::fs::remove_dir_all(&profile.dir);
        assert_eq!(made.tree.files.len(), 2);
    }
}
