//! `selftest=rpc`: kernel threads use RPC through the same interface processes use: echo
//! servers and many clients, truncated replies, an unknown port, a server that ends mid-call,
//! and then every kernel server the profile has (`libamoeba::client::node_check`).

use super::check;
use crate::entropy::KernelEntropy;
use crate::ipc::{self, KernelRpc};
use crate::kprintln;
use crate::sched;
use alloc::vec;
use core::sync::atomic::{AtomicU64, Ordering};
use libamoeba::capability::Port;
use libamoeba::client::node_check::Shown;
use libamoeba::oneway::put_port;
use libamoeba::priority::Level;
use libamoeba::random::Entropy;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::header::Header;
use libamoeba::rpc::transport::Rpc;
use libamoeba::servers::sys::BootAction;

/// A request with this command makes the test server end its thread without answering.
const DIE: u16 = 0xdead;
const SERVERS: usize = 2;
const CLIENTS: u64 = 6;
const CALLS_PER_CLIENT: u64 = 40;

static REPLIES: AtomicU64 = AtomicU64::new(0);
static CLIENTS_DONE: AtomicU64 = AtomicU64::new(0);
const CLIENTS_DONE_KEY: u64 = 0x5250_4300;

/// Answers with the request's data reversed and h_offset + 1; ends on [`DIE`].
fn echo_server(get_port: Port) {
    let rpc = KernelRpc;
    let mut buffer = vec![0u8; 64];
    loop {
        let mut header = Header {
            port: get_port,
            ..Header::default()
        };
        let Ok(received) = rpc.getreq(&mut header, &mut buffer) else {
            return;
        };
        if header.command == DIE {
            return;
        }
        let data = &mut buffer[..received.len];
        data.reverse();
        let reply = Header {
            offset: header.offset + 1,
            ..Header::default()
        };
        if rpc.putrep(&reply, data).is_err() {
            return;
        }
    }
}

fn call(
    port: Port,
    command: u16,
    offset: i32,
    data: &[u8],
    reply_buffer: &mut [u8],
) -> Result<(Header, usize, bool), ErrorCode> {
    let request = Header {
        port,
        command,
        offset,
        ..Header::default()
    };
    let mut reply = Header::default();
    let received = KernelRpc.trans(&request, data, &mut reply, reply_buffer)?;
    Ok((reply, received.len, received.truncated()))
}

pub fn run() -> bool {
    let get_port = Port(KernelEntropy.nonzero48());
    let port = put_port(get_port);
    for _ in 0..SERVERS {
        if sched::spawn_kernel_task(Level::Norm, move || echo_server(get_port)).is_err() {
            return check("rpc servers", false, format_args!("no memory for a thread"));
        }
    }
    let mut ok = round_trip(port);
    null_round_trips(port);
    ok &= many_clients(port);
    ok &= unknown_port();
    ok &= server_dies(port);
    #[cfg(feature = "server-dir")]
    let ok = ok & kernel_servers();
    ok
}

/// The checks `rpc-check` runs from a process, from this kernel thread (compiled in only with
/// the directory: they look every server up there).
#[cfg(feature = "server-dir")]
fn kernel_servers() -> bool {
    let root = crate::servers::environment().root;
    if root.is_null() {
        kprintln!("selftest: rpc: this profile has no directory; kernel servers not checked");
        return true;
    }
    let mut ok = true;
    let report = &mut |what: &str, passed: bool, detail: core::fmt::Arguments<'_>| {
        ok &= check(what, passed, detail);
    };
    use libamoeba::client::node_check;
    match node_check::directory(&KernelRpc, &root, &[], report) {
        Some(servers) => {
            node_check::commands(&KernelRpc, &servers, report);
            node_check::refusals(&KernelRpc, &root, &servers, report);
        }
        None => report(
            "kernel servers in the directory",
            false,
            format_args!("sys, tod, random, proc, tty or ps missing"),
        ),
    }
    ok
}

