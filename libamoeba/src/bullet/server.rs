//! The Bullet file server's commands over a [`Volume`].
//!
//! From the reference's "Bullet file server" (`docs/amoeba-protocol.md`, 5.3's
//! `src/h/server/bullet/bullet.h`): rights [`CREATE`] 1, [`READ`] 2, [`MODIFY`] 4,
//! [`DESTROY`] 8, [`ADMIN`] 0x80; object 0 is the server (its super capability, check field
//! kept in the superblock, port too, so capabilities survive reboots); object n is inode n.
//!
//! | command | rights | request → reply |
//! |---|---|---|
//! | BS_CREATE 2001 | CREATE (super or committed file) | data, h_extra flags [`COMMIT`] [`SAFETY`] → new file's owner capability in h_port/h_priv |
//! | BS_MODIFY 2005 | MODIFY | h_offset, h_extra flags, data written there (0 bytes: just the flags) → the file's capability |
//! | BS_INSERT 2004 | MODIFY | h_offset, h_extra flags, data put in there, the rest moving up → the file's capability |
//! | BS_DELETE 2002 | MODIFY | h_offset, h_extra flags, buffer = i32 size to take out there → the file's capability |
//! | BS_READ 2006 | READ | h_offset, h_size most bytes → data, h_size = bytes; committed files only |
//! | BS_SIZE 2007 | READ | → h_offset = size |
//! | BS_FSCK 2003 | all, super | → a text report, h_size = its bytes |
//! | BS_SYNC 2009 | ADMIN, super | → nothing |
//! | STD_DESTROY | DESTROY | → nothing |
//! | STD_INFO, STD_RESTRICT | none | as every server (`servers/standard.rs`) |
//!
//! A file is made in chunks of at most 29768 bytes (5.3's): BS_CREATE with the first, then
//! BS_MODIFY (or INSERT, DELETE) with the others, [`COMMIT`] with the last. On an uncommitted
//! file MODIFY, INSERT and DELETE change it in place; on a committed one they make an
//! uncommitted copy under a new capability and change that, which needs READ as well as
//! MODIFY (the copy's owner could read it). Uncommitted files answer only those three, SIZE
//! and DESTROY (and the standard INFO and RESTRICT); READ is STD_DENIED until the commit. An
//! uncommitted file is destroyed [`UNCOMMITTED_LIFETIME_MS`] (10 minutes, 5.3's) after its last
//! request: every request, and the server's loop when it is idle ([`BulletServer::expire`]),
//! looks for such files on the [`Clock`] the server is given. More than
//! [`super::volume::MAX_UNCOMMITTED`] uncommitted files, like a full disk or inode table, is
//! STD_NOSPACE; the server goes on serving.
//!
//! Ours, where the sources are silent or this server differs:
//! - Every commit is written and flushed before the reply, so [`SAFETY`] always holds.
//! - A file's capability that no longer names a file (destroyed, expired) is STD_CAPBAD, like
//!   a forged one.
//! - An offset past the end, or a delete reaching past it, is STD_ARGBAD.
//! - BS_DISK_COMPACT, STD_COPY, STD_TOUCH and STD_AGE are not done: STD_COMBAD. Committed
//!   files do not age.

use alloc::format;
use alloc::string::String;

use super::error::StoreError;
use super::volume::Volume;
use crate::capability::{ALL_RIGHTS, Capability, Port};
use crate::le;
use crate::oneway::put_port;
use crate::random::Entropy;
use crate::rights::{self, CapError};
use crate::rpc::codes::{BULLET_FIRST_COM, Command, ErrorCode};
use crate::rpc::header::Header;
use crate::rpc::server::{Reply, Request, Server};
use crate::servers::standard::{SERVER_OBJECT, answer_info, reply_limit, whole_data};
use crate::servers::vdisk::BlockDevice;

pub const CREATE: u8 = 0x01;
pub const READ: u8 = 0x02;
pub const MODIFY: u8 = 0x04;
pub const DESTROY: u8 = 0x08;
pub const ADMIN: u8 = 0x80;

