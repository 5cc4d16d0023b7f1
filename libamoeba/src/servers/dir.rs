//! The kernel directory: where a node's servers publish their capabilities under names
//! (`docs/amoeba-protocol.md#kernel-servers`: proc, ps, sys, tod, random, tty, ...).
//!
//! It speaks SOAP's command numbers: LIST 2102, APPEND 2103, DELETE 2105, LOOKUP 2106. Ours,
//! not SOAP's: the row layout and names
//! ([`row`]), LIST paging and LOOKUP replies ([`listing`]), one rights column instead of
//! SOAP's four, and these requests:
//!
//! - APPEND: data = one row (name and capability); needs [`MODIFY`]; STD_EXISTS if the name
//!   is taken, STD_NOSPACE past the directory's limit (at most [`MAX_ENTRIES`]).
//! - DELETE: data = the name; needs [`MODIFY`]; STD_NOTFOUND if absent, STD_DENIED for a name
//!   the owner published in-process.
//! - LOOKUP, LIST: need [`READ`].
//!
//! Object 0 is the root directory. The kernel fills it in-process with
//! [`Directory::publish`] (names no request can delete), then hands processes a capability
//! with [`READ`] and [`MODIFY`]: they can publish servers of their own next to the kernel's,
//! not replace them. [`Directory::with_limit`] bounds how many names clients can add.

pub mod listing;
pub mod row;

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};

use crate::capability::{ALL_RIGHTS, Capability, Port};
use crate::random::Entropy;
use crate::rpc::codes::{Command, ErrorCode, SOAP_FIRST_COM};
use crate::rpc::header::Header;
use crate::rpc::objects::ObjectTable;
use crate::rpc::server::{Reply, Request, Server};
use crate::servers::standard::{SERVER_OBJECT, answer_standard, server_table, whole_data};
use listing::{answer_list, answer_lookup, requested_name};
use row::{decode_row, is_valid_name};

/// Right to look names up and list them.
pub const READ: u8 = 0x01;
/// Right to add and delete names.
pub const MODIFY: u8 = 0x02;

/// SOAP's LIST: rows from an index (see [`listing`]).
pub const LIST: Command = Command(SOAP_FIRST_COM + 2);
/// SOAP's APPEND: add a name.
pub const APPEND: Command = Command(SOAP_FIRST_COM + 3);
/// SOAP's DELETE: remove a name.
pub const DELETE: Command = Command(SOAP_FIRST_COM + 5);
/// SOAP's LOOKUP: the capability a name maps to.
pub const LOOKUP: Command = Command(SOAP_FIRST_COM + 6);

/// The most names a directory holds: LIST counts its rows in a 16-bit h_size.
pub const MAX_ENTRIES: usize = u16::MAX as usize;

/// A directory's names, in the order LIST sends them.
type Entries = BTreeMap<String, Capability>;

/// The kernel directory server.
pub struct Directory {
    objects: ObjectTable<Entries>,
    /// Names [`Directory::publish`] made: no request deletes them (STD_DENIED), so a client
    /// with MODIFY can add its own names but cannot put itself in a server's place.
    pinned: BTreeSet<String>,
    /// Most entries APPEND may make (it answers STD_NOSPACE beyond).
    max_entries: usize,
}

impl Directory {
    /// An empty root directory served at `put_port`, with its owner capability.
    pub fn new(put_port: Port, entropy: &mut impl Entropy) -> (Self, Capability) {
        Self::with_limit(put_port, entropy, MAX_ENTRIES)
    }

    /// As [`new`](Self::new), holding at most `max_entries` names (at most [`MAX_ENTRIES`]):
    /// a kernel bounds what clients can make it store.
    pub fn with_limit(
        put_port: Port,
        entropy: &mut impl Entropy,
        max_entries: usize,
    ) -> (Self, Capability) {
        let (objects, owner) = server_table(put_port, entropy, Entries::new());
        let directory = Self {
            objects,
            pinned: BTreeSet::new(),
            max_entries: max_entries.min(MAX_ENTRIES),
        };
        (directory, owner)
    }

    /// Adds `name` → `cap` to the root for good, for whoever owns this server (the kernel at
    /// boot): requests cannot delete it.
    pub fn publish(&mut self, name: &str, cap: Capability) -> Result<(), ErrorCode> {
        let max = self.max_entries;
        add(self.root_mut()?, name, cap, max)?;
        self.pinned.insert(name.to_string());
        Ok(())
    }

    /// What `name` maps to in the root.
    pub fn lookup(&self, name: &str) -> Option<Capability> {
        let (_, entries) = self
            .objects
            .iter()
            .find(|(object, _)| *object == SERVER_OBJECT)?;
        entries.get(name).copied()
    }

