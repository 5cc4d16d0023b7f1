//! `images/NAME/NAME.qcow2`: the appliance image in QEMU's qcow2 format, which holds only the
//! clusters that are not zeros (what OpenStack, libvirt and KubeVirt take), made by qemu-img
//! (Debian's qemu-utils).
//!
//! Reproducible: qcow2 has no dates or random fields, and `qemu-img convert` writes clusters
//! in the order of the source (unless told `-W`), so one raw image gives one qcow2. The format
//! options are named, not left to qemu-img's defaults: `compat=1.1` (version 3 of the format),
//! 64 KiB clusters, no compression, no preallocation, no extended L2 entries.

use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

use crate::host_tools::{find_in_path, tool_version};

/// The qcow2 options, given in full so another qemu-img's defaults do not change the bytes.
const OPTIONS: &str =
    "compat=1.1,cluster_size=65536,preallocation=off,lazy_refcounts=off,extended_l2=off";

#[derive(Debug, Error)]
pub enum Qcow2Error {
    #[error("cannot run {program}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("qemu-img convert failed ({status}):\n{output}")]
    Failed {
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

/// qemu-img on this machine, if there is one.
pub fn find_qemu_img() -> Option<PathBuf> {
    find_in_path("qemu-img")
}

/// Converts the raw image `raw` to `output` (through a file beside it, renamed into place);
/// returns qemu-img's version.
pub fn convert(qemu_img: &Path, raw: &Path, output: &Path) -> Result<Vec<String>, Qcow2Error> {
    let partial = output.with_extension("qcow2.partial");
    let program = qemu_img.display().to_string();
    let result = Command::new(qemu_img)
        .args(["convert", "-q", "-f", "raw", "-O", "qcow2", "-o", OPTIONS])
        .arg(raw)
        .arg(&partial)
        .output()
        .map_err(|source| Qcow2Error::Spawn { program, source })?;
    if !result.status.success() {
        let _ = std::fs::remove_file(&partial);
        let mut text = String::from_utf8_lossy(&result.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&result.stderr));
        return Err(Qcow2Error::Failed {
            status: result.status,
            output: text.trim_end().to_string(),
        });
    }
    std::fs::rename(&partial, output).map_err(|source| Qcow2Error::Io {
        path: output.display().to_string(),
        source,
    })?;
    Ok(tool_version(qemu_img, "--version").into_iter().collect())
}
