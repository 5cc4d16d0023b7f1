//! The PXE tree: GRUB's network boot image and modules from grub-mknetdir, our grub.cfg and
//! the kernel, laid out for a TFTP server (QEMU's own, in `amoeba-build run --boot pxe`).

use std::fs;
use std::path::Path;
use std::process::Command;

use super::{GrubError, GrubTools, io_error, remove_any, run_quiet};

/// The file a PXE client fetches first, relative to the tree (DHCP `bootfile`).
pub const PXE_BOOTFILE: &str = "boot/grub/i386-pc/core.0";

/// What goes into one PXE tree.
#[derive(Clone, Copy, Debug)]
pub struct PxeRequest<'a> {
    pub kernel: &'a Path,
    /// The rendered `boot/grub/grub.cfg`.
    pub grub_cfg: &'a str,
    /// The tree to (re)create.
    pub output: &'a Path,
}

pub fn make_pxe(tools: &GrubTools, req: &PxeRequest<'_>) -> Result<(), GrubError> {
    let (Some(mknetdir), Some(pc_dir)) = (&tools.mknetdir, &tools.pc_dir) else {
        return Err(GrubError::Missing(tools.missing_for_pxe()));
    };
    // Built beside the old tree and swapped in, so a failure leaves no half tree behind.
    let partial = req.output.with_extension("partial");
    remove_any(&partial)?;
    let mut net_directory = std::ffi::OsString::from("--net-directory=");
    net_directory.push(&partial);
    run_quiet(
        Command::new(mknetdir)
            .arg(net_directory)
            .arg("--subdir=boot/grub")
            .arg("-d")
            .arg(pc_dir),
    )?;
    let cfg = partial.join("boot/grub/grub.cfg");
    fs::write(&cfg, req.grub_cfg).map_err(io_error(&cfg))?;
    let kernel = partial.join("boot/kernel.elf");
    fs::copy(req.kernel, &kernel).map_err(io_error(&kernel))?;
    remove_any(req.output)?;
    fs::rename(&partial, req.output).map_err(io_error(req.output))
}
