//! `caller CAP COUNT`: makes COUNT echo calls (8 bytes each) to the echo server CAP, one after
//! the other, and prints `caller: N of COUNT answered` at the end (and every 100 calls): a
//! client whose calls can be counted against what the server says it ran.
#![no_std]
#![no_main]

use amoeba_user::println;
use amoeba_user::rpc::UserRpc;
use libamoeba::capability::Capability;
use libamoeba::client;
use libamoeba::process::Environment;

amoeba_user::amoeba_main!(main);

fn main(env: &Environment) -> i32 {
    let args = env.args();
    let (Some(cap), Some(count)) = (args.get(1), args.get(2)) else {
        println!("caller: usage: caller CAP COUNT");
        return 2;
    };
    let (Ok(server), Ok(count)) = (cap.parse::<Capability>(), count.parse::<u64>()) else {
        println!("caller: `{cap}` is not a capability or `{count}` not a number");
        return 2;
    };
    let mut answered = 0u64;
    let mut back = [0u8; 8];
    for call in 1..=count {
        let data = call.to_le_bytes();
        let echoed = client::echo(&UserRpc, &server, &data, &mut back);
        if echoed == Ok(8) && back == data {
            answered += 1;
        }
        if call % 100 == 0 {
            println!("caller: {answered} of {call} answered");
        }
    }
    println!("caller: {answered} of {count} answered");
    i32::from(answered != count)
}
