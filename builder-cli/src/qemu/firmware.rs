//! The firmware a node boots with: QEMU's own SeaBIOS (BIOS), or OVMF (UEFI, Debian's `ovmf`
//! package) on the same i440fx machine, which keeps every device where a BIOS boot has it
//! (the disk's PCI slot, isa-debug-exit at port 0xf4). OVMF comes as two flash images
//! (`-drive if=pflash`): the code, read-only, and a variable store it writes to; that one is
//! opened with `snapshot=on`, so each QEMU writes to a temporary copy of Debian's template
//! and never to the template itself, and parallel boots never share one.
//!
//! QEMU's `-kernel` loads a Multiboot kernel only through its BIOS option ROM, and the PXE
//! tree holds GRUB for BIOS; so UEFI boots are from the disk image, the qcow2 or the ISO.

use std::path::Path;

use thiserror::Error;

use super::Boot;
use crate::host_tools::{OVMF_CODE, OVMF_VARS, missing_reason};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Firmware {
    /// SeaBIOS, QEMU's default.
    #[default]
    Bios,
    /// OVMF.
    Uefi,
}

impl Firmware {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Bios => "bios",
            Self::Uefi => "uefi",
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FirmwareError {
    #[error(
        "--boot {} cannot use --firmware uefi: {why}; boot by disk, qcow2 or iso on UEFI",
        boot.name()
    )]
    Unsupported { boot: Boot, why: &'static str },
    #[error("no UEFI firmware: {0}")]
    NoOvmf(String),
}

/// Whether `boot` can use `firmware` on this machine.
pub fn check(boot: Boot, firmware: Firmware) -> Result<(), FirmwareError> {
    if firmware == Firmware::Bios {
        return Ok(());
    }
    let why = match boot {
        Boot::Kernel => "QEMU's -kernel loads a Multiboot kernel with its BIOS only",
        Boot::Pxe => "the PXE tree holds GRUB for BIOS only",
        Boot::Iso | Boot::Disk | Boot::Qcow2 => {
            let missing: Vec<&str> = [OVMF_CODE, OVMF_VARS]
                .into_iter()
                .filter(|file| !Path::new(file).is_file())
                .collect();
            return match missing.is_empty() {
                true => Ok(()),
                false => Err(FirmwareError::NoOvmf(missing_reason(&missing))),
            };
        }
    };
    Err(FirmwareError::Unsupported { boot, why })
}

/// QEMU's arguments for `firmware` (none for SeaBIOS).
pub fn args(firmware: Firmware) -> Vec<String> {
    match firmware {
        Firmware::Bios => Vec::new(),
        Firmware::Uefi => vec![
            "-drive".into(),
            format!("if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}"),
            "-drive".into(),
            format!("if=pflash,format=raw,unit=1,snapshot=on,file={OVMF_VARS}"),
        ],
    }
}
