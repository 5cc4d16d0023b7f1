//! The CMOS real-time clock, read once at boot for the node's wall-clock time.
//!
//! Registers: Motorola MC146818A datasheet (seconds 0x00, minutes 0x02, hours 0x04, day 0x07,
//! month 0x08, year 0x09; status A bit 7 = update in progress; status B bit 2 = binary rather
//! than BCD, bit 1 = 24-hour mode); the century at 0x32 is the PC/AT convention. The index port
//! 0x70 also gates NMI (bit 7); we leave NMI enabled.

use crate::arch::cpu;
use crate::arch::port::{inb, outb};
use core::sync::atomic::{AtomicU64, Ordering};
use libamoeba::time::CivilTime;

/// Unix seconds the clock read at boot (0: not read or not valid), and the TSC at that read.
static BOOT_UNIX_SECONDS: AtomicU64 = AtomicU64::new(0);
static BOOT_TSC: AtomicU64 = AtomicU64::new(0);

const INDEX_PORT: u16 = 0x70;
const DATA_PORT: u16 = 0x71;
const STATUS_A: u8 = 0x0A;
const STATUS_B: u8 = 0x0B;
const UPDATE_IN_PROGRESS: u8 = 0x80;
const BINARY_MODE: u8 = 0x04;
const HOUR_24: u8 = 0x02;
const PM_BIT: u8 = 0x80;
const CENTURY: u8 = 0x32;

fn read_register(index: u8) -> u8 {
    // SAFETY: ports 0x70/0x71 are the CMOS index and data ports, owned by this driver; reading a
    // clock register has no side effect.
    unsafe {
        outb(INDEX_PORT, index);
        inb(DATA_PORT)
    }
}

fn raw_fields() -> [u8; 7] {
    while read_register(STATUS_A) & UPDATE_IN_PROGRESS != 0 {}
    [0x00, 0x02, 0x04, 0x07, 0x08, 0x09, CENTURY].map(read_register)
}

fn from_bcd(value: u8) -> u8 {
    (value >> 4) * 10 + (value & 0x0F)
}

/// Reads the clock twice until two readings agree, so an update between fields cannot tear it.
fn read_time() -> CivilTime {
    let mut fields = raw_fields();
    loop {
        let again = raw_fields();
        if again == fields {
            break;
        }
        fields = again;
    }
    let status = read_register(STATUS_B);
    let decode = |value: u8| {
        if status & BINARY_MODE != 0 {
            value
        } else {
            from_bcd(value)
        }
    };
    let [second, minute, hour, day, month, year, century] = fields;
    let pm = hour & PM_BIT != 0;
    let mut hour = decode(hour & !PM_BIT);
    if status & HOUR_24 == 0 {
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    let century = match decode(century) {
        19..=99 => u16::from(decode(century)),
        _ => 20,
    };
    CivilTime {
        year: century * 100 + u16::from(decode(year)),
        month: decode(month),
        day: decode(day),
        hour,
        minute: decode(minute),
        second: decode(second),
    }
}

/// Reads and logs the wall-clock time.
#[inline(never)] // one symbol per component: image checks find selected drivers by name
pub fn init() {
    let time = read_time();
    match time.unix_seconds() {
        Some(seconds) => {
            BOOT_TSC.store(cpu::rdtsc(), Ordering::Relaxed);
            BOOT_UNIX_SECONDS.store(seconds, Ordering::Relaxed);
            log::info!("rtc: {time} (unix time {seconds})")
        }
        None => log::warn!("rtc: the clock reads {time:?}, which is not a valid time; ignored"),
    }
}

/// The wall-clock time now, in Unix seconds and nanoseconds: the boot reading advanced by the
/// TSC (the clock is read once; a one-second reading error stays). `None` if the clock was not
/// valid at boot.
#[cfg(feature = "server-tod")]
pub fn unix_time_now() -> Option<(u64, u32)> {
    let seconds = BOOT_UNIX_SECONDS.load(Ordering::Relaxed);
    let hz = crate::arch::tsc::frequency();
    if seconds == 0 || hz == 0 {
        return None;
    }
    let elapsed = cpu::rdtsc().saturating_sub(BOOT_TSC.load(Ordering::Relaxed));
    let nanos = u128::from(elapsed) * 1_000_000_000 / u128::from(hz);
    let total = u128::from(seconds) * 1_000_000_000 + nanos;
    Some((
        (total / 1_000_000_000) as u64,
        (total % 1_000_000_000) as u32,
    ))
}
