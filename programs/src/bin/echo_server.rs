//! `echo-server [NAME]`: the echo server of `libamoeba::servers::echo` as a process, the very
//! code the kernel runs as a thread when a profile selects `echo`. It publishes its owner
//! capability in the kernel directory as NAME (default `echo-user`) and serves until killed.
//! Where it may not publish (started from another machine, its ROOT is the node's read-only
//! directory) it prints the capability instead, for whoever started it.
#![no_std]
#![no_main]

use amoeba_user::entropy;
use amoeba_user::println;
use amoeba_user::required_capability;
use amoeba_user::rpc::UserRpc;
use libamoeba::capability::Port;
use libamoeba::client;
use libamoeba::oneway::put_port;
use libamoeba::process::Environment;
use libamoeba::process::environment::ROOT;
use libamoeba::random::Entropy;
use libamoeba::rpc::server::serve;
use libamoeba::rpc::transport::MAX_MESSAGE_BYTES;
use libamoeba::servers::echo::EchoServer;

amoeba_user::amoeba_main!(main);

fn main(env: &Environment) -> i32 {
    let name = env.args().get(1).copied().unwrap_or("echo-user");
    let needs = "the profile needs server dir to publish in";
    let Some(root) = required_capability(env, ROOT, "echo-server", needs) else {
        return 1;
    };
    let mut generator = entropy::generator(env);
    let get = Port(generator.nonzero48());
    let (mut server, owner) = EchoServer::new(put_port(get), &mut generator);
    match client::dir_append(&UserRpc, &root, name, &owner) {
        Ok(()) => println!("echo-server: serving as {name}"),
        Err(error) => println!("echo-server: cannot publish {name} ({error}); serving as {owner}"),
    }
    let error = serve(&UserRpc, get, &mut server, MAX_MESSAGE_BYTES);
    println!("echo-server: stopped: {error}");
    1
}
