//! The sys server in the kernel: KSTAT from the kernel's counters, PRINTBUF from the console
//! history, BOOT by the reset line or QEMU's exit device. Published with every right but ADMIN,
//! so BOOT needs the owner capability printed at boot.

use super::{BUFFER_BYTES, Publications, new_ports, run};
use crate::arch::{power, traps, tsc};
use crate::entropy::KernelEntropy;
use crate::{console, ipc, mm, sched};
use libamoeba::boot::ExitCode;
use libamoeba::priority::Level;
use libamoeba::rpc::codes::ErrorCode;
#[cfg(not(feature = "net"))]
use libamoeba::servers::sys::FlipCounts;
use libamoeba::servers::sys::{BootAction, Kstat, RpcCounts, SysFacts, SysServer};

/// How long BOOT waits after its reply, so the client hears it before the node stops.
const BOOT_DELAY_NANOS: u64 = 20_000_000;

struct KernelFacts;

impl SysFacts for KernelFacts {
    fn kstat(&self) -> Kstat {
        let frames = mm::frames::stats();
        let (threads, processes) = sched::population();
        let rpc = ipc::counts();
        Kstat {
            uptime_ns: tsc::nanos_since_reset().unwrap_or(0),
            memory_total: frames.total_bytes,
            memory_free: frames.free_bytes,
            heap_bytes: mm::heap::size(),
            threads,
            processes,
            interrupts: traps::interrupt_count(),
            context_switches: sched::context_switches(),
            rpc: RpcCounts {
                trans: rpc.trans,
                getreq: rpc.getreq,
                putrep: rpc.putrep,
                failures: rpc.failed,
            },
            #[cfg(feature = "net")]
            flip: crate::net::flip::counts(),
            #[cfg(not(feature = "net"))]
            flip: FlipCounts::default(),
        }
    }

    fn log_tail(&self, out: &mut [u8]) -> usize {
        console::history(out)
    }

    fn boot(&mut self, how: BootAction) -> Result<(), ErrorCode> {
        log::warn!("sys: BOOT {how:?} requested");
        let stop = move || {
            sched::sleep(BOOT_DELAY_NANOS);
            match how {
                BootAction::Reboot => power::reboot(),
                BootAction::Halt => power::exit(ExitCode::Success),
            }
        };
        sched::spawn_kernel_task(Level::High, stop)
            .map(|_| ())
            .map_err(|_| ErrorCode::STD_NOMEM)
    }
}

#[inline(never)] // one symbol per server: image checks find selected servers by name
pub fn start(published: &mut Publications) {
    let ports = new_ports();
    let (server, owner) = SysServer::new(ports.put, &mut KernelEntropy, KernelFacts);
    published.add("sys", server.public_capability(), owner);
    run("sys", ports, owner, server, BUFFER_BYTES);
}
