use super::fsck::{VolumeFinding, check_image};
use super::image_file::ImageFileError;
use super::*;
use libamoeba::bullet::Volume;
use libamoeba::oneway::put_port;
use libamoeba::random::Entropy;

fn path(text: &str) -> DiskPath {
    DiskPath::parse(text).expect("valid")
}

fn request(mib: u32, seed: u8) -> DiskRequest<'static> {
    DiskRequest {
        mib,
        files: &[],
        dirs: &[],
        seed: [seed; 32],
    }
}

/// A scratch file path of this test process.
fn scratch(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("amoeba-disk-image-{name}-{}", std::process::id()))
}

/// What [`make`] would make if the directories were built: the label and a volume of files.
fn image_with_files(mib: u32, files: &[(DiskPath, Vec<u8>)]) -> DiskImage {
    let mut entropy = SeededEntropy::new([9; 32]);
    let sectors = u64::from(mib) * MIB_SECTORS;
    let label = Label::new_default(sectors, &mut entropy).expect("labelled");
    let (piece, _) = label.pieces[0];
    let filled = make_volume(piece.blocks, files, &mut entropy).expect("volume");
    let mut disk = SparseDisk::new(sectors);
    disk.place(0, &label_sector(&label));
    disk.place(piece.first, filled.volume.device());
    let tree = DiskTree {
        files: filled.files,
        dirs: Default::default(),
    };
    DiskImage { disk, label, tree }
}

#[test]
fn a_disk_of_size_only_is_labelled_with_a_volume_and_a_blank_table() {
    let mut image = make(&request(4, 1)).expect("made");
    let mut first = [0u8; 512];
    image.disk.read(0, &mut first).expect("sector 0");
    let label = Label::decode(&first, 4 * MIB_SECTORS).expect("a label");
    assert_eq!(label, image.label);
    let [(volume, _), (table, _)] = label.pieces[..] else {
        panic!("two pieces: {label:?}");
    };
    assert_eq!(
        (volume.first, table.first + table.blocks),
        (1, 4 * MIB_SECTORS)
    );
    let mut piece = SparseDisk::new(volume.blocks);
    let mut bytes = vec![0; (volume.blocks * 512) as usize];
    image.disk.read(volume.first, &mut bytes).expect("piece");
    piece.write(0, &bytes).expect("copied");
    let mounted = Volume::mount(piece).expect("the Bullet server mounts it");
    assert_eq!(
        mounted.superblock().inode_count,
        bullet_volume::VOLUME_FILES + 1
    );
    let mut table_bytes = vec![1; (table.blocks * 512) as usize];
    image
        .disk
        .read(table.first, &mut table_bytes)
        .expect("table piece");
    assert!(
        table_bytes.iter().all(|&b| b == 0),
        "SOAP makes its table at boot"
    );
}

#[test]
fn one_seed_gives_one_image_and_another_another() {
    let first = make(&request(2, 5)).expect("made");
    let second = make(&request(2, 5)).expect("made");
    assert_eq!(first.disk, second.disk);
    assert_eq!(first.disk.sha256(), second.disk.sha256());
    let other = make(&request(2, 6)).expect("made");
    assert_ne!(other.disk.sha256(), first.disk.sha256());
    assert_ne!(other.label.get_port, first.label.get_port);
    // And the files' capabilities too, volume by volume.
    let files = [(path("/bin/x"), vec![3; 5000])];
    let mut a = make_volume(2000, &files, &mut SeededEntropy::new([1; 32])).expect("a");
    let b = make_volume(2000, &files, &mut SeededEntropy::new([1; 32])).expect("b");
    assert_eq!(a.files, b.files);
    assert!(a.volume.device() == b.volume.device());
    assert!(a.volume.fsck().expect("checks").is_clean());
}

#[test]
fn the_file_written_is_the_image_made() {
    let image = make(&request(2, 7)).expect("made");
    let file = scratch("written");
    image.write(&file).expect("written");
    let bytes = std::fs::read(&file).expect("read back");
    let _ = std::fs::remove_file(&file);
    assert_eq!(bytes.len(), 2 << 20);
    assert_eq!(crate::digest::sha256_hex(&bytes), image.disk.sha256());
}

/// Sectors `piece` of `disk` as a disk of their own.
fn piece_of(disk: &mut SparseDisk, first: u64, blocks: u64) -> SparseDisk {
    let mut piece = SparseDisk::new(blocks);
    let mut bytes = vec![0; (blocks * 512) as usize];
    disk.read(first, &mut bytes).expect("piece");
    piece.write(0, &bytes).expect("copied");
    piece
}

/// A committed file of `volume`, whole.
fn file_bytes(volume: &mut Volume<SparseDisk>, cap: &libamoeba::capability::Capability) -> Vec<u8> {
    let mut data = vec![0; volume.size(cap.object).expect("size") as usize];
    volume.read(cap.object, 0, &mut data).expect("read");
    data
}

