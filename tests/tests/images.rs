//! Tier 2: what the builder wrote is what it claims: bootable headers, only the selected
//! components' code, a manifest true to the files, and reproducible bytes.

use amoeba_build::image::{BuildOptions, build_profile};
use amoeba_build::workspace::Workspace;
use amoeba_tests::images::{PROFILES, built, built_test_profile};
use object::{Object, ObjectSymbol};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;

fn grub_file_accepts(flag: &str, file: &Path) -> bool {
    Command::new("grub-file")
        .arg(flag)
        .arg(file)
        .status()
        .unwrap_or_else(|e| panic!("grub-file runs (scripts/setup installs grub-common): {e}"))
        .success()
}

#[test]
fn every_kernel_carries_both_multiboot_headers() {
    for profile in PROFILES {
        let image = built(profile);
        assert!(
            grub_file_accepts("--is-x86-multiboot", &image.kernel_elf),
            "{profile}: Multiboot 1"
        );
        assert!(
            grub_file_accepts("--is-x86-multiboot2", &image.kernel_elf),
            "{profile}: Multiboot 2"
        );
    }
}

/// Demangled function symbols of a kernel image.
fn kernel_functions(file: &Path) -> Vec<String> {
    let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let elf = object::File::parse(&*bytes).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    elf.symbols()
        .filter_map(|symbol| {
            symbol
                .name()
                .ok()
                .map(|name| format!("{:#}", rustc_demangle::demangle(name)))
        })
        .collect()
}

fn has_code_of(functions: &[String], module: &str) -> bool {
    functions.iter().any(|name| name.contains(module))
}

#[test]
fn a_kernel_holds_code_only_for_the_servers_its_profile_selects() {
    for profile in PROFILES {
        let image = built(profile);
        let functions = kernel_functions(&image.kernel_elf);
        for server in ["dir", "sys", "tod", "random", "proc", "tty", "echo"] {
            let selected = image.spec.servers.iter().any(|s| s == server);
            let module = format!("amoeba_kernel::servers::{server}::start");
            assert_eq!(
                has_code_of(&functions, &module),
                selected,
                "{profile}: server {server} selected={selected}, but its code presence disagrees"
            );
        }
    }
    assert!(built("minimal").spec.servers.is_empty());
    assert!(built("pool").spec.servers.iter().any(|s| s == "proc"));
}

#[test]
fn a_kernel_holds_code_only_for_the_drivers_its_profile_selects() {
    for profile in PROFILES {
        let image = built(profile);
        let functions = kernel_functions(&image.kernel_elf);
        assert!(
            has_code_of(&functions, "amoeba_kernel::drivers::serial::"),
            "{profile}: symbols are readable"
        );
        assert_driver_code_matches_selection(profile, &image.spec.drivers, &functions);
    }
    // The shipped profiles must show both sides of the rule (pool has both network cards,
    // minimal none); the network tests' profile is checked too.
    assert!(built("minimal").spec.drivers.is_empty());
    assert!(built("pool").spec.drivers.iter().any(|d| d == "pci"));
    let net = built_test_profile("test-net");
    for card in ["ne2000", "virtio-net"] {
        assert!(
            net.spec.drivers.iter().any(|d| d == card),
            "test-net selects {card}"
        );
    }
    assert_driver_code_matches_selection(
        "test-net",
        &net.spec.drivers,
        &kernel_functions(&net.kernel_elf),
    );
}

#[test]
fn a_kernel_holds_self_test_code_only_when_its_profile_asks_for_it() {
    let test = built_test_profile("test-kernel");
    assert!(test.spec.selftest, "test-kernel asks for the self-tests");
    let images = PROFILES
        .map(|profile| (profile, built(profile)))
        .into_iter()
        .chain([("test-kernel", test)]);
    for (profile, image) in images {
        let functions = kernel_functions(&image.kernel_elf);
        assert_eq!(
            has_code_of(&functions, "amoeba_kernel::selftest::"),
            image.spec.selftest,
            "{profile}: selftest={}, but its code presence disagrees",
            image.spec.selftest
        );
    }
    assert!(
        !built("pool").spec.selftest,
        "pool ships without self-tests"
    );
}

