//! The Bullet file server's commands over a [`Volume`]: a first subset.
//!
//! From the reference's "Bullet file server" (`docs/amoeba-protocol.md`, 5.3's
//! `src/h/server/bullet/bullet.h`): rights [`CREATE`] 1, [`READ`] 2, [`MODIFY`] 4,
//! [`DESTROY`] 8, [`ADMIN`] 0x80; object 0 is the server (its super capability, check field
//! kept in the superblock, port too, so capabilities survive reboots); object n is inode n.
//!
//! | command | rights | request → reply |
//! |---|---|---|
//! | BS_CREATE 2001 | CREATE (super or committed file) | data, h_extra flags [`COMMIT`] [`SAFETY`] → new file's owner capability in h_port/h_priv |
//! | BS_MODIFY 2005 | MODIFY | h_offset, h_extra flags, data (0 bytes: just the flags) → the file's capability |
//! | BS_READ 2006 | READ | h_offset, h_size most bytes → data, h_size = bytes; committed files only |
//! | BS_SIZE 2007 | READ | → h_offset = size |
//! | BS_FSCK 2003 | all, super | → a text report, h_size = its bytes |
//! | BS_SYNC 2009 | ADMIN, super | → nothing |
//! | STD_DESTROY | DESTROY | → nothing |
//! | STD_INFO, STD_RESTRICT | none | as every server (`servers/standard.rs`) |
//!
//! Ours, where the sources are silent or this subset differs:
//! - BS_MODIFY on a committed file makes an uncommitted copy under a new capability and
//!   modifies that; it needs READ as well as MODIFY, since the copy's owner could read it.
//! - Every commit is written and flushed before the reply, so [`SAFETY`] always holds.
//! - A file's capability that no longer names a file is STD_CAPBAD, like a forged one.
//! - BS_DELETE, BS_INSERT, BS_DISK_COMPACT, and the expiry of uncommitted files after 10
//!   minutes, are not done yet: STD_COMBAD, and uncommitted files last until destroyed.

use alloc::format;
use alloc::string::String;

use super::error::StoreError;
use super::volume::Volume;
use crate::capability::{ALL_RIGHTS, Capability, Port};
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

impl From<StoreError> for ErrorCode {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NoSpace | StoreError::NoInodes => ErrorCode::STD_NOSPACE,
            StoreError::NotFound => ErrorCode::STD_CAPBAD,
            StoreError::Committed | StoreError::NotCommitted => ErrorCode::STD_DENIED,
            StoreError::OutOfRange => ErrorCode::STD_ARGBAD,
            StoreError::Damaged { .. } => ErrorCode::STD_SYSERR,
            StoreError::Device(error) => error.into(),
        }
    }
}

/// A Bullet server: a mounted volume and the randomness for new files' check fields.
pub struct BulletServer<D, E> {
    volume: Volume<D>,
    entropy: E,
    put_port: Port,
}

/// An object a request's capability names, verified.
#[derive(Clone, Copy, Debug)]
struct Verified {
    object: u32,
    rights: u8,
    committed: bool,
}