#[test]
fn files_and_directories_are_named_in_soap_directories_on_the_disk() {
    use libamoeba::soap::directory::Directory;
    use libamoeba::soap::table::Table;
    let files = [
        (path("/etc/motd"), b"hi".to_vec()),
        (path("/bin/hello"), vec![7; 5000]),
    ];
    let dirs = [path("/home/guest")];
    let with_files = DiskRequest {
        files: &files,
        dirs: &dirs,
        ..request(4, 1)
    };
    let mut image = make(&with_files).expect("made");
    let [(volume, _), (table, _)] = image.label.pieces[..] else {
        panic!("two pieces");
    };
    let mut volume =
        Volume::mount(piece_of(&mut image.disk, volume.first, volume.blocks)).expect("mounts");
    assert!(volume.fsck().expect("fsck").is_clean());
    let mounted =
        Table::mount(piece_of(&mut image.disk, table.first, table.blocks)).expect("a table");
    assert!(mounted.damaged.is_empty());
    // Root, etc, bin, home, home/guest.
    assert_eq!(mounted.records.len(), 5);
    let directory = |volume: &mut Volume<SparseDisk>, object: u32| {
        let (_, record) = mounted
            .records
            .iter()
            .find(|(o, _)| *o == object)
            .expect("recorded");
        Directory::decode(&file_bytes(volume, &record.file)).expect("a directory")
    };
    let root = directory(&mut volume, 0);
    let mut top: Vec<&str> = root.rows().iter().map(|r| r.name.as_str()).collect();
    top.sort();
    assert_eq!(top, ["bin", "etc", "home"]);
    let etc = root
        .find("etc")
        .and_then(|r| r.capset.first())
        .expect("etc");
    let motd = directory(&mut volume, etc.object)
        .find("motd")
        .and_then(|r| r.capset.first());
    let motd = motd.expect("motd named");
    assert_eq!(Some(&motd), image.tree.files.get(&path("/etc/motd")));
    assert_eq!(file_bytes(&mut volume, &motd), b"hi");
    // Same inputs, same bytes.
    assert_eq!(
        make(&with_files).expect("again").disk.sha256(),
        image.disk.sha256()
    );
}

#[test]
fn a_fresh_image_checks_clean_with_its_files() {
    let files = [
        (path("/a"), b"alpha".to_vec()),
        (path("/b"), vec![2; 70_000]),
    ];
    let image = image_with_files(2, &files);
    assert_eq!(image.tree.files[&path("/a")].port, {
        let mut entropy = SeededEntropy::new([9; 32]);
        let _ = Label::new_default(2 * MIB_SECTORS, &mut entropy);
        put_port(libamoeba::capability::Port(entropy.nonzero48()))
    });
    let file = scratch("clean");
    image.write(&file).expect("written");
    let check = check_image(&file, "disk.img").expect("a disk image");
    let _ = std::fs::remove_file(&file);
    assert!(check.is_clean(), "{check:?}");
    let VolumeFinding::Checked {
        report, file_bytes, ..
    } = &check.volume
    else {
        panic!("checked: {check:?}");
    };
    assert_eq!((report.files, *file_bytes), (2, 70_005));
    let text = check.render("disk.img");
    assert!(
        text.starts_with("disk.img: 4096 sectors (2 MiB)\n"),
        "{text}"
    );
    assert!(
        text.contains("2 files, 70005 bytes") && text.ends_with("clean\n"),
        "{text}"
    );
}

#[test]
fn overwritten_blocks_are_reported_never_a_panic() {
    let files = [(path("/a"), vec![1; 20_000]), (path("/b"), vec![2; 9_000])];
    let image = image_with_files(2, &files);
    let file = scratch("overwritten");
    let mut noise = SeededEntropy::new([4; 32]);
    // Every sector the volume wrote, garbled: the check must say so.
    let mut garbled = image.disk.clone();
    for sector in 1..garbled.blocks() - 1 {
        let mut bytes = [0u8; 512];
        garbled.read(sector, &mut bytes).expect("in range");
        if bytes.iter().any(|&b| b != 0) {
            noise.fill(&mut bytes);
            garbled.write(sector, &bytes).expect("in range");
        }
    }
    let check_of = |disk: &SparseDisk| {
        let shown = DiskImage {
            disk: disk.clone(),
            ..image.clone()
        };
        shown.write(&file).expect("written");
        check_image(&file, "disk.img")
    };
    let check = check_of(&garbled).expect("still labelled");
    assert!(!check.is_clean(), "{check:?}");
    // Random sectors anywhere but the label: a report or a refusal, whatever is hit.
    for round in 0..40u8 {
        let mut disk = image.disk.clone();
        let mut pick = SeededEntropy::new([round; 32]);
        for _ in 0..8 {
            let mut at = [0u8; 8];
            pick.fill(&mut at);
            let sector = 1 + u64::from_le_bytes(at) % 40;
            let mut bytes = [0u8; 512];
            pick.fill(&mut bytes);
            disk.write(sector, &bytes).expect("in range");
        }
        let check = check_of(&disk).expect("the label is intact");
        let _ = check.render("disk.img");
    }
    let _ = std::fs::remove_file(&file);
}

#[test]
fn files_that_are_no_disk_images_are_told_apart() {
    let file = scratch("not-an-image");
    let cases: [(&[u8], &str); 3] = [
        (
            b"hello",
            "5 bytes is not a whole number of 512-byte sectors",
        ),
        (&[0; 4096], "a blank disk (no label)"),
        (&[7; 4096], "no label of ours"),
    ];
    for (bytes, reason) in cases {
        std::fs::write(&file, bytes).expect("written");
        let error = check_image(&file, "x.img").expect_err("refused");
        assert!(!error.is_disk_image(), "{error}");
        assert!(
            error.to_string().starts_with("x.img is not a disk image: ")
                && error.to_string().contains(reason),
            "{error}"
        );
    }
    let image = make(&request(1, 3)).expect("made");
    image.write(&file).expect("written");
    let mut bytes = std::fs::read(&file).expect("read");
    bytes[20] ^= 0xFF;
    std::fs::write(&file, &bytes).expect("written");
    let error = check_image(&file, "x.img").expect_err("refused");
    assert!(
        matches!(error, ImageFileError::DamagedLabel { .. }),
        "{error}"
    );
    let missing = check_image(&scratch("missing"), "missing.img").expect_err("refused");
    assert!(matches!(missing, ImageFileError::Open { .. }), "{missing}");
    let _ = std::fs::remove_file(&file);
}
