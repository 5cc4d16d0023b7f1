//! The system-call interface between user processes and the kernel: call numbers, and the
//! convention for results. Both sides use these definitions, so they cannot drift apart.
//!
//! Convention (x86-64 `syscall`): number in RAX, arguments in RDI, RSI, RDX, R10, R8, R9; the
//! result in RAX, a negative value being an [`Error`]. RCX, R11 and the vector registers are
//! clobbered (the kernel clears the vector registers on return, and the x87 register stack is
//! not kept); every other register is preserved, as are MXCSR and the x87 control word.

use crate::rpc::codes::ErrorCode;

/// Call numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Call {
    /// (text pointer, length): write to the console.
    ConsoleWrite = 0,
    /// (exit code): end the whole process.
    ProcessExit = 1,
    /// (entry, argument, thread priority): start a thread; returns its id.
    ThreadCreate = 2,
    /// (): end the calling thread.
    ThreadExit = 3,
    /// (): let other threads run.
    Yield = 4,
    /// (nanoseconds): sleep.
    Sleep = 5,
    /// (bytes): allocate a data segment; returns its address.
    SegmentAllocate = 6,
    /// (address): free a data segment.
    SegmentFree = 7,
    /// (kind, argument): create a synchronization object; returns its handle.
    SyncCreate = 8,
    /// (handle, timeout ns or u64::MAX): mutex lock, semaphore down, barrier wait.
    SyncWait = 9,
    /// (handle): mutex unlock, semaphore up.
    SyncSignal = 10,
    /// (key, timeout ns or u64::MAX): block until `Wakeup` on the same key.
    Await = 11,
    /// (key): wake every thread awaiting `key`; returns how many.
    Wakeup = 12,
    /// (thread id, signal bits): raise signals on a thread of the same process.
    SignalSend = 13,
    /// (mask, timeout ns or u64::MAX): wait for signals in `mask`; returns those taken.
    SignalWait = 14,
    /// (): nanoseconds since boot.
    Now = 15,
    /// (which [`Statistic`]): a kernel counter.
    Statistic = 16,
    /// (preemptive 0/1): whether this process's threads preempt one another.
    SetPreemptive = 17,
    /// (): the calling thread's id.
    ThreadSelf = 18,
    /// (IRQ line 0-15, timeout ns or u64::MAX): unmask the line and block until it fires; the
    /// line is masked again when it does, until the next call (a driver in a process).
    InterruptAwait = 19,
    /// (first port, count): let the calling process use these I/O ports.
    IoPortGrant = 20,
    /// (handle): destroy a synchronization object nobody waits on (or holds, for a mutex).
    SyncDestroy = 21,
    /// (request header, request data, length, reply header, reply buffer, capacity): RPC
    /// `trans`; headers are 32-byte wire headers. Returns the reply's length as sent (more than
    /// the capacity: truncated) or an RPC [`ErrorCode`] (see [`decode_rpc`]).
    Trans = 22,
    /// (header, buffer, capacity): RPC `getreq`; the header holds the get-port on entry and
    /// the request's header on return. Returns the request's length as sent, or an error code.
    GetReq = 23,
    /// (header, data, length): RPC `putrep`. Returns 0 or an error code.
    PutRep = 24,
    /// (milliseconds): the calling thread's locate timeout for `trans`; returns the old one.
    RpcTimeout = 25,
}

impl Call {
    pub const ALL: [Call; 26] = [
        Call::ConsoleWrite,
        Call::ProcessExit,
        Call::ThreadCreate,
        Call::ThreadExit,
        Call::Yield,
        Call::Sleep,
        Call::SegmentAllocate,
        Call::SegmentFree,
        Call::SyncCreate,
        Call::SyncWait,
        Call::SyncSignal,
        Call::Await,
        Call::Wakeup,
        Call::SignalSend,
        Call::SignalWait,
        Call::Now,
        Call::Statistic,
        Call::SetPreemptive,
        Call::ThreadSelf,
        Call::InterruptAwait,
        Call::IoPortGrant,
        Call::SyncDestroy,
        Call::Trans,
        Call::GetReq,
        Call::PutRep,
        Call::RpcTimeout,
    ];

    pub fn from_number(number: u64) -> Option<Self> {
        Self::ALL.into_iter().find(|call| *call as u64 == number)
    }
}

