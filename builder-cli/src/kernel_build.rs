//! Building `amoeba-kernel` with cargo, one target directory per profile (feature sets
//! differ, and sharing a directory would rebuild the kernel at every switch).
//!
//! The kernel's rustc flags are fixed here rather than taken from `RUSTFLAGS`: flags from the
//! environment are meant for host builds (`-D warnings` in CI, `-C target-cpu=native`) and
//! would make the same profile give different images on different machines. The only flags
//! are `--remap-path-prefix` for the workspace and `CARGO_HOME`, so panic locations and other
//! embedded paths read `./amoeba-kernel/...` or `cargo-home/registry/...`, never a host path.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use thiserror::Error;

use crate::workspace::Workspace;

/// The kernel package and its two binaries.
pub const KERNEL_PACKAGE: &str = "amoeba-kernel";
pub const KERNEL_BIN: &str = "amoeba-kernel";
pub const NULL_KERNEL_BIN: &str = "null-kernel";
/// `target/kernel/<this>/` holds the null kernel's build.
pub const NULL_KERNEL_TARGET: &str = "null";
/// Names the boot table file for the kernel's build script.
pub const BOOT_PROGRAMS_ENV: &str = "AMOEBA_BOOT_PROGRAMS";

#[derive(Debug, Error)]
pub enum KernelBuildError {
    #[error("cannot run `{program}` (is Rust installed? see scripts/setup)")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}); cargo's messages are above")]
    Failed {
        command: String,
        status: std::process::ExitStatus,
    },
    #[error("cargo succeeded but {path} is missing")]
    MissingOutput { path: String },
    #[error("`rustc --version` gave no usable answer")]
    NoToolchainVersion,
}

/// One cargo invocation: which binary, with which features, for which profile and node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelRequest {
    pub bin: &'static str,
    pub features: Vec<String>,
    /// Names `target/kernel/<target>/`.
    pub target: String,
    /// Baked into the kernel by its build script (`AMOEBA_PROFILE`, `AMOEBA_NODE`).
    pub profile: String,
    pub node: String,
    /// The boot table file to embed (`AMOEBA_BOOT_PROGRAMS`, an absolute path); none: an
    /// empty table.
    pub boot_programs: Option<PathBuf>,
}

impl KernelRequest {
    /// The release binary cargo writes for this request.
    pub fn output(&self, ws: &Workspace) -> PathBuf {
        ws.kernel_target_dir(&self.target)
            .join("release")
            .join(self.bin)
    }
}

/// The cargo command for `request`, run from the workspace root.
pub fn cargo_command(ws: &Workspace, request: &KernelRequest) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(ws.root()).args([
        "build",
        "--release",
        "-p",
        KERNEL_PACKAGE,
        "--bin",
        request.bin,
        "--no-default-features",
    ]);
    if !request.features.is_empty() {
        cmd.arg("--features").arg(request.features.join(","));
    }
    cmd.arg("--target-dir")
        .arg(Path::new("target").join("kernel").join(&request.target));
    match &request.boot_programs {
        Some(table) => cmd.env(BOOT_PROGRAMS_ENV, table),
        None => cmd.env_remove(BOOT_PROGRAMS_ENV),
    };
    cmd.env("AMOEBA_PROFILE", &request.profile)
        .env("AMOEBA_NODE", &request.node)
        .env("CARGO_ENCODED_RUSTFLAGS", reproducible_rustflags(ws.root()))
        .stdin(Stdio::null())
        // Progress and warnings all go to stderr; stdout stays free for results.
        .stdout(Stdio::from(std::io::stderr()))
        .stderr(Stdio::inherit());
    cmd
}

/// Runs cargo for `request`; returns the binary it built.
pub fn build(ws: &Workspace, request: &KernelRequest) -> Result<PathBuf, KernelBuildError> {
    run_cargo(&mut cargo_command(ws, request))?;
    let output = request.output(ws);
    if !output.is_file() {
        return Err(KernelBuildError::MissingOutput {
            path: ws.display(&output),
        });
    }
    Ok(output)
}

/// Runs a cargo command to its end; an error says how it failed.
pub fn run_cargo(cmd: &mut Command) -> Result<(), KernelBuildError> {
    let status = cmd.status().map_err(|source| KernelBuildError::Spawn {
        program: cmd.get_program().to_string_lossy().into_owned(),
        source,
    })?;
    if !status.success() {
        return Err(KernelBuildError::Failed {
            command: crate::messages::describe_command(cmd),
            status,
        });
    }
    Ok(())
}

/// Builds the baseline kernel that exits at its first instruction (for boot benchmarks);
/// returns `target/kernel/null/release/null-kernel`.
pub fn build_null_kernel(ws: &Workspace) -> Result<PathBuf, KernelBuildError> {
    build(ws, &null_kernel_request())
}

