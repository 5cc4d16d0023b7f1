//! Tier 3: files and directories on a file-server node (profile `tests/profiles/test-disk.toml`:
//! vdisk, Bullet and SOAP on a virtio disk), driven by the `amoeba` file commands from the
//! host: put/get round trips of sizes around the chunk and frame limits up to 16 MiB; mkdir,
//! ls, mv and rm; capabilities that refuse what their rights do not allow; every file,
//! directory and capability valid after the node is killed and booted again; a directory on
//! one node naming one on another, looked up through both; a program exec'd on one node from a
//! file on the other; a disk too full for a file refused while the server goes on.

mod common;

use amoeba_build::qemu::Nic;
use amoeba_tests::Node;
use amoeba_tests::images::{
    LanNodeOptions, built, built_test_profile, disk_image, start_lan_node_with,
};
use amoeba_tests::lan::port_for;
use common::{
    LIMIT, amoeba, console_capability, peer_and_root, pool_node, programs_dir, run, text,
};
use libamoeba::capability::Capability;
use libamoeba::client;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::soap::CapSet;
use libamoeba::soap::server::COLUMNS;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A disk with room for the 16 MiB file and the rest.
const DISK_MIB: u32 = 64;

fn boot(name: &str, port: u16, index: u8, disk: &Path) -> Node {
    let image = built_test_profile("test-disk");
    let words = [format!("node={name}")];
    let options = LanNodeOptions {
        icount: false,
        disk: Some(disk),
    };
    start_lan_node_with(&image, Nic::Virtio, port, index, &words, options, LIMIT)
}

/// Bytes that differ with `seed` and with every place.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 9) as u8)
        .collect()
}

