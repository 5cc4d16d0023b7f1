//! `fetch CAP BYTES [CHUNK]`: reads BYTES from the segment or file CAP by BS_READ, CHUNK bytes a
//! call (default 8192, what a migration's reads use), and prints `fetch: N bytes in T us`:
//! one-way bulk RPC between nodes, the baseline a migration's transfer is measured against.
#![no_std]
#![no_main]

extern crate alloc;

use amoeba_user::println;
use amoeba_user::rpc::UserRpc;
use amoeba_user::time;
use libamoeba::capability::Capability;
use libamoeba::client;
use libamoeba::process::Environment;

amoeba_user::amoeba_main!(main);

fn main(env: &Environment) -> i32 {
    let args = env.args();
    let cap = args.get(1).and_then(|c| c.parse::<Capability>().ok());
    let bytes = args.get(2).and_then(|b| b.parse::<u64>().ok());
    let chunk = args
        .get(3)
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(8192);
    let (Some(cap), Some(bytes)) = (cap, bytes) else {
        println!("fetch: usage: fetch CAP BYTES [CHUNK]");
        return 2;
    };
    let mut buffer = alloc::vec![0u8; chunk.clamp(1, 65535)];
    let started = time::now();
    let mut done = 0u64;
    while done < bytes {
        let want = (bytes - done).min(buffer.len() as u64) as usize;
        match client::bs_read(&UserRpc, &cap, done, &mut buffer[..want]) {
            Ok(0) => break,
            Ok(got) => done += got as u64,
            Err(error) => {
                println!("fetch: reading at {done}: {error}");
                return 1;
            }
        }
    }
    let micros = (time::now() - started).as_micros();
    println!("fetch: {done} bytes in {micros} us");
    i32::from(done != bytes)
}
