//! The Bullet file server in the kernel: `libamoeba::bullet` on the node's disk, which it
//! reaches through the vdisk server by RPC (the VX-Kernel's layering: the virtual disk server
//! is "a unique access to storage devices, used by higher level filesystem servers").
//!
//! At boot it mounts the volume (the boot thread's RPC to the vdisk thread), or formats a disk
//! that is still blank (its first block all zeros: a new disk image); a disk of another format
//! or a damaged one is refused with the reason in the log, and the node boots without Bullet.
//! The server listens on the get-port kept in the superblock and its super capability's check
//! is kept there too, so capabilities handed out before a reboot work after it. The directory
//! publishes `bullet` with the rights to create and read.
//!
//! Uncommitted files expire 10 minutes after their last request (5.3's rule, kept by the
//! portable server on the TSC's clock): each request looks for them, and so does the server's
//! loop when no request has come for [`EXPIRY_TICK_MS`], so their blocks come back on an
//! idle node too.

use super::disk_by_rpc::DiskByRpc;
use super::{Publications, spawn_server};
use crate::arch::tsc;
use crate::entropy::KernelEntropy;
use crate::ipc::KernelRpc;
use alloc::vec;
use libamoeba::bullet::server::{BulletServer, CREATE, Clock, READ};
use libamoeba::bullet::{MountError, Volume};
use libamoeba::capability::{Capability, Port};
use libamoeba::client::migration::Mover;
use libamoeba::random::Entropy;
use libamoeba::rights::restrict_owner;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::header::Header;
use libamoeba::rpc::server::serve_one;
use libamoeba::rpc::transport::{MAX_MESSAGE_BYTES, Received, Rpc};

/// Files a new volume has room for.
const NEW_VOLUME_FILES: u32 = 4096;
/// How long the server waits for a request before it looks for expired files itself
/// (milliseconds): a file outlives its 10 minutes by at most this much on an idle node.
const EXPIRY_TICK_MS: u64 = 60_000;
/// Request and reply buffers: room for a 29768-byte chunk and more.
const BUFFER_BYTES: usize = 64 * 1024;
const _: () = assert!(BUFFER_BYTES <= MAX_MESSAGE_BYTES);

/// Milliseconds since the machine's reset, on the TSC.
struct TscClock;

impl Clock for TscClock {
    fn now_ms(&self) -> u64 {
        tsc::nanos_since_reset().unwrap_or(0) / 1_000_000
    }
}

type Server = BulletServer<DiskByRpc, KernelEntropy, TscClock>;

/// The volume on the vdisk server `disk`'s disk: mounted, or made on a blank disk.
fn open_volume(disk: Capability) -> Option<Volume<DiskByRpc>> {
    let mut device = DiskByRpc::open(disk)?;
    let is_blank = device.is_blank();
    match Volume::mount(device) {
        Ok(volume) => Some(volume),
        Err(MountError::Foreign) if is_blank => {
            // The failed mount consumed the handle: a new one to the same disk.
            let device = DiskByRpc::open(disk)?;
            let port = Port(KernelEntropy.nonzero48());
            let mut secret = [0u8; 6];
            KernelEntropy.fill(&mut secret);
            match Volume::format(device, port, secret, NEW_VOLUME_FILES) {
                Ok(volume) => {
                    log::info!("server bullet: a blank disk: made a new volume");
                    Some(volume)
                }
                Err(error) => {
                    log::error!("server bullet: cannot make a volume on the blank disk: {error}");
                    None
                }
            }
        }
        Err(error) => {
            log::error!(
                "server bullet: the disk is not a usable Bullet volume ({error}); not started \
                 (a new disk image: `--fresh-disk`)"
            );
            None
        }
    }
}

#[inline(never)] // one symbol per server: image checks find selected servers by name
pub fn start(published: &mut Publications) {
    let disk = published.owner(super::vdisk::NAME);
    if disk.is_null() {
        log::warn!("server bullet: no disk (the vdisk server did not start); not started");
        return;
    }
    let Some(volume) = open_volume(disk) else {
        return;
    };
    let server = BulletServer::new(volume, KernelEntropy, TscClock);
    let owner = server.super_capability();
    let get = server.get_port();
    let public = restrict_owner(&owner, CREATE | READ).unwrap_or(Capability::NULL);
    published.add("bullet", public, owner);
    spawn_server("bullet", owner, move || serve_expiring(get, server));
}

/// The server's loop: requests as they come, and a look for expired files whenever none
/// has come for [`EXPIRY_TICK_MS`]. Ends only if a getreq fails otherwise.
fn serve_expiring(get: Port, mut server: Server) -> ErrorCode {
    let mut request = vec![0; BUFFER_BYTES];
    let mut reply = vec![0; BUFFER_BYTES];
    loop {
        match serve_one(&Ticking, get, &mut server, &mut request, &mut reply) {
            Ok(()) => {}
            Err(ErrorCode::RPC_ABORTED) => {
                let expired = server.expire();
                if expired > 0 {
                    log::info!("server bullet: {expired} uncommitted files expired");
                }
            }
            Err(error) => return error,
        }
    }
}

/// The kernel's RPC with a getreq that gives up after [`EXPIRY_TICK_MS`] (RPC_ABORTED).
struct Ticking;

impl Rpc for Ticking {
    fn trans(
        &self,
        request: &Header,
        request_data: &[u8],
        reply: &mut Header,
        reply_data: &mut [u8],
    ) -> Result<Received, ErrorCode> {
        KernelRpc.trans(request, request_data, reply, reply_data)
    }

    fn getreq(&self, header: &mut Header, buffer: &mut [u8]) -> Result<Received, ErrorCode> {
        KernelRpc.getreq_within(header, buffer, EXPIRY_TICK_MS)
    }

    fn putrep(&self, header: &Header, data: &[u8]) -> Result<(), ErrorCode> {
        KernelRpc.putrep(header, data)
    }
}
