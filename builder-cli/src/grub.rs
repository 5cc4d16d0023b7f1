//! The GRUB outputs of an image: a bootable ISO and a PXE (network boot) tree, both loading
//! the kernel with GRUB's `multiboot2` command. They need the GRUB tools of Debian's
//! grub-pc-bin and grub-common plus xorriso; without them the image is just the kernel ELF
//! (still bootable by QEMU `-kernel`) and a warning says what to install.

mod iso;
mod pxe;

use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

pub use iso::{IsoRequest, make_iso};
pub use pxe::{PXE_BOOTFILE, PxeRequest, make_pxe};

/// The Debian packages that provide everything this module runs.
pub const DEBIAN_PACKAGES: &str = "grub-pc-bin grub-common xorriso mtools";
/// GRUB's BIOS platform files: modules, El Torito and hybrid boot images.
pub const GRUB_PC_DIR: &str = "/usr/lib/grub/i386-pc";

#[derive(Debug, Error)]
pub enum GrubError {
    #[error("{}", missing_reason(.0))]
    Missing(Vec<&'static str>),
    #[error("cannot run {program}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} failed ({status}):\n{output}")]
    Failed {
        program: String,
        status: std::process::ExitStatus,
        output: String,
    },
    #[error("cannot write {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The GRUB tools found on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrubTools {
    pub mkimage: Option<PathBuf>,
    pub mknetdir: Option<PathBuf>,
    pub xorriso: Option<PathBuf>,
    /// [`GRUB_PC_DIR`], when it holds the modules.
    pub pc_dir: Option<PathBuf>,
}

impl GrubTools {
    pub fn find() -> Self {
        let pc_dir = Path::new(GRUB_PC_DIR);
        Self {
            mkimage: find_in_path("grub-mkimage"),
            mknetdir: find_in_path("grub-mknetdir"),
            xorriso: find_in_path("xorriso"),
            pc_dir: pc_dir
                .join("moddep.lst")
                .is_file()
                .then(|| pc_dir.to_path_buf()),
        }
    }

    /// What the ISO lacks, by name; empty when it can be made.
    pub fn missing_for_iso(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.mkimage.is_none() {
            missing.push("grub-mkimage");
        }
        if self.xorriso.is_none() {
            missing.push("xorriso");
        }
        if self.pc_dir.is_none() {
            missing.push(GRUB_PC_DIR);
        }
        missing
    }

    /// What the PXE tree lacks, by name; empty when it can be made.
    pub fn missing_for_pxe(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.mknetdir.is_none() {
            missing.push("grub-mknetdir");
        }
        if self.pc_dir.is_none() {
            missing.push(GRUB_PC_DIR);
        }
        missing
    }
}

/// The reason recorded (and warned) when an output cannot be made.
pub fn missing_reason(missing: &[&str]) -> String {
    format!(
        "{} not found; install the Debian packages {DEBIAN_PACKAGES} (scripts/setup)",
        missing.join(", ")
    )
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Runs a tool quietly; its output is shown only when it fails.
fn run_quiet(cmd: &mut Command) -> Result<(), GrubError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let output = cmd.output().map_err(|source| GrubError::Spawn {
        program: program.clone(),
        source,
    })?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Err(GrubError::Failed {
        program,
        status: output.status,
        output: text.trim_end().to_string(),
    })
}

/// The first line of `program ARG`, minus xorriso's " : description" tail, and with the
/// program named without its directory (GRUB tools print their argv[0]: a host path).
fn tool_version(program: &Path, arg: &str) -> Option<String> {
    let output = Command::new(program).arg(arg).output().ok()?;
    version_line(&String::from_utf8_lossy(&output.stdout))
}

fn version_line(text: &str) -> Option<String> {
    let line = text.lines().next()?.split(" : ").next()?.trim();
    let (first, rest) = line.split_once(' ').unwrap_or((line, ""));
    let name = Path::new(first).file_name()?.to_string_lossy();
    let version = format!("{name} {rest}");
    let version = version.trim();
    (!version.is_empty()).then(|| version.to_string())
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> GrubError + '_ {
    move |source| GrubError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Removes `path` (file or tree) if it exists.
fn remove_any(path: &Path) -> Result<(), GrubError> {
    let result = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => Err(e),
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
    };
    result.map_err(io_error(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_carry_no_paths() {
        let grub = version_line("/usr/bin/grub-mkimage (GRUB) 2.06-13+deb12u2\n");
        assert_eq!(grub.as_deref(), Some("grub-mkimage (GRUB) 2.06-13+deb12u2"));
        let xorriso =
            version_line("xorriso 1.5.4 : RockRidge filesystem manipulator, libburnia project.\n");
        assert_eq!(xorriso.as_deref(), Some("xorriso 1.5.4"));
        assert_eq!(version_line(""), None);
    }

    #[test]
    fn missing_tools_name_the_packages() {
        let none = GrubTools {
            mkimage: None,
            mknetdir: None,
            xorriso: None,
            pc_dir: None,
        };
        assert_eq!(
            none.missing_for_iso(),
            ["grub-mkimage", "xorriso", GRUB_PC_DIR]
        );
        let reason = missing_reason(&none.missing_for_pxe());
        assert!(
            reason.starts_with("grub-mknetdir, /usr/lib/grub/i386-pc not found"),
            "{reason}"
        );
        assert!(
            reason.contains("grub-pc-bin grub-common xorriso mtools"),
            "{reason}"
        );
    }
}
