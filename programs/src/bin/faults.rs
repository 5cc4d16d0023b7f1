//! `faults KIND`: breaks one rule of protection on purpose, so tests can see the kernel abort
//! the process (and only it). Prints `faults: about to KIND` first. Kinds:
//!
//! - `null`: reads address 0;
//! - `write-text`: writes into its own code;
//! - `exec-data`: jumps into a data segment (a `ret` written there);
//! - `privileged`: executes `hlt`, which ring 3 may not;
//! - `divide`: divides by zero with `div`.
//!
//! Each fault is made with inline assembly: the same accesses in Rust would be undefined
//! behaviour the compiler may remove. If the process is still running afterwards it says so and
//! exits with 1.
#![no_std]
#![no_main]

use core::arch::asm;

use amoeba_user::println;
use amoeba_user::segment;
use libamoeba::process::Environment;

amoeba_user::amoeba_main!(main);

const KINDS: &str = "null, write-text, exec-data, privileged, divide";

fn main(env: &Environment) -> i32 {
    let Some(&kind) = env.args().get(1) else {
        println!("faults: which fault? one of {KINDS}");
        return 2;
    };
    let fault: fn() = match kind {
        "null" => read_null,
        "write-text" => write_text,
        "exec-data" => exec_data,
        "privileged" => privileged,
        "divide" => divide,
        _ => {
            println!("faults: unknown kind {kind:?}; one of {KINDS}");
            return 2;
        }
    };
    println!("faults: about to {kind}");
    fault();
    println!("faults: {kind} did not fault: FAILED");
    1
}

fn read_null() {
    // SAFETY: reading address 0 faults (the first page is never mapped); the kernel ends the
    // process, so no Rust code observes a value.
    unsafe { asm!("mov {0}, qword ptr [{1}]", out(reg) _, in(reg) 0usize, options(nostack)) };
}

fn write_text() {
    let code = main as fn(&Environment) -> i32 as usize;
    // SAFETY: text is mapped read-only, so the write faults and the kernel ends the process
    // before the changed byte could run.
    unsafe { asm!("mov byte ptr [{0}], 0xC3", in(reg) code, options(nostack)) };
}

fn exec_data() {
    let Ok(data) = segment::allocate(4096) else {
        println!("faults: no data segment: FAILED");
        return;
    };
    // SAFETY: the segment is ours, fresh and at least a page long.
    unsafe { data.as_ptr().write_volatile(0xC3) }; // `ret`
    // SAFETY: data segments are mapped no-execute, so fetching the `ret` faults and the kernel
    // ends the process; if it did run, `ret` would return here as from any call.
    unsafe { asm!("call {0}", in(reg) data.as_ptr(), clobber_abi("C")) };
}

fn privileged() {
    // SAFETY: `hlt` in ring 3 raises #GP; the kernel ends the process.
    unsafe { asm!("hlt", options(nomem, nostack)) };
}

fn divide() {
    // SAFETY: dividing by zero raises #DE; the kernel ends the process.
    unsafe {
        asm!(
            "div {0}",
            in(reg) 0u64,
            inout("rax") 1u64 => _,
            inout("rdx") 0u64 => _,
            options(nomem, nostack),
        );
    }
}
