//! Host tests of the Bullet server's commands over the loopback: files made in chunks (to
//! 64 MiB), modify, insert and delete in place and as copies, rights, expiry on a clock the
//! test turns, the limit on uncommitted files, and a full disk.

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;

use super::server::*;
use super::volume::{MAX_UNCOMMITTED, Volume};
use crate::capability::{Capability, Port};
use crate::crc32::Crc32;
use crate::random::SeededGenerator;
use crate::rpc::codes::{Command, ErrorCode};
use crate::rpc::header::Header;
use crate::servers::loopback::call;
use crate::servers::vdisk::tests::MemoryDisk;

const GET_PORT: Port = Port([0x42, 0x55, 0x4c, 0x4c, 0x45, 0x54]);
const CHUNK: usize = 29768;
const MINUTE: u64 = 60_000;

/// A clock the test turns by hand.
#[derive(Clone, Default)]
struct HandClock(Rc<Cell<u64>>);

impl Clock for HandClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
}

type TestServer = BulletServer<MemoryDisk, SeededGenerator, HandClock>;

/// A server on a volume of `sectors` and its clock.
fn server_of(sectors: usize) -> (TestServer, HandClock) {
    let volume = Volume::format(MemoryDisk::new(sectors), GET_PORT, [9; 6], 200).unwrap();
    let clock = HandClock::default();
    let server = BulletServer::new(volume, SeededGenerator::new(1), clock.clone());
    (server, clock)
}

/// A server on 2 MiB.
fn server() -> TestServer {
    server_of(4096).0
}

fn status(reply: &Header) -> Result<(), ErrorCode> {
    reply.error().map_or(Ok(()), Err)
}

fn try_create(server: &mut TestServer, data: &[u8], flags: u16) -> Result<Capability, ErrorCode> {
    let mut header = Header::request(&server.super_capability(), BS_CREATE);
    header.extra = flags;
    let (reply, _) = call(server, header, data);
    status(&reply).map(|()| reply.capability())
}

fn create(server: &mut TestServer, data: &[u8], flags: u16) -> Capability {
    try_create(server, data, flags).unwrap()
}

/// BS_MODIFY, BS_INSERT or BS_DELETE (`data` is then the size, encoded).
fn edit(
    server: &mut TestServer,
    command: Command,
    file: &Capability,
    offset: usize,
    data: &[u8],
    flags: u16,
) -> Result<Capability, ErrorCode> {
    let mut header = Header::request(file, command);
    header.offset = offset as i32;
    header.extra = flags;
    let (reply, _) = call(server, header, data);
    status(&reply).map(|()| reply.capability())
}

fn modify(
    server: &mut TestServer,
    file: &Capability,
    offset: usize,
    data: &[u8],
    flags: u16,
) -> Result<Capability, ErrorCode> {
    edit(server, BS_MODIFY, file, offset, data, flags)
}

fn delete(
    server: &mut TestServer,
    file: &Capability,
    offset: usize,
    size: i32,
    flags: u16,
) -> Result<Capability, ErrorCode> {
    edit(server, BS_DELETE, file, offset, &size.to_le_bytes(), flags)
}

fn read_chunk(
    server: &mut TestServer,
    file: &Capability,
    offset: usize,
) -> Result<Vec<u8>, ErrorCode> {
    let mut header = Header::request(file, BS_READ);
    header.offset = offset as i32;
    header.size = CHUNK as u16;
    let (reply, piece) = call(server, header, &[]);
    status(&reply)?;
    assert_eq!(usize::from(reply.size), piece.len());
    Ok(piece)
}

fn read_whole(server: &mut TestServer, file: &Capability) -> Result<Vec<u8>, ErrorCode> {
    let mut data = Vec::new();
    loop {
        let piece = read_chunk(server, file, data.len())?;
        if piece.is_empty() {
            return Ok(data);
        }
        data.extend_from_slice(&piece);
    }
}

fn size(server: &mut TestServer, file: &Capability) -> Result<i32, ErrorCode> {
    let (reply, _) = call(server, Header::request(file, BS_SIZE), &[]);
    status(&reply).map(|()| reply.offset)
}

fn destroy(server: &mut TestServer, file: &Capability) -> Result<(), ErrorCode> {
    status(&call(server, Header::request(file, Command::STD_DESTROY), &[]).0)
}

