//! `ps`: lists the node's processes from the `ps` directory of the kernel directory, with what
//! the process server says of each (STD_INFO).
#![no_std]
#![no_main]

use amoeba_user::println;
use amoeba_user::required_capability;
use amoeba_user::rpc::UserRpc;
use libamoeba::client;
use libamoeba::process::Environment;
use libamoeba::process::environment::ROOT;

amoeba_user::amoeba_main!(main);

fn main(env: &Environment) -> i32 {
    let needs = "the profile needs servers dir and proc";
    let Some(root) = required_capability(env, ROOT, "ps", needs) else {
        return 1;
    };
    let processes =
        client::dir_lookup(&UserRpc, &root, "ps").and_then(|ps| client::dir_list(&UserRpc, &ps));
    let processes = match processes {
        Ok(processes) => processes,
        Err(error) => {
            println!("ps: cannot list processes: {error}");
            return 1;
        }
    };
    println!("ps: {} processes", processes.len());
    for (pid, cap) in &processes {
        let mut buffer = [0u8; 160];
        match client::std_info(&UserRpc, cap, &mut buffer) {
            Ok(info) => println!("ps: {pid:>5}  {info}  {cap}"),
            Err(error) => println!("ps: {pid:>5}  ({error})"),
        }
    }
    0
}
