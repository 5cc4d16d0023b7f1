//! The SOAP directory server's logic, for every directory a node serves: the kernel
//! directory (kept in memory, [`NotKept`]) and a file server's directories (kept in Bullet
//! files, `super::bullet_store`). One protocol serves both, as in 5.3, where the kernel
//! directory is the SOAP code built into the kernel.
//!
//! Rights of a directory capability (reference): bits 0-3 the columns the holder reads
//! with, [`MODIFY`] 0x40, [`DELETE`] 0x80. A request needs at least one column the directory
//! has (5.3's `sp_acquire`); APPEND, CHMOD, DELETE, REPLACE and INSTALL also need MODIFY;
//! DISCARD (and STD_DESTROY) needs DELETE. Objects are directories; object 0 is the root.
//!
//! Ours, where 5.3 differs or is silent:
//! - A directory is changed by saving a changed copy first ([`Store::save`]); if that fails
//!   the request fails and the directory is as it was.
//! - The kernel's own names ([`SoapServer::publish`]) cannot be deleted, replaced or
//!   re-masked by requests (STD_DENIED), so a process may add names beside the kernel's
//!   but never take a server's place.
//! - SP_CREATE on a kernel directory needs every right (5.3: "we don't want outsiders to
//!   create new kernel directories"); elsewhere any genuine capability of the server will do.
//! - Rows and directories are bounded ([`Limits`]): STD_NOSPACE beyond.
//! - SP_PUTTYPE is STD_COMBAD; SETLOOKUP's type capability is always null.
//! - INSTALL checks `old` against the entry's current capabilities only (5.3 also asks the
//!   object's server to restrict the stored one and compares).

mod lookup;

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::capset::CapSet;
use super::directory::{Directory, MAX_COLUMNS, Row};
use super::wire::{self, BUFFER_BYTES};
use crate::capability::{ALL_RIGHTS, CHECK_LEN, Capability, Port};
use crate::random::Entropy;
use crate::rpc::codes::{Command, ErrorCode, SOAP_FIRST_COM};
use crate::rpc::header::Header;
use crate::rpc::objects::ObjectTable;
use crate::rpc::server::{Reply, Request, Server};
use crate::servers::standard::{answer_info, answer_restrict, reply_limit, whole_data};

pub const SP_CREATE: Command = Command(SOAP_FIRST_COM);
pub const SP_DISCARD: Command = Command(SOAP_FIRST_COM + 1);
pub const SP_LIST: Command = Command(SOAP_FIRST_COM + 2);
pub const SP_APPEND: Command = Command(SOAP_FIRST_COM + 3);
pub const SP_CHMOD: Command = Command(SOAP_FIRST_COM + 4);
pub const SP_DELETE: Command = Command(SOAP_FIRST_COM + 5);
pub const SP_LOOKUP: Command = Command(SOAP_FIRST_COM + 6);
pub const SP_SETLOOKUP: Command = Command(SOAP_FIRST_COM + 7);
pub const SP_INSTALL: Command = Command(SOAP_FIRST_COM + 8);
pub const SP_PUTTYPE: Command = Command(SOAP_FIRST_COM + 9);
pub const SP_REPLACE: Command = Command(SOAP_FIRST_COM + 10);
pub const SP_GETMASKS: Command = Command(SOAP_FIRST_COM + 11);
pub const SP_GETSEQNR: Command = Command(SOAP_FIRST_COM + 12);

/// The column bits of a directory capability's rights (5.3's SP_COLMASK).
pub const COLUMNS: u8 = 0x0F;
/// Right to change rows.
pub const MODIFY: u8 = 0x40;
/// Right to discard the directory.
pub const DELETE: u8 = 0x80;

/// Where directories are kept between requests (and reboots).
pub trait Store {
    /// Keeps `dir` as directory `object` with secret `check`, replacing what was kept.
    fn save(
        &mut self,
        object: u32,
        check: [u8; CHECK_LEN],
        dir: &Directory,
    ) -> Result<(), ErrorCode>;
    /// Forgets directory `object`.
    fn remove(&mut self, object: u32) -> Result<(), ErrorCode>;
}

