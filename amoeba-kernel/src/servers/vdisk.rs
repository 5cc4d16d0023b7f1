//! The virtual disk server in the kernel: `libamoeba::servers::vdisk` over the node's virtio
//! block device, serving the pieces its disk label names (`docs/disk-label.md`): `vdisk:00`,
//! the Bullet volume, and `vdisk:01`, the SOAP server's table. A blank disk gets the default
//! label, with a new port and checks, at its first boot; the label keeps them, so vdisk
//! capabilities survive reboots. A disk without our label (another format, or a damaged
//! label) is served whole as `vdisk:00` under a new port each boot, and said so in the log:
//! its data is left as it is, and the file servers on it say what they make of it.
//!
//! A disk that also boots the node (an appliance image: MBR, EFI system partition, GRUB) keeps
//! the node's disk in its Amoeba partition (MBR type 0x93, `libamoeba::servers::vdisk::mbr`):
//! that partition is then the disk, label and all, and the boot partitions are never touched.
//!
//! The directory publishes each piece with the right to read only: anyone on the LAN can look
//! it up, and a disk that anyone could overwrite would be no disk. The owner capabilities
//! (all rights) go to the console, for the node's owner and the file servers.

use alloc::vec::Vec;

use super::{BUFFER_BYTES, Publications, run};
use crate::drivers::virtio_blk::{self, VirtioBlk};
use crate::entropy::KernelEntropy;
use libamoeba::capability::{ALL_RIGHTS, Capability, Port};
use libamoeba::oneway::put_port;
use libamoeba::random::Entropy;
use libamoeba::rights::restrict_owner;
use libamoeba::servers::vdisk::label::{Label, LabelError};
use libamoeba::servers::vdisk::{BLOCK_BYTES, BlockDevice, Piece, READ, VdiskServer, Window, mbr};

/// The directory name of the first piece (5.3 numbers them `vdisk:NN`).
pub const NAME: &str = "vdisk:00";
/// Names of the pieces a label may hold, in order.
const NAMES: [&str; 4] = [NAME, "vdisk:01", "vdisk:02", "vdisk:03"];

/// The part of `disk` that is the node's disk: all of it, unless it has no label of ours at
/// its start but an MBR with an Amoeba partition.
fn amoeba_part(mut disk: VirtioBlk) -> Window<VirtioBlk> {
    let whole = Piece {
        first: 0,
        blocks: disk.blocks(),
    };
    let mut first = [0u8; BLOCK_BYTES];
    if disk.read(0, &mut first).is_err() || Label::decode(&first, whole.blocks).is_ok() {
        return Window::new(disk, whole);
    }
    match mbr::amoeba_partition(&first, whole.blocks) {
        Some(piece) => {
            log::info!(
                "server vdisk: the disk's Amoeba partition (MBR type 0x93): blocks {}..{}",
                piece.first,
                piece.first + piece.blocks
            );
            Window::new(disk, piece)
        }
        None => Window::new(disk, whole),
    }
}

/// The label to serve `disk` by: its own, a new one on a blank disk, or none.
fn label_of(disk: &mut impl BlockDevice) -> Option<Label> {
    let mut first = [0u8; BLOCK_BYTES];
    if let Err(error) = disk.read(0, &mut first) {
        log::error!("server vdisk: cannot read the disk's label: {error:?}");
        return None;
    }
    match Label::decode(&first, disk.blocks()) {
        Ok(label) => Some(label),
        Err(LabelError::Blank) => {
            let label = Label::new_default(disk.blocks(), &mut KernelEntropy)
                .map_err(|error| log::warn!("server vdisk: a blank disk, not labelled: {error}"))
                .ok()?;
            let written = disk.write(0, &label.encode()).and_then(|()| disk.flush());
            match written {
                Ok(()) => {
                    log::info!("server vdisk: a blank disk: labelled it (vdisk:00, vdisk:01)");
                    Some(label)
                }
                Err(error) => {
                    log::error!("server vdisk: cannot write a label: {error:?}");
                    None
                }
            }
        }
        Err(error) => {
            log::warn!(
                "server vdisk: {error}; serving the whole disk as {NAME}, its data as it is"
            );
            None
        }
    }
}

#[inline(never)] // one symbol per server: image checks find selected servers by name
pub fn start(published: &mut Publications) {
    let Some(disk) = virtio_blk::probe() else {
        log::warn!("server vdisk: no virtio block device; not started");
        return;
    };
    let mut disk = amoeba_part(disk);
    let (get, server) = match label_of(&mut disk) {
        Some(label) => {
            let pieces: Vec<(Piece, [u8; 6])> = label.pieces.clone();
            match VdiskServer::with_pieces(put_port(label.get_port), disk, &pieces) {
                Ok(server) => (label.get_port, server),
                Err(error) => {
                    log::error!("server vdisk: the label's pieces do not fit the disk: {error}");
                    return;
                }
            }
        }
        None => {
            let get = Port(KernelEntropy.nonzero48());
            (
                get,
                VdiskServer::new(put_port(get), &mut KernelEntropy, disk).0,
            )
        }
    };
    let mut owner = Capability::NULL;
    for (object, name) in (0u32..).zip(NAMES) {
        let Some(piece_owner) = server.capability(object, ALL_RIGHTS) else {
            break;
        };
        let read_only = restrict_owner(&piece_owner, READ).unwrap_or(Capability::NULL);
        published.add(name, read_only, piece_owner);
        if object == 0 {
            owner = piece_owner;
        } else {
            // The console line of every piece past the first: the file servers on them.
            crate::console::write_unrecorded(format_args!("server {name}: {piece_owner}\n"));
        }
    }
    let ports = super::Ports {
        get,
        put: put_port(get),
    };
    run("vdisk", ports, owner, server, BUFFER_BYTES.max(32 * 1024));
}
