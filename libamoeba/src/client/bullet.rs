//! Bullet file server stubs (formats in `bullet/server.rs`); one read is [`super::bs_read`],
//! which a process server's segments answer too, as they answer [`bs_size`].
//!
//! A file goes to the server in chunks of at most [`CREATE_CHUNK`] bytes, as 5.3's clients
//! send it: BS_CREATE with the first, BS_MODIFY with the others, the commit with the last
//! ([`write_file`]); it comes back the same way ([`read_into`], [`read_file`]).

use alloc::vec;
use alloc::vec::Vec;

use super::{GARBLED, bs_read, transact, transact_bare};
use crate::bullet::server::COMMIT;
use crate::bullet::server::{
    BS_CREATE, BS_DELETE, BS_FSCK, BS_INSERT, BS_MODIFY, BS_SIZE, BS_SYNC,
};
use crate::capability::Capability;
use crate::rpc::codes::{Command, ErrorCode};
use crate::rpc::header::Header;
use crate::rpc::transport::Rpc;

/// Most bytes one BS_CREATE, BS_MODIFY, BS_INSERT or BS_READ carries (5.3's chunk).
pub const CREATE_CHUNK: usize = 29768;

/// A new file of `data` (at most [`CREATE_CHUNK`] bytes) on the Bullet server `bullet`,
/// committed if `commit`; its capability.
pub fn bs_create(
    rpc: &impl Rpc,
    bullet: &Capability,
    data: &[u8],
    commit: bool,
) -> Result<Capability, ErrorCode> {
    if data.len() > CREATE_CHUNK {
        return Err(ErrorCode::STD_ARGBAD);
    }
    let request = Header {
        extra: if commit { COMMIT } else { 0 },
        ..Header::request(bullet, BS_CREATE)
    };
    Ok(transact_bare(rpc, &request, data)?.capability())
}

/// Writes `data` (at most [`CREATE_CHUNK`] bytes) at `offset` of the uncommitted file `file`,
/// committing it if `commit`; the file's capability (a committed file gets a modified copy
/// under a new one). No bytes and `commit`: just the commit.
pub fn bs_modify(
    rpc: &impl Rpc,
    file: &Capability,
    offset: u64,
    data: &[u8],
    commit: bool,
) -> Result<Capability, ErrorCode> {
    edit(rpc, BS_MODIFY, file, offset, data, commit)
}

/// Puts `data` (at most [`CREATE_CHUNK`] bytes) into `file` at `offset`, the bytes from there
/// on moving up; committed if `commit`; the file's capability, as [`bs_modify`].
pub fn bs_insert(
    rpc: &impl Rpc,
    file: &Capability,
    offset: u64,
    data: &[u8],
    commit: bool,
) -> Result<Capability, ErrorCode> {
    edit(rpc, BS_INSERT, file, offset, data, commit)
}

/// Takes `size` bytes out of `file` at `offset`, the rest moving down; committed if
/// `commit`; the file's capability, as [`bs_modify`].
pub fn bs_delete(
    rpc: &impl Rpc,
    file: &Capability,
    offset: u64,
    size: u64,
    commit: bool,
) -> Result<Capability, ErrorCode> {
    let size = i32::try_from(size).map_err(|_| ErrorCode::STD_ARGBAD)?;
    edit(rpc, BS_DELETE, file, offset, &size.to_le_bytes(), commit)
}

/// One BS_MODIFY, BS_INSERT or BS_DELETE.
fn edit(
    rpc: &impl Rpc,
    command: Command,
    file: &Capability,
    offset: u64,
    data: &[u8],
    commit: bool,
) -> Result<Capability, ErrorCode> {
    if data.len() > CREATE_CHUNK {
        return Err(ErrorCode::STD_ARGBAD);
    }
    let request = Header {
        offset: i32::try_from(offset).map_err(|_| ErrorCode::STD_ARGBAD)?,
        extra: if commit { COMMIT } else { 0 },
        ..Header::request(file, command)
    };
    Ok(transact_bare(rpc, &request, data)?.capability())
}

/// The server's check of its volume as it is on the disk (needs the super capability with
/// every right): its text report, `files F, used blocks U, free blocks B, problems P`.
pub fn bs_fsck<'b>(
    rpc: &impl Rpc,
    bullet: &Capability,
    report: &'b mut [u8],
) -> Result<&'b str, ErrorCode> {
    let answer = transact(rpc, &Header::request(bullet, BS_FSCK), &[], report)?;
    core::str::from_utf8(answer.data).map_err(|_| GARBLED)
}