pub fn null_kernel_request() -> KernelRequest {
    KernelRequest {
        bin: NULL_KERNEL_BIN,
        features: Vec::new(),
        target: NULL_KERNEL_TARGET.into(),
        profile: NULL_KERNEL_TARGET.into(),
        node: NULL_KERNEL_TARGET.into(),
        boot_programs: None,
    }
}

/// `rustc --version`, asked in the workspace so a toolchain file there is honoured.
pub fn toolchain_version(ws: &Workspace) -> Result<String, KernelBuildError> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc)
        .arg("--version")
        .current_dir(ws.root())
        .output()
        .map_err(|source| KernelBuildError::Spawn {
            program: rustc.to_string_lossy().into_owned(),
            source,
        })?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || version.is_empty() {
        return Err(KernelBuildError::NoToolchainVersion);
    }
    Ok(version)
}

/// The rustc flags of every build whose output goes into an image (kernel, programs): only
/// path remaps, see the module documentation.
pub fn reproducible_rustflags(root: &Path) -> OsString {
    encoded_rustflags(root, cargo_home().as_deref())
}

fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
}

/// `--remap-path-prefix` flags, 0x1f-separated as `CARGO_ENCODED_RUSTFLAGS` wants them.
/// rustc applies the last matching prefix, so longer (more specific) prefixes go last: a
/// `CARGO_HOME` inside the workspace still reads `cargo-home/...`.
pub fn encoded_rustflags(root: &Path, cargo_home: Option<&Path>) -> OsString {
    let mut maps: Vec<(PathBuf, &str)> = vec![(root.to_path_buf(), ".")];
    if let Some(home) = cargo_home {
        maps.push((home.to_path_buf(), "cargo-home"));
        if let Ok(canonical) = home.canonicalize() {
            maps.push((canonical, "cargo-home"));
        }
    }
    maps.sort_by_key(|(from, _)| from.as_os_str().len());
    maps.dedup();
    let mut flags = OsString::new();
    for (i, (from, to)) in maps.iter().enumerate() {
        if i > 0 {
            flags.push("\x1f");
        }
        flags.push("--remap-path-prefix=");
        flags.push(from);
        flags.push("=");
        flags.push(to);
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws() -> Workspace {
        Workspace::at(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))).expect("workspace")
    }

    fn args(cmd: &Command) -> Vec<String> {
        cmd.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    fn env(cmd: &Command, key: &str) -> Option<String> {
        cmd.get_envs()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v)
            .map(|v| v.to_string_lossy().into_owned())
    }

    #[test]
    fn profile_build_command() {
        let request = KernelRequest {
            bin: KERNEL_BIN,
            features: vec!["driver-pci".into(), "driver-rtc".into()],
            target: "pool".into(),
            profile: "pool".into(),
            node: "pool-1".into(),
            boot_programs: Some(PathBuf::from("/w/target/kernel/pool/boot-programs.bin")),
        };
        let cmd = cargo_command(&ws(), &request);
        assert_eq!(
            args(&cmd),
            [
                "build",
                "--release",
                "-p",
                "amoeba-kernel",
                "--bin",
                "amoeba-kernel",
                "--no-default-features",
                "--features",
                "driver-pci,driver-rtc",
                "--target-dir",
                "target/kernel/pool",
            ]
        );
        assert_eq!(cmd.get_current_dir(), Some(ws().root()));
        assert_eq!(env(&cmd, "AMOEBA_PROFILE").as_deref(), Some("pool"));
        assert_eq!(env(&cmd, "AMOEBA_NODE").as_deref(), Some("pool-1"));
        assert_eq!(
            env(&cmd, BOOT_PROGRAMS_ENV).as_deref(),
            Some("/w/target/kernel/pool/boot-programs.bin")
        );
        let flags = env(&cmd, "CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
        assert!(flags.starts_with("--remap-path-prefix="), "{flags}");
        assert!(
            request
                .output(&ws())
                .ends_with("target/kernel/pool/release/amoeba-kernel")
        );
    }

    #[test]
    fn no_features_means_no_features_flag() {
        let cmd = cargo_command(&ws(), &null_kernel_request());
        assert!(
            cmd.get_envs()
                .any(|(k, v)| k == BOOT_PROGRAMS_ENV && v.is_none()),
            "no boot table: the variable is removed, not inherited"
        );
        let args = args(&cmd);
        assert!(!args.contains(&"--features".to_string()));
        assert!(args.windows(2).any(|w| w == ["--bin", "null-kernel"]));
        assert!(
            args.windows(2)
                .any(|w| w == ["--target-dir", "target/kernel/null"])
        );
    }

    #[test]
    fn remaps_put_the_more_specific_prefix_last() {
        let flags = encoded_rustflags(Path::new("/w"), Some(Path::new("/w/.cargo")));
        let flags = flags.to_string_lossy().into_owned();
        let parts: Vec<&str> = flags.split('\x1f').collect();
        assert_eq!(
            parts,
            [
                "--remap-path-prefix=/w=.",
                "--remap-path-prefix=/w/.cargo=cargo-home"
            ]
        );
    }
}