/// Kinds of synchronization object (`SyncCreate`'s first argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum SyncKind {
    Mutex = 0,
    /// Argument: the initial count.
    Semaphore = 1,
    /// Argument: the number of threads that meet.
    Barrier = 2,
}

impl SyncKind {
    pub fn from_number(number: u64) -> Option<Self> {
        [Self::Mutex, Self::Semaphore, Self::Barrier]
            .into_iter()
            .find(|k| *k as u64 == number)
    }
}

/// Counters a process may read (`Statistic`'s argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Statistic {
    /// Interrupts taken since boot.
    Interrupts = 0,
    /// Free physical memory in bytes.
    FreeMemory = 1,
    /// Context switches since boot.
    ContextSwitches = 2,
}

impl Statistic {
    pub fn from_number(number: u64) -> Option<Self> {
        [Self::Interrupts, Self::FreeMemory, Self::ContextSwitches]
            .into_iter()
            .find(|s| *s as u64 == number)
    }
}

/// A timeout meaning "wait for ever".
pub const NO_TIMEOUT: u64 = u64::MAX;

/// Why a call failed; the negative of the value is returned in RAX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i64)]
pub enum Error {
    /// No such call.
    BadCall = 1,
    /// A pointer or length outside the caller's memory.
    BadAddress = 2,
    /// An argument out of range or a handle that names nothing.
    BadArgument = 3,
    /// Out of memory (frames, segments, handles).
    NoMemory = 4,
    /// The timeout passed first.
    TimedOut = 5,
    /// Not allowed (e.g. unlocking a mutex another thread holds).
    Denied = 6,
}

impl Error {
    const ALL: [Error; 6] = [
        Self::BadCall,
        Self::BadAddress,
        Self::BadArgument,
        Self::NoMemory,
        Self::TimedOut,
        Self::Denied,
    ];

    /// The RAX value for this error.
    pub const fn to_raw(self) -> i64 {
        -(self as i64)
    }

    /// Splits a raw RAX value into success or error.
    pub fn decode(raw: i64) -> Result<u64, Error> {
        if raw >= 0 {
            return Ok(raw as u64);
        }
        Self::ALL
            .into_iter()
            .find(|e| e.to_raw() == raw)
            .map_or(Err(Self::BadCall), Err)
    }
}

/// The RAX value of an RPC call's result: the value, or the negative Amoeba error code (RPC
/// calls report [`ErrorCode`]s, not [`Error`]s, so that clients see the reference's codes).
pub fn encode_rpc(result: Result<u64, ErrorCode>) -> u64 {
    match result {
        Ok(value) => value,
        Err(code) => i64::from(code.get()) as u64,
    }
}

/// Splits an RPC call's RAX value; a negative value outside the `i16` range (which no kernel
/// sends) reads as RPC_FAILURE.
pub fn decode_rpc(raw: i64) -> Result<u64, ErrorCode> {
    if raw >= 0 {
        return Ok(raw as u64);
    }
    Err(i16::try_from(raw)
        .ok()
        .and_then(ErrorCode::new)
        .unwrap_or(ErrorCode::RPC_FAILURE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_numbers_are_unique_and_round_trip() {
        for (index, call) in Call::ALL.into_iter().enumerate() {
            assert_eq!(call as u64, index as u64, "numbers are dense, in order");
            assert_eq!(Call::from_number(call as u64), Some(call));
        }
        assert_eq!(Call::from_number(Call::ALL.len() as u64), None);
    }

    #[test]
    fn rpc_results_carry_amoeba_codes() {
        for code in ErrorCode::ALL {
            assert_eq!(decode_rpc(encode_rpc(Err(*code)) as i64), Err(*code));
        }
        assert_eq!(decode_rpc(encode_rpc(Ok(30000)) as i64), Ok(30000));
        assert_eq!(decode_rpc(-100_000), Err(ErrorCode::RPC_FAILURE));
    }

    #[test]
    fn results_split_into_values_and_errors() {
        assert_eq!(Error::decode(0), Ok(0));
        assert_eq!(Error::decode(42), Ok(42));
        for error in Error::ALL {
            assert_eq!(Error::decode(error.to_raw()), Err(error));
        }
    }
}
