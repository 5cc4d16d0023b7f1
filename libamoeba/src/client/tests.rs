//! A whole node in memory: every server published in the kernel directory, and a client that
//! starts from the directory's capability alone, as a process does from its ROOT.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;

use super::*;
use crate::capability::{Capability, Port};
use crate::random::SeededGenerator;
use crate::servers::echo::EchoServer;
use crate::servers::loopback::Loopback;
use crate::servers::proc::tests::server as proc_server;
use crate::servers::random::RandomServer;
use crate::servers::sys::tests::FakeKernel;
use crate::servers::sys::{BootAction, SysServer};
use crate::servers::tod::TodServer;
use crate::servers::tod::tests::{FakeClock, NOW};
use crate::servers::tty::TtyServer;
use crate::servers::tty::tests::Recorder;
use crate::soap::server::{Alone, COLUMNS, SoapServer};

/// Every server on its own port, published; the read-only root for the client.
fn node() -> (Loopback, Capability) {
    let entropy = &mut SeededGenerator::new(11);
    let port = |n: u8| Port([n; 6]);
    let mut rpc = Loopback::new();
    let (mut root, root_owner) =
        SoapServer::kernel_directory(port(1), Alone, SeededGenerator::new(12)).unwrap();
    let (sys, _) = SysServer::new(port(2), entropy, FakeKernel::default());
    let published = [
        ("sys", sys.public_capability()),
        (
            "tod",
            add(
                &mut rpc,
                TodServer::new(port(3), entropy, FakeClock(Cell::new(Some(NOW)))),
            ),
        ),
        (
            "random",
            add(
                &mut rpc,
                RandomServer::new(port(4), SeededGenerator::new(1), "seeded generator"),
            ),
        ),
        (
            "tty",
            add(
                &mut rpc,
                TtyServer::new(port(5), entropy, Recorder::default()),
            ),
        ),
        ("echo", add(&mut rpc, EchoServer::new(port(6), entropy))),
    ];
    rpc.add(port(2), sys);
    let (proc, proc_owner) = proc_server();
    root.publish("ps", proc.ps_directory()).unwrap();
    root.publish("proc", proc_owner).unwrap();
    rpc.add(proc_owner.port, proc);
    for (name, cap) in published {
        root.publish(name, cap).unwrap();
    }
    rpc.add(port(1), root);
    let read_only = std_restrict(&rpc, &root_owner, COLUMNS).unwrap();
    (rpc, read_only)
}

fn add<S: crate::rpc::server::Server + 'static>(
    rpc: &mut Loopback,
    (server, owner): (S, Capability),
) -> Capability {
    rpc.add(owner.port, server);
    owner
}

#[test]
fn a_client_reaches_every_server_from_the_root() {
    let (rpc, root) = node();
    let mut names: Vec<String> = dir_list(&rpc, &root)
        .unwrap()
        .into_iter()
        .map(|row| row.0)
        .collect();
    names.sort();
    assert_eq!(names, ["echo", "proc", "ps", "random", "sys", "tod", "tty"]);
    let find = |name| dir_lookup(&rpc, &root, name).unwrap();
    assert_eq!(gettime(&rpc, &find("tod")), Ok(NOW));
    assert_eq!(kstat(&rpc, &find("sys")).map(|stat| stat.threads), Ok(17));
    assert_eq!(
        boot(&rpc, &find("sys"), BootAction::Halt),
        Err(ErrorCode::STD_DENIED)
    );
    let mut bytes = [0; 16];
    assert_eq!(getrandom(&rpc, &find("random"), &mut bytes), Ok(()));
    assert_eq!(tty_write(&rpc, &find("tty"), b"hi\n"), Ok(3));
    assert_eq!(echo(&rpc, &find("echo"), b"ping", &mut bytes), Ok(4));
    assert_eq!(
        ps_getload(&rpc, &find("proc")).map(|load| load.speed_mhz),
        Ok(3000)
    );
    let processes = dir_list(&rpc, &find("ps")).unwrap();
    assert_eq!(processes.len(), 2);
    let mut text = [0; 64];
    assert_eq!(
        std_info(&rpc, &find("tod"), &mut text),
        Ok("time of day server")
    );
}

#[test]
fn the_read_only_root_cannot_be_changed() {
    let (rpc, root) = node();
    let tod = dir_lookup(&rpc, &root, "tod").unwrap();
    assert_eq!(
        dir_append(&rpc, &root, "mine", &tod),
        Err(ErrorCode::STD_DENIED)
    );
    assert_eq!(dir_delete(&rpc, &root, "tod"), Err(ErrorCode::STD_DENIED));
    let forged = Capability {
        rights: 0xff,
        ..root
    };
    assert_eq!(dir_lookup(&rpc, &forged, "tod"), Err(ErrorCode::STD_CAPBAD));
    let nowhere = Capability {
        port: Port([0x42; 6]),
        ..tod
    };
    assert_eq!(gettime(&rpc, &nowhere), Err(ErrorCode::RPC_NOTFOUND));
    assert_eq!(
        gettime(&rpc, &Capability::NULL),
        Err(ErrorCode::RPC_BADADDRESS)
    );
}
