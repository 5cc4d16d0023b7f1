//! `idle-check`: reads the kernel's interrupt count, sleeps 3 s, reads it again and prints
//! `idle-check: N interrupts in 3 s`. On an otherwise idle tickless node N is about 1 (the
//! timer that ends the sleep).
#![no_std]
#![no_main]

use core::time::Duration;

use amoeba_user::println;
use amoeba_user::{stat, thread};
use libamoeba::process::Environment;
use libamoeba::syscall::Statistic;

amoeba_user::amoeba_main!(main);

fn main(_env: &Environment) -> i32 {
    let before = stat(Statistic::Interrupts);
    thread::sleep(Duration::from_secs(3));
    let after = stat(Statistic::Interrupts);
    println!(
        "idle-check: {} interrupts in 3 s",
        after.wrapping_sub(before)
    );
    0
}