/// Directories in memory only: the kernel directory, made anew at each boot.
pub struct NotKept;

impl Store for NotKept {
    fn save(&mut self, _: u32, _: [u8; CHECK_LEN], _: &Directory) -> Result<(), ErrorCode> {
        Ok(())
    }

    fn remove(&mut self, _: u32) -> Result<(), ErrorCode> {
        Ok(())
    }
}

/// What the server asks of the world around it.
pub trait Outside {
    /// Seconds since 1970, for the rows' times.
    fn now(&mut self) -> u32;
    /// Another server's capability restricted to `mask` by that server (STD_RESTRICT);
    /// `None` if it cannot be.
    fn restrict(&mut self, cap: &Capability, mask: u8) -> Option<Capability>;
}

/// No clock and no other servers to ask: rows get time 0, and only capabilities that keep
/// their rights (or are this server's own) can be handed out. For tests and for a directory
/// that only ever holds capabilities with every right in every mask.
pub struct Alone;

impl Outside for Alone {
    fn now(&mut self) -> u32 {
        0
    }

    fn restrict(&mut self, _: &Capability, _: u8) -> Option<Capability> {
        None
    }
}

/// Bounds on what clients can make the server hold.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub rows: usize,
    pub directories: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Row indexes travel in a 16-bit h_extra, NO_MORE_ROWS taken.
        Self {
            rows: usize::from(wire::NO_MORE_ROWS - 1),
            directories: 4096,
        }
    }
}

/// A directory and how often it changed (SP_GETSEQNR).
#[derive(Clone, Debug)]
pub struct Kept {
    pub dir: Directory,
    pub changes: u64,
}

/// A SOAP server.
pub struct SoapServer<S, O, E> {
    objects: ObjectTable<Kept>,
    store: S,
    outside: O,
    entropy: E,
    limits: Limits,
    /// A kernel directory: STD_INFO says `%`, SP_CREATE needs every right.
    kernel: bool,
    /// Root names [`SoapServer::publish`] made.
    pinned: BTreeSet<String>,
}

impl<O: Outside, E: Entropy> SoapServer<NotKept, O, E> {
    /// A kernel directory at `put_port` (in memory, [`crate::soap::directory::DEFAULT_COLUMNS`],
    /// module docs), with its root's owner capability.
    pub fn kernel_directory(
        put_port: Port,
        outside: O,
        entropy: E,
    ) -> Result<(Self, Capability), ErrorCode> {
        let root = Directory::with_default_columns();
        let (server, owner) = SoapServer::new(put_port, root, NotKept, outside, entropy)?;
        Ok((server.as_kernel_directory(), owner))
    }
}

impl<S: Store, O: Outside, E: Entropy> SoapServer<S, O, E> {
    /// A server at `put_port` with an empty root of `columns`, kept at once; returns it and
    /// the root's owner capability.
    pub fn new(
        put_port: Port,
        root: Directory,
        mut store: S,
        outside: O,
        mut entropy: E,
    ) -> Result<(Self, Capability), ErrorCode> {
        let mut objects = ObjectTable::new(put_port);
        let kept = Kept {
            dir: root,
            changes: 0,
        };
        let owner = objects.insert_at(0, &mut entropy, kept)?;
        let check = objects.check(0).ok_or(ErrorCode::STD_SYSERR)?;
        let (_, kept) = objects.get(&Header::request(&owner, SP_LOOKUP), 0)?;
        store.save(0, check, &kept.dir)?;
        let server = Self::with_objects(objects, store, outside, entropy);
        Ok((server, owner))
    }

    /// A server at `put_port` with the directories kept before: (object, check, directory).
    pub fn restore(
        put_port: Port,
        kept: Vec<(u32, [u8; CHECK_LEN], Directory)>,
        store: S,
        outside: O,
        entropy: E,
    ) -> Result<Self, ErrorCode> {
        let mut objects = ObjectTable::new(put_port);
        for (object, check, dir) in kept {
            objects.restore(object, check, Kept { dir, changes: 0 })?;
        }
        if !objects.contains(0) {
            return Err(ErrorCode::STD_NOTFOUND);
        }
        Ok(Self::with_objects(objects, store, outside, entropy))
    }

