//! What lets a driver run as a protected process: waiting for its interrupt line, and using the
//! I/O ports it was granted. Only processes the profile marks as drivers (`driver = true`, carried
//! in the boot table) may; the kernel's own devices and the machine's reset ports stay out of
//! reach even for them.

use super::{ProcessId, Scheduler, WaitTarget, Wake, block, with};
use crate::arch::{gdt, pic};
use alloc::boxed::Box;
use libamoeba::syscall::Error;

/// Port ranges the kernel drives itself, or that control the whole machine: never granted.
const KERNEL_PORTS: [(u16, u16); 11] = [
    (0x60, 0x60),   // keyboard controller data
    (0x64, 0x64),   // keyboard controller command (its reset line)
    (0x92, 0x92),   // system control port A (fast reset, A20)
    (0x20, 0x21),   // master 8259
    (0xA0, 0xA1),   // slave 8259
    (0x40, 0x43),   // PIT (TSC calibration)
    (0x61, 0x61),   // PIT gate and speaker
    (0xF4, 0xF7),   // isa-debug-exit
    (0x3F8, 0x3FF), // COM1, the console
    (0x510, 0x511), // QEMU fw_cfg
    (0xCF8, 0xCFF), // PCI configuration (0xCF9: reset control)
];
/// The cascade line connects the two 8259s; it never reaches a driver.
const CASCADE_LINE: u8 = 2;

pub type IoBitmap = Box<[u8; gdt::IO_BITMAP_BYTES]>;

/// Lets the calling user process use ports `first .. first + count`.
pub fn io_port_grant(first: u64, count: u64) -> Result<(), Error> {
    let end = first
        .checked_add(count)
        .filter(|&end| count > 0 && end <= 0x1_0000)
        .ok_or(Error::BadArgument)?;
    let (first, last) = (first as u16, (end - 1) as u16);
    if KERNEL_PORTS
        .iter()
        .any(|&(low, high)| first <= high && low <= last)
    {
        return Err(Error::Denied);
    }
    with(|s| {
        let current = s.current;
        let process = s
            .process_of(current)
            .filter(|p| p.driver)
            .ok_or(Error::Denied)?;
        let bitmap = process
            .io_ports
            .get_or_insert_with(|| Box::new([0xFF; gdt::IO_BITMAP_BYTES]));
        for port in first..=last {
            bitmap[usize::from(port / 8)] &= !(1 << (port % 8));
        }
        let id = process.id;
        s.io_bitmap_owner = None;
        s.load_io_bitmap(id);
        Ok(())
    })
}

impl Scheduler {
    /// Makes the TSS's I/O bitmap that of `process` (nothing granted for most processes).
    pub(super) fn load_io_bitmap(&mut self, process: ProcessId) {
        let ports = self
            .processes
            .get(&process)
            .and_then(|p| p.io_ports.as_deref());
        let owner = ports.map(|_| process);
        if owner != self.io_bitmap_owner {
            gdt::set_io_bitmap(ports);
            self.io_bitmap_owner = owner;
        }
    }

    /// Forgets the interrupt lines `thread` waited on (it timed out or ended).
    pub(super) fn release_lines(&mut self, thread: super::ThreadId) {
        for (line, waiter) in self.line_waiters.iter_mut().enumerate() {
            if *waiter == Some(thread) {
                *waiter = None;
                pic::mask(line as u8);
            }
        }
    }
}

/// Unmasks `line` and blocks the calling thread until it fires (or the timeout passes).
pub fn interrupt_await(line: u64, timeout: Option<u64>) -> Result<(), Error> {
    let line = u8::try_from(line)
        .ok()
        .filter(|&l| l < pic::LINES && l != CASCADE_LINE)
        .ok_or(Error::BadArgument)?;
    with(|s| {
        let current = s.current;
        // Kernel threads (drivers linked into the kernel) and driver processes.
        if !s
            .process_of(current)
            .is_some_and(|p| p.driver || !p.is_user())
        {
            return Err(Error::Denied);
        }
        match s.line_waiters[usize::from(line)] {
            Some(other) if other != current => Err(Error::Denied),
            _ => Ok(()),
        }
    })?;
    let woke = block(WaitTarget::Interrupt(line), timeout, |s, current| {
        s.line_waiters[usize::from(line)] = Some(current);
        pic::unmask(line);
    });
    match woke {
        Wake::Signaled => Ok(()),
        Wake::TimedOut => Err(Error::TimedOut),
    }
}

/// An interrupt from a device line: silence the line until its driver waits again, and wake it.
pub fn device_interrupt(line: u8) {
    pic::mask(line);
    pic::end_of_interrupt(line);
    with(|s| {
        if let Some(thread) = s
            .line_waiters
            .get_mut(usize::from(line))
            .and_then(Option::take)
        {
            s.wake(thread, Wake::Signaled);
        }
    });
    super::preempt_if_needed();
}
