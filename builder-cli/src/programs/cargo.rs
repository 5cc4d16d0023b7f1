//! Building a program package with cargo: `programs/` and any package outside the repository
//! (a profile's `[[programs]] path`) are built the same way, with the link settings of an
//! Amoeba program (`build-support/freestanding_link.rs` plus `user.ld` from the directory of
//! the `amoeba-user` the package depends on).
//!
//! The link arguments go in `CARGO_ENCODED_RUSTFLAGS` with an explicit `--target`: cargo then
//! gives those flags to the target's crates only, never to build scripts or proc-macros
//! (which, host = target, they would break). They are ignored for libraries, which are not
//! linked, so only the binaries get them. A package's own path is remapped to its name, so
//! panic locations read `NAME/src/main.rs`, never a host path.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::{MetadataCommand, TargetKind};

use crate::kernel_build;
use crate::node_spec::PackageProgram;
use crate::program_sources::SourceProblem;
use crate::workspace::Workspace;

include!("../../../build-support/freestanding_link.rs");

/// The target programs are built for: the host's (the only standard library this toolchain
/// has), given explicitly for the reason in the module documentation.
pub const TARGET: &str = "x86_64-unknown-linux-gnu";
/// The runtime every program depends on.
pub const RUNTIME_PACKAGE: &str = "amoeba-user";
/// The runtime's linker script, in its package directory.
pub const LINKER_SCRIPT: &str = "user.ld";

/// The Amoeba program the Cargo package in `dir` builds: its one binary and the runtime it
/// links with. The problems name what to change.
pub fn inspect(dir: &Path) -> Result<PackageProgram, SourceProblem> {
    let shown = dir.display().to_string();
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(SourceProblem::NotAPackage { shown });
    }
    let metadata = MetadataCommand::new()
        .manifest_path(&manifest)
        .other_options(["--offline".to_string()])
        .exec()
        .or_else(|_| MetadataCommand::new().manifest_path(&manifest).exec())
        .map_err(|error| SourceProblem::UnreadablePackage {
            shown: shown.clone(),
            reason: error.to_string(),
        })?;
    let root = metadata
        .root_package()
        .ok_or_else(|| SourceProblem::UnreadablePackage {
            shown: shown.clone(),
            reason: "it is a virtual workspace; point `path` at one member's directory".into(),
        })?;
    let bins: Vec<String> = root
        .targets
        .iter()
        .filter(|target| target.kind.contains(&TargetKind::Bin))
        .map(|target| target.name.clone())
        .collect();
    let package = root.name.to_string();
    let bin = match bins.as_slice() {
        [] => return Err(SourceProblem::NoBinary { package }),
        [bin] => bin.clone(),
        _ => return Err(SourceProblem::SeveralBinaries { package, bins }),
    };
    let runtime = metadata
        .packages
        .iter()
        .find(|p| p.name.as_str() == RUNTIME_PACKAGE)
        .and_then(|p| p.manifest_path.parent())
        .ok_or_else(|| SourceProblem::NoRuntime {
            package: package.clone(),
        })?;
    Ok(PackageProgram {
        dir: root
            .manifest_path
            .parent()
            .map_or_else(|| dir.to_path_buf(), |d| d.as_std_path().to_path_buf()),
        package,
        bin,
        runtime_dir: runtime.as_std_path().to_path_buf(),
    })
}

/// One build of a program package.
#[derive(Clone, Debug)]
pub struct PackageBuild {
    /// The package's `Cargo.toml`.
    pub manifest: PathBuf,
    /// Shown in place of the package's directory in the binaries.
    pub remap_to: String,
    /// The directory of the runtime, holding [`LINKER_SCRIPT`].
    pub runtime_dir: PathBuf,
    pub target_dir: PathBuf,
}

impl PackageBuild {
    /// The cargo command building every binary of the package.
    pub fn command(&self, ws: &Workspace) -> Command {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(ws.root())
            .args(["build", "--release", "--bins", "--target", TARGET])
            .arg("--manifest-path")
            .arg(&self.manifest)
            .arg("--target-dir")
            .arg(&self.target_dir)
            .env("CARGO_ENCODED_RUSTFLAGS", self.rustflags(ws))
            .stdin(Stdio::null())
            // Progress, warnings and errors as cargo shows them, on stderr; stdout stays free
            // for results.
            .stdout(Stdio::from(std::io::stderr()))
            .stderr(Stdio::inherit());
        cmd
    }

    /// The release binary `bin` once built.
    pub fn binary(&self, bin: &str) -> PathBuf {
        self.target_dir.join(TARGET).join("release").join(bin)
    }

    /// The reproducible remaps, the package's own remap and the link arguments,
    /// 0x1f-separated.
    fn rustflags(&self, ws: &Workspace) -> OsString {
        let mut flags = kernel_build::reproducible_rustflags(ws.root());
        if let Some(dir) = self.manifest.parent().filter(|d| !d.starts_with(ws.root())) {
            flags.push("\x1f--remap-path-prefix=");
            flags.push(dir);
            flags.push("=");
            flags.push(&self.remap_to);
        }
        let script = self.runtime_dir.join(LINKER_SCRIPT);
        let args = FREESTANDING_LINK_ARGS
            .iter()
            .map(|arg| OsString::from(*arg));
        let script_arg = std::iter::once({
            let mut arg = OsString::from("-Wl,-T,");
            arg.push(&script);
            arg
        });
        for arg in args.chain(script_arg) {
            flags.push("\x1f-Clink-arg=");
            flags.push(arg);
        }
        flags
    }
}
