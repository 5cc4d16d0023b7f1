//! The one layer of the containerDisk: an uncompressed tar (media type
//! `application/vnd.oci.image.layer.v1.tar`, OCI image spec 1.1, "Image Layer Filesystem
//! Changeset") holding `disk/` and `disk/NAME.qcow2`.
//!
//! KubeVirt's containerDisk convention (KubeVirt user guide, "Disks and Volumes",
//! containerDisk): the disk image is the one file in `/disk` of an image built `FROM scratch`,
//! readable by uid/gid 107, the `qemu` user of KubeVirt's virt-launcher; its Dockerfile is
//! `ADD --chown=107:107 NAME.qcow2 /disk/`. So both entries are owned by 107:107, the file
//! read-only (0440) and the directory 0555, and every date is the source date, which makes
//! the tar a function of the qcow2's bytes.

use std::io;

use tar::{Builder, EntryType, Header};

/// KubeVirt's qemu user and group.
pub const KUBEVIRT_QEMU_ID: u64 = 107;
const DIR_MODE: u32 = 0o555;
const FILE_MODE: u32 = 0o440;

/// The tar's bytes.
pub fn layer_tar(disk_name: &str, disk: &[u8], epoch: u64) -> io::Result<Vec<u8>> {
    let mut tar = Builder::new(Vec::with_capacity(disk.len() + 4096));
    let dir = header("disk/", EntryType::Directory, DIR_MODE, 0, epoch)?;
    tar.append(&dir, io::empty())?;
    let path = format!("disk/{disk_name}");
    let file = header(
        &path,
        EntryType::Regular,
        FILE_MODE,
        disk.len() as u64,
        epoch,
    )?;
    tar.append(&file, disk)?;
    tar.into_inner()
}

fn header(path: &str, kind: EntryType, mode: u32, size: u64, epoch: u64) -> io::Result<Header> {
    let mut header = Header::new_ustar();
    header.set_path(path)?;
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(KUBEVIRT_QEMU_ID);
    header.set_gid(KUBEVIRT_QEMU_ID);
    header.set_mtime(epoch);
    header.set_size(size);
    header.set_cksum();
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_disk_is_owned_by_qemu_and_dated_by_the_source_date() {
        let tar = layer_tar("pool.qcow2", b"QFI\xfb", 946_684_800).expect("made");
        assert_eq!(
            tar,
            layer_tar("pool.qcow2", b"QFI\xfb", 946_684_800).expect("made")
        );
        let mut archive = tar::Archive::new(&tar[..]);
        let entries: Vec<(String, u64, u64, u32, u64)> = archive
            .entries()
            .expect("a tar")
            .map(|e| {
                let e = e.expect("an entry");
                let h = e.header();
                let path = e.path().expect("a path").display().to_string();
                let (uid, mode, mtime) = (h.uid(), h.mode(), h.mtime());
                (
                    path,
                    uid.unwrap_or(0),
                    h.gid().unwrap_or(0),
                    mode.unwrap_or(0),
                    mtime.unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("disk/".to_string(), 107, 107, 0o555, 946_684_800),
                ("disk/pool.qcow2".to_string(), 107, 107, 0o440, 946_684_800)
            ]
        );
    }
}
