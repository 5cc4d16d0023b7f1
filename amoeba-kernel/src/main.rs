//! amoeba-kernel: the Amoeba node microkernel.
//!
//! Booted by Multiboot 1 (QEMU `-kernel`) or Multiboot 2 (GRUB, from an ISO or over PXE), it
//! brings the machine into a known state, reports what it found and which servers and drivers
//! its profile compiled in, and announces `amoeba: node NAME ready` on the serial console.
//!
//! # Layers
//! Each layer uses the ones below it and never names one above; where a lower layer must hear
//! from a higher one, it offers a seam that the higher one fills at start.
//!
//! | layer | what it is | seam it offers upwards |
//! |---|---|---|
//! | `servers/`, `syscalls/`, `loader` | kernel servers, system calls, boot programs | |
//! | `drivers/`, `net/` | NIC drivers, link threads, FLIP and IP glue | |
//! | `ipc/` | local RPC (trans, getreq, putrep) | [`ipc::RemoteTransport`], which FLIP fills |
//! | `sched/` | threads, processes, priorities, timers, sync objects | [`sched::on_thread_exit`], which ipc fills |
//! | `mm/` | frames, kernel heap, kernel stacks, address spaces | |
//! | `arch/` | x86-64: boot, descriptor tables, traps, paging, timers, ports | |
//!
//! Beneath them all, two portable crates tested on the host: `amoeba-kernel-core` (the
//! kernel's own data structures and device logic) and `libamoeba` (Amoeba's byte layouts and
//! protocols, shared with programs and host tools). `start` below wires the layers together.
#![no_std]
#![no_main]

extern crate alloc;

mod arch;
mod build_info;
mod console;
mod drivers;
mod entropy;
mod ipc;
mod loader;
mod logger;
mod mm;
#[cfg(feature = "net")]
mod net;
mod node_config;
mod panic;
mod sched;
#[cfg(feature = "selftest")]
mod selftest;
mod servers;
mod syscalls;

use arch::{cpu, tsc};
use libamoeba::boot::{ExitCode, OnReady};
use node_config::NodeConfig;

/// The kernel proper, once `arch` has the console, the CPU tables and the boot information
/// (`arch::x86_64::entry`).
pub fn start(boot: arch::multiboot::BootInfo, entry_tsc: u64) -> ! {
    let tsc_hz = arch::calibrate_clocks();
    let memory = mm::init(&boot);
    let config = NodeConfig::from_boot(&boot);
    config.run_requested_crash();
    drivers::init_selected();
    sched::init();
    ipc::init();
    entropy::init(entry_tsc, config.node_name().as_bytes());
    servers::start_selected();
    drivers::start_network(config.node_name(), config.net);
    #[cfg(feature = "net")]
    net::flip::start();
    #[cfg(feature = "selftest")]
    selftest::before_boot_programs(config.selftest);
    let free_before_programs = mm::frames::stats().free_bytes;
    loader::start_boot_programs(&servers::boot_capabilities());
    #[cfg(feature = "selftest")]
    selftest::after_boot_programs(config.selftest);
    print_banner(&config, &boot, tsc_hz, &memory);
    announce_ready(&config, entry_tsc);
    match config.on_ready {
        OnReady::Exit => {
            sched::wait_for_user_processes();
            log::info!(
                "memory: all processes ended; {} KiB free, {} KiB before they started",
                mm::frames::stats().free_bytes >> 10,
                free_before_programs >> 10
            );
            arch::power::exit(ExitCode::Success)
        }
        // The boot thread has nothing left to do; the node lives on in its other threads.
        OnReady::Idle => loop {
            sched::await_key(PARK_BOOT_THREAD, None);
        },
    }
}

/// A key no one wakes: the boot thread waits on it for ever, costing nothing.
const PARK_BOOT_THREAD: u64 = u64::MAX - 1;

fn print_banner(
    config: &NodeConfig,
    boot: &arch::multiboot::BootInfo,
    tsc_hz: u64,
    memory: &mm::MemoryReport,
) {
    let mut brand = [0; 48];
    kprintln!(
        "amoeba-kernel {} (profile {})",
        build_info::VERSION,
        build_info::PROFILE
    );
    kprintln!("  node:     {}", config.node_name());
    kprintln!("  boot:     {} from {}", boot.protocol, loader_name(boot));
    kprintln!("  cmdline:  {}", config.cmdline());
    kprintln!(
        "  cpu:      {}, TSC {}.{:03} MHz",
        cpu::brand(&mut brand),
        tsc_hz / 1_000_000,
        tsc_hz / 1000 % 1000
    );
    kprintln!(
        "  memory:   {} MiB usable, {} MiB free, heap {} KiB",
        memory.usable_bytes >> 20,
        memory.free_bytes >> 20,
        memory.heap_bytes >> 10
    );
    kprintln!("  servers:  {}", build_info::list(build_info::SERVERS));
    kprintln!("  drivers:  {}", build_info::list(build_info::DRIVERS));
}

fn loader_name(boot: &arch::multiboot::BootInfo) -> &str {
    match boot.loader.as_str() {
        "" => "an unnamed loader",
        name => name,
    }
}

/// The ready line tests wait for, after the figures the boot benchmark reads: the TSC counts from
/// machine reset, so `entry` is the firmware's and loader's share and the rest is the kernel's.
fn announce_ready(config: &NodeConfig, entry_tsc: u64) {
    let ready_tsc = cpu::rdtsc();
    let micros = |ticks: u64| u128::from(ticks) * 1_000_000 / u128::from(tsc::frequency().max(1));
    kprintln!(
        "boot: kernel entry at tsc={entry_tsc} ({} us), ready at tsc={ready_tsc} ({} us)",
        micros(entry_tsc),
        micros(ready_tsc)
    );
    kprintln!("amoeba: node {} ready", config.node_name());
}