fn restricted(server: &mut TestServer, cap: &Capability, mask: u8) -> Capability {
    let mut header = Header::request(cap, Command::STD_RESTRICT);
    header.offset = i32::from(mask);
    let (reply, _) = call(server, header, &[]);
    assert_eq!(status(&reply), Ok(()));
    reply.capability()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Sends `data` as 5.3 does: BS_CREATE with the first chunk, BS_MODIFY with the rest, the
/// commit with the last.
fn create_in_chunks(server: &mut TestServer, data: &[u8]) -> Result<Capability, ErrorCode> {
    let first = &data[..CHUNK.min(data.len())];
    let flags = if first.len() == data.len() { COMMIT } else { 0 };
    let file = try_create(server, first, flags)?;
    send_rest(server, &file, data)?;
    Ok(file)
}

/// The chunks of `data` after the first, the commit with the last.
fn send_rest(server: &mut TestServer, file: &Capability, data: &[u8]) -> Result<(), ErrorCode> {
    let mut pieces = data.chunks(CHUNK).enumerate().skip(1).peekable();
    while let Some((n, piece)) = pieces.next() {
        let flags = if pieces.peek().is_none() { COMMIT } else { 0 };
        let same = modify(server, file, n * CHUNK, piece, flags)?;
        assert_eq!(same, *file);
    }
    Ok(())
}

#[test]
fn a_file_made_in_chunks_reads_back_and_survives_a_reboot() {
    let mut server = server();
    let data = pattern(100_000);
    let file = create_in_chunks(&mut server, &data).unwrap();
    assert_eq!(read_whole(&mut server, &file).unwrap(), data);
    assert_eq!(size(&mut server, &file), Ok(100_000));
    let super_cap = server.super_capability();
    // A reboot: the same disk mounted again gives the same capabilities.
    let disk = server.into_volume().into_device();
    let volume = Volume::mount(disk).unwrap();
    let mut server = BulletServer::new(volume, SeededGenerator::new(2), HandClock::default());
    assert_eq!(server.super_capability(), super_cap);
    assert_eq!(read_whole(&mut server, &file).unwrap(), data);
}

#[test]
fn a_64_mib_file_made_in_chunks_reads_back_with_the_same_crc() {
    const SIZE: usize = 64 << 20;
    // 80 MiB: more than the file, less than twice it, so it cannot be moved when it grows.
    let (mut server, _) = server_of(80 << 11);
    let chunk = pattern(CHUNK);
    let mut sent = Crc32::new();
    let mut offset = 0;
    let mut file = None;
    while offset < SIZE {
        let len = CHUNK.min(SIZE - offset);
        // Each chunk differs from the last, so a chunk out of place shows.
        let mut piece = chunk[..len].to_vec();
        piece[0] = (offset / CHUNK) as u8;
        let flags = if offset + len == SIZE { COMMIT } else { 0 };
        file = Some(match file {
            None => create(&mut server, &piece, flags),
            Some(file) => modify(&mut server, &file, offset, &piece, flags).unwrap(),
        });
        sent.update(&piece);
        offset += len;
    }
    let file = file.unwrap();
    assert_eq!(size(&mut server, &file), Ok(SIZE as i32));
    let mut read = Crc32::new();
    let mut offset = 0;
    while offset < SIZE {
        let piece = read_chunk(&mut server, &file, offset).unwrap();
        assert!(!piece.is_empty(), "at {offset}");
        read.update(&piece);
        offset += piece.len();
    }
    assert_eq!((offset, read.finish()), (SIZE, sent.finish()));
    assert_eq!(server.volume().uncommitted(), 0);
}

#[test]
fn modifying_a_committed_file_makes_a_copy_under_a_new_capability() {
    let mut server = server();
    let file = create(&mut server, b"version one", COMMIT);
    let copy = modify(&mut server, &file, 8, b"two", COMMIT).unwrap();
    assert_ne!(copy.object, file.object);
    assert_eq!(read_whole(&mut server, &file).unwrap(), b"version one");
    assert_eq!(read_whole(&mut server, &copy).unwrap(), b"version two");
    // A failed modification leaves no copy behind.
    let files = server.volume().fsck().unwrap().files;
    assert_eq!(
        modify(&mut server, &file, 99, b"x", 0),
        Err(ErrorCode::STD_ARGBAD)
    );
    assert_eq!(server.volume().fsck().unwrap().files, files);
    assert_eq!(server.volume().uncommitted(), 0);
    let modify_only = restricted(&mut server, &file, MODIFY);
    assert_eq!(
        modify(&mut server, &modify_only, 0, b"x", 0),
        Err(ErrorCode::STD_DENIED)
    );
    // No bytes and COMMIT: a committed copy of the same bytes.
    let same = modify(&mut server, &file, 0, b"", COMMIT).unwrap();
    assert_ne!(same, file);
    assert_eq!(read_whole(&mut server, &same).unwrap(), b"version one");
}

#[test]
fn insert_and_delete_change_an_uncommitted_file_in_place() {
    let mut server = server();
    let file = create(&mut server, b"hello world", 0);
    let insert = |server: &mut TestServer, offset, data: &[u8], flags| {
        edit(server, BS_INSERT, &file, offset, data, flags)
    };
    assert_eq!(insert(&mut server, 5, b", big", 0), Ok(file));
    assert_eq!(size(&mut server, &file), Ok(16));
    assert_eq!(delete(&mut server, &file, 0, 7, 0), Ok(file));
    assert_eq!(insert(&mut server, 9, b"!", 0), Ok(file));
    // Out of range, short or negative: refused, the file as it was.
    assert_eq!(insert(&mut server, 11, b"x", 0), Err(ErrorCode::STD_ARGBAD));
    assert_eq!(
        delete(&mut server, &file, 5, 6, 0),
        Err(ErrorCode::STD_ARGBAD)
    );
    assert_eq!(
        delete(&mut server, &file, 0, -1, 0),
        Err(ErrorCode::STD_ARGBAD)
    );
    let short = edit(&mut server, BS_DELETE, &file, 0, &[1, 0], 0);
    assert_eq!(short, Err(ErrorCode::STD_ARGBAD));
    // Uncommitted: no read yet, but its size.
    assert_eq!(read_whole(&mut server, &file), Err(ErrorCode::STD_DENIED));
    assert_eq!(size(&mut server, &file), Ok(10));
    assert_eq!(modify(&mut server, &file, 0, b"", COMMIT), Ok(file));
    assert_eq!(read_whole(&mut server, &file).unwrap(), b"big world!");
    assert_eq!(server.volume().uncommitted(), 0);
}

#[test]
fn insert_and_delete_on_a_committed_file_make_copies() {
    let mut server = server();
    let data = pattern(3 * CHUNK + 17);
    let file = create_in_chunks(&mut server, &data).unwrap();
    // Into the middle of a file of many blocks, committed at once.
    let inserted = edit(&mut server, BS_INSERT, &file, 5000, b"INSERTED", COMMIT).unwrap();
    let mut expected = data.clone();
    expected.splice(5000..5000, *b"INSERTED");
    assert_eq!(read_whole(&mut server, &inserted).unwrap(), expected);
    // Then a copy changed in steps and committed with the last.
    let copy = delete(&mut server, &inserted, 100, 40_000, 0).unwrap();
    expected.drain(100..40_100);
    let same = edit(&mut server, BS_INSERT, &copy, 0, b"head", 0).unwrap();
    expected.splice(0..0, *b"head");
    let last = delete(&mut server, &same, expected.len() - 7, 7, COMMIT).unwrap();
    expected.truncate(expected.len() - 7);
    assert_eq!((same, last), (copy, copy));
    assert_eq!(read_whole(&mut server, &copy).unwrap(), expected);
    assert_eq!(read_whole(&mut server, &file).unwrap(), data);
    // Copies need READ: the copy's owner could read it.
    let modify_only = restricted(&mut server, &file, MODIFY);
    let refused = delete(&mut server, &modify_only, 0, 1, 0);
    assert_eq!(refused, Err(ErrorCode::STD_DENIED));
    let report = server.volume().fsck().unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.files, 3);
}

