//! Building one profile into `images/NAME/`: check the profile, build its programs into the
//! boot table (writing `images/programs/` too), make the node's disk image in memory (so what
//! does not fit is refused before the kernel compiles), build the kernel with its features and
//! that table, check the ELF, then the ISO, the PXE tree, the disk image, the appliance
//! outputs ([`appliance_outputs`]: `NAME.img`, `NAME.qcow2`, `oci/`) and the manifest.
//!
//! A build holds an exclusive lock on `images/NAME/.lock` from start to end, so parallel
//! builds of one profile (tests run in threads and processes) take turns instead of writing
//! the same files at once; builds of different profiles run side by side.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::catalog::Catalog;
use crate::digest::{self, FileDigest, file_digest, tree_digest};
use crate::disk_image::for_profile::{DiskBuildError, disk_image};
use crate::disk_image::{DISK_IMAGE_FILE, DiskImage};
use crate::elf_check::{self, ElfCheckError};
use crate::features::features;
use crate::grub::{self, GrubError, GrubTools, IsoRequest, PxeRequest};
use crate::kernel_build::{self, KERNEL_BIN, KernelBuildError, KernelRequest};
use crate::manifest::{FORMAT, FileOutput, IsoOutput, Manifest, OciOutput, Outputs, PxeOutput};
use crate::messages::progress;
use crate::node_spec::NodeSpec;
use crate::problem::ProfileProblems;
use crate::profile::{Profile, ProfileError, load_profile};
use crate::programs::{self, BOOT_TABLE_FILE, ProgramsError};
use crate::source_date::source_date_epoch;
use crate::template::{self, TemplateError};
use crate::validate::{missing_sources, validate};
use crate::workspace::Workspace;

pub const KERNEL_FILE: &str = "kernel.elf";
pub const MANIFEST_FILE: &str = "manifest.json";
pub const PXE_DIR: &str = "pxe";
const LOCK_FILE: &str = ".lock";

mod appliance_outputs;

/// Which outputs besides the kernel (and a node's `disk.img`) to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuildOptions {
    pub iso: bool,
    pub pxe: bool,
    /// `NAME.img`, the appliance disk image.
    pub disk_image: bool,
    /// `NAME.qcow2` (needs `NAME.img`).
    pub qcow2: bool,
    /// `oci/` (needs `NAME.qcow2`).
    pub oci: bool,
}

impl BuildOptions {
    /// Only the kernel (and a node's `disk.img`).
    pub const KERNEL_ONLY: Self = Self {
        iso: false,
        pxe: false,
        disk_image: false,
        qcow2: false,
        oci: false,
    };
}

impl Default for BuildOptions {
    /// Everything.
    fn default() -> Self {
        Self {
            iso: true,
            pxe: true,
            disk_image: true,
            qcow2: true,
            oci: true,
        }
    }
}

/// A finished image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltImage {
    /// `images/NAME/`.
    pub dir: PathBuf,
    pub kernel_elf: PathBuf,
    /// `images/NAME/NAME.iso`, when made.
    pub iso: Option<PathBuf>,
    /// `images/NAME/pxe/`, when made.
    pub pxe: Option<PathBuf>,
    /// `images/NAME/disk.img`, for a node with a disk.
    pub disk: Option<PathBuf>,
    /// `images/NAME/NAME.img`, the appliance disk image, when made.
    pub appliance: Option<PathBuf>,
    /// `images/NAME/NAME.qcow2`, when made.
    pub qcow2: Option<PathBuf>,
    /// `images/NAME/oci/`, when made.
    pub oci: Option<PathBuf>,
    pub manifest: Manifest,
    /// The validated profile: node name, command line, memory, selection.
    pub spec: NodeSpec,
}

impl BuiltImage {
    pub fn node(&self) -> &str {
        &self.spec.node
    }

    /// The kernel command line baked into the boot configs.
    pub fn cmdline(&self) -> String {
        self.spec.cmdline()
    }
}

