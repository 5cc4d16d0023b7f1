//! Appliance benchmark: the size of every output of every shipped profile, and the wall time
//! from starting QEMU to the node's ready line by each boot path and firmware, under TCG,
//! against the QEMU `-kernel` boot measured in the same run (boots interleaved, medians).
//!
//! Run: `cargo bench -p amoeba-tests --bench appliance` (`APPLIANCE_BENCH_RUNS` boots per path,
//! default 5). Prints its figures; asserts nothing about speed.

use amoeba_build::profile::profile_names;
use amoeba_build::qemu::{Boot, Firmware, Nic, QemuSpec};
use amoeba_tests::images::{boot_spec, built, command, workspace};
use amoeba_tests::node::Node;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(120);

/// The boot paths measured, by name.
const PATHS: [(&str, Boot, Firmware); 8] = [
    ("kernel (-kernel)", Boot::Kernel, Firmware::Bios),
    ("iso, bios", Boot::Iso, Firmware::Bios),
    ("iso, uefi", Boot::Iso, Firmware::Uefi),
    ("disk (raw), bios", Boot::Disk, Firmware::Bios),
    ("disk (raw), uefi", Boot::Disk, Firmware::Uefi),
    ("qcow2, bios", Boot::Qcow2, Firmware::Bios),
    ("qcow2, uefi", Boot::Qcow2, Firmware::Uefi),
    ("pxe, bios", Boot::Pxe, Firmware::Bios),
];

fn main() {
    let runs: usize = std::env::var("APPLIANCE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    println!("# cargo bench -p amoeba-tests --bench appliance   (APPLIANCE_BENCH_RUNS={runs})");
    report_sizes();
    report_boot_times(runs);
}

/// Bytes of a file as its length and as the blocks it takes (the images are sparse).
fn sizes(path: &Path) -> (u64, u64) {
    std::fs::metadata(path).map_or((0, 0), |m| (m.len(), m.blocks() * 512))
}

fn tree_bytes(dir: &Path) -> u64 {
    amoeba_build::digest::tree_digest(dir).map_or(0, |d| d.size)
}

fn kib(bytes: u64) -> String {
    format!("{:.0}", bytes as f64 / 1024.0)
}

fn report_sizes() {
    println!(
        "\n## output sizes per shipped profile, KiB (NAME.img and disk.img: length / allocated)"
    );
    println!(
        "{:<11} {:>8} {:>8} {:>8} {:>17} {:>8} {:>8} {:>17}",
        "profile", "kernel", "iso", "pxe/", "NAME.img", "qcow2", "oci/", "disk.img"
    );
    for profile in profile_names(&workspace().profiles_dir()) {
        let image = built(&profile);
        let file = |path: &Option<std::path::PathBuf>| path.as_deref().map(sizes).unwrap_or((0, 0));
        let (img, img_blocks) = file(&image.appliance);
        let (disk, disk_blocks) = file(&image.disk);
        let pair = |a, b| format!("{} / {}", kib(a), kib(b));
        println!(
            "{:<11} {:>8} {:>8} {:>8} {:>17} {:>8} {:>8} {:>17}",
            profile,
            kib(sizes(&image.kernel_elf).0),
            kib(file(&image.iso).0),
            kib(image.pxe.as_deref().map_or(0, tree_bytes)),
            pair(img, img_blocks),
            kib(file(&image.qcow2).0),
            kib(image.oci.as_deref().map_or(0, tree_bytes)),
            if image.disk.is_some() {
                pair(disk, disk_blocks)
            } else {
                "-".into()
            },
        );
    }
}

/// Wall time from starting QEMU until the ready line.
fn time_to_ready(spec: &QemuSpec, ready: &str) -> Duration {
    let started = Instant::now();
    let mut node = Node::start(&command(spec), LIMIT).unwrap_or_else(|e| panic!("{e}"));
    node.wait_for(ready).unwrap_or_else(|e| panic!("{e}"));
    let elapsed = started.elapsed();
    let _ = node.wait_for_exit();
    elapsed
}

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e3
}

fn report_boot_times(runs: usize) {
    let image = built("pool");
    let ready = format!("amoeba: node {} ready", image.node());
    let specs: Vec<QemuSpec> = PATHS
        .iter()
        .map(|(_, boot, firmware)| {
            let mut spec = boot_spec(&image, *boot);
            spec.firmware = *firmware;
            if *boot == Boot::Pxe {
                spec.nic = Some(Nic::Virtio);
            }
            spec
        })
        .collect();
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); PATHS.len()];
    for _ in 0..runs {
        for (spec, times) in specs.iter().zip(&mut samples) {
            times.push(time_to_ready(spec, &ready));
        }
    }
    let medians: Vec<f64> = samples.into_iter().map(median).collect();
    let baseline = medians[0];
    println!("\n## pool: QEMU start to ready line, TCG, wall time (median of {runs}, interleaved)");
    for ((name, ..), ms) in PATHS.iter().zip(&medians) {
        println!(
            "{name:<18} {ms:>8.0} ms   x{:.2} of -kernel   (+{:.0} ms)",
            ms / baseline,
            ms - baseline
        );
    }
}