    fn with_objects(objects: ObjectTable<Kept>, store: S, outside: O, entropy: E) -> Self {
        Self {
            objects,
            store,
            outside,
            entropy,
            limits: Limits::default(),
            kernel: false,
            pinned: BTreeSet::new(),
        }
    }

    /// The same server, bounded by `limits`.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The same server as a kernel directory (module docs).
    pub fn as_kernel_directory(mut self) -> Self {
        self.kernel = true;
        self
    }

    /// Capability of directory `object` with `rights`.
    pub fn capability(&self, object: u32, rights: u8) -> Option<Capability> {
        self.objects.capability(object, rights)
    }

    /// Adds `name` → `cap` to the root for good (every column, every right), for whoever
    /// runs the server in-process: requests cannot delete or change it.
    pub fn publish(&mut self, name: &str, cap: Capability) -> Result<(), ErrorCode> {
        let row = self.new_row(
            name,
            CapSet::singleton(cap),
            [u32::from(ALL_RIGHTS); MAX_COLUMNS],
        )?;
        self.change(0, |dir| append(dir, row, usize::MAX))?;
        self.pinned.insert(name.to_string());
        Ok(())
    }

    /// A new directory made in-process (the builder filling a disk): its owner capability.
    pub fn create_directory(&mut self, dir: Directory) -> Result<Capability, ErrorCode> {
        if self.objects.len() >= self.limits.directories {
            return Err(ErrorCode::STD_NOSPACE);
        }
        let cap = self.objects.insert(
            &mut self.entropy,
            Kept {
                dir: dir.clone(),
                changes: 0,
            },
        )?;
        let check = self
            .objects
            .check(cap.object)
            .ok_or(ErrorCode::STD_SYSERR)?;
        if let Err(error) = self.store.save(cap.object, check, &dir) {
            self.objects.remove(cap.object);
            return Err(error);
        }
        Ok(cap)
    }

    /// Adds `name` → `capset` with `masks` to directory `object`, in-process; unlike
    /// [`publish`](Self::publish), requests may change it later.
    pub fn append_row(
        &mut self,
        object: u32,
        name: &str,
        capset: CapSet,
        masks: [u32; MAX_COLUMNS],
    ) -> Result<(), ErrorCode> {
        let row = self.new_row(name, capset, masks)?;
        let most = self.limits.rows;
        self.change(object, |dir| append(dir, row, most))
    }

    /// What `name` maps to in the root.
    pub fn lookup(&self, name: &str) -> Option<Capability> {
        self.kept(0).ok()?.dir.find(name)?.capset.first()
    }

    /// Every directory with its check, for a store that writes them all at once.
    pub fn directories(&self) -> impl Iterator<Item = (u32, [u8; CHECK_LEN], &Directory)> {
        self.objects
            .iter()
            .filter_map(|(object, kept)| Some((object, self.objects.check(object)?, &kept.dir)))
    }

    /// The store, for its owner (to flush it, or to read what it knows).
    pub fn store(&mut self) -> &mut S {
        &mut self.store
    }

    fn new_row(
        &mut self,
        name: &str,
        capset: CapSet,
        masks: [u32; MAX_COLUMNS],
    ) -> Result<Row, ErrorCode> {
        if !super::directory::is_valid_name(name) {
            return Err(ErrorCode::STD_ARGBAD);
        }
        Ok(Row {
            name: name.to_string(),
            capset,
            masks,
            time: self.outside.now(),
        })
    }

    /// The directory `header` names, if its capability is genuine, holds `required` and a
    /// column the directory has (5.3's `sp_acquire`).
    fn acquire(&self, header: &Header, required: u8) -> Result<(u32, &Kept), ErrorCode> {
        let (object, kept) = self.objects.get(header, required)?;
        if header.private.rights & kept.dir.column_bits() == 0 {
            return Err(ErrorCode::STD_DENIED);
        }
        Ok((object, kept))
    }

