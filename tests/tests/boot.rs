//! Tier 3: every shipped profile boots to its ready line by each boot path and stops cleanly
//! (kernel, ISO, PXE and the appliance disk image on BIOS; the disk image, its qcow2 and the ISO
//! on UEFI too, for one profile: OVMF costs seconds a boot under TCG); faults and hangs fail
//! within their time limit with the serial log shown.

use amoeba_build::qemu::{Boot, Firmware, Nic};
use amoeba_tests::images::{PROFILES, boot_spec, built, command};
use amoeba_tests::node::{Node, NodeFailure, describe};
use libamoeba::boot::ExitCode;
use std::time::Duration;

const KERNEL_BOOT_LIMIT: Duration = Duration::from_secs(30);
/// PXE boots fetch GRUB and its modules over QEMU's TFTP: about 6 s under TCG, more when busy.
const PXE_BOOT_LIMIT: Duration = Duration::from_secs(90);
/// OVMF takes about 4 s under TCG to reach GRUB, more when busy.
const UEFI_BOOT_LIMIT: Duration = Duration::from_secs(90);

/// Boots, waits for the ready line, and expects the clean exit status.
fn boots_to_ready(profile: &str, boot: Boot, nic: Option<Nic>, limit: Duration) -> String {
    boots_to_ready_on(profile, boot, Firmware::Bios, nic, limit)
}

/// [`boots_to_ready`] with `firmware`.
fn boots_to_ready_on(
    profile: &str,
    boot: Boot,
    firmware: Firmware,
    nic: Option<Nic>,
    limit: Duration,
) -> String {
    let image = built(profile);
    let mut spec = boot_spec(&image, boot);
    spec.nic = nic;
    spec.firmware = firmware;
    let mut node = Node::start(&command(&spec), limit).unwrap_or_else(|e| panic!("{e}"));
    let ready = format!("amoeba: node {} ready", image.node());
    node.wait_for(&ready)
        .unwrap_or_else(|e| panic!("{profile} by {boot:?}: {e}"));
    let status = node.wait_for_exit().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        status.code(),
        Some(ExitCode::Success.qemu_status()),
        "{profile} by {boot:?} should stop cleanly, got {}\n{}",
        describe(status),
        node.log()
    );
    node.log()
}

#[test]
fn every_profile_boots_by_kernel_with_its_banner() {
    for profile in PROFILES {
        let log = boots_to_ready(profile, Boot::Kernel, None, KERNEL_BOOT_LIMIT);
        let image = built(profile);
        assert!(log.contains(&format!("(profile {profile})")), "{log}");
        assert!(log.contains("boot:     Multiboot 1"), "{log}");
        // The banner lists the compiled-in drivers by name.
        let mut drivers = image.spec.drivers.clone();
        drivers.sort();
        let drivers = match drivers.join(" ") {
            none if none.is_empty() => "(none)".to_string(),
            list => list,
        };
        assert!(
            log.contains(&format!("  drivers:  {drivers}\n")),
            "banner lists the profile's drivers:\n{log}"
        );
        assert!(log.contains("MiB usable"), "{log}");
        // amoeba-build gives the node a CPU with RDRAND: ports are not guessable.
        assert!(!log.contains("entropy: no RDRAND"), "{log}");
    }
}

#[test]
fn every_profile_boots_from_its_iso() {
    for profile in PROFILES {
        let log = boots_to_ready(profile, Boot::Iso, None, KERNEL_BOOT_LIMIT);
        assert!(log.contains("boot:     Multiboot 2 from GRUB"), "{log}");
    }
}

#[test]
fn every_profile_boots_from_its_disk_image_on_bios() {
    for profile in PROFILES {
        let log = boots_to_ready(profile, Boot::Disk, None, KERNEL_BOOT_LIMIT);
        assert!(log.contains("boot:     Multiboot 2 from GRUB"), "{log}");
    }
}

#[test]
fn the_disk_image_boots_on_uefi() {
    let log = boots_to_ready_on("pool", Boot::Disk, Firmware::Uefi, None, UEFI_BOOT_LIMIT);
    assert!(log.contains("boot:     Multiboot 2 from GRUB"), "{log}");
    assert!(
        !log.contains("error:"),
        "GRUB says nothing on the way: {log}"
    );
}

#[test]
fn the_qcow2_boots() {
    let log = boots_to_ready("pool", Boot::Qcow2, None, KERNEL_BOOT_LIMIT);
    assert!(log.contains("boot:     Multiboot 2 from GRUB"), "{log}");
}

#[test]
fn the_iso_boots_on_uefi() {
    let log = boots_to_ready_on("pool", Boot::Iso, Firmware::Uefi, None, UEFI_BOOT_LIMIT);
    assert!(log.contains("boot:     Multiboot 2 from GRUB"), "{log}");
}