/// Drivers with their kernel module: code in `amoeba_kernel::drivers::MODULE::` exactly when
/// the profile selects the driver.
const DRIVER_MODULES: [(&str, &str); 4] = [
    ("pci", "pci"),
    ("rtc", "rtc"),
    ("ne2000", "ne2000"),
    ("virtio-net", "virtio_net"),
];

fn assert_driver_code_matches_selection(profile: &str, drivers: &[String], functions: &[String]) {
    for (driver, module) in DRIVER_MODULES {
        let selected = drivers.iter().any(|d| d == driver);
        let module = format!("amoeba_kernel::drivers::{module}::");
        assert_eq!(
            has_code_of(functions, &module),
            selected,
            "{profile}: driver {driver} selected={selected}, but its code presence disagrees"
        );
    }
}

fn sha256_hex(file: &Path) -> String {
    let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn the_manifest_is_true_to_the_files() {
    for profile in PROFILES {
        let image = built(profile);
        let text = std::fs::read_to_string(image.dir.join("manifest.json"))
            .expect("manifest.json written");
        let manifest: serde_json::Value = serde_json::from_str(&text).expect("manifest is JSON");
        assert_eq!(manifest["profile"], profile, "{text}");
        assert_eq!(
            manifest["drivers"],
            serde_json::json!(image.spec.drivers),
            "{text}"
        );
        let kernel = &manifest["outputs"]["kernel_elf"];
        assert_eq!(kernel["sha256"], sha256_hex(&image.kernel_elf), "{text}");
        let size = std::fs::metadata(&image.kernel_elf)
            .map(|m| m.len())
            .unwrap_or(0);
        assert_eq!(kernel["size"], size, "{text}");
        let iso = image
            .iso
            .as_ref()
            .expect("GRUB tools are installed by scripts/setup");
        assert_eq!(
            manifest["outputs"]["iso"]["sha256"],
            sha256_hex(iso),
            "{text}"
        );
        assert_eq!(
            manifest["outputs"]["iso"]["firmware"],
            serde_json::json!(["bios", "uefi"]),
            "{text}"
        );
        let made = |path: &Option<std::path::PathBuf>, what: &str| {
            path.clone().unwrap_or_else(|| {
                panic!("{profile}: no {what} (scripts/setup installs its tools)")
            })
        };
        for (key, file) in [
            ("appliance", made(&image.appliance, "NAME.img")),
            ("qcow2", made(&image.qcow2, "NAME.qcow2")),
        ] {
            let output = &manifest["outputs"][key];
            assert_eq!(output["sha256"], sha256_hex(&file), "{key}: {text}");
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            assert_eq!(output["size"], size, "{key}: {text}");
        }
        let oci = made(&image.oci, "oci/");
        let tree = amoeba_build::digest::tree_digest(&oci).expect("the OCI layout reads");
        assert_eq!(manifest["outputs"]["oci"]["sha256"], tree.sha256, "{text}");
        let partitions = &manifest["outputs"]["appliance"]["partitions"];
        let amoeba_partition = partitions
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["mbr_type"] == "0x93"));
        assert_eq!(amoeba_partition, image.disk.is_some(), "{text}");
        assert!(
            !text.contains(image.dir.to_string_lossy().as_ref()),
            "no host paths: {text}"
        );
    }
}

