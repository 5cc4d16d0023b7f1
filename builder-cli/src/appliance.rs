//! The appliance disk image `images/NAME/NAME.img`: one raw disk that boots on BIOS and on
//! UEFI and, for a node with a disk, holds that disk too, so one file is the whole node.
//!
//! - BIOS: the MBR's code is GRUB's boot.img, which loads the core.img embedded after the MBR
//!   ([`bios_boot`]); core.img finds the EFI system partition by its FAT volume id and reads
//!   `/boot/grub/grub.cfg` there.
//! - UEFI: the firmware starts `/EFI/BOOT/BOOTX64.EFI` from the EFI system partition (UEFI
//!   2.10, 3.5.1.1: the removable-media path, used when no boot entry names a loader), a
//!   standalone GRUB (`crate::grub::standalone`) that finds the same partition the same way.
//! - Both then run the same grub.cfg (`templates/grub-disk.cfg`): `multiboot2
//!   /boot/kernel.elf`.
//! - The node's disk (`disk.img`, label and all) is partition 2, of Amoeba's MBR type 0x93,
//!   which the kernel's vdisk server serves as its disk.
//!
//! [`layout`] places the pieces and writes the MBR, [`fat`] makes the EFI system partition.
//! The image is made in memory as a [`SparseDisk`] and is reproducible: no dates but the source
//! date, and the volume id and disk signature come from a digest of what the image holds.

pub mod bios_boot;
pub mod fat;
pub mod layout;

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::disk_image::sparse::SparseDisk;
use bios_boot::BiosBootError;
use fat::{FAT32_MIN_BYTES, FatError, FatFile, FatRequest};
use layout::{Layout, LayoutError};
use libamoeba::servers::vdisk::BlockDevice;

/// The paths in the EFI system partition.
pub const KERNEL_PATH: &str = "/boot/kernel.elf";
pub const GRUB_CFG_PATH: &str = "/boot/grub/grub.cfg";
pub const EFI_LOADER_PATH: &str = "/EFI/BOOT/BOOTX64.EFI";
/// The ESP's volume label: says what the partition is in `lsblk` and the like.
const ESP_LABEL: [u8; 11] = *b"AMOEBA-EFI ";

/// GRUB's BIOS boot: boot.img (512 bytes) and a core.img (`grub-mkimage -O i386-pc`).
#[derive(Clone, Copy, Debug)]
pub struct BiosLoader<'a> {
    pub boot_img: &'a [u8],
    pub core_img: &'a [u8],
}

/// What goes into one appliance image. A loader left out is a firmware the image does not
/// boot on (its tools are missing here).
#[derive(Clone, Copy, Debug)]
pub struct ApplianceRequest<'a> {
    pub kernel: &'a [u8],
    /// The rendered `/boot/grub/grub.cfg`.
    pub grub_cfg: &'a str,
    pub bios: Option<BiosLoader<'a>>,
    /// `BOOTX64.EFI`.
    pub efi: Option<&'a [u8]>,
    /// The node's disk, for partition 2.
    pub node_disk: Option<&'a SparseDisk>,
    pub ids: ImageIds,
    /// Unix time of every date in the ESP.
    pub epoch: u64,
}

/// The names that tell one image from another: the ESP's FAT volume id, which GRUB searches
/// for, and the MBR's disk signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageIds {
    pub volume_id: u32,
    pub disk_signature: [u8; 4],
}

impl ImageIds {
    /// Drawn from a digest of `parts` (what the image is made of: profile, kernel, disk), so
    /// two builds of one profile and commit give the same ids and an image from another build
    /// other ones (a copy's boot sector then shows which build it came from).
    pub fn derive(parts: &[&[u8]]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"amoeba appliance image ids\0");
        for part in parts {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        let digest = hasher.finalize();
        Self {
            volume_id: u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]),
            disk_signature: [digest[4], digest[5], digest[6], digest[7]],
        }
    }

    /// How GRUB names the ESP (`search --fs-uuid`).
    pub fn grub_uuid(&self) -> String {
        fat::grub_uuid(self.volume_id)
    }
}

/// A made image.
#[derive(Clone, Debug)]
pub struct ApplianceImage {
    pub disk: SparseDisk,
    pub layout: Layout,
}

#[derive(Debug, Error)]
pub enum ApplianceError {
    #[error("cannot make the EFI system partition")]
    Esp(#[source] FatError),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    BiosBoot(#[from] BiosBootError),
}

/// Makes the image of `request`.
pub fn make(request: &ApplianceRequest<'_>) -> Result<ApplianceImage, ApplianceError> {
    let esp = esp_volume(request)?;
    let esp_sectors = esp.len() as u64 / bios_boot::SECTOR as u64;
    let node_sectors = request.node_disk.map(BlockDevice::blocks);
    let layout = layout::layout(esp_sectors, node_sectors)?;
    let mut code = [0u8; bios_boot::BOOT_CODE_BYTES];
    let mut disk = SparseDisk::new(layout.sectors);
    if let Some(bios) = request.bios {
        code = bios_boot::boot_code(bios.boot_img, layout.core_first)?;
        let core = bios_boot::embedded_core(bios.core_img, layout.core_first, layout.core_gap)?;
        place_bytes(&mut disk, layout.core_first, &core);
    }
    let mbr = layout::mbr_sector(&layout, &code, request.ids.disk_signature)?;
    place_bytes(&mut disk, 0, &mbr);
    place_bytes(&mut disk, layout.esp.first, &esp);
    if let (Some(node), Some(partition)) = (request.node_disk, &layout.amoeba) {
        disk.place(partition.first, node);
    }
    Ok(ApplianceImage { disk, layout })
}

/// The ESP: kernel, grub.cfg and (when there is one) BOOTX64.EFI, in a FAT32 volume.
fn esp_volume(request: &ApplianceRequest<'_>) -> Result<Vec<u8>, ApplianceError> {
    let mut files = vec![
        FatFile {
            path: KERNEL_PATH,
            bytes: request.kernel,
        },
        FatFile {
            path: GRUB_CFG_PATH,
            bytes: request.grub_cfg.as_bytes(),
        },
    ];
    if let Some(efi) = request.efi {
        files.push(FatFile {
            path: EFI_LOADER_PATH,
            bytes: efi,
        });
    }
    fat::make_fat(&FatRequest {
        files: &files,
        min_bytes: FAT32_MIN_BYTES,
        fat_type: Some(fatfs::FatType::Fat32),
        volume_id: request.ids.volume_id,
        label: ESP_LABEL,
        epoch: request.epoch,
    })
    .map_err(ApplianceError::Esp)
}

/// Writes whole sectors of `bytes` at `sector` (the callers' pieces are whole sectors and lie
/// inside the layout, so this cannot fail).
fn place_bytes(disk: &mut SparseDisk, sector: u64, bytes: &[u8]) {
    let _ = disk.write(sector, bytes);
}

#[cfg(test)]
mod tests;
