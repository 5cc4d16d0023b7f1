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
        assert!(
            !text.contains(image.dir.to_string_lossy().as_ref()),
            "no host paths: {text}"
        );
    }
}

#[test]
fn a_fresh_build_elsewhere_gives_identical_kernel_and_manifest() {
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
    assert!(
        read(&here.kernel_elf) == read(&there.kernel_elf),
        "kernel.elf differs between two trees"
    );
    assert_eq!(
        String::from_utf8_lossy(&read(&here.dir.join("manifest.json"))),
        String::from_utf8_lossy(&read(&there.dir.join("manifest.json"))),
        "manifest.json differs between two trees"
    );
    let _ = std::fs::remove_dir_all(&elsewhere);
}
