//! `ballast MIB [REPORTS]`: fills MIB MiB of heap with a pattern, then every 100 ms checks it
//! all and prints `ballast: N ok` (or `ballast: N CORRUPT` and exit code 1); stops after
//! REPORTS reports (default: runs until killed). A process with that much touched data, to
//! measure a migration by, and to show its memory arrives whole.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::time::Duration;

use amoeba_user::println;
use amoeba_user::thread;
use libamoeba::process::Environment;

amoeba_user::amoeba_main!(main);

fn pattern(index: usize) -> u8 {
    (index.wrapping_mul(31) ^ (index >> 12)) as u8
}

fn main(env: &Environment) -> i32 {
    let args = env.args();
    let Some(mib) = args.get(1).and_then(|m| m.parse::<usize>().ok()) else {
        println!("ballast: usage: ballast MIB [REPORTS]");
        return 2;
    };
    let reports = args.get(2).and_then(|r| r.parse::<u64>().ok());
    let data: Vec<u8> = (0..mib << 20).map(pattern).collect();
    let mut report = 0;
    while reports.is_none_or(|r| report < r) {
        report += 1;
        let whole = data.iter().enumerate().all(|(i, &b)| b == pattern(i));
        if !whole {
            println!("ballast: {report} CORRUPT");
            return 1;
        }
        println!("ballast: {report} ok");
        thread::sleep(Duration::from_millis(100));
    }
    0
}
