//! `stall-server`: publishes itself as `stall`, takes one request and never answers, so a test
//! can kill it mid-call and see its client fail cleanly, or stun a client that never gets its
//! reply. Where it may not publish (started from another machine, its ROOT is the node's
//! read-only directory) it prints its capability instead.
#![no_std]
#![no_main]

use amoeba_user::println;
use amoeba_user::required_capability;
use amoeba_user::rpc::UserRpc;
use amoeba_user::{entropy, thread};
use core::time::Duration;
use libamoeba::capability::Port;
use libamoeba::client;
use libamoeba::oneway::put_port;
use libamoeba::process::Environment;
use libamoeba::process::environment::ROOT;
use libamoeba::random::Entropy;
use libamoeba::rights::owner_capability;
use libamoeba::rpc::header::Header;
use libamoeba::rpc::transport::Rpc;

amoeba_user::amoeba_main!(main);

fn main(env: &Environment) -> i32 {
    let needs = "the profile needs server dir to publish in";
    let Some(root) = required_capability(env, ROOT, "stall-server", needs) else {
        return 1;
    };
    let mut generator = entropy::generator(env);
    let get = Port(generator.nonzero48());
    let Ok(cap) = owner_capability(put_port(get), 0, generator.nonzero48()) else {
        return 1;
    };
    if let Err(error) = client::dir_append(&UserRpc, &root, "stall", &cap) {
        println!("stall-server: cannot publish stall ({error}); serving as {cap}");
    }
    let mut header = Header {
        port: get,
        ..Header::default()
    };
    match UserRpc.getreq(&mut header, &mut []) {
        Ok(_) => println!("stall-server: took a request; not answering"),
        Err(error) => println!("stall-server: getreq failed: {error}"),
    }
    loop {
        thread::sleep(Duration::from_secs(1));
    }
}
