//! `images/NAME/manifest.json`: what went into an image and what came out.
//!
//! Two builds of the same profile from the same sources must give byte-identical manifests,
//! so it holds no timestamps, no absolute paths and no host names, its keys come in struct
//! order, and every output it describes is itself reproducible (or described without bytes).

use serde::{Deserialize, Serialize};

use crate::digest::{FileDigest, TreeDigest};

/// Bumped when the shape changes incompatibly.
pub const FORMAT: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub profile: String,
    /// SHA-256 of the profile file's bytes.
    pub profile_sha256: String,
    pub node: String,
    /// The kernel command line baked into the boot configs and used for `-kernel` boots.
    pub cmdline: String,
    pub servers: Vec<String>,
    pub drivers: Vec<String>,
    pub features: Vec<String>,
    /// The size in MiB of the node's virtio disk (`[disk] size_mib`); absent for a node
    /// without driver "virtio-blk". Its image is [`Outputs::disk`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_mib: Option<u32>,
    /// The programs the node starts at boot, in order (embedded in the kernel).
    #[serde(default)]
    pub programs: Vec<ProgramOutput>,
    /// `rustc --version` of the compiler that built the kernel and the programs.
    pub toolchain: String,
    pub outputs: Outputs,
}

/// One boot program: what the profile asked for and the process image made for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramOutput {
    pub name: String,
    /// Where it came from: `programs/NAME`, or the profile's `path = "DIR"` or
    /// `image = "FILE"` as written.
    pub source: String,
    pub args: Vec<String>,
    /// Process priority: high, norm or low.
    pub priority: String,
    /// May use I/O ports and interrupt lines.
    pub driver: bool,
    /// Holds the owner capabilities of the process and sys servers.
    pub admin: bool,
    /// Bytes of the process image file (gzip) in the kernel's boot table.
    pub image_size: u64,
    pub image_sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    pub kernel_elf: FileOutput,
    pub iso: IsoOutput,
    pub pxe: PxeOutput,
    /// `disk.img`, the disk image as built (label, Bullet volume and the profile's files),
    /// for a node with a disk. `run` and `cluster` boot copies of it, which the nodes change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<FileOutput>,
    /// `NAME.img`: the appliance disk image (`crate::appliance`), booting on BIOS and UEFI
    /// and holding the node's disk as its Amoeba partition.
    pub appliance: ApplianceOutput,
    /// `NAME.qcow2`: the appliance image converted by qemu-img.
    pub qcow2: Qcow2Output,
    /// `oci/`: an OCI image layout carrying the qcow2 as a KubeVirt containerDisk.
    pub oci: OciOutput,
}

/// A file in the image directory (path relative to it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOutput {
    pub file: String,
    pub size: u64,
    pub sha256: String,
}

impl FileOutput {
    pub fn new(file: &str, digest: FileDigest) -> Self {
        Self {
            file: file.into(),
            size: digest.size,
            sha256: digest.sha256,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case", deny_unknown_fields)]
pub enum IsoOutput {
    Built {
        file: String,
        /// Whether two builds give the same bytes; size and digest are recorded only if so.
        reproducible: bool,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        size: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        sha256: Option<String>,
        /// Versions of the tools whose output the ISO is (GRUB, xorriso).
        tools: Vec<String>,
        /// The firmwares it boots on: `bios`, and `uefi` unless GRUB's UEFI files were
        /// missing.
        #[serde(default)]
        firmware: Vec<String>,
    },
    Skipped {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ApplianceOutput {
    Built {
        file: String,
        size: u64,
        sha256: String,
        /// `bios` and `uefi`, less one whose GRUB files were missing.
        firmware: Vec<String>,
        /// The MBR's partitions, in order.
        partitions: Vec<PartitionOutput>,
        /// Versions of the tools whose output it holds (GRUB).
        tools: Vec<String>,
    },
    Skipped {
        reason: String,
    },
}

/// One MBR partition of the appliance image, in 512-byte sectors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionOutput {
    /// The MBR type, `0xef` (EFI system) or `0x93` (Amoeba).
    pub mbr_type: String,
    pub first_sector: u64,
    pub sectors: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Qcow2Output {
    Built {
        file: String,
        size: u64,
        sha256: String,
        /// The version of qemu-img, whose output the file is.
        tools: Vec<String>,
    },
    Skipped {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case", deny_unknown_fields)]
pub enum OciOutput {
    Built {
        dir: String,
        /// The tag in `index.json` (`org.opencontainers.image.ref.name`).
        reference: String,
        /// `sha256:...` of the image manifest: what a registry names the image by.
        manifest_digest: String,
        files: usize,
        size: u64,
        /// See [`TreeDigest::sha256`] for what is hashed.
        sha256: String,
    },
    Skipped {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case", deny_unknown_fields)]
pub enum PxeOutput {
    Built {
        dir: String,
        files: usize,
        size: u64,
        /// See [`TreeDigest::sha256`] for what is hashed.
        sha256: String,
    },
    Skipped {
        reason: String,
    },
}

impl PxeOutput {
    pub fn built(dir: &str, digest: TreeDigest) -> Self {
        Self::Built {
            dir: dir.into(),
            files: digest.files,
            size: digest.size,
            sha256: digest.sha256,
        }
    }
}

impl Manifest {
    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        // Serializing plain structs of strings and numbers to a String cannot fail.
        let mut json = serde_json::to_string_pretty(self).unwrap_or_default();
        json.push('\n');
        json
    }

    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests;