impl<D: BlockDevice, E: Entropy> BulletServer<D, E> {
    /// The server of `volume`; it listens on the get-port kept in the superblock.
    pub fn new(volume: Volume<D>, entropy: E) -> Self {
        let put_port = put_port(volume.superblock().port);
        Self {
            volume,
            entropy,
            put_port,
        }
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

    fn verify(&self, header: &Header, needed: u8) -> Result<Verified, ErrorCode> {
        let cap = header.capability();
        if cap.port != self.put_port {
            return Err(ErrorCode::STD_CAPBAD);
        }
        let (check, committed) = self.stored_check(cap.object)?;
        let rights = rights::verify(&cap, check)?;
        rights::require(rights, needed)?;
        Ok(Verified {
            object: cap.object,
            rights,
            committed,
        })
    }

    /// A verified file (not the server object).
    fn file(&self, header: &Header, needed: u8) -> Result<Verified, ErrorCode> {
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
        reply.header.set_capability(&self.capability(inode, check));
        Ok(())
    }

    fn modify(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let header = &request.header;
        let mut file = self.file(header, MODIFY)?;
        let offset = u64::try_from(header.offset).map_err(|_| ErrorCode::STD_ARGBAD)?;
        let data = whole_data(request)?;
        if file.committed {
            rights::require(file.rights, READ).map_err(ErrorCode::from)?;
            file.object = self.volume.copy(file.object, &mut self.entropy)?.0;
        }
        let changed = self.change(file.object, offset, data, header.extra & COMMIT != 0);
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
        data: &[u8],
        commit: bool,
    ) -> Result<(), StoreError> {
        self.volume.modify(inode, offset, data)?;
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

    fn super_command(&self, header: &Header, needed: u8) -> Result<(), ErrorCode> {
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

    fn info(&self, header: &Header) -> Result<String, ErrorCode> {
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

impl<D: BlockDevice, E: Entropy> Server for BulletServer<D, E> {
    fn handle(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let header = &request.header;
        match header.command() {
            BS_CREATE => self.create(request, reply),
            BS_MODIFY => self.modify(request, reply),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededGenerator;
    use crate::servers::loopback::call;
    use crate::servers::vdisk::tests::MemoryDisk;
    use alloc::vec::Vec;

    const GET_PORT: Port = Port([0x42, 0x55, 0x4c, 0x4c, 0x45, 0x54]);
    const CHUNK: usize = 29768;

    fn server() -> BulletServer<MemoryDisk, SeededGenerator> {
        let volume = Volume::format(MemoryDisk::new(4096), GET_PORT, [9; 6], 64).unwrap();
        BulletServer::new(volume, SeededGenerator::new(1))
    }

    fn status(reply: &Header) -> Result<(), ErrorCode> {
        reply.error().map_or(Ok(()), Err)
    }

    fn create(
        server: &mut BulletServer<MemoryDisk, SeededGenerator>,
        data: &[u8],
        flags: u16,
    ) -> Capability {
        let mut header = Header::request(&server.super_capability(), BS_CREATE);
        header.extra = flags;
        let (reply, _) = call(server, header, data);
        assert_eq!(status(&reply), Ok(()));
        reply.capability()
    }

    fn modify(
        server: &mut BulletServer<MemoryDisk, SeededGenerator>,
        file: &Capability,
        offset: usize,
        data: &[u8],
        flags: u16,
    ) -> (Result<(), ErrorCode>, Capability) {
        let mut header = Header::request(file, BS_MODIFY);
        header.offset = offset as i32;
        header.extra = flags;
        let (reply, _) = call(server, header, data);
        (status(&reply), reply.capability())
    }

    fn read_whole(
        server: &mut BulletServer<MemoryDisk, SeededGenerator>,
        file: &Capability,
    ) -> Result<Vec<u8>, ErrorCode> {
        let mut data = Vec::new();
        loop {
            let mut header = Header::request(file, BS_READ);
            header.offset = data.len() as i32;
            header.size = CHUNK as u16;
            let (reply, piece) = call(server, header, &[]);
            status(&reply)?;
            assert_eq!(usize::from(reply.size), piece.len());
            if piece.is_empty() {
                return Ok(data);
            }
            data.extend_from_slice(&piece);
        }
    }

    fn restricted(
        server: &mut BulletServer<MemoryDisk, SeededGenerator>,
        cap: &Capability,
        mask: u8,
    ) -> Capability {
        let mut header = Header::request(cap, Command::STD_RESTRICT);
        header.offset = i32::from(mask);
        let (reply, _) = call(server, header, &[]);
        assert_eq!(status(&reply), Ok(()));
        reply.capability()
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn a_file_made_in_chunks_reads_back_and_survives_a_reboot() {
        let mut server = server();
        let data = pattern(100_000);
        let mut pieces = data.chunks(CHUNK).enumerate().peekable();
        let (_, first) = pieces.next().unwrap();
        let file = create(&mut server, first, 0);
        while let Some((n, piece)) = pieces.next() {
            let flags = if pieces.peek().is_none() { COMMIT } else { 0 };
            let (result, same) = modify(&mut server, &file, n * CHUNK, piece, flags);
            assert_eq!((result, same), (Ok(()), file));
        }
        assert_eq!(read_whole(&mut server, &file).unwrap(), data);
        let (reply, _) = call(&mut server, Header::request(&file, BS_SIZE), &[]);
        assert_eq!(reply.offset, 100_000);
        let super_cap = server.super_capability();
        // A reboot: the same disk mounted again gives the same capabilities.
        let disk = server.volume.into_device();
        let volume = Volume::mount(disk).unwrap();
        let mut server = BulletServer::new(volume, SeededGenerator::new(2));
        assert_eq!(server.super_capability(), super_cap);
        assert_eq!(read_whole(&mut server, &file).unwrap(), data);
    }

    #[test]
    fn modifying_a_committed_file_makes_a_copy_under_a_new_capability() {
        let mut server = server();
        let file = create(&mut server, b"version one", COMMIT);
        let (result, copy) = modify(&mut server, &file, 8, b"two", COMMIT);
        assert_eq!(result, Ok(()));
        assert_ne!(copy.object, file.object);
        assert_eq!(read_whole(&mut server, &file).unwrap(), b"version one");
        assert_eq!(read_whole(&mut server, &copy).unwrap(), b"version two");
        // A failed modification leaves no copy behind.
        let files = server.volume().fsck().unwrap().files;
        assert_eq!(
            modify(&mut server, &file, 99, b"x", 0).0,
            Err(ErrorCode::STD_ARGBAD)
        );
        assert_eq!(server.volume().fsck().unwrap().files, files);
        let modify_only = restricted(&mut server, &file, MODIFY);
        assert_eq!(
            modify(&mut server, &modify_only, 0, b"x", 0).0,
            Err(ErrorCode::STD_DENIED)
        );
    }

    #[test]
    fn rights_and_capabilities_are_checked() {
        let mut server = server();
        let open = create(&mut server, b"draft", 0);
        assert_eq!(read_whole(&mut server, &open), Err(ErrorCode::STD_DENIED));
        let file = create(&mut server, b"final", COMMIT);
        let read_only = restricted(&mut server, &file, READ);
        assert_eq!(read_whole(&mut server, &read_only).unwrap(), b"final");
        assert_eq!(
            modify(&mut server, &read_only, 0, b"x", 0).0,
            Err(ErrorCode::STD_DENIED)
        );
        let destroy = Header::request(&read_only, Command::STD_DESTROY);
        assert_eq!(
            status(&call(&mut server, destroy, &[]).0),
            Err(ErrorCode::STD_DENIED)
        );
        let forged = Capability {
            check: [1; 6],
            ..file
        };
        assert_eq!(read_whole(&mut server, &forged), Err(ErrorCode::STD_CAPBAD));
        // BS_CREATE needs the super capability or a committed file's.
        let mut header = Header::request(&open, BS_CREATE);
        header.extra = COMMIT;
        assert_eq!(
            status(&call(&mut server, header, b"x").0),
            Err(ErrorCode::STD_DENIED)
        );
        let from_file = Header::request(&file, BS_CREATE);
        assert_eq!(status(&call(&mut server, from_file, b"x").0), Ok(()));
        let destroy = Header::request(&file, Command::STD_DESTROY);
        assert_eq!(status(&call(&mut server, destroy, &[]).0), Ok(()));
        assert_eq!(read_whole(&mut server, &file), Err(ErrorCode::STD_CAPBAD));
        let unknown = Header::request(&server.super_capability(), BS_DELETE);
        assert_eq!(
            status(&call(&mut server, unknown, &[]).0),
            Err(ErrorCode::STD_COMBAD)
        );
    }

    #[test]
    fn the_super_capability_answers_info_fsck_and_sync() {
        let mut server = server();
        create(&mut server, b"x", COMMIT);
        let super_cap = server.super_capability();
        let (reply, text) = call(&mut server, Header::request(&super_cap, BS_FSCK), &[]);
        assert_eq!(status(&reply), Ok(()));
        let text = String::from_utf8(text).unwrap();
        assert!(text.starts_with("files 1, used blocks 1,"), "{text}");
        assert!(text.ends_with("problems 0"), "{text}");
        let (reply, _) = call(&mut server, Header::request(&super_cap, BS_SYNC), &[]);
        assert_eq!(status(&reply), Ok(()));
        let no_admin = restricted(&mut server, &super_cap, CREATE);
        let (reply, _) = call(&mut server, Header::request(&no_admin, BS_SYNC), &[]);
        assert_eq!(status(&reply), Err(ErrorCode::STD_DENIED));
        let (reply, text) = call(
            &mut server,
            Header::request(&no_admin, Command::STD_INFO),
            &[],
        );
        assert_eq!(status(&reply), Ok(()));
        assert!(text.starts_with(b"bullet server, "));
    }
}
