//! Where a built disk gets its directories: the SOAP server's, each kept as a committed Bullet
//! file on the volume and the table of them on piece `vdisk:01` (`docs/soap-format.md`),
//! written by the same libamoeba code the node's SOAP server runs (`libamoeba::soap::kept`),
//! driven in-process. The root holds the tree's top names; every directory has SOAP's default
//! columns (owner, group, other) and every row every right in each, as `amoeba put` and
//! `amoeba mkdir` make them. Rows carry time 0, so the image's bytes depend on nothing but
//! its inputs. With an empty tree the piece stays blank and the node's SOAP server makes its
//! table and an empty root at the first boot.

use std::collections::BTreeMap;

use libamoeba::bullet::{StoreError, Volume};
use libamoeba::capability::{ALL_RIGHTS, Capability, Port};
use libamoeba::oneway::put_port;
use libamoeba::random::Entropy;
use libamoeba::rights::owner_capability;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::servers::vdisk::BlockDevice;
use libamoeba::soap::CapSet;
use libamoeba::soap::directory::{Directory, MAX_COLUMNS};
use libamoeba::soap::kept::{DirectoryFiles, KeptInBullet};
use libamoeba::soap::server::{Alone, SoapServer};
use libamoeba::soap::table::TableError;
use thiserror::Error;

use super::entropy::SeededEntropy;
use super::tree::{DiskPath, DiskTree};

/// Directories a built table has room for: as many as a table the node makes.
const TABLE_DIRECTORIES: u32 = 4096;
/// Every right in every column.
const ALL_MASKS: [u32; MAX_COLUMNS] = [ALL_RIGHTS as u32; MAX_COLUMNS];

#[derive(Debug, Error)]
pub enum DirectoriesError {
    #[error("the SOAP table does not fit its disk piece: {0}")]
    Table(TableError),
    #[error("making directory {path}: {error}")]
    Directory { path: String, error: ErrorCode },
}

/// The volume as the SOAP store's Bullet files, in-process.
struct VolumeFiles<'v, V> {
    volume: &'v mut Volume<V>,
    port: Port,
    entropy: SeededEntropy,
}

impl<V: BlockDevice> DirectoryFiles for VolumeFiles<'_, V> {
    fn create(&mut self, data: &[u8]) -> Result<Capability, ErrorCode> {
        let (inode, check) = self
            .volume
            .create(data, true, &mut self.entropy)
            .map_err(code)?;
        owner_capability(self.port, inode, check).map_err(|_| ErrorCode::STD_SYSERR)
    }

    fn read(&mut self, file: &Capability) -> Result<Vec<u8>, ErrorCode> {
        let size = self.volume.size(file.object).map_err(code)?;
        let mut data = vec![0; usize::try_from(size).map_err(|_| ErrorCode::STD_NOSPACE)?];
        self.volume.read(file.object, 0, &mut data).map_err(code)?;
        Ok(data)
    }

    fn destroy(&mut self, file: &Capability) -> Result<(), ErrorCode> {
        self.volume.destroy(file.object).map_err(code)
    }
}

fn code(error: StoreError) -> ErrorCode {
    error.into()
}

/// Makes the directories of `tree` in `volume` and their table on `soap_piece`.
pub fn write_directories<S: BlockDevice, V: BlockDevice>(
    tree: &DiskTree,
    soap_piece: &mut S,
    volume: &mut Volume<V>,
    entropy: &mut impl Entropy,
) -> Result<(), DirectoriesError> {
    if tree.is_empty() {
        return Ok(());
    }
    let mut seed = [0u8; 32];
    entropy.fill(&mut seed);
    let files = VolumeFiles {
        port: put_port(volume.superblock().port),
        volume,
        entropy: SeededEntropy::new(seed),
    };
    let get = Port(entropy.nonzero48());
    let store = KeptInBullet::format(soap_piece, get, files, TABLE_DIRECTORIES)
        .map_err(DirectoriesError::Table)?;
    let root = Directory::with_default_columns();
    let failed = |path: &str| {
        let path = path.to_string();
        move |error| DirectoriesError::Directory { path, error }
    };
    let (mut server, _) =
        SoapServer::new(put_port(get), root, store, Alone, entropy).map_err(failed("/"))?;
    // Parents before children: a BTreeSet of paths sorts `/a` before `/a/b`.
    let mut made: BTreeMap<DiskPath, u32> = BTreeMap::new();
    for dir in tree.directories() {
        let shown = dir.to_string();
        let cap = server
            .create_directory(Directory::with_default_columns())
            .map_err(failed(&shown))?;
        append(&mut server, &made, &dir, cap).map_err(failed(&shown))?;
        made.insert(dir, cap.object);
    }
    for (path, file) in &tree.files {
        append(&mut server, &made, path, *file).map_err(failed(&path.to_string()))?;
    }
    Ok(())
}

/// Names `cap` as `path` in its parent (made before it).
fn append<S, O, E>(
    server: &mut SoapServer<S, O, E>,
    made: &BTreeMap<DiskPath, u32>,
    path: &DiskPath,
    cap: Capability,
) -> Result<(), ErrorCode>
where
    S: libamoeba::soap::Store,
    O: libamoeba::soap::Outside,
    E: Entropy,
{
    let parent = path
        .ancestors()
        .last()
        .map_or(Some(0), |above| made.get(&above).copied());
    let parent = parent.ok_or(ErrorCode::STD_NOTFOUND)?;
    let name = path.names().last().ok_or(ErrorCode::STD_ARGBAD)?;
    server.append_row(parent, name, CapSet::singleton(cap), ALL_MASKS)
}