/// Every output (the kernel, the ISO, the disk image, its qcow2, the OCI layout, the PXE tree
/// and the manifest) has the same bytes when built from a copy of the sources elsewhere.
#[test]
fn a_fresh_build_elsewhere_gives_identical_outputs() {
    let here = built("minimal");
    let ws = amoeba_tests::images::workspace();
    let elsewhere = std::env::temp_dir().join(format!("amoeba-repro-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&elsewhere);
    amoeba_tests::images::copy_sources(ws.root(), &elsewhere);
    let other_ws = Workspace::at(&elsewhere).expect("the copy is a workspace");
    let there = build_profile(&other_ws, "minimal", &BuildOptions::default());
    let there =
        there.unwrap_or_else(|e| panic!("build in a second tree: {:#}", anyhow::Error::new(e)));
    let read = |p: &Path| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert_eq!(
        String::from_utf8_lossy(&read(&here.dir.join("manifest.json"))),
        String::from_utf8_lossy(&read(&there.dir.join("manifest.json"))),
        "manifest.json differs between two trees"
    );
    let files = ["kernel.elf", "minimal.iso", "minimal.img", "minimal.qcow2"];
    for file in files {
        assert!(
            read(&here.dir.join(file)) == read(&there.dir.join(file)),
            "{file} differs between two trees"
        );
    }
    for tree in ["oci", "pxe"] {
        let digest = |dir: &Path| {
            amoeba_build::digest::tree_digest(&dir.join(tree))
                .unwrap_or_else(|e| panic!("{tree}/: {e}"))
        };
        assert_eq!(digest(&here.dir), digest(&there.dir), "{tree}/ differs");
    }
    let _ = std::fs::remove_dir_all(&elsewhere);
}

fn skopeo(args: &[&str]) -> String {
    let output = Command::new("skopeo")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("skopeo runs (scripts/setup installs skopeo): {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "skopeo {args:?}: {stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// skopeo reads the layout: the manifest's facts as labels and annotations; and a copy out of
/// it (which checks every blob against its digest) holds the qcow2 at /disk/, owned by 107.
#[test]
fn skopeo_reads_the_oci_layout_with_its_annotations() {
    let image = built("pool");
    let oci = image.oci.clone().expect("oci/ is made (scripts/setup)");
    let reference = format!("oci:{}:latest", oci.display());
    let inspect: serde_json::Value =
        serde_json::from_str(&skopeo(&["inspect", &reference])).expect("inspect is JSON");
    let labels = &inspect["Labels"];
    assert_eq!(labels["org.amoeba.profile"], "pool", "{inspect}");
    assert_eq!(labels["org.amoeba.servers"], image.spec.servers.join(","));
    assert_eq!(
        labels["org.amoeba.kernel.sha256"],
        sha256_hex(&image.kernel_elf)
    );
    assert_eq!(inspect["Created"], "2000-01-01T00:00:00Z");
    let raw: serde_json::Value =
        serde_json::from_str(&skopeo(&["inspect", "--raw", &reference])).expect("raw JSON");
    let annotations = &raw["annotations"];
    assert_eq!(
        annotations["org.amoeba.drivers"],
        image.spec.drivers.join(","),
        "{raw}"
    );
    assert_eq!(
        annotations["org.opencontainers.image.title"],
        "Amoeba node pool"
    );
    let qcow2 = image.qcow2.clone().expect("pool.qcow2");
    assert_eq!(annotations["org.amoeba.firmware"], "bios,uefi");

    let copy = std::env::temp_dir().join(format!("amoeba-skopeo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&copy);
    skopeo(&[
        "copy",
        "--quiet",
        &reference,
        &format!("dir:{}", copy.display()),
    ]);
    let layer = raw["layers"][0]["digest"]
        .as_str()
        .and_then(|d| d.strip_prefix("sha256:"))
        .expect("a layer digest")
        .to_string();
    let tar = std::fs::read(copy.join(&layer)).expect("the layer was copied");
    let mut archive = tar::Archive::new(&tar[..]);
    let mut found = false;
    for entry in archive.entries().expect("a tar") {
        let mut entry = entry.expect("an entry");
        if entry.path().ok().as_deref() == Some(Path::new("disk/pool.qcow2")) {
            assert_eq!(entry.header().uid().ok(), Some(107));
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).expect("read");
            assert!(
                bytes == std::fs::read(&qcow2).unwrap_or_default(),
                "the qcow2"
            );
            found = true;
        }
    }
    assert!(found, "disk/pool.qcow2 in the layer");
    let _ = std::fs::remove_dir_all(&copy);
}
