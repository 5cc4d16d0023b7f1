//! Tier 3: the virtual disk server of a node with a virtio disk (profile
//! `tests/profiles/test-disk.toml`), from the host over FLIP. Blocks written come back as
//! written, in the disk image file too; they survive the node being killed and booted again on
//! the same disk; the published capability reads but cannot write; bad ranges are refused
//! with the Amoeba error and the server goes on. The node's Bullet server, on the same disk
//! through the vdisk server, keeps committed files and their capabilities across a crash.

mod common;

use amoeba_build::qemu::Nic;
use amoeba_tests::Node;
use amoeba_tests::images::{LanNodeOptions, built_test_profile, disk_image, start_lan_node_with};
use amoeba_tests::lan::port_for;
use amunix::peer::HostPeer;
use common::{LIMIT, console_capability, peer_and_root};
use libamoeba::capability::Capability;
use libamoeba::client::{self, CREATE_CHUNK, ds_flush, ds_info, ds_read, ds_size, ds_write};
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::servers::vdisk::Durability;
use std::path::Path;

/// The disk's size (test-disk.toml's `[disk] size_mib`).
const DISK_MIB: u32 = 16;
/// log2 of the 512-byte block.
const BLOCK: u32 = 9;

fn boot(port: u16, disk: &Path) -> Node {
    let image = built_test_profile("test-disk");
    let words = ["node=disk-1".to_string()];
    let options = LanNodeOptions {
        icount: false,
        disk: Some(disk),
    };
    start_lan_node_with(&image, Nic::Virtio, port, 1, &words, options, LIMIT)
}

/// `blocks` blocks of a pattern that differs with `seed` and with every byte's place.
fn pattern(blocks: usize, seed: u8) -> Vec<u8> {
    (0..blocks * 512)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 9) as u8)
        .collect()
}

#[test]
fn blocks_written_to_the_virtual_disk_read_back_and_survive_a_crash() {
    let port = port_for(71);
    let disk = disk_image("vdisk-test", DISK_MIB);
    let mut node = boot(port, &disk);
    let owner = console_capability(&node, "vdisk");
    let (peer, root) = peer_and_root(port, "disk-1", &node);
    let logs = |node: &Node| node.log();

    // vdisk:00 is the disk but its label (sector 0) and vdisk:01 (the last 2048 sectors).
    let blocks = ds_size(&peer, &owner, BLOCK).unwrap_or_else(|e| panic!("{e}\n{}", logs(&node)));
    assert_eq!(u64::from(blocks), (u64::from(DISK_MIB) << 11) - 1 - 2048);
    let pieces = ds_info(&peer, &owner).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        pieces
            .iter()
            .map(|p| (p.first_block, p.blocks))
            .collect::<Vec<_>>(),
        [(1, blocks)]
    );

    // 100 blocks (50 KiB, two transactions) in the middle, one block at the very end: blocks
    // the node's Bullet volume (made on this blank disk at boot) holds no file in.
    let at = blocks / 2;
    let first = pattern(100, 7);
    ds_write(&peer, &owner, at, BLOCK, &first, Durability::Accepted)
        .unwrap_or_else(|e| panic!("{e}\n{}", logs(&node)));
    let last = pattern(1, 99);
    ds_write(&peer, &owner, blocks - 1, BLOCK, &last, Durability::Flushed)
        .unwrap_or_else(|e| panic!("{e}\n{}", logs(&node)));
    let mut back = vec![0u8; first.len()];
    ds_read(&peer, &owner, at, BLOCK, 100, &mut back).unwrap_or_else(|e| panic!("{e}"));
    assert!(back == first, "blocks {at}.. came back different");

    // The published capability reads, and cannot write.
    let published = client::dir_lookup(&peer, &root, "vdisk:00").unwrap_or_else(|e| panic!("{e}"));
    let mut one = vec![0u8; 512];
    ds_read(&peer, &published, blocks - 1, BLOCK, 1, &mut one).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(one, last);
    let denied = ds_write(&peer, &published, 0, BLOCK, &last, Durability::Accepted);
    assert_eq!(denied, Err(ErrorCode::STD_DENIED));
    // Past the end: refused, and the server goes on.
    let past = ds_read(&peer, &owner, blocks, BLOCK, 1, &mut one);
    assert_eq!(past, Err(ErrorCode::STD_ARGBAD));
    ds_flush(&peer, &owner).unwrap_or_else(|e| panic!("{e}"));

    // The image file holds what was written, where it was written (after the label).
    let raw = std::fs::read(&disk).unwrap_or_else(|e| panic!("{e}"));
    let start = (1 + at as usize) * 512;
    assert!(
        raw.get(start..start + first.len()) == Some(&first[..]),
        "not in the image file at byte {start}"
    );

    // Killed and booted again on the same disk: the blocks are still there, and the
    // capability from before the crash reads them (the label keeps it).
    node.kill();
    drop(peer);
    let node = boot(port, &disk);
    assert_eq!(
        console_capability(&node, "vdisk"),
        owner,
        "the vdisk capability changed"
    );
    let (peer, _) = peer_and_root(port, "disk-1", &node);
    let mut again = vec![0u8; first.len()];
    ds_read(&peer, &owner, at, BLOCK, 100, &mut again).unwrap_or_else(|e| panic!("{e}"));
    assert!(again == first, "lost across the crash");
    ds_read(&peer, &owner, blocks - 1, BLOCK, 1, &mut one).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(one, last);
}

