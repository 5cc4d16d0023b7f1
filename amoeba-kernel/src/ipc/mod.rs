//! Amoeba RPC on this node: trans, getreq and putrep for kernel threads (direct calls, through
//! [`KernelRpc`]) and for user threads (system calls, `syscalls::rpc`), over one
//! [`Switchboard`] that decides who gets which message.
//!
//! Messages are copied into the kernel's heap on the way in and out of it on the way back, so
//! the sender's and the receiver's address spaces never need to be mapped at once.
//!
//! The local fast path (on unless the command line says `ipc=queued`): the thread a message is
//! handed to runs next, without a trip through the ready queues and the scheduler's choice,
//! as in the VX-Kernel's local IPC; a more urgent ready thread still goes first.

mod kernel_rpc;
#[cfg(feature = "net")]
mod remote;
#[cfg(feature = "net")]
mod remote_transport;

pub use kernel_rpc::KernelRpc;
#[cfg(feature = "net")]
pub use remote::{deliver_remote, reap_remote};
#[cfg(feature = "net")]
pub use remote_transport::{RemoteTransport, register_remote_transport};

use crate::arch::tsc;
use crate::sched::{self, ThreadId, Wake};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use libamoeba::capability::Port;
use libamoeba::oneway::put_port;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::switchboard::{GetreqStep, Message, Switchboard, TransOutcome, TransStep};
use libamoeba::rpc::transport::MAX_MESSAGE_BYTES;
use spin::Mutex;

/// Put-ports worked out from get-ports are kept, up to this many, to spare a DES per getreq.
const PORT_CACHE_SIZE: usize = 64;

static BOARD: Mutex<Switchboard<ThreadId>> = Mutex::new(Switchboard::new());
static PORT_CACHE: Mutex<BTreeMap<Port, Port>> = Mutex::new(BTreeMap::new());
static FAST_PATH: AtomicBool = AtomicBool::new(true);

/// Turns the local fast path on or off (the `ipc=` command-line word).
pub fn set_fast_path(on: bool) {
    FAST_PATH.store(on, Ordering::Relaxed);
}

pub fn fast_path() -> bool {
    FAST_PATH.load(Ordering::Relaxed)
}

/// Sends `request` and blocks for the reply.
pub fn trans(request: Message) -> Result<Message, ErrorCode> {
    let me = sched::current_thread();
    #[cfg(feature = "net")]
    if let Some(remote) = remote_transport::transport()
        && !has_server(request.header.port)
    {
        let locate_timeout = BOARD.lock().locate_timeout(me);
        return remote.trans(me, request, locate_timeout);
    }
    let step = BOARD.lock().trans(me, request)?;
    let mut timeout = match step {
        TransStep::Delivered { server } if fast_path() => {
            let wake = sched::rpc_block(None, Some(server));
            match finish(me, wake) {
                TransOutcome::Done(result) => return result,
                TransOutcome::Wait { locate_timeout } => locate_timeout,
            }
        }
        TransStep::Delivered { server } => {
            sched::rpc_wake(server, false);
            false
        }
        TransStep::Queued => true,
    };
    loop {
        let nanos = timeout.then(|| locate_timeout_nanos(me));
        match finish(me, sched::rpc_block(nanos, None)) {
            TransOutcome::Done(result) => return result,
            TransOutcome::Wait { locate_timeout } => timeout = locate_timeout,
        }
    }
}

fn finish(me: ThreadId, wake: Wake) -> TransOutcome {
    BOARD.lock().finish_trans(me, wake == Wake::TimedOut)
}

fn locate_timeout_nanos(thread: ThreadId) -> u64 {
    BOARD
        .lock()
        .locate_timeout(thread)
        .saturating_mul(1_000_000)
}

/// Blocks until a request arrives for the put-port of `get_port`.
pub fn getreq(get_port: Port) -> Result<Message, ErrorCode> {
    getreq_within(get_port, None)
}