/// Puts every write of the server's on stable storage (the super capability, ADMIN).
pub fn bs_sync(rpc: &impl Rpc, bullet: &Capability) -> Result<(), ErrorCode> {
    transact_bare(rpc, &Header::request(bullet, BS_SYNC), &[]).map(drop)
}

/// The size of file `file` in bytes.
pub fn bs_size(rpc: &impl Rpc, file: &Capability) -> Result<u64, ErrorCode> {
    let answer = transact_bare(rpc, &Header::request(file, BS_SIZE), &[])?;
    u64::try_from(answer.offset).map_err(|_| GARBLED)
}

/// A new committed file of `data` on `bullet`, sent in chunks (BS_CREATE, then BS_MODIFY,
/// the commit with the last); `progress` hears the bytes sent so far. A failure destroys
/// the uncommitted file rather than leave it to expire.
pub fn write_file(
    rpc: &impl Rpc,
    bullet: &Capability,
    data: &[u8],
    progress: &mut dyn FnMut(u64),
) -> Result<Capability, ErrorCode> {
    let mut chunks = data.chunks(CREATE_CHUNK).peekable();
    let first = chunks.next().unwrap_or(&[]);
    let mut file = bs_create(rpc, bullet, first, chunks.peek().is_none())?;
    let mut sent = first.len() as u64;
    progress(sent);
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        match bs_modify(rpc, &file, sent, chunk, last) {
            Ok(cap) => file = cap,
            Err(error) => {
                let _ = super::std_destroy(rpc, &file);
                return Err(error);
            }
        }
        sent += chunk.len() as u64;
        progress(sent);
    }
    Ok(file)
}

/// Fills `buffer` from `offset` of the committed file `file`, one BS_READ of at most
/// [`CREATE_CHUNK`] bytes after another; `progress` hears the bytes read so far. The bytes
/// read: fewer than the buffer holds only at the end of the file.
pub fn read_into(
    rpc: &impl Rpc,
    file: &Capability,
    offset: u64,
    buffer: &mut [u8],
    progress: &mut dyn FnMut(u64),
) -> Result<usize, ErrorCode> {
    let mut done = 0;
    while done < buffer.len() {
        let want = (buffer.len() - done).min(CREATE_CHUNK);
        let got = bs_read(
            rpc,
            file,
            offset + done as u64,
            &mut buffer[done..done + want],
        )?;
        if got == 0 {
            break;
        }
        done += got;
        progress(done as u64);
    }
    Ok(done)
}

