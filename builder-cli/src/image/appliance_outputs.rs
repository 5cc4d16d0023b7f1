//! The appliance outputs of a build, after the kernel, ISO, PXE tree and disk image: `NAME.img`
//! (`crate::appliance`), `NAME.qcow2` from it (`crate::qcow2`) and `oci/` carrying the qcow2
//! (`crate::oci`). Each is made when asked for and possible; otherwise the manifest says why,
//! a warning names the Debian package that is missing, and any stale copy is removed so the
//! directory matches its manifest. One that lacks only GRUB's files for one firmware is made
//! for the other, and says so.

use std::fs;
use std::path::{Path, PathBuf};

use super::{BuildError, BuildOptions, remove_file, render_template, write_error};
use crate::appliance::{self, ApplianceRequest, BiosLoader, ImageIds};
use crate::disk_image::DiskImage;
use crate::grub::standalone::{self, DISK_MODULES, Platform};
use crate::grub::{GrubError, GrubTools, missing_reason};
use crate::host_tools::{GRUB_PC_DIR, tool_version};
use crate::manifest::{ApplianceOutput, Manifest, OciOutput, PartitionOutput, Qcow2Output};
use crate::messages::progress;
use crate::node_spec::NodeSpec;
use crate::oci::{self, OCI_DIR, OciRequest, REFERENCE};
use crate::qcow2;
use crate::workspace::Workspace;

/// What every appliance output is made from.
pub(super) struct Context<'a> {
    pub ws: &'a Workspace,
    pub spec: &'a NodeSpec,
    pub dir: &'a Path,
    pub kernel: &'a Path,
    pub tools: &'a GrubTools,
    pub epoch: u64,
    pub options: &'a BuildOptions,
    pub profile_sha256: &'a str,
}

/// `NAME.img`.
pub(super) fn appliance_output(
    cx: &Context<'_>,
    node_disk: Option<&DiskImage>,
) -> Result<(Option<PathBuf>, ApplianceOutput), BuildError> {
    let file = format!("{}.img", cx.spec.profile);
    let output = cx.dir.join(&file);
    let skipped = |reason: String| -> Result<_, BuildError> {
        remove_file(cx.ws, &output)?;
        Ok((None, ApplianceOutput::Skipped { reason }))
    };
    if !cx.options.disk_image {
        return skipped("not requested".into());
    }
    let (bios_missing, uefi_missing) = (
        cx.tools.missing_for_bios_disk(),
        cx.tools.missing_for_uefi(),
    );
    if !bios_missing.is_empty() && !uefi_missing.is_empty() {
        let mut missing = bios_missing;
        missing.extend(uefi_missing.iter().filter(|m| **m != "grub-mkimage"));
        let reason = missing_reason(&missing);
        progress(&format!("warning: no {file}: {reason}"));
        return skipped(reason);
    }
    for (missing, firmware) in [(&bios_missing, "UEFI"), (&uefi_missing, "BIOS")] {
        if !missing.is_empty() {
            progress(&format!(
                "warning: {file} boots on {firmware} only: {}",
                missing_reason(missing)
            ));
        }
    }
    let kernel = fs::read(cx.kernel).map_err(write_error(cx.ws, cx.kernel))?;
    let disk_sha = node_disk.map(|d| d.disk.sha256()).unwrap_or_default();
    let ids = ImageIds::derive(&[cx.profile_sha256.as_bytes(), &kernel, disk_sha.as_bytes()]);
    let grub_cfg = render_template(cx.ws, "grub-disk.cfg", cx.spec)?;
    let loaders = Loaders::make(cx, &ids, bios_missing.is_empty(), uefi_missing.is_empty())?;
    let made = appliance::make(&ApplianceRequest {
        kernel: &kernel,
        grub_cfg: &grub_cfg,
        bios: loaders.bios(),
        efi: loaders.efi.as_deref(),
        node_disk: node_disk.map(|d| &d.disk),
        ids,
        epoch: cx.epoch,
    })?;
    made.disk
        .write_file(&output)
        .map_err(write_error(cx.ws, &output))?;
    let firmware = loaders.firmware();
    progress(&format!(
        "disk image {}: {} MiB, boots on {}",
        cx.ws.display(&output),
        made.disk.bytes() >> 20,
        firmware.join(" and ")
    ));
    let partitions = [Some(made.layout.esp), made.layout.amoeba]
        .into_iter()
        .flatten()
        .map(|p| PartitionOutput {
            mbr_type: format!("{:#04x}", p.kind),
            first_sector: p.first,
            sectors: p.sectors,
        })
        .collect();
    let record = ApplianceOutput::Built {
        file,
        size: made.disk.bytes(),
        sha256: made.disk.sha256(),
        firmware,
        partitions,
        tools: loaders.tools,
    };
    Ok((Some(output), record))
}

/// GRUB's images for the firmwares that can be served.
struct Loaders {
    boot_img: Option<Vec<u8>>,
    core_img: Option<Vec<u8>>,
    efi: Option<Vec<u8>>,
    tools: Vec<String>,
}

