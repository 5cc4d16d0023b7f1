//! `lines`: reads lines typed at its TTY and answers each with `lines: N: TEXT`, until a line
//! `quit` or the end of input; exits with the number of lines read (a program that reads).
#![no_std]
#![no_main]

use amoeba_user::console::LineReader;
use amoeba_user::println;
use libamoeba::process::Environment;

amoeba_user::amoeba_main!(main);

fn main(_env: &Environment) -> i32 {
    let mut count = 0;
    let mut line = [0u8; 200];
    let mut reader = LineReader::new();
    while let Some(len) = reader.next_line(&mut line) {
        let text = core::str::from_utf8(&line[..len]).unwrap_or("(not UTF-8)");
        if text == "quit" {
            break;
        }
        count += 1;
        println!("lines: {count}: {text}");
    }
    println!("lines: {count} lines");
    count
}
