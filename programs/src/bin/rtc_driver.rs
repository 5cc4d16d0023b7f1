//! `rtc-driver`: a driver as a protected process. It asks for the CMOS clock's ports, shows that
//! a port the kernel drives (COM1) is refused, switches on the clock's periodic interrupt
//! (IRQ 8, MC146818A register B bit 6, rate 15 = 2 Hz in register A) and waits for it three times
//! with `interrupt_await`, acknowledging each by reading register C.
#![no_std]
#![no_main]

use core::time::Duration;

use amoeba_user::device::{grant_ports, inb, interrupt_await, outb};
use amoeba_user::println;
use libamoeba::process::Environment;

amoeba_user::amoeba_main!(main);

const INDEX: u16 = 0x70;
const DATA: u16 = 0x71;
const RTC_LINE: u8 = 8;
const INTERRUPTS: u32 = 3;

fn read(register: u8) -> u8 {
    // SAFETY: ports 0x70/0x71 were granted before any call; reading a CMOS register only
    // selects it and returns its value (register C also acknowledges the interrupt, as wanted).
    unsafe {
        outb(INDEX, register);
        inb(DATA)
    }
}

fn write(register: u8, value: u8) {
    // SAFETY: as in `read`; only registers A and B are written, with valid rate and enable bits.
    unsafe {
        outb(INDEX, register);
        outb(DATA, value);
    }
}

fn main(_env: &Environment) -> i32 {
    if let Err(error) = grant_ports(INDEX, 2) {
        println!("rtc-driver: CMOS ports refused: {error:?}");
        return 1;
    }
    println!("rtc-driver: COM1 grant: {:?}", grant_ports(0x3F8, 8));
    write(0x0A, (read(0x0A) & 0xF0) | 0x0F);
    write(0x0B, read(0x0B) | 0x40);
    let mut received = 0;
    for _ in 0..INTERRUPTS {
        match interrupt_await(RTC_LINE, Some(Duration::from_secs(2))) {
            Ok(()) => {
                received += 1;
                read(0x0C);
            }
            Err(error) => println!("rtc-driver: waiting for IRQ 8: {error:?}"),
        }
    }
    write(0x0B, read(0x0B) & !0x40);
    println!("rtc-driver: {received} of {INTERRUPTS} clock interrupts received");
    if received == INTERRUPTS { 0 } else { 1 }
}