#[test]
fn uncommitted_files_expire_ten_minutes_after_their_last_request() {
    let (mut server, clock) = server_of(4096);
    let empty = server.volume().free_blocks();
    let kept = create(&mut server, b"committed", COMMIT);
    let used = create(&mut server, &pattern(10_000), 0);
    clock.0.set(9 * MINUTE);
    assert_eq!(size(&mut server, &used), Ok(10_000));
    let late = create(&mut server, b"late", 0);
    clock.0.set(19 * MINUTE - 1);
    assert_eq!(server.expire(), 0);
    clock.0.set(19 * MINUTE);
    assert_eq!(server.expire(), 2);
    assert_eq!(size(&mut server, &used), Err(ErrorCode::STD_CAPBAD));
    assert_eq!(size(&mut server, &late), Err(ErrorCode::STD_CAPBAD));
    assert_eq!(server.volume().free_blocks(), empty - 1);
    // A request finds an expired file gone even before the loop's own call.
    let open = create(&mut server, b"open", 0);
    clock.0.set(29 * MINUTE);
    assert_eq!(
        modify(&mut server, &open, 4, b"!", COMMIT),
        Err(ErrorCode::STD_CAPBAD)
    );
    // Committed files never expire.
    clock.0.set(1000 * MINUTE);
    assert_eq!(read_whole(&mut server, &kept).unwrap(), b"committed");
    assert_eq!(server.volume().uncommitted(), 0);
}

