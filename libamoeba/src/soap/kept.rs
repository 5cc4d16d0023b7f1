//! Directories kept in Bullet files, as 5.3's SOAP keeps them, with the table of which file
//! holds which directory on a raw disk piece ([`super::table`]).
//!
//! A change is made durable in this order: the changed directory is written to a new
//! committed Bullet file; the directory's record is rewritten to name the new file, with the
//! old one as still to destroy, and flushed; then the old file is destroyed and the reply
//! goes out. A crash at any point leaves the record naming a whole file (Bullet commits are
//! durable before they are acknowledged), and at most a file to destroy, which the next mount
//! destroys. A file made before the crash but never recorded is the one thing left over: a
//! committed Bullet file no record names (Bullet's FSCK counts it as a file; see
//! `docs/soap-format.md`).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::directory::Directory;
use super::server::Store;
use super::table::{Record, Table, TableError};
use crate::capability::{CHECK_LEN, Capability, Port};
use crate::rpc::codes::ErrorCode;
use crate::servers::vdisk::BlockDevice;

/// The Bullet files directories are kept in: over RPC in a node, in-process in the builder.
pub trait DirectoryFiles {
    /// A new committed file holding `data`.
    fn create(&mut self, data: &[u8]) -> Result<Capability, ErrorCode>;
    /// The whole of file `file`.
    fn read(&mut self, file: &Capability) -> Result<Vec<u8>, ErrorCode>;
    fn destroy(&mut self, file: &Capability) -> Result<(), ErrorCode>;
}

/// A [`Store`] of directories in Bullet files.
pub struct KeptInBullet<D, F> {
    table: Table<D>,
    files: F,
    current: BTreeMap<u32, Capability>,
}

/// What a mount found: the directories to serve and what could not be read.
pub struct Restored<D, F> {
    pub store: KeptInBullet<D, F>,
    pub get_port: Port,
    pub directories: Vec<(u32, [u8; CHECK_LEN], Directory)>,
    /// One line a record or file that could not be used; those directories are not served.
    pub problems: Vec<String>,
}

impl<D: BlockDevice, F: DirectoryFiles> KeptInBullet<D, F> {
    /// A new, empty table on `device` for a server with `get_port`.
    pub fn format(device: D, get_port: Port, files: F, most: u32) -> Result<Self, TableError> {
        let table = Table::format(device, get_port, most)?;
        Ok(Self {
            table,
            files,
            current: BTreeMap::new(),
        })
    }

    /// The table on `device` and every directory it names; files left to destroy are
    /// destroyed now.
    pub fn mount(device: D, files: F) -> Result<Restored<D, F>, TableError> {
        let mounted = Table::mount(device)?;
        let get_port = mounted.table.get_port();
        let mut store = Self {
            table: mounted.table,
            files,
            current: BTreeMap::new(),
        };
        let mut problems: Vec<String> = mounted
            .damaged
            .iter()
            .map(|o| format!("directory {o}: record damaged"))
            .collect();
        let mut directories = Vec::new();
        for (object, record) in mounted.records {
            match store.restore(object, &record) {
                Ok(Some(dir)) => directories.push((object, record.check, dir)),
                Ok(None) => {}
                Err(problem) => problems.push(format!("directory {object}: {problem}")),
            }
        }
        Ok(Restored {
            store,
            get_port,
            directories,
            problems,
        })
    }

    /// Finishes what a crash left of `record` and reads its directory (`None`: removed).
    fn restore(&mut self, object: u32, record: &Record) -> Result<Option<Directory>, String> {
        if !record.old.is_null() {
            // A file already gone is what a crash after its destroy leaves: fine.
            let _ = self.files.destroy(&record.old);
            let finished = Record {
                old: Capability::NULL,
                ..*record
            };
            let rewrite = if record.removed {
                None
            } else {
                Some(&finished)
            };
            self.table
                .write(object, rewrite)
                .map_err(|e| format!("{e}"))?;
        }
        if record.removed {
            return Ok(None);
        }
        let bytes = self
            .files
            .read(&record.file)
            .map_err(|e| format!("file {}: {e}", record.file))?;
        let dir = Directory::decode(&bytes).map_err(|e| format!("file {}: {e}", record.file))?;
        self.current.insert(object, record.file);
        Ok(Some(dir))
    }

    pub fn table(&self) -> &Table<D> {
        &self.table
    }

    pub fn into_parts(self) -> (D, F) {
        (self.table.into_device(), self.files)
    }
}

fn table_error(_: TableError) -> ErrorCode {
    ErrorCode::STD_SYSERR
}

impl<D: BlockDevice, F: DirectoryFiles> Store for KeptInBullet<D, F> {
    fn save(
        &mut self,
        object: u32,
        check: [u8; CHECK_LEN],
        dir: &Directory,
    ) -> Result<(), ErrorCode> {
        if object >= self.table.capacity() {
            return Err(ErrorCode::STD_NOSPACE);
        }
        let file = self.files.create(&dir.encode())?;
        let old = self
            .current
            .get(&object)
            .copied()
            .unwrap_or(Capability::NULL);
        let record = Record {
            removed: false,
            check,
            file,
            old,
        };
        if let Err(error) = self.table.write(object, Some(&record)) {
            let _ = self.files.destroy(&file);
            return Err(table_error(error));
        }
        self.current.insert(object, file);
        if !old.is_null() {
            // The record no longer names it; a failure leaves it for the next mount.
            if self.files.destroy(&old).is_ok() {
                let _ = self.table.write(
                    object,
                    Some(&Record {
                        old: Capability::NULL,
                        ..record
                    }),
                );
            }
        }
        Ok(())
    }

    fn remove(&mut self, object: u32) -> Result<(), ErrorCode> {
        let Some(old) = self.current.get(&object).copied() else {
            return Err(ErrorCode::STD_CAPBAD);
        };
        let record = Record {
            removed: true,
            check: [0; CHECK_LEN],
            file: Capability::NULL,
            old,
        };
        self.table
            .write(object, Some(&record))
            .map_err(table_error)?;
        self.current.remove(&object);
        if self.files.destroy(&old).is_ok() {
            let _ = self.table.write(object, None);
        }
        Ok(())
    }
}