/// [`getreq`] giving up after `millis` milliseconds (RPC_ABORTED then, and the port is no
/// longer claimed for the thread); `None` waits for ever.
pub fn getreq_within(get_port: Port, millis: Option<u64>) -> Result<Message, ErrorCode> {
    if get_port.is_null() {
        return Err(ErrorCode::RPC_BADADDRESS);
    }
    let me = sched::current_thread();
    let port = put_port_of(get_port);
    if let GetreqStep::Request(request) = BOARD.lock().getreq(me, port)? {
        sched::set_serving(true);
        return Ok(request);
    }
    let deadline = millis.map(|ms| now().saturating_add(ms.saturating_mul(1_000_000)));
    loop {
        let left = deadline.map(|at| at.saturating_sub(now()));
        let wake = sched::getreq_block(left);
        if let Some(request) = BOARD.lock().collect_request(me) {
            sched::set_serving(true);
            // A request that came with a stun is answered first; the thread stops after.
            let _ = sched::take_restart();
            return Ok(request);
        }
        // A stun took the thread out (it asks again once the process goes on, here or on
        // another node, and meanwhile this node stops claiming the port for it), or the time
        // is up.
        let restart = sched::restart_pending();
        if restart || wake == Wake::TimedOut {
            if let Some(request) = BOARD.lock().cancel_getreq(me) {
                sched::set_serving(true);
                let _ = sched::take_restart();
                return Ok(request);
            }
            return Err(ErrorCode::RPC_ABORTED);
        }
    }
}

fn now() -> u64 {
    tsc::nanos_since_reset().unwrap_or(0)
}

/// Answers the request the calling thread took with its last getreq.
pub fn putrep(reply: Message) -> Result<(), ErrorCode> {
    let me = sched::current_thread();
    let client = BOARD.lock().putrep(me, reply)?;
    sched::set_serving(false);
    match client {
        #[cfg(feature = "net")]
        Some(client) if remote::is_remote(client) => remote::answer(client),
        Some(client) => {
            sched::rpc_wake(client, fast_path());
        }
        None => {}
    }
    Ok(())
}

/// Answers the request the calling thread took with `error` and no data: for when its own
/// reply cannot be delivered (no memory for it, a bad buffer), so the client does not wait for
/// ever and the server can take its next request.
pub fn putrep_error(error: ErrorCode) {
    let mut header = libamoeba::rpc::header::Header::default();
    header.set_status(Err(error));
    // Fails only if no request was taken, and then there is nobody to answer.
    let _ = putrep(Message {
        header,
        data: Vec::new(),
    });
}

/// Sets the calling thread's locate timeout; returns the previous one (milliseconds).
pub fn set_locate_timeout(millis: u64) -> u64 {
    let me = sched::current_thread();
    BOARD.lock().set_locate_timeout(me, millis)
}

/// Makes local RPC hear of every thread that ends (the scheduler's thread-exit hook).
pub fn init() {
    sched::on_thread_exit(thread_ended);
}

/// The scheduler's thread-exit hook, run under its lock: the client to wake because the
/// thread that ended was serving it.
fn thread_ended(thread: ThreadId) -> Option<ThreadId> {
    #[cfg(feature = "net")]
    if let Some(remote) = remote_transport::transport() {
        remote.thread_ended(thread);
    }
    // A remote client is answered by the FLIP thread (`reap_remote`), not woken.
    BOARD.lock().thread_ended(thread)
}

/// Whether a thread of this node serves `port` (see `Switchboard::has_server`): requests for
/// it stay here, others go to the network.
#[cfg(feature = "net")]
pub fn has_server(port: Port) -> bool {
    BOARD.lock().has_server(port)
}

#[cfg(feature = "server-sys")]
pub fn counts() -> libamoeba::rpc::switchboard::Counts {
    BOARD.lock().counts()
}

fn put_port_of(get_port: Port) -> Port {
    if let Some(port) = PORT_CACHE.lock().get(&get_port) {
        return *port;
    }
    let port = put_port(get_port);
    let mut cache = PORT_CACHE.lock();
    if cache.len() >= PORT_CACHE_SIZE {
        cache.clear();
    }
    cache.insert(get_port, port);
    port
}

/// A kernel copy of `bytes` for a message; STD_NOMEM when the heap cannot spare it (see
/// `mm::heap::can_lend`), and RPC_BADADDRESS beyond [`MAX_MESSAGE_BYTES`].
pub fn copy_data(bytes: &[u8]) -> Result<Vec<u8>, ErrorCode> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(ErrorCode::RPC_BADADDRESS);
    }
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    if !crate::mm::heap::can_lend(bytes.len()) {
        return Err(ErrorCode::STD_NOMEM);
    }
    let mut data = Vec::new();
    data.try_reserve_exact(bytes.len())
        .map_err(|_| ErrorCode::STD_NOMEM)?;
    data.extend_from_slice(bytes);
    Ok(data)
}