fn round_trip(port: Port) -> bool {
    let mut buffer = [0u8; 8];
    let answer = call(port, 1, 41, b"amoeba", &mut buffer);
    let ok = matches!(answer, Ok((header, 6, false)) if header.offset == 42 && header.status() == 0)
        && &buffer[..6] == b"abeoma";
    let mut ok = check(
        "rpc round trip",
        ok,
        format_args!("{:?}", core::str::from_utf8(&buffer[..6])),
    );
    let mut small = [0u8; 3];
    let answer = call(port, 1, 0, b"truncate", &mut small);
    ok &= check(
        "rpc truncated reply",
        matches!(answer, Ok((_, 3, true))) && &small == b"eta",
        format_args!("kept {:?} of 8 bytes", core::str::from_utf8(&small)),
    );
    ok
}

/// Guest cycles of a null round trip between kernel threads (no system call, no address-space
/// switch): the engine's and the scheduler's share of every RPC.
fn null_round_trips(port: Port) {
    const ROUNDS: u64 = 1000;
    let start = crate::arch::cpu::rdtsc();
    for _ in 0..ROUNDS {
        let _ = call(port, 1, 0, b"", &mut []);
    }
    let cycles = (crate::arch::cpu::rdtsc() - start) / ROUNDS;
    kprintln!("selftest: rpc kernel-thread null round trip: {cycles} cycles");
}

fn many_clients(port: Port) -> bool {
    for client in 0..CLIENTS {
        let spawned = sched::spawn_kernel_task(Level::Norm, move || {
            let mut buffer = [0u8; 8];
            for i in 0..CALLS_PER_CLIENT {
                let offset = (client * 1000 + i) as i32;
                if let Ok((header, _, _)) =
                    call(port, 1, offset, &client.to_le_bytes(), &mut buffer)
                    && header.offset == offset + 1
                {
                    REPLIES.fetch_add(1, Ordering::Relaxed);
                }
            }
            CLIENTS_DONE.fetch_add(1, Ordering::Relaxed);
            sched::wakeup(CLIENTS_DONE_KEY);
        });
        if spawned.is_err() {
            return check(
                "rpc many clients",
                false,
                format_args!("no memory for a thread"),
            );
        }
    }
    while CLIENTS_DONE.load(Ordering::Relaxed) < CLIENTS {
        sched::await_key(CLIENTS_DONE_KEY, Some(1_000_000_000));
    }
    let replies = REPLIES.load(Ordering::Relaxed);
    check(
        "rpc many clients",
        replies == CLIENTS * CALLS_PER_CLIENT,
        format_args!(
            "{CLIENTS} clients x {CALLS_PER_CLIENT} calls against {SERVERS} servers: {replies} right replies"
        ),
    )
}

fn unknown_port() -> bool {
    let previous = ipc::set_locate_timeout(20);
    let started = super::now();
    let answer = call(Port([1, 2, 3, 4, 5, 6]), 1, 0, b"", &mut []);
    let waited = (super::now() - started) / 1_000_000;
    ipc::set_locate_timeout(previous);
    check(
        "rpc to a port nobody serves",
        answer.err() == Some(ErrorCode::RPC_NOTFOUND),
        format_args!(
            "{} after {waited} ms (locate timeout 20 ms)",
            Shown(&answer)
        ),
    )
}

/// Each server thread takes a DIE request and ends without a reply: the client must fail.
fn server_dies(port: Port) -> bool {
    let mut ok = true;
    for _ in 0..SERVERS {
        let answer = call(port, DIE, 0, b"", &mut []);
        ok &= answer.err() == Some(ErrorCode::RPC_FAILURE);
        kprintln!(
            "selftest: server ended mid-call, client got {}",
            Shown(&answer)
        );
    }
    check(
        "rpc server ends mid-call",
        ok,
        format_args!("every client got RPC_FAILURE"),
    )
}

/// Asks the sys server to halt or reboot the node, with the owner capability printed at boot.
pub fn boot_by_rpc(reboot: bool) {
    let how = if reboot {
        BootAction::Reboot
    } else {
        BootAction::Halt
    };
    let owner = crate::servers::owner_capabilities().sys;
    if owner.is_null() {
        kprintln!("selftest: boot: this profile has no sys server");
        return;
    }
    let answer = libamoeba::client::boot(&KernelRpc, &owner, how);
    kprintln!("selftest: boot {how:?} by RPC: {}", Shown(&answer));
    sched::sleep(2_000_000_000);
    kprintln!("selftest: boot: FAILED (the node is still running)");
}
