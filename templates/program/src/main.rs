//! `{{name}} [ARGS...]`: an Amoeba program. It prints a greeting with its arguments, then the
//! node it runs on has it end with exit code 0.
#![no_std]
#![no_main]

extern crate alloc;

use amoeba_user::println;
use libamoeba::process::Environment;

amoeba_user::amoeba_main!(main);

fn main(env: &Environment) -> i32 {
    // argv[0] is the program's name.
    let args = env.args();
    let rest = args.get(1..).unwrap_or_default();
    println!("{{name}}: hello, Amoeba ({} arguments: {})", rest.len(), rest.join(" "));
    0
}
