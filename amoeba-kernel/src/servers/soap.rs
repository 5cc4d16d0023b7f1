//! The SOAP directory server in the kernel: `libamoeba::soap` with its directories kept in
//! files of the node's Bullet server and its table on disk piece `vdisk:01`, both by RPC
//! (`docs/soap-format.md`).
//!
//! At boot it mounts the table and reads every directory, or makes a new table and an empty
//! root on a piece that is still blank; a piece of another format or a damaged table is refused
//! with the reason in the log, and the node boots without SOAP. The get-port is kept in the
//! table and each directory's check in its record, so directory capabilities survive
//! reboots. The kernel directory publishes `soap`, the root, with the columns and MODIFY (look
//! up, list, add); the owner capability goes to the console.

use alloc::vec::Vec;

use super::dir::KernelOutside;
use super::disk_by_rpc::DiskByRpc;
use super::{Ports, Publications, run};
use crate::entropy::KernelEntropy;
use crate::ipc::KernelRpc;
use libamoeba::capability::{ALL_RIGHTS, Capability, Port};
use libamoeba::client::{read_file, std_destroy, write_file};
use libamoeba::oneway::put_port;
use libamoeba::random::Entropy;
use libamoeba::rights::restrict_owner;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::soap::Directory;
use libamoeba::soap::kept::{DirectoryFiles, KeptInBullet};
use libamoeba::soap::server::{COLUMNS, MODIFY, SoapServer};
use libamoeba::soap::table::TableError;
use libamoeba::soap::wire::BUFFER_BYTES;

/// The disk piece of the table.
const TABLE_PIECE: &str = "vdisk:01";
/// Directories a new table has room for.
const NEW_TABLE_DIRECTORIES: u32 = 4096;

/// Directory files on the node's Bullet server.
struct BulletFiles {
    bullet: Capability,
}

impl DirectoryFiles for BulletFiles {
    fn create(&mut self, data: &[u8]) -> Result<Capability, ErrorCode> {
        write_file(&KernelRpc, &self.bullet, data, &mut |_| {})
    }

    fn read(&mut self, file: &Capability) -> Result<Vec<u8>, ErrorCode> {
        read_file(&KernelRpc, file, &mut |_, _| {})
    }

    fn destroy(&mut self, file: &Capability) -> Result<(), ErrorCode> {
        std_destroy(&KernelRpc, file)
    }
}

type Soap = SoapServer<KeptInBullet<DiskByRpc, BulletFiles>, KernelOutside, KernelEntropy>;

/// The server from the table on `table`: mounted, or made on a blank piece.
fn open(table: Capability, bullet: Capability) -> Option<(Soap, Port)> {
    let mut device = DiskByRpc::open(table)?;
    let blank = device.is_blank();
    match KeptInBullet::mount(device, BulletFiles { bullet }) {
        Ok(restored) => {
            for problem in &restored.problems {
                log::error!("server soap: {problem}; that directory is not served");
            }
            let get = restored.get_port;
            let server = SoapServer::restore(
                put_port(get),
                restored.directories,
                restored.store,
                KernelOutside,
                KernelEntropy,
            );
            server
                .map(|server| (server, get))
                .map_err(|error| {
                    log::error!(
                        "server soap: the root directory cannot be read ({error}); not started"
                    );
                })
                .ok()
        }
        Err(TableError::Foreign) if blank => format(table, bullet),
        Err(error) => {
            log::error!("server soap: {error}; not started (a new disk image: `--fresh-disk`)");
            None
        }
    }
}

fn format(table: Capability, bullet: Capability) -> Option<(Soap, Port)> {
    let device = DiskByRpc::open(table)?;
    let get = Port(KernelEntropy.nonzero48());
    let files = BulletFiles { bullet };
    let store = KeptInBullet::format(device, get, files, NEW_TABLE_DIRECTORIES)
        .map_err(|error| log::error!("server soap: cannot make a table: {error}"))
        .ok()?;
    let root = Directory::with_default_columns();
    match SoapServer::new(put_port(get), root, store, KernelOutside, KernelEntropy) {
        Ok((server, _)) => {
            log::info!("server soap: a blank disk piece: made a new table and root");
            Some((server, get))
        }
        Err(error) => {
            log::error!("server soap: cannot keep a new root directory: {error}");
            None
        }
    }
}

#[inline(never)] // one symbol per server: image checks find selected servers by name
pub fn start(published: &mut Publications) {
    let (table, bullet) = (published.owner(TABLE_PIECE), published.owner("bullet"));
    if table.is_null() || bullet.is_null() {
        log::warn!("server soap: no {TABLE_PIECE} or no bullet server; not started");
        return;
    }
    let Some((server, get)) = open(table, bullet) else {
        return;
    };
    let Some(owner) = server.capability(0, ALL_RIGHTS) else {
        return;
    };
    let public = restrict_owner(&owner, COLUMNS | MODIFY).unwrap_or(Capability::NULL);
    published.add("soap", public, owner);
    let ports = Ports {
        get,
        put: put_port(get),
    };
    run("soap", ports, owner, server, BUFFER_BYTES + 1024);
}