#[test]
fn every_profile_boots_over_pxe() {
    for profile in PROFILES {
        let log = boots_to_ready(profile, Boot::Pxe, Some(Nic::Virtio), PXE_BOOT_LIMIT);
        assert!(log.contains("boot:     Multiboot 2 from GRUB"), "{log}");
    }
}

#[test]
fn pxe_boot_works_through_an_ne2000_card() {
    let log = boots_to_ready("pool", Boot::Pxe, Some(Nic::Ne2000), PXE_BOOT_LIMIT);
    assert!(
        log.contains("10ec:8029"),
        "the pool node's PCI scan shows the NE2000:\n{log}"
    );
}

#[test]
fn pci_and_rtc_drivers_report_what_they_find() {
    let log = boots_to_ready("pool", Boot::Kernel, None, KERNEL_BOOT_LIMIT);
    assert!(
        log.contains("pci: 00:00.0 8086:1237 class 06.00 (bridge)"),
        "{log}"
    );
    assert!(log.contains("info  rtc: 2"), "{log}");
}

#[test]
fn unknown_command_line_words_are_reported_not_fatal() {
    let image = built("minimal");
    let mut spec = boot_spec(&image, Boot::Kernel);
    spec.append.extend([
        "colour=blue".to_string(),
        "log=shouty".to_string(),
        "node=renamed".to_string(),
    ]);
    let mut node =
        Node::start(&command(&spec), KERNEL_BOOT_LIMIT).unwrap_or_else(|e| panic!("{e}"));
    node.wait_for("amoeba: node renamed ready")
        .unwrap_or_else(|e| panic!("{e}"));
    let log = node.log();
    assert!(
        log.contains("cmdline: unknown key in `colour=blue` (ignored)"),
        "{log}"
    );
    assert!(
        log.contains("cmdline: bad value `shouty` for `log`"),
        "{log}"
    );
}

/// Boots minimal with `crash=KIND` and returns the exit status and log.
fn crash(kind: &str) -> (i32, String) {
    let image = built("minimal");
    let mut spec = boot_spec(&image, Boot::Kernel);
    spec.append.push(format!("crash={kind}"));
    let mut node =
        Node::start(&command(&spec), KERNEL_BOOT_LIMIT).unwrap_or_else(|e| panic!("{e}"));
    let status = node.wait_for_exit().unwrap_or_else(|e| panic!("{e}"));
    let log = node.log();
    assert!(
        !log.contains("ready"),
        "a crashing node never gets ready:\n{log}"
    );
    (status.code().unwrap_or(-1), log)
}

#[test]
fn a_panic_prints_message_and_location_and_stops_with_its_code() {
    let (status, log) = crash("panic");
    assert_eq!(status, ExitCode::Panic.qemu_status(), "{log}");
    assert!(log.contains("kernel panic at amoeba-kernel/src/"), "{log}");
    assert!(
        log.contains("deliberate panic requested by crash=panic"),
        "{log}"
    );
}

#[test]
fn cpu_exceptions_dump_registers_and_stop_with_their_code() {
    for (kind, expected) in [
        ("divide", "CPU exception 0 (#DE divide error)"),
        ("page-fault", "page fault: read at 0x0, page not present"),
        (
            "stack-overflow",
            "stack overflow: the boot stack ran into its guard page",
        ),
    ] {
        let (status, log) = crash(kind);
        assert_eq!(
            status,
            ExitCode::CpuException.qemu_status(),
            "{kind}:\n{log}"
        );
        assert!(
            log.contains(expected),
            "{kind}: expected {expected:?} in\n{log}"
        );
        assert!(
            log.contains(" rip=0x") && log.contains(" cr2=0x") && log.contains("rax=0x"),
            "{log}"
        );
    }
}

#[test]
fn a_hung_kernel_fails_within_its_limit_and_shows_its_log() {
    let image = built("minimal");
    let mut spec = boot_spec(&image, Boot::Kernel);
    spec.append.push("crash=hang".into());
    let limit = Duration::from_secs(3);
    let mut node = Node::start(&command(&spec), limit).unwrap_or_else(|e| panic!("{e}"));
    let started = std::time::Instant::now();
    match node.wait_for("ready") {
        Err(NodeFailure::Timeout { log, .. }) => {
            assert!(
                log.contains("crash: faulting on purpose (Hang)"),
                "the log is kept:\n{log}"
            );
        }
        other => panic!("a hung node must time out, got {other:?}"),
    }
    assert!(
        started.elapsed() < limit + Duration::from_secs(5),
        "the limit holds"
    );
}
