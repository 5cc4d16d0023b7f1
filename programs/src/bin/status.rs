//! `status N [WORDS...]`: prints `status: WORDS...` and exits with status N (0 without N): a
//! program whose end its owner can tell from others'.
#![no_std]
#![no_main]

extern crate alloc;

use amoeba_user::println;
use libamoeba::process::Environment;

amoeba_user::amoeba_main!(main);

fn main(env: &Environment) -> i32 {
    let args = env.args();
    let Some(first) = args.get(1) else {
        return 0;
    };
    let Ok(status) = first.parse::<i32>() else {
        println!("status: `{first}` is not a number; usage: status N [WORDS...]");
        return 2;
    };
    println!("status: {}", args.get(2..).unwrap_or_default().join(" "));
    status
}
