//! Finding the project's workspace: profiles, templates, the kernel crate and the output
//! directories are all found relative to its root.
//!
//! [`Workspace::locate`] tries, in order:
//! 1. `AMOEBA_WORKSPACE`, when set: an explicit answer always wins (scripts, odd layouts);
//! 2. the current directory and its ancestors: the checkout you are standing in, so a binary
//!    built from one checkout works on another, like `cargo` itself;
//! 3. the workspace this binary was compiled in (`CARGO_MANIFEST_DIR/..` at compile time), so
//!    `amoeba-build` and the tests work from any directory as long as that checkout exists.
//!
//! A directory counts as the root when its `Cargo.toml` has a `[workspace]` table and it holds
//! `amoeba-kernel/Cargo.toml`: another project's workspace further up is never mistaken for ours.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Names the environment variable that overrides workspace discovery.
pub const WORKSPACE_ENV: &str = "AMOEBA_WORKSPACE";

/// The compile-time guess, used last.
const COMPILED_IN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

#[derive(Debug, Error)]
pub enum WorkspaceError {
    #[error(
        "{WORKSPACE_ENV}={0} is not the amoeba workspace (no Cargo.toml with [workspace] and amoeba-kernel/ there)"
    )]
    BadOverride(PathBuf),
    #[error(
        "cannot find the amoeba workspace: run amoeba-build inside the checkout or set {WORKSPACE_ENV}"
    )]
    NotFound,
}

/// The root of the amoeba Cargo workspace and the well-known places inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// Finds the workspace as described in the module documentation.
    pub fn locate() -> Result<Self, WorkspaceError> {
        if let Some(dir) = std::env::var_os(WORKSPACE_ENV) {
            let dir = PathBuf::from(dir);
            return Self::at(&dir).ok_or(WorkspaceError::BadOverride(dir));
        }
        let from_cwd = std::env::current_dir()
            .ok()
            .and_then(|cwd| cwd.ancestors().find_map(Self::at));
        from_cwd
            .or_else(|| Self::at(Path::new(COMPILED_IN)))
            .ok_or(WorkspaceError::NotFound)
    }

    /// The workspace rooted at `dir`, if `dir` is one.
    pub fn at(dir: &Path) -> Option<Self> {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        let table: toml::Table = toml::from_str(&manifest).ok()?;
        let is_ours = table.contains_key("workspace")
            && dir.join("amoeba-kernel").join("Cargo.toml").is_file();
        // Canonical, so that relative paths shown to users are computed against one spelling.
        is_ours
            .then(|| dir.canonicalize().ok())
            .flatten()
            .map(|root| Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn profiles_dir(&self) -> PathBuf {
        self.root.join("node-profiles")
    }

    pub fn templates_dir(&self) -> PathBuf {
        self.root.join("templates")
    }

    /// `images/NAME/` for a profile.
    pub fn image_dir(&self, profile: &str) -> PathBuf {
        self.root.join("images").join(profile)
    }

    /// The Cargo target directory of one kernel build (one per profile: features differ).
    pub fn kernel_target_dir(&self, profile: &str) -> PathBuf {
        self.root.join("target").join("kernel").join(profile)
    }

    /// The user programs' crate, `programs/`.
    pub fn programs_dir(&self) -> PathBuf {
        self.root.join("programs")
    }

    /// `images/programs/`: every program's process image and their index.
    pub fn program_images_dir(&self) -> PathBuf {
        self.root.join("images").join("programs")
    }

    /// The Cargo target directory of the programs, shared by every profile.
    pub fn programs_target_dir(&self) -> PathBuf {
        self.root.join("target").join("programs")
    }

    /// A path as users should see it: relative to the root when inside the workspace, so
    /// messages and outputs carry no host-specific prefix.
    pub fn display(&self, path: &Path) -> String {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        match absolute.strip_prefix(&self.root) {
            Ok(relative) => relative.display().to_string(),
            Err(_) => path.display().to_string(),
        }
    }
}

/// Creates `dir` if need be and locks the file `name` in it, held until the file is dropped
/// (the OS releases it if its holder dies): how writers of one output directory take turns.
pub fn lock_in(dir: &Path, name: &str) -> std::io::Result<std::fs::File> {
    std::fs::create_dir_all(dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(name))?;
    file.lock()?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_workspace_is_found() {
        let ws = Workspace::at(Path::new(COMPILED_IN)).expect("this checkout is a workspace");
        assert!(ws.profiles_dir().ends_with("node-profiles"));
        assert!(Workspace::at(&ws.root().join("builder-cli")).is_none());
    }

    #[test]
    fn paths_inside_are_shown_relative() {
        let ws = Workspace::at(Path::new(COMPILED_IN)).expect("this checkout is a workspace");
        let shown = ws.display(&ws.profiles_dir().join("pool.toml"));
        assert_eq!(shown, "node-profiles/pool.toml");
        assert_eq!(
            ws.display(Path::new("/elsewhere/x.toml")),
            "/elsewhere/x.toml"
        );
    }
}