    fn root_mut(&mut self) -> Result<&mut Entries, ErrorCode> {
        let owner = self
            .objects
            .capability(SERVER_OBJECT, ALL_RIGHTS)
            .ok_or(ErrorCode::STD_SYSERR)?;
        let (_, entries) = self
            .objects
            .get_mut(&Header::request(&owner, APPEND), MODIFY)?;
        Ok(entries)
    }

    fn append(&mut self, request: &Request<'_>) -> Result<(), ErrorCode> {
        let (_, entries) = self.objects.get_mut(&request.header, MODIFY)?;
        let (name, cap) = decode_row(whole_data(request)?).map_err(|_| ErrorCode::STD_ARGBAD)?;
        add(entries, name, cap, self.max_entries)
    }

    fn delete(&mut self, request: &Request<'_>) -> Result<(), ErrorCode> {
        let (_, entries) = self.objects.get_mut(&request.header, MODIFY)?;
        let name = requested_name(request)?;
        if self.pinned.contains(name) {
            return Err(ErrorCode::STD_DENIED);
        }
        entries
            .remove(name)
            .map(drop)
            .ok_or(ErrorCode::STD_NOTFOUND)
    }
}

fn add(entries: &mut Entries, name: &str, cap: Capability, max: usize) -> Result<(), ErrorCode> {
    if !is_valid_name(name) {
        return Err(ErrorCode::STD_ARGBAD);
    }
    if entries.contains_key(name) {
        return Err(ErrorCode::STD_EXISTS);
    }
    if entries.len() >= max {
        return Err(ErrorCode::STD_NOSPACE);
    }
    entries.insert(name.to_string(), cap);
    Ok(())
}

