//! Standalone GRUB images made by grub-mkimage: every module the boot needs linked in, and an
//! embedded config that finds the file system holding `/boot/grub/grub.cfg` by its UUID and
//! sets `prefix` there, so GRUB's `normal` module (linked in) reads that grub.cfg and never
//! loads a module from disk. Two platforms:
//! - `x86_64-efi`: a PE32+ UEFI application, the `/EFI/BOOT/BOOTX64.EFI` that UEFI firmware
//!   starts from a FAT file system when no boot entry names another (UEFI 2.10, 3.5.1.1
//!   "Removable Media Boot Behavior"), on the disk image's EFI system partition and in the
//!   ISO's El Torito EFI image;
//! - `i386-pc`: the BIOS core.img (diskboot.img, then the compressed kernel and modules) that
//!   the disk image embeds after its MBR (`crate::appliance::bios_boot`).
//!
//! grub-mkimage's output depends only on its inputs (GRUB 2.06 writes no dates into either
//! format), so these images are reproducible as they come.

use std::fs;
use std::path::Path;
use std::process::Command;

use super::{GrubError, GrubTools, io_error, run_quiet};

/// What `grub.cfg` (templates/grub-*.cfg) runs: menus, the serial console, Multiboot 2.
const CONFIG_MODULES: [&str; 7] = [
    "normal",
    "search",
    "search_fs_uuid",
    "serial",
    "terminal",
    "multiboot2",
    "boot",
];
/// The disk image's file systems: an MBR and FAT.
pub const DISK_MODULES: [&str; 2] = ["part_msdos", "fat"];
/// The ISO's: ISO 9660, seen whole or through the hybrid MBR and GPT xorriso writes.
pub const ISO_MODULES: [&str; 3] = ["iso9660", "part_msdos", "part_gpt"];

/// The platform of a standalone image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// `BOOTX64.EFI`.
    Efi,
    /// The BIOS disk core image (with `biosdisk`, GRUB's INT 13h disk driver).
    BiosDisk,
}

/// The embedded config: find the file system whose UUID is `uuid` (GRUB's spelling: a FAT
/// volume id as `XXXX-XXXX`, an ISO's modification date as `YYYY-MM-DD-hh-mm-ss-00`), then
/// `normal` reads `$prefix/grub.cfg` there.
pub fn search_config(uuid: &str) -> String {
    format!("search --no-floppy --fs-uuid --set=root {uuid}\nset prefix=($root)/boot/grub\n")
}

/// Makes a standalone image for `platform` with `fs_modules` and the embedded `config`,
/// using `scratch` (a directory, made if need be) for grub-mkimage's files; its bytes.
pub fn make_image(
    tools: &GrubTools,
    platform: Platform,
    fs_modules: &[&str],
    config: &str,
    scratch: &Path,
) -> Result<Vec<u8>, GrubError> {
    let (format, dir, missing) = match platform {
        Platform::Efi => ("x86_64-efi", &tools.efi_dir, tools.missing_for_uefi()),
        Platform::BiosDisk => ("i386-pc", &tools.pc_dir, tools.missing_for_bios_disk()),
    };
    let (Some(mkimage), Some(dir)) = (&tools.mkimage, dir) else {
        return Err(GrubError::Missing(missing));
    };
    fs::create_dir_all(scratch).map_err(io_error(scratch))?;
    let embedded = scratch.join(format!("{format}.cfg"));
    fs::write(&embedded, config).map_err(io_error(&embedded))?;
    let output = scratch.join(format!("{format}.img"));
    let mut cmd = Command::new(mkimage);
    cmd.arg("--directory")
        .arg(dir)
        .args(["--prefix", "/boot/grub", "--format", format])
        .arg("--config")
        .arg(&embedded)
        .arg("--output")
        .arg(&output);
    match platform {
        Platform::BiosDisk => cmd.arg("biosdisk"),
        // UEFI's Graphics Output Protocol: without a video driver GRUB's multiboot2 prints
        // "error: no suitable video mode found" on UEFI (and boots on in text mode).
        Platform::Efi => cmd.arg("efi_gop"),
    };
    cmd.args(fs_modules).args(CONFIG_MODULES);
    run_quiet(&mut cmd)?;
    fs::read(&output).map_err(io_error(&output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_finds_grub_cfg_by_uuid() {
        assert_eq!(
            search_config("1A2B-3C4D"),
            "search --no-floppy --fs-uuid --set=root 1A2B-3C4D\nset prefix=($root)/boot/grub\n"
        );
    }

    #[test]
    fn missing_tools_are_named() {
        let none = GrubTools {
            mkimage: None,
            mknetdir: None,
            xorriso: None,
            pc_dir: None,
            efi_dir: None,
        };
        let scratch = std::env::temp_dir().join("amoeba-standalone-none");
        let err = make_image(&none, Platform::Efi, &DISK_MODULES, "", &scratch);
        assert!(
            matches!(&err, Err(GrubError::Missing(m)) if m.contains(&super::super::GRUB_EFI_DIR)),
            "{err:?}"
        );
    }
}
