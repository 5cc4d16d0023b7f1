//! The SOAP server through the client stubs, over the in-memory transport.

use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;

use super::*;
use crate::client::{
    dir_append, dir_delete, dir_list, dir_lookup, sp_append, sp_chmod, sp_create, sp_discard,
    sp_getmasks, sp_install, sp_list, sp_lookup, sp_replace, sp_setlookup, sp_traverse, std_info,
    std_restrict,
};
use crate::random::SeededGenerator;
use crate::servers::loopback::Loopback;
use crate::soap::wire::{Found, Install};

type Test = SoapServer<NotKept, Alone, SeededGenerator>;

fn file(n: u8) -> Capability {
    Capability::new(Port([0xF0; 6]), u32::from(n), 0xFF, [n; 6]).unwrap()
}

fn soap(port: u8) -> (Test, Capability) {
    let root = Directory::with_default_columns();
    SoapServer::new(
        Port([port; 6]),
        root,
        NotKept,
        Alone,
        SeededGenerator::new(port.into()),
    )
    .unwrap()
}

fn one_server() -> (Loopback, Capability) {
    let (server, root) = soap(1);
    let mut rpc = Loopback::new();
    rpc.add(root.port, server);
    (rpc, root)
}

#[test]
fn directories_nest_and_paths_are_followed() {
    let (rpc, root) = one_server();
    let bin = sp_create(&rpc, &root, &DEFAULT_COLUMNS_OWNED).unwrap();
    dir_append(&rpc, &root, "bin", &bin).unwrap();
    dir_append(&rpc, &bin, "hello", &file(1)).unwrap();
    assert_eq!(dir_lookup(&rpc, &root, "bin/hello"), Ok(file(1)));
    assert_eq!(dir_lookup(&rpc, &root, "/bin//hello"), Ok(file(1)));
    assert_eq!(
        dir_lookup(&rpc, &root, "bin/none"),
        Err(ErrorCode::STD_NOTFOUND)
    );
    assert_eq!(sp_traverse(&rpc, &root, "bin/hello"), Ok((bin, "hello")));
    assert_eq!(sp_traverse(&rpc, &root, "/top"), Ok((root, "top")));
    let names: Vec<_> = dir_list(&rpc, &bin)
        .unwrap()
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(names, ["hello"]);
}

const DEFAULT_COLUMNS_OWNED: [&str; 3] = crate::soap::directory::DEFAULT_COLUMNS;

#[test]
fn a_path_crosses_to_a_directory_on_another_server() {
    let (here, here_root) = soap(1);
    let (there, there_root) = soap(2);
    let mut rpc = Loopback::new();
    rpc.add(here_root.port, here);
    rpc.add(there_root.port, there);
    let shared = sp_create(&rpc, &there_root, &["owner"]).unwrap();
    dir_append(&rpc, &shared, "notes", &file(3)).unwrap();
    dir_append(&rpc, &there_root, "shared", &shared).unwrap();
    dir_append(&rpc, &here_root, "remote", &there_root).unwrap();
    assert_eq!(
        dir_lookup(&rpc, &here_root, "remote/shared/notes"),
        Ok(file(3))
    );
}

#[test]
fn rights_earned_follow_the_masks_of_the_columns_held() {
    let (rpc, root) = one_server();
    let sub = sp_create(&rpc, &root, &DEFAULT_COLUMNS_OWNED).unwrap();
    // Owner column: every right; other column: the directory's columns only (no MODIFY).
    let masks = [0xFF, 0x0F, u32::from(COLUMNS & 0b100)];
    sp_append(&rpc, &root, "sub", &CapSet::singleton(sub), &masks).unwrap();
    let other = std_restrict(&rpc, &root, 0b100).unwrap();
    let through_other = dir_lookup(&rpc, &other, "sub").unwrap();
    assert_eq!(through_other.rights, 0b100);
    assert_eq!(
        dir_append(&rpc, &through_other, "x", &file(1)),
        Err(ErrorCode::STD_DENIED)
    );
    assert_eq!(dir_lookup(&rpc, &root, "sub").unwrap(), sub);
    // A foreign capability that would lose rights cannot be restricted here: unreachable.
    dir_append(&rpc, &root, "file", &file(2)).unwrap();
    sp_chmod(&rpc, &root, "file", &[0xFF, 0xFF, 0x02]).unwrap();
    assert_eq!(dir_lookup(&rpc, &other, "file"), Err(ErrorCode::SP_UNREACH));
    assert_eq!(
        sp_getmasks(&rpc, &root, "file"),
        Ok(alloc::vec![0xFF, 0xFF, 0x02])
    );
}