impl Server for Directory {
    fn handle(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let describe =
            |_, entries: &Entries| format!("kernel directory, {} entries", entries.len());
        if let Some(result) = answer_standard(&self.objects, request, reply, describe) {
            return result;
        }
        match request.header.command() {
            LOOKUP => {
                let (_, entries) = self.objects.get(&request.header, READ)?;
                answer_lookup(entries.get(requested_name(request)?).copied(), reply)
            }
            LIST => {
                let (_, entries) = self.objects.get(&request.header, READ)?;
                answer_list(
                    entries.iter().map(|(name, cap)| (name, *cap)),
                    request,
                    reply,
                )
            }
            APPEND => self.append(request),
            DELETE => self.delete(request),
            _ => Err(ErrorCode::STD_COMBAD),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededGenerator;
    use crate::servers::dir::row::{decode_rows, encode_row};
    use crate::servers::loopback::call;
    use crate::servers::refusals::assert_refusals;
    use alloc::vec::Vec;

    const PORT: Port = Port([0xd1; 6]);

    fn entry(n: u8) -> Capability {
        Capability::new(Port([n; 6]), 0, ALL_RIGHTS, [n; 6]).unwrap()
    }

    fn directory() -> (Directory, Capability) {
        let (mut dir, owner) = Directory::new(PORT, &mut SeededGenerator::new(5));
        dir.publish("tod", entry(1)).unwrap();
        dir.publish("sys", entry(2)).unwrap();
        (dir, owner)
    }

    /// A request and what it must get: the reply data or the error.
    type Step<'a> = (
        &'a Capability,
        Command,
        &'a [u8],
        Result<Vec<u8>, ErrorCode>,
    );

    /// Sends the steps' requests in order, checking each outcome.
    fn run(dir: &mut Directory, steps: &[Step<'_>]) {
        for (cap, command, data, expected) in steps {
            let (reply, got) = call(dir, Header::request(cap, *command), data);
            let got = reply.error().map_or(Ok(got), Err);
            assert_eq!(&got, expected, "{command} {data:?}");
        }
    }

    fn restricted(dir: &Directory, rights: u8) -> Capability {
        dir.objects.capability(SERVER_OBJECT, rights).unwrap()
    }

    const DONE: Result<Vec<u8>, ErrorCode> = Ok(Vec::new());

    #[test]
    fn lookup_finds_published_names() {
        let (mut dir, owner) = directory();
        let read = restricted(&dir, READ);
        let found = |n| Ok(entry(n).to_bytes().to_vec());
        run(
            &mut dir,
            &[
                (&read, LOOKUP, b"tod", found(1)),
                (&owner, LOOKUP, b"sys", found(2)),
                (&read, LOOKUP, b"nope", Err(ErrorCode::STD_NOTFOUND)),
                (&read, LOOKUP, b"a/b", Err(ErrorCode::STD_ARGBAD)),
                (&read, LOOKUP, &[0xff], Err(ErrorCode::STD_ARGBAD)),
                (&read, LOOKUP, &[b'x'; 256], Err(ErrorCode::STD_ARGBAD)),
            ],
        );
        assert_eq!(dir.lookup("tod"), Some(entry(1)));
        assert_eq!(dir.lookup("x"), None);
    }

    #[test]
    fn list_sends_every_row_in_name_order() {
        let (mut dir, owner) = directory();
        let (reply, data) = call(&mut dir, Header::request(&owner, LIST), &[]);
        let fields = (reply.status(), reply.offset, reply.extra, reply.size);
        assert_eq!(fields, (0, 2, 2, 2));
        let rows = decode_rows(&data).unwrap();
        assert_eq!(rows, [("sys", entry(2)), ("tod", entry(1))]);
    }

    #[test]
    fn append_and_delete_need_modify() {
        let (mut dir, owner) = directory();
        let (read, modify) = (restricted(&dir, READ), restricted(&dir, MODIFY));
        let row = encode_row("random", &entry(3)).unwrap();
        run(
            &mut dir,
            &[
                (&read, APPEND, &row, Err(ErrorCode::STD_DENIED)),
                (&owner, APPEND, &row, DONE),
                (&owner, APPEND, &row, Err(ErrorCode::STD_EXISTS)),
                (&read, DELETE, b"random", Err(ErrorCode::STD_DENIED)),
                (&modify, LOOKUP, b"random", Err(ErrorCode::STD_DENIED)),
            ],
        );
        assert_eq!(dir.lookup("random"), Some(entry(3)));
        run(
            &mut dir,
            &[
                (&modify, DELETE, b"random", DONE),
                (&modify, DELETE, b"random", Err(ErrorCode::STD_NOTFOUND)),
            ],
        );
        assert_eq!(dir.lookup("random"), None);
        assert_eq!(dir.publish("tod", entry(9)), Err(ErrorCode::STD_EXISTS));
        assert_eq!(dir.publish("", entry(9)), Err(ErrorCode::STD_ARGBAD));
    }

    #[test]
    fn bad_rows_and_names_are_argbad() {
        let (mut dir, owner) = directory();
        let row = encode_row("new", &entry(3)).unwrap();
        let longer = [row.as_slice(), b"x"].concat();
        let argbad = Err(ErrorCode::STD_ARGBAD);
        run(
            &mut dir,
            &[
                (&owner, APPEND, &row[..row.len() - 1], argbad.clone()),
                (&owner, APPEND, &longer, argbad.clone()),
                (&owner, APPEND, b"", argbad.clone()),
                (&owner, DELETE, b"", argbad),
            ],
        );
        assert_eq!(dir.lookup("new"), None);
    }

    #[test]
    fn bad_capabilities_missing_rights_and_other_commands_are_refused() {
        let (mut dir, owner) = directory();
        assert_refusals(&mut dir, owner, READ, |cap| Header::request(cap, LIST));
        assert_refusals(&mut dir, owner, MODIFY, |cap| Header::request(cap, APPEND));
        let info = Ok(b"kernel directory, 2 entries".to_vec());
        run(
            &mut dir,
            &[
                (&owner, Command(2100), b"", Err(ErrorCode::STD_COMBAD)),
                (
                    &owner,
                    Command::STD_DESTROY,
                    b"",
                    Err(ErrorCode::STD_COMBAD),
                ),
                (&owner, Command::STD_INFO, b"", info),
            ],
        );
    }

    #[test]
    fn truncated_requests_overflow() {
        let (mut dir, owner) = directory();
        let request = Request {
            header: Header::request(&owner, DELETE),
            data: b"tod",
            truncated: true,
        };
        let mut buffer = [0; 16];
        let mut reply = Reply::new(&mut buffer);
        assert_eq!(
            dir.handle(&request, &mut reply),
            Err(ErrorCode::STD_OVERFLOW)
        );
        assert_eq!(dir.lookup("tod"), Some(entry(1)));
    }

    #[test]
    fn published_names_cannot_be_deleted_and_the_limit_holds() {
        let (mut dir, owner) = Directory::with_limit(PORT, &mut SeededGenerator::new(6), 3);
        dir.publish("sys", entry(2)).unwrap();
        let row = |name: &str, n| encode_row(name, &entry(n)).unwrap();
        run(
            &mut dir,
            &[
                (&owner, DELETE, b"sys", Err(ErrorCode::STD_DENIED)),
                (&owner, APPEND, &row("sys", 9), Err(ErrorCode::STD_EXISTS)),
                (&owner, APPEND, &row("a", 3), DONE),
                (&owner, APPEND, &row("b", 4), DONE),
                (&owner, APPEND, &row("c", 5), Err(ErrorCode::STD_NOSPACE)),
                (&owner, DELETE, b"a", DONE),
                (&owner, APPEND, &row("c", 5), DONE),
            ],
        );
        assert_eq!(dir.lookup("sys"), Some(entry(2)));
    }
}