/// The whole committed file `file`, read in chunks after its size; `progress` hears the bytes
/// read so far and the size. A file that ends before its size is [`GARBLED`].
pub fn read_file(
    rpc: &impl Rpc,
    file: &Capability,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<u8>, ErrorCode> {
    let size = bs_size(rpc, file)?;
    let mut data = vec![0; usize::try_from(size).map_err(|_| ErrorCode::STD_NOMEM)?];
    let got = read_into(rpc, file, 0, &mut data, &mut |done| progress(done, size))?;
    if got != data.len() {
        return Err(GARBLED);
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::*;
    use crate::bullet::Volume;
    use crate::bullet::server::{BulletServer, Clock};
    use crate::capability::Port;
    use crate::client::scripted::scripted;
    use crate::client::std_destroy;
    use crate::random::SeededGenerator;
    use crate::rpc::codes::ErrorCode;
    use crate::servers::loopback::Loopback;
    use crate::servers::vdisk::tests::MemoryDisk;
    use alloc::rc::Rc;
    use core::cell::RefCell;

    struct Stopped;

    impl Clock for Stopped {
        fn now_ms(&self) -> u64 {
            0
        }
    }

    type Bullet = BulletServer<MemoryDisk, SeededGenerator, Stopped>;

    /// A Bullet server of `sectors` on the loopback, its super capability, and a handle on it.
    fn bullet(sectors: usize) -> (Loopback, Capability, Rc<RefCell<Bullet>>) {
        let port = Port([0xb5; 6]);
        let volume = Volume::format(MemoryDisk::new(sectors), port, [3; 6], 50).unwrap();
        let server = BulletServer::new(volume, SeededGenerator::new(5), Stopped);
        let super_cap = server.super_capability();
        let mut rpc = Loopback::new();
        let handle = rpc.add(super_cap.port, server);
        (rpc, super_cap, handle)
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 253) as u8).collect()
    }

    #[test]
    fn write_file_and_read_file_go_in_chunks_and_round_trip() {
        let (rpc, super_cap, server) = bullet(4096);
        for len in [0, 1, CREATE_CHUNK, CREATE_CHUNK + 1, 3 * CREATE_CHUNK + 5] {
            let data = pattern(len);
            let mut sent = Vec::new();
            let file = write_file(&rpc, &super_cap, &data, &mut |n| sent.push(n)).unwrap();
            // One report a chunk, the last at the end: a 0-byte file is one BS_CREATE.
            assert_eq!(sent.len(), len.div_ceil(CREATE_CHUNK).max(1), "{len}");
            assert_eq!(sent.last().copied(), Some(len as u64));
            let mut heard = Vec::new();
            let back = read_file(&rpc, &file, &mut |done, size| heard.push((done, size))).unwrap();
            assert_eq!(back, data, "{len}");
            assert_eq!(heard.len(), len.div_ceil(CREATE_CHUNK), "{len}");
            assert!(heard.iter().all(|&(_, size)| size == len as u64));
        }
        assert_eq!(server.borrow_mut().volume().uncommitted(), 0);
    }

    #[test]
    fn read_into_reads_from_an_offset_and_stops_at_the_end() {
        let (rpc, super_cap, _) = bullet(4096);
        let data = pattern(2 * CREATE_CHUNK + 100);
        let file = write_file(&rpc, &super_cap, &data, &mut |_| {}).unwrap();
        let mut buffer = vec![0; 40_000];
        let got = read_into(&rpc, &file, 5, &mut buffer, &mut |_| {}).unwrap();
        assert_eq!((got, &buffer[..got]), (40_000, &data[5..40_005]));
        let mut heard = Vec::new();
        let got = read_into(&rpc, &file, 50_000, &mut buffer, &mut |n| heard.push(n)).unwrap();
        assert_eq!(&buffer[..got], &data[50_000..]);
        assert_eq!(heard, [got as u64]);
    }

    #[test]
    fn modify_insert_and_delete_change_a_file_then_commit_it() {
        let (rpc, super_cap, _) = bullet(4096);
        let file = bs_create(&rpc, &super_cap, b"hello world", false).unwrap();
        assert_eq!(bs_insert(&rpc, &file, 5, b", big", false), Ok(file));
        assert_eq!(bs_delete(&rpc, &file, 0, 7, false), Ok(file));
        assert_eq!(bs_size(&rpc, &file), Ok(9));
        // Uncommitted: not readable yet.
        assert_eq!(
            read_file(&rpc, &file, &mut |_, _| {}),
            Err(ErrorCode::STD_DENIED)
        );
        assert_eq!(bs_modify(&rpc, &file, 0, b"B", true), Ok(file));
        assert_eq!(
            read_file(&rpc, &file, &mut |_, _| {}).unwrap(),
            b"Big world"
        );
        // A committed file changes as a copy; the original stays.
        let copy = bs_delete(&rpc, &file, 3, 6, true).unwrap();
        assert_ne!(copy, file);
        assert_eq!(read_file(&rpc, &copy, &mut |_, _| {}).unwrap(), b"Big");
        assert_eq!(
            read_file(&rpc, &file, &mut |_, _| {}).unwrap(),
            b"Big world"
        );
        // Refused before sending: too big a chunk, a size beyond an i32.
        let too_big = vec![0; CREATE_CHUNK + 1];
        assert_eq!(
            bs_insert(&rpc, &file, 0, &too_big, false),
            Err(ErrorCode::STD_ARGBAD)
        );
        assert_eq!(
            bs_delete(&rpc, &file, 0, 1 << 31, false),
            Err(ErrorCode::STD_ARGBAD)
        );
        assert_eq!(std_destroy(&rpc, &copy), Ok(()));
    }

    #[test]
    fn a_write_file_that_fails_leaves_no_uncommitted_file() {
        // 256 KiB less the table: no room for 300 000 bytes.
        let (rpc, super_cap, server) = bullet(512);
        let data = pattern(300_000);
        let failed = write_file(&rpc, &super_cap, &data, &mut |_| {});
        assert_eq!(failed, Err(ErrorCode::STD_NOSPACE));
        assert_eq!(server.borrow_mut().volume().uncommitted(), 0);
        assert!(write_file(&rpc, &super_cap, &data[..100_000], &mut |_| {}).is_ok());
    }

    #[test]
    fn replies_that_break_the_protocol_are_garbled() {
        // A size that is negative, or a file that ends before its size.
        let header = Header {
            offset: -1,
            ..Header::default()
        };
        let (rpc, cap) = scripted(header, &[]);
        assert_eq!(bs_size(&rpc, &cap), Err(GARBLED));
        let header = Header {
            offset: 10,
            ..Header::default()
        };
        let (rpc, cap) = scripted(header, &[]);
        assert_eq!(read_file(&rpc, &cap, &mut |_, _| {}), Err(GARBLED));
    }
}
