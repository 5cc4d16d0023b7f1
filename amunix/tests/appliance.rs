//! Tier 3: the file server as one file. A node booted by its firmware from a copy of
//! `images/fileserver/fileserver.img` (GRUB from the disk image's EFI system partition, the
//! node's disk in its Amoeba partition, MBR type 0x93) serves the files the build put on its
//! disk; what the host then writes lands in that partition, and the boot partitions and the
//! MBR stay as built.

mod common;

use amoeba_build::manifest::ApplianceOutput;
use amoeba_build::qemu::{Boot, Lan, Nic, QemuSpec, command};
use amoeba_tests::Node;
use amoeba_tests::images::{built, disk_image};
use amoeba_tests::lan::port_for;
use common::{LIMIT, amoeba, run, text};
use std::io::Read;
use std::path::Path;

/// `amoeba ARGS...` on LAN `port`, which must succeed; its standard output.
fn ok(port: u16, args: &[&str], node: &Node) -> Vec<u8> {
    let mut command = amoeba(port);
    command.args(args);
    let output = run(command, node);
    assert!(
        output.status.success(),
        "amoeba {args:?}: {}\n{}",
        text(&output.stderr),
        node.log()
    );
    output.stdout
}

/// The first `bytes` bytes of `file`.
fn head(file: &Path, bytes: u64) -> Vec<u8> {
    let mut out = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(bytes).read_to_end(&mut out))
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    out
}

#[test]
fn a_file_server_booted_from_its_disk_image_serves_the_files_built_into_it() {
    let port = port_for(101);
    let image = built("fileserver");
    let built_image = image
        .appliance
        .clone()
        .unwrap_or_else(|| panic!("fileserver has no fileserver.img"));
    // A copy, as `run --boot disk` boots: the build output stays as built.
    let copy = disk_image("fileserver-appliance", 1);
    std::fs::copy(&built_image, &copy).unwrap_or_else(|e| panic!("copying the image: {e}"));
    let mut spec = QemuSpec::for_image(&image);
    spec.boot = Boot::Disk;
    spec.disk = Some(copy.clone());
    spec.nic = Some(Nic::Virtio);
    spec.lan = Some(Lan::for_node(port, 1));
    spec.append.push("node=fileserver-1".into());
    let mut node = Node::start(&command(&spec), LIMIT).unwrap_or_else(|e| panic!("{e}"));
    node.wait_for("amoeba: node fileserver-1 ready")
        .unwrap_or_else(|e| panic!("{e}"));
    let log = node.log();
    assert!(log.contains("boot:     Multiboot 2 from GRUB"), "{log}");
    assert!(
        log.contains("the disk's Amoeba partition (MBR type 0x93)"),
        "{log}"
    );

    let listing = text(&ok(port, &["ls", "fileserver-1/bin"], &node));
    for program in ["counter", "hello", "kstat", "lines", "ps"] {
        assert!(listing.contains(program), "{program} in /bin:\n{listing}");
    }
    let hello = ok(port, &["get", "fileserver-1/bin/hello", "-"], &node);
    assert!(
        hello.len() > 1000,
        "/bin/hello is a process image: {} bytes",
        hello.len()
    );
    let note = std::env::temp_dir().join(format!("amoeba-appliance-{}", std::process::id()));
    std::fs::write(&note, b"written through the Amoeba partition\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let note_arg = note.to_string_lossy().into_owned();
    ok(port, &["put", &note_arg, "fileserver-1/home/note"], &node);
    let back = ok(port, &["get", "fileserver-1/home/note", "-"], &node);
    assert_eq!(back, b"written through the Amoeba partition\n");
    node.kill();
    let _ = std::fs::remove_file(&note);

    // Everything before the Amoeba partition (MBR, GRUB's core, the ESP) is as built.
    let amoeba_start = match &image.manifest.outputs.appliance {
        ApplianceOutput::Built { partitions, .. } => partitions
            .iter()
            .find(|p| p.mbr_type == "0x93")
            .map(|p| p.first_sector * 512),
        ApplianceOutput::Skipped { .. } => None,
    };
    let amoeba_start =
        amoeba_start.unwrap_or_else(|| panic!("no Amoeba partition in the manifest"));
    assert!(
        head(&copy, amoeba_start) == head(&built_image, amoeba_start),
        "the node wrote outside its partition"
    );
}