/// The whole of the committed file `file`, read in 29768-byte pieces.
fn read_file(peer: &HostPeer, file: &Capability) -> Vec<u8> {
    let mut whole = Vec::new();
    let mut buffer = vec![0u8; CREATE_CHUNK];
    loop {
        let got = client::bs_read(peer, file, whole.len() as u64, &mut buffer)
            .unwrap_or_else(|e| panic!("BS_READ at {}: {e}", whole.len()));
        if got == 0 {
            return whole;
        }
        whole.extend_from_slice(&buffer[..got]);
    }
}

#[test]
fn bullet_files_and_their_capabilities_survive_a_crash() {
    let port = port_for(72);
    let disk = disk_image("bullet-test", DISK_MIB);
    let mut node = boot(port, &disk);
    assert!(
        node.log().contains("a blank disk: made a new volume"),
        "{}",
        node.log()
    );
    let owner = console_capability(&node, "bullet");
    let (peer, root) = peer_and_root(port, "disk-1", &node);
    let published = client::dir_lookup(&peer, &root, "bullet").unwrap_or_else(|e| panic!("{e}"));
    let sizes = [0usize, 1, 1402, 29768];
    let files: Vec<(Capability, Vec<u8>)> = sizes
        .iter()
        .map(|&n| {
            let data = pattern(n.div_ceil(512).max(1), n as u8)[..n].to_vec();
            let file = client::bs_create(&peer, &published, &data, true)
                .unwrap_or_else(|e| panic!("BS_CREATE of {n} bytes: {e}\n{}", node.log()));
            (file, data)
        })
        .collect();
    for (file, data) in &files {
        assert!(
            read_file(&peer, file) == *data,
            "a file came back different"
        );
    }
    // A file capability without DESTROY cannot destroy; a forged one is refused.
    let (first, _) = &files[1];
    let readable = client::std_restrict(&peer, first, 0x02).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        client::std_destroy(&peer, &readable),
        Err(ErrorCode::STD_DENIED)
    );
    let forged = Capability {
        check: [0x5a; 6],
        ..*first
    };
    let mut buffer = [0u8; 16];
    assert_eq!(
        client::bs_read(&peer, &forged, 0, &mut buffer),
        Err(ErrorCode::STD_CAPBAD)
    );

    // Killed and booted again on the same disk: the same capabilities read the same files.
    node.kill();
    drop(peer);
    let node = boot(port, &disk);
    assert_eq!(
        console_capability(&node, "bullet"),
        owner,
        "the server's capability changed"
    );
    let (peer, _) = peer_and_root(port, "disk-1", &node);
    for (file, data) in &files {
        assert!(
            read_file(&peer, file) == *data,
            "a file was lost or damaged\n{}",
            node.log()
        );
    }
}