pub const BS_CREATE: Command = Command(BULLET_FIRST_COM + 1);
pub const BS_DELETE: Command = Command(BULLET_FIRST_COM + 2);
pub const BS_FSCK: Command = Command(BULLET_FIRST_COM + 3);
pub const BS_INSERT: Command = Command(BULLET_FIRST_COM + 4);
pub const BS_MODIFY: Command = Command(BULLET_FIRST_COM + 5);
pub const BS_READ: Command = Command(BULLET_FIRST_COM + 6);
pub const BS_SIZE: Command = Command(BULLET_FIRST_COM + 7);
pub const BS_DISK_COMPACT: Command = Command(BULLET_FIRST_COM + 8);
pub const BS_SYNC: Command = Command(BULLET_FIRST_COM + 9);

/// h_extra flag: commit the file after this request's data.
pub const COMMIT: u16 = 1;
/// h_extra flag: the file is on disk before the reply (always so here).
pub const SAFETY: u16 = 2;

/// How long an uncommitted file lasts after its last request (5.3: 10 minutes).
pub const UNCOMMITTED_LIFETIME_MS: u64 = 10 * 60 * 1000;

/// Milliseconds on a clock that never goes back, from any origin: the time, for the expiry
/// of uncommitted files, from whatever runs the server (the kernel's TSC, a test's hand).
pub trait Clock {
    fn now_ms(&self) -> u64;
}

impl From<StoreError> for ErrorCode {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NoSpace | StoreError::NoInodes | StoreError::TooManyUncommitted => {
                ErrorCode::STD_NOSPACE
            }
            StoreError::NotFound => ErrorCode::STD_CAPBAD,
            StoreError::Committed | StoreError::NotCommitted => ErrorCode::STD_DENIED,
            StoreError::OutOfRange => ErrorCode::STD_ARGBAD,
            StoreError::Damaged { .. } => ErrorCode::STD_SYSERR,
            StoreError::Device(error) => error.into(),
        }
    }
}

/// A Bullet server: a mounted volume, the randomness for new files' check fields and the
/// clock uncommitted files expire by.
pub struct BulletServer<D, E, C> {
    volume: Volume<D>,
    entropy: E,
    clock: C,
    put_port: Port,
}