#[test]
fn modify_and_delete_rights_are_needed() {
    let (rpc, root) = one_server();
    let read = std_restrict(&rpc, &root, COLUMNS).unwrap();
    assert_eq!(
        dir_append(&rpc, &read, "a", &file(1)),
        Err(ErrorCode::STD_DENIED)
    );
    dir_append(&rpc, &root, "a", &file(1)).unwrap();
    assert_eq!(
        dir_append(&rpc, &root, "a", &file(2)),
        Err(ErrorCode::STD_EXISTS)
    );
    assert_eq!(dir_delete(&rpc, &read, "a"), Err(ErrorCode::STD_DENIED));
    let no_columns = std_restrict(&rpc, &root, MODIFY).unwrap();
    assert_eq!(
        dir_lookup(&rpc, &no_columns, "a"),
        Err(ErrorCode::STD_DENIED)
    );
    let mut forged = root;
    forged.check[0] ^= 1;
    assert_eq!(dir_lookup(&rpc, &forged, "a"), Err(ErrorCode::STD_CAPBAD));
    assert_eq!(dir_delete(&rpc, &root, "a"), Ok(()));
    assert_eq!(dir_delete(&rpc, &root, "a"), Err(ErrorCode::STD_NOTFOUND));
}

#[test]
fn only_empty_directories_are_discarded_and_never_the_root() {
    let (rpc, root) = one_server();
    let sub = sp_create(&rpc, &root, &["owner"]).unwrap();
    dir_append(&rpc, &sub, "a", &file(1)).unwrap();
    assert_eq!(sp_discard(&rpc, &sub), Err(ErrorCode::SP_NOTEMPTY));
    let no_delete = std_restrict(&rpc, &sub, 0x7F).unwrap();
    dir_delete(&rpc, &sub, "a").unwrap();
    assert_eq!(sp_discard(&rpc, &no_delete), Err(ErrorCode::STD_DENIED));
    assert_eq!(sp_discard(&rpc, &sub), Ok(()));
    assert_eq!(dir_lookup(&rpc, &sub, "a"), Err(ErrorCode::STD_CAPBAD));
    assert_eq!(sp_discard(&rpc, &root), Err(ErrorCode::STD_DENIED));
}

#[test]
fn a_long_directory_is_listed_in_several_replies() {
    let (rpc, root) = one_server();
    for n in 0..600 {
        dir_append(
            &rpc,
            &root,
            &format!("entry-with-a-long-name-{n:04}"),
            &file(1),
        )
        .unwrap();
    }
    let listing = sp_list(&rpc, &root).unwrap();
    assert_eq!(listing.columns, DEFAULT_COLUMNS_OWNED);
    assert_eq!(listing.rows.len(), 600);
    assert_eq!(listing.rows[599].0, "entry-with-a-long-name-0599");
    assert_eq!(listing.rows[0].1, [0xFF, 0xFF, 0xFF]);
}

#[test]
fn replace_setlookup_and_install() {
    let (rpc, root) = one_server();
    dir_append(&rpc, &root, "a", &file(1)).unwrap();
    dir_append(&rpc, &root, "b", &file(2)).unwrap();
    sp_replace(&rpc, &root, "a", &CapSet::singleton(file(5))).unwrap();
    let here = CapSet::singleton(root);
    let found = sp_setlookup(&rpc, &root, &[(here.clone(), "a"), (here.clone(), "zz")]).unwrap();
    assert!(matches!(&found[0], Found::Found { capset, .. } if capset.first() == Some(file(5))));
    assert_eq!(found[1], Found::Failed(ErrorCode::STD_NOTFOUND.get()));
    let install = |name: &str, new: u8, old: u8| Install {
        dir: here.clone(),
        name: name.to_string(),
        capset: CapSet::singleton(file(new)),
        old: file(old),
    };
    // One stale entry and nothing changes.
    let clash = sp_install(&rpc, &root, &[install("a", 6, 5), install("b", 7, 9)]);
    assert_eq!(clash, Err(ErrorCode::SP_CLASH));
    assert_eq!(dir_lookup(&rpc, &root, "a"), Ok(file(5)));
    sp_install(&rpc, &root, &[install("a", 6, 5), install("b", 7, 2)]).unwrap();
    assert_eq!(dir_lookup(&rpc, &root, "b"), Ok(file(7)));
    assert_eq!(sp_lookup(&rpc, &root, "a").unwrap().first(), Some(file(6)));
}

