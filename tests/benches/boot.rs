//! Boot benchmark: image sizes, boot time against a do-nothing kernel measured in the same run,
//! guest time to the ready line under `-icount`, and cold and warm build times.
//!
//! Run: `cargo bench -p amoeba-tests --bench boot` (set `BOOT_BENCH_RUNS` to change the number
//! of boots per kernel; default 10).

use amoeba_build::image::{BuildOptions, build_profile};
use amoeba_build::kernel_build::build_null_kernel;
use amoeba_build::qemu::{Boot, QemuSpec};
use amoeba_build::workspace::Workspace;
use amoeba_tests::images::{PROFILES, boot_spec, built, command, copy_sources, workspace};
use amoeba_tests::node::Node;
use std::path::Path;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(30);

fn main() {
    let runs: usize = std::env::var("BOOT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    println!("# cargo bench -p amoeba-tests --bench boot   (BOOT_BENCH_RUNS={runs})");
    report_sizes();
    report_boot_times(runs);
    report_guest_boot_time();
    report_build_times();
}

fn report_sizes() {
    println!("\n## kernel.elf size per profile");
    for profile in PROFILES {
        let image = built(profile);
        let size = std::fs::metadata(&image.kernel_elf)
            .map(|m| m.len())
            .unwrap_or(0);
        println!(
            "{profile:<12} {size:>8} bytes  ({:.1} KiB)",
            size as f64 / 1024.0
        );
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Wall time from starting QEMU until `text` appears on the console.
fn time_until(spec: &QemuSpec, text: &str) -> Duration {
    let started = Instant::now();
    let mut node = Node::start(&command(spec), LIMIT).unwrap_or_else(|e| panic!("{e}"));
    node.wait_for(text).unwrap_or_else(|e| panic!("{e}"));
    let elapsed = started.elapsed();
    let _ = node.wait_for_exit();
    elapsed
}

/// Wall time from starting QEMU until it exits.
fn time_until_exit(spec: &QemuSpec) -> Duration {
    let started = Instant::now();
    let mut node = Node::start(&command(spec), LIMIT).unwrap_or_else(|e| panic!("{e}"));
    node.wait_for_exit().unwrap_or_else(|e| panic!("{e}"));
    started.elapsed()
}

/// A QEMU spec booting the do-nothing kernel by `-kernel`, from a scratch directory.
fn null_kernel_spec(ws: &Workspace, template: &QemuSpec) -> QemuSpec {
    let null = build_null_kernel(ws).unwrap_or_else(|e| panic!("null kernel: {e}"));
    let dir = std::env::temp_dir().join(format!("amoeba-null-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    std::fs::copy(&null, dir.join("kernel.elf"))
        .unwrap_or_else(|e| panic!("copy null kernel: {e}"));
    QemuSpec {
        image_dir: dir,
        append: Vec::new(),
        cmdline: String::new(),
        ..template.clone()
    }
}

fn report_boot_times(runs: usize) {
    let image = built("pool");
    let spec = boot_spec(&image, Boot::Kernel);
    let null = null_kernel_spec(&workspace(), &spec);
    let ready = format!("amoeba: node {} ready", image.node());
    let (mut to_ready, mut to_exit, mut baseline) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        baseline.push(time_until_exit(&null));
        to_ready.push(time_until(&spec, &ready));
        to_exit.push(time_until_exit(&spec));
    }
    let ms = |samples: Vec<Duration>| median(samples).as_secs_f64() * 1e3;
    let (to_ready, to_exit, baseline) = (ms(to_ready), ms(to_exit), ms(baseline));
    println!("\n## QEMU -kernel boot, TCG, wall time (median of {runs}, interleaved)");
    println!("do-nothing kernel, start to QEMU exit   {baseline:>8.1} ms");
    println!("pool kernel, start to ready line        {to_ready:>8.1} ms");
    println!("pool kernel, start to QEMU exit         {to_exit:>8.1} ms (ready=exit)");
    let added = to_exit - baseline;
    let ratio = to_exit / baseline;
    println!(
        "ratio exit/exit {ratio:.3}: the kernel adds {added:.1} ms to QEMU's start, load and stop"
    );
}

/// `boot: kernel entry at tsc=E (X us), ready at tsc=R (Y us)` under -icount shift=0,sleep=off.
fn report_guest_boot_time() {
    let image = built("pool");
    let mut spec = boot_spec(&image, Boot::Kernel);
    spec.icount = true;
    println!(
        "\n## QEMU -kernel boot under -icount shift=0,sleep=off, guest time (TSC counts from reset)"
    );
    for attempt in 1..=2 {
        let mut node = Node::start(&command(&spec), LIMIT).unwrap_or_else(|e| panic!("{e}"));
        let line = node
            .wait_for("boot: kernel entry at")
            .unwrap_or_else(|e| panic!("{e}"));
        let _ = node.wait_for_exit();
        let tsc_after = |key: &str| -> u64 {
            let rest = line.split(key).nth(1).unwrap_or("");
            let digits = rest.split(|c: char| !c.is_ascii_digit()).next();
            digits.and_then(|n| n.parse().ok()).unwrap_or(0)
        };
        let kernel_cycles = tsc_after("ready at tsc=").saturating_sub(tsc_after("entry at tsc="));
        println!("run {attempt}: {}", line.trim());
        println!("       kernel entry to ready line: {kernel_cycles} guest cycles");
    }
}

fn report_build_times() {
    let ws = workspace();
    let tree = std::env::temp_dir().join(format!("amoeba-build-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tree);
    copy_sources(ws.root(), &tree);
    let fresh = Workspace::at(&tree).unwrap_or_else(|| panic!("{} is a workspace", tree.display()));
    let time_build = |ws: &Workspace| {
        let started = Instant::now();
        build_profile(ws, "pool", &BuildOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        started.elapsed()
    };
    let cold = time_build(&fresh);
    let warm = time_build(&fresh);
    touch(&tree.join("amoeba-kernel/src/main.rs"));
    let after_edit = time_build(&fresh);
    println!("\n## amoeba-build --profile pool (kernel, ISO, PXE tree, manifest), wall time");
    println!("cold (empty target dir)      {:>8.1} s", cold.as_secs_f64());
    println!("warm (nothing changed)       {:>8.1} s", warm.as_secs_f64());
    println!(
        "after touching kernel main   {:>8.1} s",
        after_edit.as_secs_f64()
    );
    println!(
        "ratio cold/warm {:.1}",
        cold.as_secs_f64() / warm.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&tree);
}

fn touch(file: &Path) {
    let text = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    std::fs::write(file, text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
}
