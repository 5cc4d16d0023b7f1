//! The GRUB outputs of an image: a bootable ISO and a PXE (network boot) tree, both loading
//! the kernel with GRUB's `multiboot2` command, and the standalone GRUB images the appliance
//! disk image and the ISO's UEFI boot carry ([`standalone`]). They need the GRUB tools of
//! Debian's grub-common, grub-pc-bin and grub-efi-amd64-bin plus xorriso; without them the
//! image is just the kernel ELF (still bootable by QEMU `-kernel`) and a warning says what to
//! install ([`crate::host_tools`]).

mod iso;
mod pxe;
pub mod standalone;

use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

pub use iso::{IsoRequest, MadeIso, make_iso};
pub use pxe::{PXE_BOOTFILE, PxeRequest, make_pxe};

pub use crate::host_tools::{GRUB_EFI_DIR, GRUB_PC_DIR, missing_reason};
use crate::host_tools::{find_in_path, tool_version};

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
    #[error("cannot make the ISO's El Torito EFI image")]
    EfiImage(#[source] crate::appliance::fat::FatError),
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
    /// [`GRUB_EFI_DIR`], when it holds the modules.
    pub efi_dir: Option<PathBuf>,
}

impl GrubTools {
    pub fn find() -> Self {
        let modules = |dir: &str| {
            let dir = Path::new(dir);
            dir.join("moddep.lst").is_file().then(|| dir.to_path_buf())
        };
        Self {
            mkimage: find_in_path("grub-mkimage"),
            mknetdir: find_in_path("grub-mknetdir"),
            xorriso: find_in_path("xorriso"),
            pc_dir: modules(GRUB_PC_DIR),
            efi_dir: modules(GRUB_EFI_DIR),
        }
    }

    /// What a UEFI GRUB image lacks, by name; empty when it can be made.
    pub fn missing_for_uefi(&self) -> Vec<&'static str> {
        lacking(&[
            (self.mkimage.is_some(), "grub-mkimage"),
            (self.efi_dir.is_some(), GRUB_EFI_DIR),
        ])
    }

    /// What the BIOS boot code of a disk image lacks, by name; empty when it can be made.
    pub fn missing_for_bios_disk(&self) -> Vec<&'static str> {
        lacking(&[
            (self.mkimage.is_some(), "grub-mkimage"),
            (self.pc_dir.is_some(), GRUB_PC_DIR),
        ])
    }

    /// What the ISO lacks, by name; empty when it can be made.
    pub fn missing_for_iso(&self) -> Vec<&'static str> {
        lacking(&[
            (self.mkimage.is_some(), "grub-mkimage"),
            (self.xorriso.is_some(), "xorriso"),
            (self.pc_dir.is_some(), GRUB_PC_DIR),
        ])
    }

    /// What the PXE tree lacks, by name; empty when it can be made.
    pub fn missing_for_pxe(&self) -> Vec<&'static str> {
        lacking(&[
            (self.mknetdir.is_some(), "grub-mknetdir"),
            (self.pc_dir.is_some(), GRUB_PC_DIR),
        ])
    }
}

/// The names of the tools not found, in the order given.
fn lacking(tools: &[(bool, &'static str)]) -> Vec<&'static str> {
    tools
        .iter()
        .filter(|(found, _)| !found)
        .map(|(_, name)| *name)
        .collect()
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
    fn missing_tools_name_the_packages() {
        let none = GrubTools {
            mkimage: None,
            mknetdir: None,
            xorriso: None,
            pc_dir: None,
            efi_dir: None,
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
            reason.contains("packages grub-common grub-pc-bin"),
            "{reason}"
        );
        assert_eq!(
            none.missing_for_uefi(),
            ["grub-mkimage", "/usr/lib/grub/x86_64-efi"]
        );
        assert!(missing_reason(&none.missing_for_uefi()).contains("grub-efi-amd64-bin"));
    }
}