#[test]
fn a_kernel_directory_keeps_its_names_and_its_creations() {
    let (mut server, owner) =
        SoapServer::kernel_directory(Port([3; 6]), Alone, SeededGenerator::new(3)).unwrap();
    server.publish("tod", file(1)).unwrap();
    assert_eq!(server.lookup("tod"), Some(file(1)));
    let mut rpc = Loopback::new();
    rpc.add(owner.port, server);
    let process = std_restrict(&rpc, &owner, COLUMNS | MODIFY).unwrap();
    dir_append(&rpc, &process, "mine", &file(2)).unwrap();
    assert_eq!(
        dir_delete(&rpc, &process, "tod"),
        Err(ErrorCode::STD_DENIED)
    );
    let replaced = sp_replace(&rpc, &process, "tod", &CapSet::singleton(file(2)));
    assert_eq!(replaced, Err(ErrorCode::STD_DENIED));
    assert_eq!(dir_delete(&rpc, &process, "mine"), Ok(()));
    assert_eq!(
        sp_create(&rpc, &process, &["x"]),
        Err(ErrorCode::STD_DENIED)
    );
    let mut text = [0; 32];
    assert_eq!(std_info(&rpc, &process, &mut text), Ok("%-w1234"));
    assert_eq!(std_info(&rpc, &owner, &mut text), Ok("%dw1234"));
}

#[test]
fn limits_and_bad_requests_are_refused() {
    let (server, root) = soap(1);
    let server = server.with_limits(Limits {
        rows: 2,
        directories: 2,
    });
    let mut rpc = Loopback::new();
    rpc.add(root.port, server);
    dir_append(&rpc, &root, "a", &file(1)).unwrap();
    dir_append(&rpc, &root, "b", &file(1)).unwrap();
    assert_eq!(
        dir_append(&rpc, &root, "c", &file(1)),
        Err(ErrorCode::STD_NOSPACE)
    );
    sp_create(&rpc, &root, &["x"]).unwrap();
    assert_eq!(sp_create(&rpc, &root, &["x"]), Err(ErrorCode::STD_NOSPACE));
    assert_eq!(
        sp_create(&rpc, &root, &["a", "b", "c", "d", "e"]),
        Err(ErrorCode::STD_ARGBAD)
    );
    assert_eq!(dir_lookup(&rpc, &root, "a b"), Err(ErrorCode::STD_ARGBAD));
}

/// Bullet files in memory, for the kept store.
#[derive(Default)]
struct MemoryFiles {
    files: alloc::collections::BTreeMap<u32, Vec<u8>>,
    next: u32,
}

impl crate::soap::kept::DirectoryFiles for MemoryFiles {
    fn create(&mut self, data: &[u8]) -> Result<Capability, ErrorCode> {
        self.next += 1;
        self.files.insert(self.next, data.to_vec());
        Ok(Capability::new(Port([0xB; 6]), self.next, 0xFF, [1; 6]).unwrap())
    }

    fn read(&mut self, file: &Capability) -> Result<Vec<u8>, ErrorCode> {
        self.files
            .get(&file.object)
            .cloned()
            .ok_or(ErrorCode::STD_CAPBAD)
    }

    fn destroy(&mut self, file: &Capability) -> Result<(), ErrorCode> {
        self.files
            .remove(&file.object)
            .map(drop)
            .ok_or(ErrorCode::STD_CAPBAD)
    }
}

#[test]
fn kept_directories_and_their_capabilities_survive_a_restart() {
    use crate::servers::vdisk::tests::MemoryDisk;
    use crate::soap::kept::KeptInBullet;
    let get = Port([5; 6]);
    let store =
        KeptInBullet::format(MemoryDisk::new(64), get, MemoryFiles::default(), 100).unwrap();
    let root = Directory::with_default_columns();
    let (server, root_cap) =
        SoapServer::new(Port([6; 6]), root, store, Alone, SeededGenerator::new(6)).unwrap();
    let mut rpc = Loopback::new();
    let shared = rpc.add(root_cap.port, server);
    let bin = sp_create(&rpc, &root_cap, &["owner"]).unwrap();
    dir_append(&rpc, &root_cap, "bin", &bin).unwrap();
    dir_append(&rpc, &bin, "hello", &file(1)).unwrap();
    let gone = sp_create(&rpc, &root_cap, &["owner"]).unwrap();
    sp_discard(&rpc, &gone).unwrap();
    drop(rpc);
    let server = alloc::rc::Rc::try_unwrap(shared).ok().unwrap().into_inner();
    let SoapServer { store, .. } = server;
    let (disk, files) = store.into_parts();
    // Root, bin: one file each, nothing left over.
    assert_eq!(files.files.len(), 2);
    let restored = KeptInBullet::mount(disk, files).unwrap();
    assert!(restored.problems.is_empty(), "{:?}", restored.problems);
    assert_eq!(restored.get_port, get);
    let server = SoapServer::restore(
        Port([6; 6]),
        restored.directories,
        restored.store,
        Alone,
        SeededGenerator::new(7),
    )
    .unwrap();
    let mut rpc = Loopback::new();
    rpc.add(root_cap.port, server);
    assert_eq!(dir_lookup(&rpc, &root_cap, "bin/hello"), Ok(file(1)));
    assert_eq!(dir_lookup(&rpc, &gone, "x"), Err(ErrorCode::STD_CAPBAD));
}
