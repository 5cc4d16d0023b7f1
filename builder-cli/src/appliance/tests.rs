use super::*;
use std::io::Read;

fn boot_img() -> Vec<u8> {
    let mut boot = vec![0xB0u8; 512];
    boot[510] = 0x55;
    boot[511] = 0xAA;
    boot
}

fn core_img() -> Vec<u8> {
    let mut core = vec![0xC0u8; 5 * 512 + 7];
    core[0x1E8..0x1F4].fill(0);
    core
}

fn node_disk() -> SparseDisk {
    let mut disk = SparseDisk::new(4096);
    let _ = disk.write(0, b"AMLABEL1 the node's label");
    let _ = disk.write(4095, &[0x77; 512]);
    disk
}

fn image(node: Option<&SparseDisk>, epoch: u64) -> ApplianceImage {
    let (boot, core) = (boot_img(), core_img());
    let request = ApplianceRequest {
        kernel: b"\x7fELF a kernel",
        grub_cfg: "multiboot2 /boot/kernel.elf\n",
        bios: Some(BiosLoader {
            boot_img: &boot,
            core_img: &core,
        }),
        efi: Some(b"MZ an EFI application"),
        node_disk: node,
        ids: ImageIds::derive(&[b"profile", b"kernel"]),
        epoch,
    };
    make(&request).expect("the image is made")
}

fn read_sectors(disk: &SparseDisk, first: u64, sectors: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; (sectors * 512) as usize];
    let mut disk = disk.clone();
    disk.read(first, &mut bytes).expect("in range");
    bytes
}

#[test]
fn the_esp_holds_kernel_config_and_loader_with_the_source_date() {
    let made = image(None, 1_709_210_096);
    let esp = read_sectors(&made.disk, made.layout.esp.first, made.layout.esp.sectors);
    let fs = fatfs::FileSystem::new(std::io::Cursor::new(esp), fatfs::FsOptions::new())
        .expect("a FAT volume");
    assert_eq!(fs.fat_type(), fatfs::FatType::Fat32);
    assert_eq!(
        fs.volume_id(),
        ImageIds::derive(&[b"profile", b"kernel"]).volume_id
    );
    let root = fs.root_dir();
    let mut kernel = Vec::new();
    let mut file = root.open_file("boot/kernel.elf").expect("the kernel");
    file.read_to_end(&mut kernel).expect("read");
    assert_eq!(kernel, b"\x7fELF a kernel");
    assert!(root.open_file("EFI/BOOT/BOOTX64.EFI").is_ok());
    let entry = root
        .iter()
        .flatten()
        .find(|e| e.file_name() == "boot")
        .expect("/boot");
    let modified = entry.modified();
    assert_eq!(
        (modified.date.year, modified.date.month, modified.date.day),
        (2024, 2, 29)
    );
    assert_eq!((modified.time.hour, modified.time.min), (12, 34));
}

#[test]
fn the_node_disk_is_the_amoeba_partition_and_grub_sits_before_the_esp() {
    let node = node_disk();
    let made = image(Some(&node), 0);
    let amoeba = made.layout.amoeba.expect("partition 2");
    assert_eq!(
        read_sectors(&made.disk, amoeba.first, amoeba.sectors),
        read_sectors(&node, 0, 4096)
    );
    let mbr: [u8; 512] = read_sectors(&made.disk, 0, 1).try_into().expect("a sector");
    let found = libamoeba::servers::vdisk::mbr::amoeba_partition(&mbr, made.layout.sectors);
    assert_eq!(
        found.map(|p| (p.first, p.blocks)),
        Some((amoeba.first, 4096))
    );
    assert_eq!(
        &mbr[0x5C..0x64],
        &1u64.to_le_bytes(),
        "boot.img points at core.img"
    );
    let core = read_sectors(&made.disk, 1, 6);
    assert_eq!(&core[0x1F4..0x1FC], &2u64.to_le_bytes());
    assert_eq!(&core[0x1FC..0x1FE], &5u16.to_le_bytes());
    assert_eq!(made.disk.bytes(), made.layout.sectors * 512);
}

#[test]
fn equal_requests_give_equal_bytes() {
    let node = node_disk();
    let date = 946_684_800;
    let first = image(Some(&node), date).disk.sha256();
    assert_eq!(first, image(Some(&node), date).disk.sha256());
    // FAT dates have 2-second steps.
    assert_ne!(first, image(Some(&node), date + 2).disk.sha256());
    let other = ImageIds::derive(&[b"profile", b"another kernel"]);
    assert_ne!(other, ImageIds::derive(&[b"profile", b"kernel"]));
    assert_ne!(
        ImageIds::derive(&[b"ab", b"c"]),
        ImageIds::derive(&[b"a", b"bc"])
    );
}

#[test]
fn without_loaders_the_image_still_holds_the_node() {
    let node = node_disk();
    let request = ApplianceRequest {
        kernel: b"k",
        grub_cfg: "",
        bios: None,
        efi: None,
        node_disk: Some(&node),
        ids: ImageIds::derive(&[]),
        epoch: 0,
    };
    let made = make(&request).expect("made");
    let mbr = read_sectors(&made.disk, 0, 1);
    assert!(mbr[..0x1B8].iter().all(|&b| b == 0), "no boot code");
    assert_eq!(&mbr[510..], &[0x55, 0xAA]);
}