fn local(name: &str, data: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("amoeba-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// `amoeba ARGS... --json` on LAN `port`, which must succeed; its JSON.
fn json(port: u16, args: &[&str], node: &Node) -> Value {
    let mut command = amoeba(port);
    command.args(args).arg("--json");
    let output = run(command, node);
    assert!(
        output.status.success(),
        "amoeba {args:?}: {}\n{}",
        text(&output.stderr),
        node.log()
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("amoeba {args:?}: {e}: {}", text(&output.stdout)))
}

/// `amoeba ARGS...` on LAN `port`, which must fail; its standard error.
fn fails(port: u16, args: &[&str], node: &Node) -> String {
    let mut command = amoeba(port);
    command.args(args);
    let output = run(command, node);
    assert!(!output.status.success(), "amoeba {args:?} should fail");
    text(&output.stderr)
}

fn get(port: u16, remote: &str, node: &Node) -> Vec<u8> {
    let mut command = amoeba(port);
    command.args(["get", remote, "-"]);
    let output = run(command, node);
    assert!(
        output.status.success(),
        "get {remote}: {}\n{}",
        text(&output.stderr),
        node.log()
    );
    output.stdout
}

fn capability(value: &Value) -> Capability {
    value["capability"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no capability in {value}"))
}

fn names(listing: &Value) -> Vec<String> {
    let rows = listing["rows"].as_array().cloned().unwrap_or_default();
    rows.iter()
        .filter_map(|r| r["name"].as_str().map(String::from))
        .collect()
}

#[test]
fn files_and_directories_round_trip_keep_their_rights_and_survive_a_crash() {
    let port = port_for(81);
    let disk = disk_image("files-test", DISK_MIB);
    let mut node = boot("files-1", port, 1, &disk);
    let sizes = [0usize, 1, 1402, 1458, 29768, 30000, 1 << 20, 16 << 20];
    let mut stored = Vec::new();
    json(port, &["mkdir", "files-1/data"], &node);
    for (n, size) in sizes.iter().enumerate() {
        let data = pattern(*size, n as u8);
        let file = local(&format!("f{size}"), &data);
        let remote = format!("files-1/data/f{size}");
        let put = json(port, &["put", &file.to_string_lossy(), &remote], &node);
        assert_eq!(put["bytes"].as_u64(), Some(*size as u64));
        assert!(
            get(port, &remote, &node) == data,
            "{remote} came back different"
        );
        stored.push((remote, data, capability(&put)));
    }
    let listing = json(port, &["ls", "files-1/data"], &node);
    assert_eq!(names(&listing).len(), sizes.len());

    // mv within a directory and into another; rm of a file and of an empty directory.
    json(port, &["mkdir", "files-1/old"], &node);
    json(port, &["mv", "files-1/data/f1", "files-1/data/one"], &node);
    json(port, &["mv", "files-1/data/one", "files-1/old"], &node);
    assert!(names(&json(port, &["ls", "files-1/old"], &node)) == ["one"]);
    assert_eq!(get(port, "files-1/old/one", &node), stored[1].1);
    let not_empty = fails(port, &["rm", "files-1/old"], &node);
    assert!(not_empty.contains("not empty"), "{not_empty}");
    json(port, &["rm", "files-1/old/one"], &node);
    json(port, &["rm", "files-1/old"], &node);
    let gone = fails(port, &["get", "files-1/old/one", "-"], &node);
    assert!(gone.contains("STD_NOTFOUND"), "{gone}");
    stored.remove(1);

    // Rights: a read-only file capability reads and cannot destroy; a tampered one is
    // refused; a directory capability without MODIFY cannot append.
    let (peer, root) = peer_and_root(port, "files-1", &node);
    let soap = client::dir_lookup(&peer, &root, "soap").unwrap_or_else(|e| panic!("{e}"));
    let (_, data, file) = &stored[2];
    let read_only = client::std_restrict(&peer, file, 0x02).unwrap_or_else(|e| panic!("{e}"));
    let mut first = vec![0u8; 100];
    let got = client::bs_read(&peer, &read_only, 0, &mut first).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&first[..got], &data[..got]);
    assert_eq!(
        client::std_destroy(&peer, &read_only),
        Err(ErrorCode::STD_DENIED)
    );
    let tampered = Capability {
        check: [0x5A; 6],
        ..*file
    };
    assert_eq!(
        client::bs_read(&peer, &tampered, 0, &mut first),
        Err(ErrorCode::STD_CAPBAD)
    );
    let listing_only =
        client::std_restrict(&peer, &soap, COLUMNS).unwrap_or_else(|e| panic!("{e}"));
    let appended = client::dir_append(&peer, &listing_only, "intruder", file);
    assert_eq!(appended, Err(ErrorCode::STD_DENIED));

    // A directory bigger than one Bullet chunk (130 rows of 200-byte names, about 31 KB).
    let many = capability(&json(port, &["mkdir", "files-1/many"], &node));
    let long = |n: usize| format!("{n:0>200}");
    for n in 0..130 {
        client::dir_append(&peer, &many, &long(n), file).unwrap_or_else(|e| panic!("row {n}: {e}"));
    }

    // Killed and booted again: every file, directory and capability as before.
    let data_dir = client::dir_lookup(&peer, &soap, "data").unwrap_or_else(|e| panic!("{e}"));
    drop(peer);
    node.kill();
    let node = boot("files-1", port, 1, &disk);
    for (remote, data, _) in &stored {
        assert!(
            get(port, remote, &node) == *data,
            "{remote} lost in the crash\n{}",
            node.log()
        );
    }
    let (peer, _) = peer_and_root(port, "files-1", &node);
    assert_eq!(
        client::dir_lookup(&peer, &data_dir, "f0"),
        Ok(stored[0].2),
        "the directory's capability changed"
    );
    let mut first = vec![0u8; 10];
    assert!(client::bs_read(&peer, &stored[2].2, 0, &mut first).is_ok());
    let rows = client::sp_list(&peer, &many).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.rows.len(), 130, "the big directory lost rows");
    assert_eq!(client::dir_lookup(&peer, &many, &long(129)), Ok(*file));
}

#[test]
fn directories_span_nodes_and_programs_run_from_files() {
    let port = port_for(82);
    let (disk_a, disk_b) = (
        disk_image("files-a", DISK_MIB),
        disk_image("files-b", DISK_MIB),
    );
    let a = boot("files-a", port, 1, &disk_a);
    let b = boot("files-b", port, 2, &disk_b);
    // A directory of files-b, named in files-a's root, looked up through both.
    let shared = capability(&json(port, &["mkdir", "files-b/shared"], &b));
    let note = local("note", b"across two nodes\n");
    json(
        port,
        &["put", &note.to_string_lossy(), "files-b/shared/note"],
        &b,
    );
    let (peer, root_a) = peer_and_root(port, "files-a", &a);
    let soap_a = client::dir_lookup(&peer, &root_a, "soap").unwrap_or_else(|e| panic!("{e}"));
    client::sp_append(
        &peer,
        &soap_a,
        "remote",
        &CapSet::singleton(shared),
        &[0xFF; 3],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(get(port, "files-a/remote/note", &a), b"across two nodes\n");

    // A program stored on files-a runs on files-b, its segments read from files-a's Bullet.
    let hello = programs_dir().join("hello.process");
    json(
        port,
        &[
            "put",
            "--program",
            &hello.to_string_lossy(),
            "files-a/hello",
        ],
        &a,
    );
    let mut command = amoeba(port);
    command.args(["exec", "files-b", "files-a/hello"]);
    let output = run(command, &b);
    assert!(
        output.status.success(),
        "exec from a file: {}\n{}\n{}",
        text(&output.stderr),
        a.log(),
        b.log()
    );
    assert!(
        text(&output.stdout).contains("hello"),
        "{}",
        text(&output.stdout)
    );
    // A compressed image cannot be read in place: said so, with the fix.
    json(
        port,
        &["put", &hello.to_string_lossy(), "files-a/packed"],
        &a,
    );
    let packed = fails(port, &["exec", "files-b", "files-a/packed"], &b);
    assert!(packed.contains("--program"), "{packed}");
}

#[test]
fn a_full_disk_refuses_a_file_and_the_server_goes_on() {
    let port = port_for(83);
    let disk = disk_image("files-full", 16);
    let node = boot("files-full", port, 1, &disk);
    let big = local("big", &pattern(20 << 20, 3));
    let refused = fails(
        port,
        &["put", &big.to_string_lossy(), "files-full/big"],
        &node,
    );
    assert!(refused.contains("STD_NOSPACE"), "{refused}\n{}", node.log());
    let small = local("small", b"still serving\n");
    json(
        port,
        &["put", &small.to_string_lossy(), "files-full/small"],
        &node,
    );
    assert_eq!(get(port, "files-full/small", &node), b"still serving\n");
}

#[test]
fn the_built_fileserver_disk_names_its_programs_and_a_pool_runs_them() {
    let port = port_for(85);
    let image = built("fileserver");
    let built_disk = image
        .disk
        .clone()
        .unwrap_or_else(|| panic!("fileserver has no disk.img"));
    // A copy, as `run` boots: the build output stays as built.
    let disk = disk_image("fileserver-copy", 1);
    std::fs::copy(&built_disk, &disk).unwrap_or_else(|e| panic!("copying the disk: {e}"));
    let words = ["node=fileserver-1".to_string()];
    let options = LanNodeOptions {
        icount: false,
        disk: Some(&disk),
    };
    let server = start_lan_node_with(&image, Nic::Virtio, port, 1, &words, options, LIMIT);
    let pool = pool_node("pool-1", port, 2, Nic::Virtio);
    let listing = json(port, &["ls", "fileserver-1/bin"], &server);
    let mut programs = names(&listing);
    programs.sort();
    assert_eq!(programs, ["counter", "hello", "kstat", "lines", "ps"]);
    assert!(names(&json(port, &["ls", "fileserver-1/home"], &server)).is_empty());
    let mut command = amoeba(port);
    command.args([
        "exec",
        "pool-1",
        "fileserver-1/bin/hello",
        "--",
        "from",
        "disk",
    ]);
    let output = run(command, &pool);
    assert!(
        output.status.success() && text(&output.stdout).contains("hello from hello from disk"),
        "{}\n{}\n{}",
        text(&output.stderr),
        server.log(),
        pool.log()
    );
}

/// Overwrites `count` sectors of `disk` from sector `first` with bytes that are no format.
fn scribble(disk: &Path, first: u64, count: u64, seed: u8) {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(disk)
        .unwrap_or_else(|e| panic!("{e}"));
    file.seek(SeekFrom::Start(first * 512))
        .unwrap_or_else(|e| panic!("{e}"));
    let junk: Vec<u8> = (0..count * 512)
        .map(|i| (i as u8).wrapping_mul(73) ^ seed)
        .collect();
    file.write_all(&junk).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn damaged_and_foreign_disks_are_refused_or_checked_never_a_panic() {
    let port = port_for(86);
    let disk = disk_image("files-damaged", 16);
    let mut node = boot("files-d", port, 1, &disk);
    let mut stored = Vec::new();
    for n in 0..6 {
        let data = pattern(5000 * (n + 1), n as u8);
        let file = local(&format!("d{n}"), &data);
        json(
            port,
            &["put", &file.to_string_lossy(), &format!("files-d/d{n}")],
            &node,
        );
        stored.push((format!("files-d/d{n}"), data));
    }
    node.kill();
    // The inode table (volume block 1, disk sectors 9..) and a stretch of data overwritten:
    // the volume mounts, FSCK names the damage, a damaged file is an error, never garbage.
    scribble(&disk, 9, 2, 1);
    scribble(&disk, 2100, 64, 2);
    let node = boot("files-d", port, 1, &disk);
    let (peer, root) = peer_and_root(port, "files-d", &node);
    let bullet = console_capability(&node, "bullet");
    let mut report = vec![0u8; 4096];
    let fsck = client::bs_fsck(&peer, &bullet, &mut report).unwrap_or_else(|e| panic!("{e}"));
    assert!(!fsck.ends_with("problems 0"), "FSCK saw no damage: {fsck}");
    drop((peer, root));
    for (remote, data) in &stored {
        let mut command = amoeba(port);
        command.args(["get", remote, "-"]);
        let output = run(command, &node);
        if output.status.success() {
            assert!(output.stdout == *data, "{remote} came back as garbage");
        }
    }
    drop(node);
    // The superblock overwritten: Bullet refuses the volume, says why, the node runs on.
    scribble(&disk, 1, 1, 3);
    let node = boot("files-d", port, 1, &disk);
    assert!(
        node.log()
            .contains("server bullet: the disk is not a usable Bullet volume"),
        "{}",
        node.log()
    );
    drop(node);
    // Another format altogether: no label, served whole, refused by Bullet, node up.
    scribble(&disk, 0, 64, 4);
    let node = boot("files-d", port, 1, &disk);
    let log = node.log();
    assert!(log.contains("no label of ours"), "{log}");
    assert!(log.contains("not a usable Bullet volume"), "{log}");
    let (peer, root) = peer_and_root(port, "files-d", &node);
    assert!(
        client::dir_lookup(&peer, &root, "sys").is_ok(),
        "the node stopped serving"
    );
}