#[derive(Debug, Error)]
pub enum BuildError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("cannot lock {path} (needed so parallel builds of one profile take turns)")]
    Lock {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Kernel(#[from] KernelBuildError),
    #[error(transparent)]
    Programs(#[from] ProgramsError),
    #[error("{file} cannot boot")]
    BadKernel {
        file: String,
        #[source]
        source: ElfCheckError,
    },
    #[error("cannot read template {file}")]
    ReadTemplate {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Grub(#[from] GrubError),
    #[error(transparent)]
    Disk(DiskBuildError),
    #[error("cannot make the appliance disk image")]
    Appliance(#[from] crate::appliance::ApplianceError),
    #[error(transparent)]
    Qcow2(#[from] crate::qcow2::Qcow2Error),
    #[error("cannot make the OCI image layout")]
    Oci(#[from] crate::oci::OciError),
    #[error("cannot write {file}")]
    Write {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

/// Loads and validates a profile (by name in `node-profiles/` or by path).
pub fn check_profile(
    ws: &Workspace,
    name_or_path: &str,
) -> Result<(Profile, NodeSpec), ProfileError> {
    let profile = load_profile(ws, name_or_path)?;
    let available = programs::available(ws);
    let catalog = Catalog::builtin()
        .with_programs(&available)
        .with_sources(&programs::CargoSources);
    let validated = validate(&profile, &catalog);
    // Host files are looked at even when validation found problems, so one run shows all.
    let mut missing = missing_sources(&profile);
    match validated {
        Ok(spec) if missing.is_empty() => Ok((profile, spec)),
        Ok(_) => Err(ProfileProblems(missing).into()),
        Err(ProfileProblems(mut problems)) => {
            problems.append(&mut missing);
            problems.sort_by_key(|p| p.line);
            Err(ProfileProblems(problems).into())
        }
    }
}

/// Builds a profile into `images/NAME/`; see the module documentation.
pub fn build_profile(
    ws: &Workspace,
    name_or_path: &str,
    options: &BuildOptions,
) -> Result<BuiltImage, BuildError> {
    let (profile, spec) = check_profile(ws, name_or_path)?;
    let dir = ws.image_dir(&spec.profile);
    let _lock = lock(ws, &dir)?;
    progress(&format!(
        "{}: node {}, servers [{}], drivers [{}]",
        profile.file,
        spec.node,
        spec.servers.join(", "),
        spec.drivers.join(", ")
    ));
    let (boot_programs, program_outputs) = boot_programs(ws, &spec, &profile.file)?;
    let disk = disk_image(ws, &profile, &spec).map_err(|error| match error {
        DiskBuildError::Problems(problems) => BuildError::Profile(problems.into()),
        error => BuildError::Disk(error),
    })?;
    let kernel_elf = build_kernel(ws, &spec, &dir, boot_programs)?;
    let tools = GrubTools::find();
    let epoch = source_date_epoch();
    let (iso, iso_output) = iso_output(
        ws,
        &spec,
        &dir,
        &kernel_elf,
        options.iso.then_some(&tools),
        epoch,
    )?;
    let (pxe, pxe_output) =
        pxe_output(ws, &spec, &dir, &kernel_elf, options.pxe.then_some(&tools))?;
    let (disk_path, disk_output) = disk_output(ws, &dir, disk.as_ref())?;
    let kernel_digest = file_digest(&kernel_elf).map_err(write_error(ws, &kernel_elf))?;
    let profile_sha256 = digest::sha256_hex(&profile.source);
    let cx = appliance_outputs::Context {
        ws,
        spec: &spec,
        dir: &dir,
        kernel: &kernel_elf,
        tools: &tools,
        epoch,
        options,
        profile_sha256: &profile_sha256,
    };
    let (appliance, appliance_output) = appliance_outputs::appliance_output(&cx, disk.as_ref())?;
    let (qcow2, qcow2_output) = appliance_outputs::qcow2_output(&cx, appliance.as_deref())?;
    let mut manifest = Manifest {
        format: FORMAT,
        profile: spec.profile.clone(),
        profile_sha256: profile_sha256.clone(),
        node: spec.node.clone(),
        cmdline: spec.cmdline(),
        servers: spec.servers.clone(),
        drivers: spec.drivers.clone(),
        features: features(&spec),
        disk_mib: spec.disk_mib,
        programs: program_outputs,
        toolchain: kernel_build::toolchain_version(ws)?,
        outputs: Outputs {
            kernel_elf: FileOutput::new(KERNEL_FILE, kernel_digest),
            iso: iso_output,
            pxe: pxe_output,
            disk: disk_output,
            appliance: appliance_output,
            qcow2: qcow2_output,
            // Filled in below: the layout's annotations are the rest of this manifest.
            oci: OciOutput::Skipped {
                reason: String::new(),
            },
        },
    };
    let (oci, oci_output) = appliance_outputs::oci_output(&cx, qcow2.as_deref(), &manifest)?;
    manifest.outputs.oci = oci_output;
    write_atomically(ws, &dir.join(MANIFEST_FILE), manifest.to_json().as_bytes())?;
    progress(&format!("wrote {}/", ws.display(&dir)));
    Ok(BuiltImage {
        dir,
        kernel_elf,
        iso,
        pxe,
        disk: disk_path,
        appliance,
        qcow2,
        oci,
        manifest,
        spec,
    })
}

/// Writes the disk image when there is one; otherwise removes any stale one, so the directory
/// matches its manifest.
fn disk_output(
    ws: &Workspace,
    dir: &Path,
    image: Option<&DiskImage>,
) -> Result<(Option<PathBuf>, Option<FileOutput>), BuildError> {
    let path = dir.join(DISK_IMAGE_FILE);
    let Some(image) = image else {
        remove_file(ws, &path)?;
        return Ok((None, None));
    };
    image.write(&path).map_err(write_error(ws, &path))?;
    let digest = FileDigest {
        size: image.disk.bytes(),
        sha256: image.disk.sha256(),
    };
    progress(&format!(
        "disk image {}: {} MiB, {} files",
        ws.display(&path),
        digest.size >> 20,
        image.tree.files.len()
    ));
    Ok((Some(path), Some(FileOutput::new(DISK_IMAGE_FILE, digest))))
}

/// Held until dropped (`workspace::lock_in`).
fn lock(ws: &Workspace, dir: &Path) -> Result<File, BuildError> {
    crate::workspace::lock_in(dir, LOCK_FILE).map_err(|source| BuildError::Lock {
        path: ws.display(&dir.join(LOCK_FILE)),
        source,
    })
}

/// Makes the profile's programs into process images and writes their boot table (empty when
/// the profile lists none) to `target/kernel/NAME/boot-programs.bin` for the kernel to embed.
/// The file is rewritten only when its bytes change, so an unchanged table does not make cargo
/// rebuild the kernel.
fn boot_programs(
    ws: &Workspace,
    spec: &NodeSpec,
    profile_file: &str,
) -> Result<(PathBuf, Vec<crate::manifest::ProgramOutput>), BuildError> {
    let (table, outputs) = match programs::boot_table(ws, spec, profile_file) {
        Err(ProgramsError::Profile(problems)) => return Err(BuildError::Profile(problems.into())),
        result => result?,
    };
    for program in &outputs {
        progress(&format!(
            "program {} [{}] at priority {}: {} byte image",
            program.name,
            program.args.join(" "),
            program.priority,
            program.image_size
        ));
    }
    let dir = ws.kernel_target_dir(&spec.profile);
    fs::create_dir_all(&dir).map_err(write_error(ws, &dir))?;
    let path = dir.join(BOOT_TABLE_FILE);
    if fs::read(&path).ok().as_deref() != Some(table.as_slice()) {
        write_atomically(ws, &path, &table)?;
    }
    Ok((path, outputs))
}

/// Builds the kernel and checks it before it becomes `kernel.elf`, so a kernel that cannot
/// boot never stands in the image directory.
fn build_kernel(
    ws: &Workspace,
    spec: &NodeSpec,
    dir: &Path,
    boot_programs: PathBuf,
) -> Result<PathBuf, BuildError> {
    let request = KernelRequest {
        bin: KERNEL_BIN,
        features: features(spec),
        target: spec.profile.clone(),
        profile: spec.profile.clone(),
        node: spec.node.clone(),
        boot_programs: Some(boot_programs),
    };
    progress(&format!(
        "building the kernel with features [{}]",
        request.features.join(", ")
    ));
    let built = kernel_build::build(ws, &request)?;
    let bytes = fs::read(&built).map_err(write_error(ws, &built))?;
    let headers = elf_check::check_kernel(&bytes).map_err(|source| BuildError::BadKernel {
        file: ws.display(&built),
        source,
    })?;
    progress(&format!(
        "kernel checked: entry {:#x}, Multiboot 1 header at {:#x}, Multiboot 2 header at {:#x}",
        headers.entry, headers.multiboot1.offset, headers.multiboot2.offset
    ));
    let kernel_elf = dir.join(KERNEL_FILE);
    write_atomically(ws, &kernel_elf, &bytes)?;
    Ok(kernel_elf)
}

fn render_template(ws: &Workspace, name: &str, spec: &NodeSpec) -> Result<String, BuildError> {
    let path = ws.templates_dir().join(name);
    let file = ws.display(&path);
    let text = fs::read_to_string(&path).map_err(|source| BuildError::ReadTemplate {
        file: file.clone(),
        source,
    })?;
    let cmdline = spec.cmdline();
    let values = [
        ("node", spec.node.as_str()),
        ("profile", spec.profile.as_str()),
        ("cmdline", cmdline.as_str()),
    ];
    Ok(template::render(&file, &text, &values)?)
}

/// The ISO when asked for and possible; otherwise why not, with any stale ISO removed so the
/// directory matches its manifest.
fn iso_output(
    ws: &Workspace,
    spec: &NodeSpec,
    dir: &Path,
    kernel: &Path,
    tools: Option<&GrubTools>,
    epoch: u64,
) -> Result<(Option<PathBuf>, IsoOutput), BuildError> {
    let file = format!("{}.iso", spec.profile);
    let output = dir.join(&file);
    let skipped = |reason: String| -> Result<_, BuildError> {
        remove_file(ws, &output)?;
        Ok((None, IsoOutput::Skipped { reason }))
    };
    let Some(tools) = tools else {
        return skipped("not requested".into());
    };
    let missing = tools.missing_for_iso();
    if !missing.is_empty() {
        let reason = grub::missing_reason(&missing);
        progress(&format!("warning: no ISO: {reason}"));
        return skipped(reason);
    }
    let grub_cfg = render_template(ws, "grub-iso.cfg", spec)?;
    let staging = ws.kernel_target_dir(&spec.profile).join("iso-staging");
    let request = IsoRequest {
        kernel,
        grub_cfg: &grub_cfg,
        staging: &staging,
        output: &output,
        epoch,
    };
    let made = grub::make_iso(tools, &request)?;
    let mut firmware = vec!["bios".to_string()];
    match made.uefi {
        true => firmware.push("uefi".into()),
        false => progress(&format!(
            "warning: {file} boots on BIOS only: {}",
            grub::missing_reason(&tools.missing_for_uefi())
        )),
    }
    let digest = file_digest(&output).map_err(write_error(ws, &output))?;
    let record = IsoOutput::Built {
        file,
        reproducible: true,
        size: Some(digest.size),
        sha256: Some(digest.sha256),
        tools: made.tools,
        firmware,
    };
    Ok((Some(output), record))
}

fn pxe_output(
    ws: &Workspace,
    spec: &NodeSpec,
    dir: &Path,
    kernel: &Path,
    tools: Option<&GrubTools>,
) -> Result<(Option<PathBuf>, PxeOutput), BuildError> {
    let output = dir.join(PXE_DIR);
    let skipped = |reason: String| -> Result<_, BuildError> {
        if output.exists() {
            fs::remove_dir_all(&output).map_err(write_error(ws, &output))?;
        }
        Ok((None, PxeOutput::Skipped { reason }))
    };
    let Some(tools) = tools else {
        return skipped("not requested".into());
    };
    let missing = tools.missing_for_pxe();
    if !missing.is_empty() {
        let reason = grub::missing_reason(&missing);
        progress(&format!("warning: no PXE tree: {reason}"));
        return skipped(reason);
    }
    let grub_cfg = render_template(ws, "grub-pxe.cfg", spec)?;
    grub::make_pxe(
        tools,
        &PxeRequest {
            kernel,
            grub_cfg: &grub_cfg,
            output: &output,
        },
    )?;
    let digest = tree_digest(&output).map_err(write_error(ws, &output))?;
    Ok((Some(output), PxeOutput::built(PXE_DIR, digest)))
}

/// Writes beside the target and renames, so a reader (or a VM booting the previous image)
/// never sees a half-written file.
fn write_atomically(ws: &Workspace, path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    let partial = path.with_extension("partial");
    fs::write(&partial, bytes).map_err(write_error(ws, &partial))?;
    fs::rename(&partial, path).map_err(write_error(ws, path))
}

fn remove_file(ws: &Workspace, path: &Path) -> Result<(), BuildError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(write_error(ws, path)(e)),
        _ => Ok(()),
    }
}

fn write_error<'a>(
    ws: &'a Workspace,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> BuildError + 'a {
    move |source| BuildError::Write {
        file: ws.display(path),
        source,
    }
}