    /// Applies `edit` to a copy of directory `object`, keeps the copy, and only then puts
    /// it in the directory's place.
    fn change(
        &mut self,
        object: u32,
        edit: impl FnOnce(&mut Directory) -> Result<(), ErrorCode>,
    ) -> Result<(), ErrorCode> {
        let check = self.objects.check(object).ok_or(ErrorCode::STD_CAPBAD)?;
        let header = Header::request(&self.owner(object)?, SP_APPEND);
        let (_, kept) = self.objects.get_mut(&header, 0)?;
        let mut dir = kept.dir.clone();
        edit(&mut dir)?;
        self.store.save(object, check, &dir)?;
        let (_, kept) = self.objects.get_mut(&header, 0)?;
        kept.dir = dir;
        kept.changes += 1;
        Ok(())
    }

    fn kept(&self, object: u32) -> Result<&Kept, ErrorCode> {
        let header = Header::request(&self.owner(object)?, SP_LOOKUP);
        Ok(self.objects.get(&header, 0)?.1)
    }

    fn owner(&self, object: u32) -> Result<Capability, ErrorCode> {
        self.objects
            .capability(object, ALL_RIGHTS)
            .ok_or(ErrorCode::STD_CAPBAD)
    }

    /// A row of the root the kernel published: not for requests to change.
    fn refuse_pinned(&self, object: u32, name: &str) -> Result<(), ErrorCode> {
        if object == 0 && self.pinned.contains(name) {
            return Err(ErrorCode::STD_DENIED);
        }
        Ok(())
    }

    fn create(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let needed = if self.kernel {
            COLUMNS | MODIFY | DELETE
        } else {
            0
        };
        self.objects.get(&request.header, needed)?;
        let columns = wire::decode_names(whole_data(request)?).ok_or(ErrorCode::STD_ARGBAD)?;
        let dir = Directory::new(&columns).map_err(|_| ErrorCode::STD_ARGBAD)?;
        if self.objects.len() >= self.limits.directories {
            return Err(ErrorCode::STD_NOSPACE);
        }
        let kept = Kept {
            dir: dir.clone(),
            changes: 0,
        };
        let cap = self.objects.insert(&mut self.entropy, kept)?;
        let check = self
            .objects
            .check(cap.object)
            .ok_or(ErrorCode::STD_SYSERR)?;
        if let Err(error) = self.store.save(cap.object, check, &dir) {
            self.objects.remove(cap.object);
            return Err(error);
        }
        reply.header.set_capability(&cap);
        Ok(())
    }

    fn discard(&mut self, request: &Request<'_>) -> Result<(), ErrorCode> {
        let (object, kept) = self.acquire(&request.header, DELETE)?;
        if object == 0 {
            return Err(ErrorCode::STD_DENIED);
        }
        if !kept.dir.rows().is_empty() {
            return Err(ErrorCode::SP_NOTEMPTY);
        }
        self.store.remove(object)?;
        self.objects.remove(object);
        Ok(())
    }

    fn list(&self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let (_, kept) = self.acquire(&request.header, 0)?;
        let first = usize::from(request.header.extra);
        let limit = reply_limit(request, reply).min(BUFFER_BYTES);
        let rows = kept.dir.rows().iter().skip(first);
        let (bytes, next) = wire::encode_list(
            kept.dir.columns(),
            kept.dir.rows().len(),
            rows.map(|row| (row.name.as_str(), &row.masks[..])),
            first,
            limit,
        )
        .ok_or(ErrorCode::STD_OVERFLOW)?;
        reply.push(&bytes)?;
        reply.header.extra = next;
        reply.header.size = bytes.len() as u16;
        Ok(())
    }

    fn append(&mut self, request: &Request<'_>) -> Result<(), ErrorCode> {
        let (name, capset, masks) =
            wire::decode_append(whole_data(request)?).ok_or(ErrorCode::STD_ARGBAD)?;
        let (object, _) = self.acquire(&request.header, MODIFY)?;
        let row = self.new_row(name, capset, masks)?;
        let most = self.limits.rows;
        self.change(object, |dir| append(dir, row, most))
    }

