//! System calls: decode the registers, check every argument that comes from user space, call
//! the same kernel operation a kernel thread would call, encode the result.
//!
//! A pointer from user space is used only after the calling process's address space says the
//! whole range lies in one of its segments with the needed rights, so a bad pointer costs the
//! caller an error code, never the kernel a fault.

mod rpc;

use crate::arch::frames::SyscallFrame;
use crate::arch::{traps, tsc};
use crate::console;
use crate::mm::frames;
use crate::sched;
use libamoeba::priority::Level;
use libamoeba::syscall::{Call, Error, NO_TIMEOUT, Statistic, SyncKind};

/// Longest text one console write takes; longer writes are cut (and the count returned says so).
const MAX_CONSOLE_WRITE: u64 = 4096;
/// Stack of a thread created by `ThreadCreate`.
const THREAD_STACK_PAGES: u64 = 16;
/// Largest data segment one call may ask for.
const MAX_SEGMENT_BYTES: u64 = 64 << 20;
/// The signal bits a process may use: all but the top one.
const USER_SIGNALS: u64 = u64::MAX >> 1;
/// SYSCALL is `0F 05` (Intel SDM vol. 2B): RIP minus this makes the call again.
const SYSCALL_INSTRUCTION_BYTES: u64 = 2;

/// Carries out the system call `frame` holds. Inlined into the one caller, the entry path, as
/// `handle` is into it: every call and stack copy on this path counts in every system call.
#[inline(always)]
pub fn dispatch(frame: &mut SyscallFrame) {
    let args = [
        frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
    ];
    let number = frame.rax;
    let call = Call::from_number(number);
    frame.rax = match call {
        Some(call) => encode(handle(call, args)),
        None => encode(Err(Error::BadCall)),
    };
    if sched::stun_requested() {
        stop_for_stun(frame, number, call);
    }
    sched::preempt_if_needed();
}

/// The process is being stunned: a call a stun backed out of is set up to be made again
/// (RIP back on the SYSCALL instruction, the call number and what is left of its timeout back
/// in their registers), then the thread stops until its process is resumed.
#[inline(never)]
fn stop_for_stun(frame: &mut SyscallFrame, number: u64, call: Option<Call>) {
    if let Some(remaining) = sched::take_restart() {
        frame.user_rip -= SYSCALL_INSTRUCTION_BYTES;
        frame.rax = number;
        if let Some(nanos) = remaining {
            match call {
                Some(Call::Sleep) => frame.rdi = nanos,
                Some(Call::SyncWait | Call::Await | Call::SignalWait | Call::InterruptAwait) => {
                    frame.rsi = nanos
                }
                _ => {}
            }
        }
    }
    sched::park_if_stunned();
}

fn encode(result: Result<u64, Error>) -> u64 {
    match result {
        Ok(value) => value,
        Err(error) => error.to_raw() as u64,
    }
}

fn timeout(nanos: u64) -> Option<u64> {
    (nanos != NO_TIMEOUT).then_some(nanos)
}

// Inlined into `dispatch`, its one caller, the arguments stay in registers instead of going
// through the stack.
#[inline(always)]
fn handle(call: Call, args: [u64; 6]) -> Result<u64, Error> {
    let [a0, a1, a2, ..] = args;
    match call {
        Call::ConsoleWrite => console_write(a0, a1),
        Call::ProcessExit => sched::exit_process(a0 as i64),
        Call::ThreadCreate => {
            let priority = u8::try_from(a2)
                .ok()
                .and_then(Level::from_u8)
                .ok_or(Error::BadArgument)?;
            if !user_range_ok(a0, 1, false) {
                return Err(Error::BadAddress);
            }
            sched::spawn_user_thread(a0, a1, priority, THREAD_STACK_PAGES).map(sched::local_id_of)
        }
        Call::ThreadExit => sched::exit_thread(),
        Call::Yield => {
            sched::yield_now();
            Ok(0)
        }
        Call::Sleep => {
            sched::sleep(a0);
            Ok(0)
        }
        Call::SegmentAllocate => segment_allocate(a0),
        Call::SegmentFree => sched::with_address_space(|space| {
            space
                .ok_or(Error::Denied)?
                .free_segment(a0)
                .map(|()| 0)
                .map_err(|_| Error::BadArgument)
        }),
        Call::SyncCreate => {
            sched::sync_create(SyncKind::from_number(a0).ok_or(Error::BadArgument)?, a1)
        }
        Call::SyncWait => sched::sync_wait(a0, timeout(a1)).map(|()| 0),
        Call::SyncSignal => sched::sync_signal(a0).map(|()| 0),
        Call::Await => match sched::await_key(a0, timeout(a1)) {
            sched::Wake::Signaled => Ok(0),
            sched::Wake::TimedOut => Err(Error::TimedOut),
        },
        Call::Wakeup => Ok(sched::wakeup(a0)),
        Call::SignalSend => {
            // The top bit would make the bits a waiter takes read as an error code.
            if a1 & USER_SIGNALS != a1 {
                return Err(Error::BadArgument);
            }
            let thread = sched::thread_of_local(a0).ok_or(Error::BadArgument)?;
            sched::signal_send(thread, a1).map(|()| 0)
        }
        Call::SignalWait => sched::signal_wait(a0 & USER_SIGNALS, timeout(a1)),
        Call::Now => Ok(tsc::nanos_since_reset().unwrap_or(0)),
        Call::Statistic => statistic(a0),
        Call::SetPreemptive => {
            sched::set_preemptive_threads(a0 != 0);
            Ok(0)
        }
        Call::ThreadSelf => Ok(sched::current_local_thread()),
        Call::InterruptAwait => sched::interrupt_await(a0, timeout(a1)).map(|()| 0),
        Call::IoPortGrant => sched::io_port_grant(a0, a1).map(|()| 0),
        Call::SyncDestroy => sched::sync_destroy(a0).map(|()| 0),
        // Already encoded the RPC way (Amoeba error codes), which `encode` passes through.
        Call::Trans | Call::GetReq | Call::PutRep | Call::RpcTimeout => {
            Ok(rpc::dispatch(call, args))
        }
    }
}

fn user_range_ok(address: u64, length: u64, write: bool) -> bool {
    sched::with_address_space(|space| space.is_some_and(|s| s.contains(address, length, write)))
}

fn console_write(address: u64, length: u64) -> Result<u64, Error> {
    let length = length.min(MAX_CONSOLE_WRITE);
    if length == 0 {
        return Ok(0);
    }
    // Copy out under the scheduler's lock, write after it: the UART is slow.
    let text = sched::with_address_space(|space| {
        let bytes = space
            .and_then(|s| s.user_bytes(address, length))
            .ok_or(Error::BadAddress)?;
        Ok(alloc::string::String::from_utf8_lossy(bytes).into_owned())
    })?;
    console::write(format_args!("{text}"));
    Ok(length)
}

fn segment_allocate(bytes: u64) -> Result<u64, Error> {
    if bytes == 0 || bytes > MAX_SEGMENT_BYTES {
        return Err(Error::BadArgument);
    }
    sched::with_address_space(|space| {
        space
            .ok_or(Error::Denied)?
            .allocate_data(bytes)
            .map_err(|_| Error::NoMemory)
    })
}

fn statistic(which: u64) -> Result<u64, Error> {
    Ok(
        match Statistic::from_number(which).ok_or(Error::BadArgument)? {
            Statistic::Interrupts => traps::interrupt_count(),
            Statistic::FreeMemory => frames::stats().free_bytes,
            Statistic::ContextSwitches => sched::context_switches(),
        },
    )
}
