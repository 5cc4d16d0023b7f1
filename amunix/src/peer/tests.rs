//! The host peer on an in-memory LAN: the [`Rpc`] calls' meaning (truncation, errors,
//! getreq/putrep), and servers answered while their peer waits for a call of its own.

use super::*;
use crate::medium::memory::{MemoryMedium, lan};
use libamoeba::capability::Capability;
use libamoeba::client;
use libamoeba::rpc::server::serve_one;
use libamoeba::servers::echo::{ECHO, EchoServer};
use std::sync::Arc;
use std::sync::mpsc::channel;
use std::thread;

const GET_PORT: Port = Port([0x47, 1, 2, 3, 4, 5]);

fn two() -> (MemoryMedium, MemoryMedium) {
    let mut media = lan(2);
    let second = media.pop().unwrap();
    (media.pop().unwrap(), second)
}

fn echo_server() -> (EchoServer, Capability) {
    EchoServer::new(put_port(GET_PORT), &mut HostEntropy)
}

/// An echo server answering through getreq/putrep (`serve_one`) for `calls` requests, in a
/// thread; the capability to call it with.
fn serve_by_getreq(medium: MemoryMedium, calls: usize) -> (thread::JoinHandle<()>, Capability) {
    let (send, receive) = channel();
    let handle = thread::spawn(move || {
        let peer = HostPeer::new(medium);
        let (mut server, owner) = echo_server();
        send.send(owner).unwrap();
        let (mut request, mut reply) = (vec![0; 1 << 17], vec![0; 1 << 17]);
        for _ in 0..calls {
            serve_one(&peer, GET_PORT, &mut server, &mut request, &mut reply).unwrap();
        }
    });
    (handle, receive.recv().unwrap())
}

#[test]
fn trans_reaches_a_getreq_server_and_truncates_long_replies() {
    let (near, far) = two();
    let (server, owner) = serve_by_getreq(far, 2);
    let peer = HostPeer::new(near);
    let data: Vec<u8> = (0..3000).map(|i| i as u8).collect();
    let mut back = vec![0; 3000];
    assert_eq!(client::echo(&peer, &owner, &data, &mut back), Ok(3000));
    assert_eq!(back, data);
    let request = Header {
        offset: 77,
        ..Header::request(&owner, ECHO)
    };
    let (mut reply, mut small) = (Header::default(), [0u8; 10]);
    let received = peer.trans(&request, &data[..100], &mut reply, &mut small);
    assert_eq!(received, Ok(Received { len: 10, sent: 100 }));
    assert_eq!((reply.status(), reply.offset), (0, 77));
    assert_eq!(small, data[..10]);
    server.join().unwrap();
}

#[test]
fn attached_servers_answer_while_their_peer_waits_for_its_own_call() {
    let (near, far) = two();
    let (owner_tx, owner_rx) = channel();
    let waiter = thread::spawn(move || {
        let peer = HostPeer::new(far);
        let (server, owner) = echo_server();
        peer.attach(GET_PORT, server);
        owner_tx.send(owner).unwrap();
        peer.set_locate_timeout_ms(1500);
        // Nobody serves this port: the call pumps for the whole locate timeout.
        let nowhere = Header {
            port: Port([9; 6]),
            ..Header::default()
        };
        peer.trans(&nowhere, &[], &mut Header::default(), &mut [])
    });
    let owner = owner_rx.recv().unwrap();
    let peer = HostPeer::new(near);
    for round in 0..10u8 {
        let mut back = [0u8; 1];
        assert_eq!(client::echo(&peer, &owner, &[round], &mut back), Ok(1));
        assert_eq!(back, [round]);
    }
    assert_eq!(waiter.join().unwrap(), Err(ErrorCode::RPC_NOTFOUND));
}

#[test]
fn serve_until_stops_when_told() {
    let (near, far) = two();
    let stop = Arc::new(AtomicBool::new(false));
    let (owner_tx, owner_rx) = channel();
    let server_stop = Arc::clone(&stop);
    let server = thread::spawn(move || {
        let peer = HostPeer::new(far);
        let (server, owner) = echo_server();
        owner_tx.send(owner).unwrap();
        peer.serve(GET_PORT, server, &server_stop);
    });
    let owner = owner_rx.recv().unwrap();
    let peer = HostPeer::new(near);
    assert_eq!(client::echo(&peer, &owner, b"x", &mut [0; 1]), Ok(1));
    stop.store(true, Ordering::Relaxed);
    let started = Instant::now();
    server.join().unwrap();
    assert!(
        started.elapsed() < POLL_INTERVAL * 20,
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn misuse_is_refused_as_the_kernel_refuses_it() {
    let (near, _far) = two();
    let peer = HostPeer::new(near);
    let null = Header::default();
    let (mut reply, mut buffer) = (Header::default(), [0u8; 4]);
    let trans = peer.trans(&null, &[], &mut reply, &mut buffer);
    assert_eq!(trans, Err(ErrorCode::RPC_BADADDRESS));
    let far = Header {
        port: Port([1; 6]),
        ..Header::default()
    };
    let huge = vec![0; MAX_MESSAGE_BYTES + 1];
    let trans = peer.trans(&far, &huge, &mut reply, &mut buffer);
    assert_eq!(trans, Err(ErrorCode::RPC_BADADDRESS));
    assert_eq!(peer.putrep(&null, &[]), Err(ErrorCode::RPC_FAILURE));
    let mut header = Header::default();
    let getreq = peer.getreq(&mut header, &mut buffer);
    assert_eq!(getreq, Err(ErrorCode::RPC_BADADDRESS));
}

#[test]
fn the_locate_timeout_is_the_default_until_set() {
    let (near, _far) = two();
    let peer = HostPeer::new(near);
    assert_eq!(peer.locate_timeout_ms(), DEFAULT_LOCATE_TIMEOUT_MS);
    assert_eq!(peer.set_locate_timeout_ms(300), DEFAULT_LOCATE_TIMEOUT_MS);
    assert_eq!(peer.locate_timeout_ms(), 300);
    let nowhere = Header {
        port: Port([9; 6]),
        ..Header::default()
    };
    let started = Instant::now();
    let trans = peer.trans(&nowhere, &[], &mut Header::default(), &mut []);
    assert_eq!(trans, Err(ErrorCode::RPC_NOTFOUND));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(1300),
        "{took:?}"
    );
}

#[test]
fn peers_have_distinct_addresses() {
    let (near, far) = two();
    assert_ne!(HostPeer::new(near).address(), HostPeer::new(far).address());
}