impl Loaders {
    fn make(cx: &Context<'_>, ids: &ImageIds, bios: bool, uefi: bool) -> Result<Self, BuildError> {
        let config = standalone::search_config(&ids.grub_uuid());
        let scratch = cx
            .ws
            .kernel_target_dir(&cx.spec.profile)
            .join("appliance-staging");
        let image =
            |platform| standalone::make_image(cx.tools, platform, &DISK_MODULES, &config, &scratch);
        let (mut boot_img, mut core_img, mut efi) = (None, None, None);
        if bios {
            let path = Path::new(GRUB_PC_DIR).join("boot.img");
            let bytes = fs::read(&path).map_err(|source| GrubError::Io {
                path: path.display().to_string(),
                source,
            })?;
            boot_img = Some(bytes);
            core_img = Some(image(Platform::BiosDisk)?);
        }
        if uefi {
            efi = Some(image(Platform::Efi)?);
        }
        let tools = cx
            .tools
            .mkimage
            .as_deref()
            .and_then(|m| tool_version(m, "--version"))
            .into_iter()
            .collect();
        Ok(Self {
            boot_img,
            core_img,
            efi,
            tools,
        })
    }

    fn bios(&self) -> Option<BiosLoader<'_>> {
        match (&self.boot_img, &self.core_img) {
            (Some(boot_img), Some(core_img)) => Some(BiosLoader { boot_img, core_img }),
            _ => None,
        }
    }

    fn firmware(&self) -> Vec<String> {
        let mut firmware = Vec::new();
        if self.bios().is_some() {
            firmware.push("bios".to_string());
        }
        if self.efi.is_some() {
            firmware.push("uefi".to_string());
        }
        firmware
    }
}

/// `NAME.qcow2`, from `NAME.img` when there is one.
pub(super) fn qcow2_output(
    cx: &Context<'_>,
    raw: Option<&Path>,
) -> Result<(Option<PathBuf>, Qcow2Output), BuildError> {
    let file = format!("{}.qcow2", cx.spec.profile);
    let output = cx.dir.join(&file);
    let skipped = |reason: String, warn: bool| -> Result<_, BuildError> {
        if warn {
            progress(&format!("warning: no {file}: {reason}"));
        }
        remove_file(cx.ws, &output)?;
        Ok((None, Qcow2Output::Skipped { reason }))
    };
    if !cx.options.qcow2 {
        return skipped("not requested".into(), false);
    }
    let Some(raw) = raw else {
        return skipped(
            format!("made from {}.img, which was not made", cx.spec.profile),
            false,
        );
    };
    let Some(qemu_img) = qcow2::find_qemu_img() else {
        return skipped(missing_reason(&["qemu-img"]), true);
    };
    let tools = qcow2::convert(&qemu_img, raw, &output)?;
    let digest = crate::digest::file_digest(&output).map_err(write_error(cx.ws, &output))?;
    progress(&format!(
        "qcow2 {}: {} KiB",
        cx.ws.display(&output),
        digest.size >> 10
    ));
    let record = Qcow2Output::Built {
        file,
        size: digest.size,
        sha256: digest.sha256,
        tools,
    };
    Ok((Some(output), record))
}

/// `oci/`, carrying `NAME.qcow2` when there is one; its annotations from `manifest`.
pub(super) fn oci_output(
    cx: &Context<'_>,
    qcow2: Option<&Path>,
    manifest: &Manifest,
) -> Result<(Option<PathBuf>, OciOutput), BuildError> {
    let output = cx.dir.join(OCI_DIR);
    let skipped = |reason: String| -> Result<_, BuildError> {
        oci::remove_dir(&output)?;
        Ok((None, OciOutput::Skipped { reason }))
    };
    if !cx.options.oci {
        return skipped("not requested".into());
    }
    let Some(qcow2) = qcow2 else {
        return skipped(format!(
            "carries {}.qcow2, which was not made",
            cx.spec.profile
        ));
    };
    let disk = fs::read(qcow2).map_err(write_error(cx.ws, qcow2))?;
    let annotations = oci::annotations::annotations(manifest, &cx.spec.description, cx.epoch);
    let disk_name = format!("{}.qcow2", cx.spec.profile);
    let manifest_digest = oci::write_layout(&OciRequest {
        disk_name: &disk_name,
        disk: &disk,
        annotations: &annotations,
        epoch: cx.epoch,
        output: &output,
    })?;
    let digest = crate::digest::tree_digest(&output).map_err(write_error(cx.ws, &output))?;
    progress(&format!(
        "OCI layout {}/ ({REFERENCE}: {manifest_digest})",
        cx.ws.display(&output)
    ));
    let record = OciOutput::Built {
        dir: OCI_DIR.into(),
        reference: REFERENCE.into(),
        manifest_digest,
        files: digest.files,
        size: digest.size,
        sha256: digest.sha256,
    };
    Ok((Some(output), record))
}
