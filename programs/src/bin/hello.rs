//! `hello [ARGS...]`: prints `hello from NAME ARGS...` (NAME is its own name, argv[0]).
#![no_std]
#![no_main]

extern crate alloc;

use amoeba_user::println;
use libamoeba::process::Environment;

amoeba_user::amoeba_main!(main);

fn main(env: &Environment) -> i32 {
    println!("hello from {}", env.args().join(" "));
    0
}
