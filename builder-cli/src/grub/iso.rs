//! The ISO, made reproducibly, booting on BIOS and on UEFI.
//!
//! grub-mkrescue cannot make a reproducible ISO: it bakes the wall-clock time into its El
//! Torito core image (the volume UUID its embedded config searches for) and ignores
//! `SOURCE_DATE_EPOCH` (GRUB 2.06). So this does what grub-mkrescue does, step by step, with
//! one fixed date: the BIOS modules, an El Torito core image made by grub-mkimage whose
//! embedded config searches for that date's UUID, and xorriso with that date for the volume
//! UUID, the volume dates and every file's dates.
//!
//! UEFI: as grub-mkrescue (`util/grub-mkrescue.c`), a second El Torito boot image `efi.img`,
//! a FAT volume holding `/EFI/BOOT/BOOTX64.EFI` (a standalone GRUB searching for the same
//! UUID, [`super::standalone`]), given to xorriso as `--efi-boot efi.img -efi-boot-part
//! --efi-boot-image`: an El Torito entry of platform 0xEF (UEFI 2.10, 13.3.2.1 "ISO-9660 and
//! El Torito": the firmware mounts that image as a FAT file system) and, for the ISO written
//! to a USB stick, a GPT partition pointing at the same image. The FAT volume is made by
//! `fatfs` with the source date and a fixed volume id (mtools, which grub-mkrescue runs,
//! writes the wall clock into it).

use std::fs;
use std::path::Path;
use std::process::Command;

use super::standalone::{self, ISO_MODULES, Platform};
use super::{GrubError, GrubTools, io_error, remove_any, run_quiet, tool_version};
use crate::appliance::fat::{FatFile, FatRequest, make_fat};
use crate::source_date::DateTime;

const CORE_IMAGE: &str = "boot/grub/i386-pc/eltorito.img";
/// The El Torito EFI image, at the ISO's root as grub-mkrescue puts it.
const EFI_IMAGE: &str = "efi.img";
/// The El Torito EFI image's volume id and label: it is found by the firmware through the
/// boot catalog, never by id, so a fixed one serves every ISO.
const EFI_VOLUME_ID: u32 = 0x414D_4F45;
const EFI_LABEL: [u8; 11] = *b"AMOEBA-EFI ";

/// A made ISO: the versions of the tools that made it, and the firmwares it boots on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MadeIso {
    pub tools: Vec<String>,
    pub uefi: bool,
}

/// What goes into one ISO.
#[derive(Clone, Copy, Debug)]
pub struct IsoRequest<'a> {
    pub kernel: &'a Path,
    /// The rendered `boot/grub/grub.cfg`.
    pub grub_cfg: &'a str,
    /// A scratch directory for the ISO's file tree (emptied first).
    pub staging: &'a Path,
    pub output: &'a Path,
    /// The date of every timestamp in the ISO (Unix time).
    pub epoch: u64,
}

/// Makes the ISO, with its UEFI boot when GRUB's UEFI files are here.
pub fn make_iso(tools: &GrubTools, req: &IsoRequest<'_>) -> Result<MadeIso, GrubError> {
    let (Some(mkimage), Some(xorriso), Some(pc_dir)) =
        (&tools.mkimage, &tools.xorriso, &tools.pc_dir)
    else {
        return Err(GrubError::Missing(tools.missing_for_iso()));
    };
    let date = DateTime::from_unix(req.epoch);
    let root = req.staging.join("root");
    stage_files(req, pc_dir, &root)?;
    let embedded = req.staging.join("embedded.cfg");
    let search = standalone::search_config(&date.grub_uuid());
    fs::write(&embedded, &search).map_err(io_error(&embedded))?;
    let uefi = tools.missing_for_uefi().is_empty();
    if uefi {
        stage_efi_image(tools, req, &search, &root)?;
    }
    run_quiet(
        Command::new(mkimage)
            .arg("--directory")
            .arg(pc_dir)
            .args([
                "--prefix",
                "/boot/grub",
                "--format",
                "i386-pc-eltorito",
                "--compression",
                "auto",
            ])
            .arg("--output")
            .arg(root.join(CORE_IMAGE))
            .arg("--config")
            .arg(&embedded)
            .args(["biosdisk", "iso9660"]),
    )?;
    let partial = req.output.with_extension("iso.partial");
    remove_any(&partial)?;
    let mut command = xorriso_command(xorriso, pc_dir, &root, &partial, req.epoch);
    if uefi {
        command.args([
            "--efi-boot",
            EFI_IMAGE,
            "-efi-boot-part",
            "--efi-boot-image",
        ]);
    }
    run_quiet(&mut command)?;
    fs::rename(&partial, req.output).map_err(io_error(req.output))?;
    let versions = [
        tool_version(mkimage, "--version"),
        tool_version(xorriso, "-version"),
    ];
    Ok(MadeIso {
        tools: versions.into_iter().flatten().collect(),
        uefi,
    })
}

