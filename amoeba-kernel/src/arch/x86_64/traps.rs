//! What the kernel does when a vector fires: CPU exceptions are reported and stop the node (or,
//! from ring 3, the process); interrupts go to the timer and the device lines.
//!
//! `trap_entry.s` hands over a [`TrapFrame`] (its layout: `frames`); vector numbers: Intel SDM
//! vol. 3A, table 6-1; the page-fault error code: Intel SDM vol. 3A, 4.7.

use super::frames::TrapFrame;
use super::idt::exception;
use super::user_state::{self, Entry};
use super::{cpu, lapic, pic, power, stacks};
use crate::console;
use core::sync::atomic::{AtomicU64, Ordering};
use libamoeba::boot::ExitCode;

/// Mnemonic and name of each exception vector.
const EXCEPTION_NAMES: [(&str, &str); 22] = [
    ("#DE", "divide error"),
    ("#DB", "debug"),
    ("NMI", "non-maskable interrupt"),
    ("#BP", "breakpoint"),
    ("#OF", "overflow"),
    ("#BR", "bound range exceeded"),
    ("#UD", "invalid opcode"),
    ("#NM", "device not available"),
    ("#DF", "double fault"),
    ("#MF", "coprocessor segment overrun"),
    ("#TS", "invalid TSS"),
    ("#NP", "segment not present"),
    ("#SS", "stack-segment fault"),
    ("#GP", "general protection"),
    ("#PF", "page fault"),
    ("--", "reserved"),
    ("#MF", "x87 floating-point error"),
    ("#AC", "alignment check"),
    ("#MC", "machine check"),
    ("#XM", "SIMD floating-point exception"),
    ("#VE", "virtualization exception"),
    ("#CP", "control protection"),
];

fn exception_name(vector: usize) -> (&'static str, &'static str) {
    EXCEPTION_NAMES
        .get(vector)
        .copied()
        .unwrap_or(("--", "reserved"))
}

static INTERRUPTS: AtomicU64 = AtomicU64::new(0);

/// Interrupts taken since boot (exceptions not counted): an idle node adds none.
pub fn interrupt_count() -> u64 {
    INTERRUPTS.load(Ordering::Relaxed)
}

/// Called by `trap_common` for every vector.
#[unsafe(no_mangle)]
extern "C" fn trap_dispatch(frame: &mut TrapFrame) {
    let vector = frame.vector as usize;
    if frame.cs & 3 == 3 {
        user_state::note(Entry::Interrupt);
    }
    if vector < exception::COUNT {
        // NMI and machine check concern the machine, not the interrupted process.
        let machine_event = vector == exception::NMI || vector == exception::MACHINE_CHECK;
        if frame.cs & 3 == 3 && !machine_event {
            user_exception(frame);
        }
        kernel_exception(frame);
    }
    INTERRUPTS.fetch_add(1, Ordering::Relaxed);
    match vector as u8 {
        lapic::TIMER_VECTOR => {
            lapic::end_of_interrupt();
            crate::sched::timer_interrupt();
        }
        lapic::SPURIOUS_VECTOR => {}
        line if (pic::MASTER_VECTOR_BASE..pic::MASTER_VECTOR_BASE + pic::LINES).contains(&line) => {
            crate::sched::device_interrupt(line - pic::MASTER_VECTOR_BASE);
        }
        _ => {
            lapic::end_of_interrupt();
            log::warn!("unexpected interrupt on vector {vector:#x}");
        }
    }
    if frame.cs & 3 == 3 && crate::sched::stun_requested() {
        crate::sched::park_if_stunned();
    }
}

/// A fault in ring 3 ends that process, not the node.
fn user_exception(frame: &TrapFrame) -> ! {
    let vector = frame.vector as usize;
    let (mnemonic, name) = exception_name(vector);
    let detail = if vector == exception::PAGE_FAULT {
        let (access, cause) = page_fault_kind(frame.error_code);
        alloc::format!(": {access} at {:#x}, {cause}", cpu::cr2())
    } else {
        alloc::string::String::new()
    };
    let reason = alloc::format!("{mnemonic} {name}{detail} at rip={:#x}", frame.rip);
    crate::sched::abort_current(&reason)
}

fn kernel_exception(frame: &TrapFrame) -> ! {
    let vector = frame.vector as usize;
    let (mnemonic, name) = exception_name(vector);
    let cr2 = cpu::cr2();
    console::emergency(format_args!(
        "\nkernel: CPU exception {vector} ({mnemonic} {name}) error={:#x} rip={:#018x} cr2={cr2:#018x}\n",
        frame.error_code, frame.rip
    ));
    if vector == exception::PAGE_FAULT {
        explain_page_fault(frame.error_code, cr2);
    }
    if vector == exception::PAGE_FAULT || vector == exception::DOUBLE_FAULT {
        explain_stack_overflow(cr2);
    }
    dump_registers(frame);
    console::emergency(format_args!("kernel: stopping the node\n"));
    power::exit(ExitCode::CpuException)
}

/// The access and the cause a page fault's error code describes (Intel SDM vol. 3A, 4.7).
fn page_fault_kind(error_code: u64) -> (&'static str, &'static str) {
    let access = match (error_code & 0x2 != 0, error_code & 0x10 != 0) {
        (_, true) => "instruction fetch",
        (true, false) => "write",
        (false, false) => "read",
    };
    let cause = if error_code & 0x1 != 0 {
        "protection violation"
    } else {
        "page not present"
    };
    (access, cause)
}

fn explain_page_fault(error_code: u64, cr2: u64) {
    let (access, cause) = page_fault_kind(error_code);
    console::emergency(format_args!(
        "kernel: page fault: {access} at {cr2:#x}, {cause}\n"
    ));
}

/// A fault address on a guard page means a kernel stack overflowed; the CPU then cannot push the
/// page fault's frame either, and reports a double fault with CR2 still set.
fn explain_stack_overflow(cr2: u64) {
    if crate::mm::kstack::is_guard(cr2) {
        console::emergency(format_args!(
            "kernel: stack overflow: a thread's kernel stack ran into its guard pages at {cr2:#x}\n"
        ));
    }
    if let Some(guard) = stacks::guard_page_at(cr2 as usize) {
        console::emergency(format_args!(
            "kernel: stack overflow: the {} stack ran into its guard page at {:#x}\n",
            guard.stack, guard.address
        ));
    }
}

fn dump_registers(f: &TrapFrame) {
    let rows = [
        [("rax", f.rax), ("rbx", f.rbx), ("rcx", f.rcx)],
        [("rdx", f.rdx), ("rsi", f.rsi), ("rdi", f.rdi)],
        [("rbp", f.rbp), ("rsp", f.rsp), ("r8 ", f.r8)],
        [("r9 ", f.r9), ("r10", f.r10), ("r11", f.r11)],
        [("r12", f.r12), ("r13", f.r13), ("r14", f.r14)],
        [("r15", f.r15), ("rfl", f.rflags), ("cr3", cpu::cr3())],
    ];
    for [(n0, v0), (n1, v1), (n2, v2)] in rows {
        console::emergency(format_args!(
            "  {n0}={v0:#018x} {n1}={v1:#018x} {n2}={v2:#018x}\n"
        ));
    }
    console::emergency(format_args!("  cs={:#x} ss={:#x}\n", f.cs, f.ss));
}
