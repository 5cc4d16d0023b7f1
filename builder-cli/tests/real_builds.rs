//! Builds with the real kernel and tools. The slow ones are ignored by default; run them with
//! `cargo test -p builder-cli -- --ignored` (they need the kernel to build, and GRUB tools
//! for the ISO and PXE parts).

use std::path::{Path, PathBuf};

use amoeba_build::elf_check::check_kernel;
use amoeba_build::image::BuildError;
use amoeba_build::manifest::IsoOutput;
use amoeba_build::{BuildOptions, ProfileError, Workspace, build_null_kernel, build_profile};

fn ws() -> Workspace {
    Workspace::locate().expect("the tests run inside the workspace")
}

/// A profile file under a name no other test uses, so its target and image directories are
/// its own; removed again when dropped.
struct ScratchProfile {
    file: PathBuf,
    name: &'static str,
}

impl ScratchProfile {
    fn new(name: &'static str, text: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("amoeba-build-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join(format!("{name}.toml"));
        std::fs::write(&file, text).expect("profile written");
        Self { file, name }
    }

    fn path(&self) -> &str {
        self.file.to_str().expect("temp paths are UTF-8 here")
    }
}

impl Drop for ScratchProfile {
    fn drop(&mut self) {
        let ws = ws();
        let _ = std::fs::remove_dir_all(ws.image_dir(self.name));
        let _ = std::fs::remove_dir_all(ws.kernel_target_dir(self.name));
        let _ = std::fs::remove_file(&self.file);
        // Fails while another test's profile is still there; the last one out removes it.
        if let Some(dir) = self.file.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_bad_profile_stops_the_build_before_cargo() {
    let scratch = ScratchProfile::new(
        "bad-check",
        "description = \"x\"\n[kernel]\ndrivers = [\"virtio\"]\n",
    );
    let result = build_profile(&ws(), scratch.path(), &BuildOptions::default());
    let Err(BuildError::Profile(ProfileError::Invalid(problems))) = result else {
        panic!("expected profile problems, got {result:?}");
    };
    assert!(
        problems
            .to_string()
            .contains(":3: [kernel] drivers: unknown driver \"virtio\""),
        "{problems}"
    );
    assert!(
        !ws().kernel_target_dir("bad-check").exists(),
        "nothing was compiled"
    );
}

#[test]
#[ignore = "compiles the kernel twice from scratch (about 20 s)"]
fn two_builds_of_a_profile_are_byte_identical() {
    let text = std::fs::read_to_string(ws().profiles_dir().join("pool.toml")).expect("pool.toml");
    let text = text.replace("name = \"pool\"", "name = \"repro\"");
    let scratch = ScratchProfile::new("repro-check", &text);
    let first =
        build_profile(&ws(), scratch.path(), &BuildOptions::default()).expect("first build");
    let kernel = read(&first.kernel_elf);
    let manifest = read(&first.dir.join("manifest.json"));
    let iso = first.iso.as_deref().map(read);
    std::fs::remove_dir_all(ws().kernel_target_dir("repro-check")).expect("fresh target dir");
    let second =
        build_profile(&ws(), scratch.path(), &BuildOptions::default()).expect("second build");
    assert!(
        read(&second.kernel_elf) == kernel,
        "kernel.elf differs between builds"
    );
    assert!(
        read(&second.dir.join("manifest.json")) == manifest,
        "manifest.json differs between builds"
    );
    assert_eq!(
        second.iso.as_deref().map(read),
        iso,
        "the ISO differs between builds"
    );
    if let IsoOutput::Built { reproducible, .. } = &second.manifest.outputs.iso {
        assert!(reproducible);
    }
    assert_eq!(second.manifest.node, "repro");
}

#[test]
#[ignore = "compiles the null kernel"]
fn the_null_kernel_builds_and_can_boot() {
    let kernel = build_null_kernel(&ws()).expect("null kernel builds");
    assert!(kernel.ends_with("target/kernel/null/release/null-kernel"));
    check_kernel(&read(&kernel)).expect("the null kernel has both boot headers");
}

#[test]
#[ignore = "compiles a file server's kernel (about a minute)"]
fn a_disk_image_is_written_reproducibly_and_named_in_the_manifest() {
    use amoeba_build::disk_image::fsck::check_image;
    let text =
        std::fs::read_to_string(ws().profiles_dir().join("fileserver.toml")).expect("fileserver");
    let text = text.replace("size_mib = 64", "size_mib = 8");
    let scratch = ScratchProfile::new("disk-repro", &text);
    let options = BuildOptions {
        disk_image: true,
        ..BuildOptions::KERNEL_ONLY
    };
    let first = build_profile(&ws(), scratch.path(), &options).expect("first build");
    let disk = first.disk.clone().expect("a disk image");
    let bytes = read(&disk);
    assert_eq!(bytes.len(), 8 << 20);
    let output = first
        .manifest
        .outputs
        .disk
        .clone()
        .expect("in the manifest");
    assert_eq!(output.file, "disk.img");
    assert_eq!(output.size, 8 << 20);
    assert_eq!(output.sha256, amoeba_build::digest::sha256_hex(&bytes));
    let check = check_image(&disk, "disk.img").expect("a disk image");
    assert!(check.is_clean(), "{check:?}");
    // The appliance image holds exactly disk.img as its Amoeba partition.
    let appliance = first.appliance.clone().expect("disk-repro.img");
    let image = read(&appliance);
    let sector: [u8; 512] = image[..512].try_into().expect("an MBR");
    let part = libamoeba::servers::vdisk::mbr::amoeba_partition(&sector, image.len() as u64 / 512)
        .expect("an Amoeba partition");
    let start = (part.first * 512) as usize;
    assert_eq!(part.first % 2048, 0, "MiB-aligned");
    assert!(
        image[start..start + bytes.len()] == bytes[..],
        "partition 2 is disk.img"
    );
    let second = build_profile(&ws(), scratch.path(), &options).expect("second build");
    assert!(read(&disk) == bytes, "disk.img differs between builds");
    assert!(
        read(&appliance) == image,
        "disk-repro.img differs between builds"
    );
    assert_eq!(second.manifest, first.manifest);
}