#[test]
fn too_many_uncommitted_files_is_no_space() {
    let mut server = server();
    let committed = create(&mut server, b"committed", COMMIT);
    let open: Vec<Capability> = (0..MAX_UNCOMMITTED)
        .map(|n| create(&mut server, &[n as u8], 0))
        .collect();
    assert_eq!(
        try_create(&mut server, b"x", 0),
        Err(ErrorCode::STD_NOSPACE)
    );
    // A copy would be one more too.
    let copy = modify(&mut server, &committed, 0, b"X", 0);
    assert_eq!(copy, Err(ErrorCode::STD_NOSPACE));
    // A file committed at once is never open between requests: not counted.
    let at_once = create(&mut server, b"at once", COMMIT);
    assert_eq!(read_whole(&mut server, &at_once).unwrap(), b"at once");
    // A commit or a destroy makes room for one more each.
    assert_eq!(modify(&mut server, &open[0], 1, b"!", COMMIT), Ok(open[0]));
    assert_eq!(destroy(&mut server, &open[1]), Ok(()));
    let again = create(&mut server, b"again", 0);
    create(&mut server, b"one more", 0);
    assert_eq!(
        try_create(&mut server, b"y", 0),
        Err(ErrorCode::STD_NOSPACE)
    );
    assert_eq!(read_whole(&mut server, &open[0]).unwrap(), [0, b'!']);
    assert_eq!(destroy(&mut server, &again), Ok(()));
}

#[test]
fn a_full_disk_is_no_space_and_the_server_goes_on() {
    // 1 MiB less the table: 253 blocks, six files of 37 blocks and part of a seventh.
    let (mut server, _) = server_of(2048);
    let data = pattern(150_000);
    let mut files = Vec::new();
    let (open, error) = loop {
        let file = match try_create(&mut server, &data[..CHUNK], 0) {
            Ok(file) => file,
            Err(error) => break (None, error),
        };
        match send_rest(&mut server, &file, &data) {
            Ok(()) => files.push(file),
            Err(error) => break (Some(file), error),
        }
    };
    assert_eq!((error, files.len()), (ErrorCode::STD_NOSPACE, 6));
    // The file that did not fit is as it was before the chunk that did not.
    let open = open.unwrap();
    assert_eq!(size(&mut server, &open), Ok(4 * CHUNK as i32));
    assert_eq!(
        try_create(&mut server, &data[..CHUNK], 0),
        Err(ErrorCode::STD_NOSPACE)
    );
    assert_eq!(destroy(&mut server, &open), Ok(()));
    assert_eq!(destroy(&mut server, &files[0]), Ok(()));
    let again = create_in_chunks(&mut server, &data).unwrap();
    assert_eq!(read_whole(&mut server, &again).unwrap(), data);
    assert_eq!(read_whole(&mut server, &files[1]).unwrap(), data);
    let super_cap = server.super_capability();
    let (reply, text) = call(&mut server, Header::request(&super_cap, BS_FSCK), &[]);
    assert_eq!(status(&reply), Ok(()));
    let text = String::from_utf8(text).unwrap();
    assert!(text.starts_with("files 6, used blocks 222,"), "{text}");
    assert!(text.ends_with("problems 0"), "{text}");
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
        modify(&mut server, &read_only, 0, b"x", 0),
        Err(ErrorCode::STD_DENIED)
    );
    assert_eq!(destroy(&mut server, &read_only), Err(ErrorCode::STD_DENIED));
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
    assert_eq!(destroy(&mut server, &file), Ok(()));
    assert_eq!(read_whole(&mut server, &file), Err(ErrorCode::STD_CAPBAD));
    let unknown = Header::request(&server.super_capability(), BS_DISK_COMPACT);
    assert_eq!(
        status(&call(&mut server, unknown, &[]).0),
        Err(ErrorCode::STD_COMBAD)
    );
    // The super capability names no file to change.
    let super_cap = server.super_capability();
    assert_eq!(
        modify(&mut server, &super_cap, 0, b"x", 0),
        Err(ErrorCode::STD_ARGBAD)
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