/// `efi.img` in the ISO's tree: BOOTX64.EFI with `search` as its embedded config.
fn stage_efi_image(
    tools: &GrubTools,
    req: &IsoRequest<'_>,
    search: &str,
    root: &Path,
) -> Result<(), GrubError> {
    let scratch = req.staging.join("efi");
    let loader = standalone::make_image(tools, Platform::Efi, &ISO_MODULES, search, &scratch)?;
    let files = [FatFile {
        path: crate::appliance::EFI_LOADER_PATH,
        bytes: &loader,
    }];
    let image = make_fat(&FatRequest {
        files: &files,
        min_bytes: 0,
        fat_type: None,
        volume_id: EFI_VOLUME_ID,
        label: EFI_LABEL,
        epoch: req.epoch,
    })
    .map_err(GrubError::EfiImage)?;
    let path = root.join(EFI_IMAGE);
    fs::write(&path, image).map_err(io_error(&path))
}

/// The ISO's tree: kernel, config and GRUB's BIOS modules (what grub-mkrescue copies for
/// i386-pc, less fonts and locales: our menu is on the serial line, in English).
fn stage_files(req: &IsoRequest<'_>, pc_dir: &Path, root: &Path) -> Result<(), GrubError> {
    remove_any(req.staging)?;
    let modules = root.join("boot/grub/i386-pc");
    fs::create_dir_all(&modules).map_err(io_error(&modules))?;
    let kernel = root.join("boot/kernel.elf");
    fs::copy(req.kernel, &kernel).map_err(io_error(&kernel))?;
    let cfg = root.join("boot/grub/grub.cfg");
    fs::write(&cfg, req.grub_cfg).map_err(io_error(&cfg))?;
    for entry in fs::read_dir(pc_dir).map_err(io_error(pc_dir))? {
        let path = entry.map_err(io_error(pc_dir))?.path();
        let wanted = path
            .extension()
            .is_some_and(|ext| ext == "mod" || ext == "lst");
        if let (true, Some(name)) = (wanted, path.file_name()) {
            fs::copy(&path, modules.join(name)).map_err(io_error(&path))?;
        }
    }
    Ok(())
}

/// xorriso as grub-mkrescue runs it, plus dates: `SOURCE_DATE_EPOCH` fixes the volume
/// dates, `-volume_date all_file_dates` every file's, `--modification-date` the UUID.
fn xorriso_command(
    xorriso: &Path,
    pc_dir: &Path,
    root: &Path,
    output: &Path,
    epoch: u64,
) -> Command {
    let mut cmd = Command::new(xorriso);
    cmd.env("SOURCE_DATE_EPOCH", epoch.to_string())
        .args(["-volume_date", "all_file_dates"])
        .arg(format!("={epoch}"))
        .args(["-as", "mkisofs", "-graft-points"])
        .arg(format!(
            "--modification-date={}",
            DateTime::from_unix(epoch).iso9660()
        ))
        .args([
            "-b",
            CORE_IMAGE,
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
        ])
        .arg("--grub2-boot-info")
        .arg("--grub2-mbr")
        .arg(pc_dir.join("boot_hybrid.img"))
        .arg("--protective-msdos-label")
        .arg("-o")
        .arg(output)
        .arg("-r")
        .arg(root)
        .args(["--sort-weight", "0", "/", "--sort-weight", "1", "/boot"]);
    cmd
}