    fn edit_row(
        &mut self,
        request: &Request<'_>,
        name: &str,
        edit: impl FnOnce(&mut Row),
    ) -> Result<(), ErrorCode> {
        let (object, _) = self.acquire(&request.header, MODIFY)?;
        self.refuse_pinned(object, name)?;
        let now = self.outside.now();
        self.change(object, |dir| {
            let row = dir.find_mut(name).ok_or(ErrorCode::STD_NOTFOUND)?;
            edit(row);
            row.time = now;
            Ok(())
        })
    }

    fn delete(&mut self, request: &Request<'_>) -> Result<(), ErrorCode> {
        let name = wire::decode_name(whole_data(request)?).ok_or(ErrorCode::STD_ARGBAD)?;
        let (object, _) = self.acquire(&request.header, MODIFY)?;
        self.refuse_pinned(object, name)?;
        self.change(object, |dir| {
            dir.remove(name).map(drop).ok_or(ErrorCode::STD_NOTFOUND)
        })
    }

    fn getmasks(&self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let (_, kept) = self.acquire(&request.header, 0)?;
        let name = wire::decode_name(whole_data(request)?).ok_or(ErrorCode::STD_ARGBAD)?;
        let row = kept.dir.find(name).ok_or(ErrorCode::STD_NOTFOUND)?;
        for mask in &row.masks[..kept.dir.columns().len()] {
            reply.push(&mask.to_le_bytes())?;
        }
        reply.header.size = reply.data().len() as u16;
        Ok(())
    }

    fn seqnr(&self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let (_, kept) = self.acquire(&request.header, 0)?;
        reply.push(&(kept.changes as u32).to_le_bytes())?;
        reply.push(&((kept.changes >> 32) as u32).to_le_bytes())?;
        reply.header.size = 8;
        Ok(())
    }

    fn info(&self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        self.objects.get(&request.header, 0)?;
        let rights = request.header.private.rights;
        let flag = |bit: u8, c: char| if rights & bit != 0 { c } else { '-' };
        let text: String = [
            if self.kernel { '%' } else { '/' },
            flag(DELETE, 'd'),
            flag(MODIFY, 'w'),
            flag(1, '1'),
            flag(2, '2'),
            flag(4, '3'),
            flag(8, '4'),
        ]
        .iter()
        .collect();
        answer_info(reply, &text);
        Ok(())
    }
}

/// Adds `row` to `dir` unless the name is taken (STD_EXISTS) or `dir` holds `most` rows.
fn append(dir: &mut Directory, row: Row, most: usize) -> Result<(), ErrorCode> {
    if dir.find(&row.name).is_some() {
        return Err(ErrorCode::STD_EXISTS);
    }
    if dir.rows().len() >= most {
        return Err(ErrorCode::STD_NOSPACE);
    }
    dir.append(row);
    Ok(())
}

impl<S: Store, O: Outside, E: Entropy> Server for SoapServer<S, O, E> {
    fn handle(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        match request.header.command() {
            Command::STD_INFO => self.info(request, reply),
            Command::STD_RESTRICT => answer_restrict(&self.objects, request, reply),
            Command::STD_DESTROY | SP_DISCARD => self.discard(request),
            SP_CREATE => self.create(request, reply),
            SP_LIST => self.list(request, reply),
            SP_APPEND => self.append(request),
            SP_CHMOD => {
                let (name, masks) =
                    wire::decode_chmod(whole_data(request)?).ok_or(ErrorCode::STD_ARGBAD)?;
                self.edit_row(request, name, |row| row.masks = masks)
            }
            SP_REPLACE => {
                let (name, capset) =
                    wire::decode_replace(whole_data(request)?).ok_or(ErrorCode::STD_ARGBAD)?;
                self.edit_row(request, name, |row| row.capset = capset)
            }
            SP_DELETE => self.delete(request),
            SP_LOOKUP => self.lookup_path(request, reply),
            SP_SETLOOKUP => self.setlookup(request, reply),
            SP_INSTALL => self.install(request),
            SP_GETMASKS => self.getmasks(request, reply),
            SP_GETSEQNR => self.seqnr(request, reply),
            _ => Err(ErrorCode::STD_COMBAD),
        }
    }
}

/// Directories changed by one INSTALL, applied together.
type Changed = BTreeMap<u32, Directory>;

#[cfg(test)]
mod tests;
