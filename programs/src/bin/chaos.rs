//! `chaos [ROUNDS]`: system calls with hostile arguments — pointers into the kernel, into
//! nothing, across the end of the address space, lengths that wrap, handles and lines that do
//! not exist, absurd sizes — to show that each is refused with an error code and none harms the
//! kernel. Calls that would end or stop this process on purpose (exit, thread exit, thread
//! create at a random address, sleeping for ever) are left out; timeouts are kept short.
#![no_std]
#![no_main]

use amoeba_user::println;
use amoeba_user::raw;
use libamoeba::process::Environment;
use libamoeba::process::layout::{MAIN_STACK_BASE, USER_TEXT_BASE};
use libamoeba::syscall::{Call, Error};

amoeba_user::amoeba_main!(main);

/// Values that break naive checks: null, the kernel's image and stacks, the non-canonical hole,
/// the top of memory, unaligned and almost-valid user addresses.
const NASTY: [u64; 14] = [
    0,
    1,
    0xFFF,
    0x10_0000,
    0x40_0000_0000,
    0x0000_7FFF_FFFF_FFFF,
    0x0000_8000_0000_0000,
    0xFFFF_8000_0000_0000,
    u64::MAX,
    u64::MAX - 7,
    USER_TEXT_BASE - 1,
    USER_TEXT_BASE + 1,
    MAIN_STACK_BASE - 8,
    i64::MAX as u64,
];

/// Calls that return whatever their arguments (or time out quickly).
const CALLS: [Call; 14] = [
    Call::ConsoleWrite,
    Call::SegmentAllocate,
    Call::SegmentFree,
    Call::SyncCreate,
    Call::SyncWait,
    Call::SyncSignal,
    Call::SyncDestroy,
    Call::Await,
    Call::Wakeup,
    Call::SignalSend,
    Call::SignalWait,
    Call::Statistic,
    Call::InterruptAwait,
    Call::IoPortGrant,
];

struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        // xorshift64: deterministic, so a failure can be replayed.
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn argument(&mut self) -> u64 {
        match self.next() % 3 {
            0 => NASTY[(self.next() % NASTY.len() as u64) as usize],
            1 => self.next() % 64,
            _ => self.next(),
        }
    }
}

fn main(env: &Environment) -> i32 {
    let rounds: u64 = env
        .args()
        .get(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000);
    let mut random = Random(0x2545_F491_4F6C_DD1D);
    let (mut ok, mut refused) = (0u64, 0u64);
    for _ in 0..rounds {
        let call = CALLS[(random.next() % CALLS.len() as u64) as usize];
        let mut args = [0u64; 6].map(|_| random.argument());
        match call {
            // Never free what this program runs on: its text and stack segments.
            Call::SegmentFree if args[0] == USER_TEXT_BASE || args[0] == MAIN_STACK_BASE => {
                continue;
            }
            // Short timeouts only, so a wait that is valid returns soon.
            Call::SyncWait | Call::Await | Call::SignalWait | Call::InterruptAwait => {
                args[1] %= 1_000_000
            }
            // A valid pointer would print this program's bytes: aim only at memory it lacks.
            Call::ConsoleWrite => args[0] = NASTY[(random.next() % 10) as usize],
            _ => {}
        }
        // SAFETY: none of these calls can end this process or unmap what it runs on (the
        // SegmentFree cases that could are skipped above); the point is that every hostile
        // pointer is checked by the kernel before use.
        match unsafe { raw::syscall6(call, args) } {
            Ok(_) => ok += 1,
            Err(Error::BadCall) => {
                println!("chaos: FAILED, {call:?} was not recognised");
                return 1;
            }
            Err(_) => refused += 1,
        }
    }
    println!(
        "chaos: {rounds} calls with hostile arguments: {refused} refused, {ok} harmless; the kernel is fine"
    );
    0
}