/// A change to a file: BS_MODIFY, BS_INSERT, BS_DELETE.
#[derive(Clone, Copy, Debug)]
enum Edit<'a> {
    Modify(&'a [u8]),
    Insert(&'a [u8]),
    Delete(u64),
}

/// An object a request's capability names, verified.
#[derive(Clone, Copy, Debug)]
struct Verified {
    object: u32,
    rights: u8,
    committed: bool,
}

impl<D: BlockDevice, E: Entropy, C: Clock> BulletServer<D, E, C> {
    /// The server of `volume`; it listens on the get-port kept in the superblock.
    pub fn new(volume: Volume<D>, entropy: E, clock: C) -> Self {
        let put_port = put_port(volume.superblock().port);
        Self {
            volume,
            entropy,
            clock,
            put_port,
        }
    }

    /// Destroys every uncommitted file whose last request is [`UNCOMMITTED_LIFETIME_MS`] or
    /// more ago; how many. Each request does it first; a server loop calls it when idle too,
    /// so that their blocks come back while nobody asks.
    pub fn expire(&mut self) -> usize {
        let now = self.clock.now_ms();
        self.volume.expire(now, UNCOMMITTED_LIFETIME_MS)
    }

    /// The get-port to serve on.
    pub fn get_port(&self) -> Port {
        self.volume.superblock().port
    }

    /// The super capability, all rights.
    pub fn super_capability(&self) -> Capability {
        self.capability(SERVER_OBJECT, self.volume.superblock().secret)
    }

    pub fn volume(&mut self) -> &mut Volume<D> {
        &mut self.volume
    }

    pub fn into_volume(self) -> Volume<D> {
        self.volume
    }

    fn capability(&self, object: u32, check: [u8; 6]) -> Capability {
        Capability {
            port: self.put_port,
            object,
            rights: ALL_RIGHTS,
            check,
        }
    }

    /// The object's owner check field: the superblock's for object 0, the inode's otherwise.
    fn stored_check(&self, object: u32) -> Result<([u8; 6], bool), ErrorCode> {
        match object {
            SERVER_OBJECT => Ok((self.volume.superblock().secret, false)),
            _ => self.volume.check(object).map_err(|_| ErrorCode::STD_CAPBAD),
        }
    }

    /// The object of a request's capability, which must hold `needed`; a request for an
    /// uncommitted file is a use that puts off its expiry.
    fn verify(&mut self, header: &Header, needed: u8) -> Result<Verified, ErrorCode> {
        let cap = header.capability();
        if cap.port != self.put_port {
            return Err(ErrorCode::STD_CAPBAD);
        }
        let (check, committed) = self.stored_check(cap.object)?;
        let rights = rights::verify(&cap, check)?;
        if !committed {
            self.volume.touch(cap.object, self.clock.now_ms());
        }
        rights::require(rights, needed)?;
        Ok(Verified {
            object: cap.object,
            rights,
            committed,
        })
    }

    /// A verified file (not the server object).
    fn file(&mut self, header: &Header, needed: u8) -> Result<Verified, ErrorCode> {
        let file = self.verify(header, needed)?;
        match file.object {
            SERVER_OBJECT => Err(ErrorCode::STD_ARGBAD),
            _ => Ok(file),
        }
    }

    fn create(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let authority = self.verify(&request.header, CREATE)?;
        if authority.object != SERVER_OBJECT && !authority.committed {
            return Err(ErrorCode::STD_DENIED);
        }
        let data = whole_data(request)?;
        let commit = request.header.extra & COMMIT != 0;
        let (inode, check) = self.volume.create(data, commit, &mut self.entropy)?;
        self.volume.touch(inode, self.clock.now_ms());
        reply.header.set_capability(&self.capability(inode, check));
        Ok(())
    }

    /// BS_MODIFY, BS_INSERT and BS_DELETE: `edit` on an uncommitted file in place, or on a
    /// committed file's new copy; committed after if the flags say so.
    fn edit(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let header = &request.header;
        let mut file = self.file(header, MODIFY)?;
        let edit = match header.command() {
            BS_MODIFY => Edit::Modify(whole_data(request)?),
            BS_INSERT => Edit::Insert(whole_data(request)?),
            _ => Edit::Delete(delete_size(request)?),
        };
        let offset = u64::try_from(header.offset).map_err(|_| ErrorCode::STD_ARGBAD)?;
        if file.committed {
            rights::require(file.rights, READ).map_err(ErrorCode::from)?;
            file.object = self.volume.copy(file.object, &mut self.entropy)?.0;
            self.volume.touch(file.object, self.clock.now_ms());
        }
        let changed = self.change(file.object, offset, edit, header.extra & COMMIT != 0);
        if let Err(error) = changed {
            if file.committed {
                // The copy was made for this request only; nobody holds its capability.
                let _ = self.volume.destroy(file.object);
            }
            return Err(error.into());
        }
        let (check, _) = self.volume.check(file.object)?;
        let cap = self.capability(file.object, check);
        // The caller's own rights on a file it already had; the owner's on a new copy.
        let cap = match file.committed {
            true => cap,
            false => rights::restrict_owner(&cap, file.rights).unwrap_or(cap),
        };
        reply.header.set_capability(&cap);
        Ok(())
    }

    fn change(
        &mut self,
        inode: u32,
        offset: u64,
        edit: Edit<'_>,
        commit: bool,
    ) -> Result<(), StoreError> {
        match edit {
            Edit::Modify(data) => self.volume.modify(inode, offset, data)?,
            Edit::Insert(data) => self.volume.insert(inode, offset, data)?,
            Edit::Delete(len) => self.volume.delete(inode, offset, len)?,
        }
        match commit {
            true => self.volume.commit(inode),
            false => Ok(()),
        }
    }

    fn read(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let header = &request.header;
        let file = self.file(header, READ)?;
        let offset = u64::try_from(header.offset).map_err(|_| ErrorCode::STD_ARGBAD)?;
        let mut buffer = alloc::vec![0; reply_limit(request, reply)];
        let read = self.volume.read(file.object, offset, &mut buffer)?;
        reply.push(&buffer[..read])?;
        reply.header.size = read as u16;
        Ok(())
    }

    fn size(&mut self, header: &Header, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let file = self.file(header, READ)?;
        let size = self.volume.size(file.object)?;
        reply.header.offset = i32::try_from(size).map_err(|_| ErrorCode::STD_OVERFLOW)?;
        Ok(())
    }

    fn destroy(&mut self, header: &Header) -> Result<(), ErrorCode> {
        let file = self.file(header, DESTROY)?;
        Ok(self.volume.destroy(file.object)?)
    }

    fn super_command(&mut self, header: &Header, needed: u8) -> Result<(), ErrorCode> {
        match self.verify(header, needed)?.object {
            SERVER_OBJECT => Ok(()),
            _ => Err(ErrorCode::STD_ARGBAD),
        }
    }

    fn fsck(&mut self, header: &Header, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        self.super_command(header, ALL_RIGHTS)?;
        let report = self.volume.fsck()?;
        let text = format!(
            "files {}, used blocks {}, free blocks {}, problems {}",
            report.files,
            report.used_blocks,
            report.free_blocks,
            report.problems.len()
        );
        answer_info(reply, &text);
        Ok(())
    }

    fn info(&mut self, header: &Header) -> Result<String, ErrorCode> {
        let object = self.verify(header, 0)?;
        Ok(match object.object {
            SERVER_OBJECT => format!("bullet server, {} free blocks", self.volume.free_blocks()),
            inode => {
                let size = self.volume.size(inode)?;
                let state = if object.committed { "" } else { "uncommitted " };
                format!("{state}bullet file, {size} bytes")
            }
        })
    }

    fn restrict(&self, header: &Header, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let mask = u8::try_from(header.offset).map_err(|_| ErrorCode::STD_ARGBAD)?;
        let cap = header.capability();
        if cap.port != self.put_port {
            return Err(ErrorCode::STD_CAPBAD);
        }
        let (check, _) = self.stored_check(cap.object)?;
        let restricted = rights::server_restrict(&cap, check, mask).map_err(CapError::code)?;
        reply.header.set_capability(&restricted);
        Ok(())
    }
}

/// BS_DELETE's size: an i32, little-endian, at the start of the buffer; not negative.
fn delete_size(request: &Request<'_>) -> Result<u64, ErrorCode> {
    let size = le::array::<4>(whole_data(request)?, 0).map(i32::from_le_bytes);
    size.and_then(|size| u64::try_from(size).ok())
        .ok_or(ErrorCode::STD_ARGBAD)
}

impl<D: BlockDevice, E: Entropy, C: Clock> Server for BulletServer<D, E, C> {
    fn handle(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        // Before anything else, so a file past its time is gone whatever the request.
        self.expire();
        let header = &request.header;
        match header.command() {
            BS_CREATE => self.create(request, reply),
            BS_MODIFY | BS_INSERT | BS_DELETE => self.edit(request, reply),
            BS_READ => self.read(request, reply),
            BS_SIZE => self.size(header, reply),
            BS_FSCK => self.fsck(header, reply),
            BS_SYNC => {
                self.super_command(header, ADMIN)?;
                Ok(self.volume.sync()?)
            }
            Command::STD_DESTROY => self.destroy(header),
            Command::STD_INFO => {
                let text = self.info(header)?;
                answer_info(reply, &text);
                Ok(())
            }
            Command::STD_RESTRICT => self.restrict(header, reply),
            _ => Err(ErrorCode::STD_COMBAD),
        }
    }
}
