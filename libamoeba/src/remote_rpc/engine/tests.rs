//! Scripted exchanges between a client and a server engine, message by message.

use super::*;
use crate::remote_rpc::header::DecodeError;
use crate::remote_rpc::tid_table::MAX_LIVE_TRANSACTIONS;
use crate::remote_rpc::timers::{
    ALIVE_TIMEOUT_MS, ENQUIRE_INTERVAL_MS, LOCATE_REBROADCAST_MS, retransmit_window,
};
use crate::rpc::header::Header;
use crate::rpc::transport::DEFAULT_LOCATE_TIMEOUT_MS;

const CLIENT: FlipAddress = FlipAddress([0xc0; 8]);
const SERVER: FlipAddress = FlipAddress([0x5e; 8]);
const OTHER_SERVER: FlipAddress = FlipAddress([0x50; 8]);
const THREAD: u32 = 7;

fn port() -> Port {
    Port([0x95, 0xa8, 0xd7, 0x28, 0x13, 0xda])
}

fn serves_port(p: Port) -> bool {
    p == port()
}

fn serves_nothing(_: Port) -> bool {
    false
}

fn engine(byte: u8) -> Engine<u32> {
    Engine::new(KernelId([byte; 8]))
}

fn request(data: &[u8]) -> Message {
    Message {
        header: Header {
            port: port(),
            command: 2006,
            ..Header::default()
        },
        data: data.to_vec(),
    }
}

fn reply(data: &[u8]) -> Message {
    Message {
        header: Header::default(),
        data: data.to_vec(),
    }
}

/// The only action, which must be a send: its address and decoded packet.
fn sent(actions: &[Action<u32>]) -> (FlipAddress, Packet) {
    match actions {
        [Action::Send { to, bytes }] => (*to, Packet::decode(bytes).unwrap()),
        other => panic!("expected one send, got {other:?}"),
    }
}

fn bytes_of(action: &Action<u32>) -> &[u8] {
    match action {
        Action::Send { bytes, .. } | Action::Broadcast { bytes } => bytes,
        other => panic!("not a transmission: {other:?}"),
    }
}

fn kind_of(action: &Action<u32>) -> MessageType {
    Packet::decode(bytes_of(action)).unwrap().rpc.kind
}

/// Starts a transaction on `client` and plays locate and request through to `server`;
/// returns the server's delivery and the REQUEST's bytes.
fn deliver(
    client: &mut Engine<u32>,
    server: &mut Engine<u32>,
    data: &[u8],
) -> (RemoteRequest, Message, Vec<u8>) {
    let locate = client
        .trans_start(THREAD, request(data), DEFAULT_LOCATE_TIMEOUT_MS, 0)
        .unwrap();
    let here_is = server.on_message(CLIENT, bytes_of(&locate[0]), &serves_port, 0);
    let request = client.on_message(SERVER, bytes_of(&here_is[0]), &serves_port, 0);
    let request_bytes = bytes_of(&request[0]).to_vec();
    match &server.on_message(CLIENT, &request_bytes, &serves_port, 0)[..] {
        [Action::Deliver { request, message }] => (*request, message.clone(), request_bytes),
        other => panic!("expected a delivery, got {other:?}"),
    }
}

#[test]
fn locate_request_reply_ack() {
    let (mut client, mut server) = (engine(1), engine(2));
    let actions = client
        .trans_start(THREAD, request(b"ping"), DEFAULT_LOCATE_TIMEOUT_MS, 0)
        .unwrap();
    let [Action::Broadcast { bytes }] = &actions[..] else {
        panic!("expected a locate broadcast, got {actions:?}");
    };
    let locate = Packet::decode(bytes).unwrap();
    assert_eq!(locate.rpc.kind, MessageType::Locate);
    assert_eq!(
        (locate.rpc.port, locate.rpc.flags),
        (port(), Flags::REQUEST)
    );
    assert_eq!(locate.rpc.kernel, client.kernel());

    let (to, here_is) = sent(&server.on_message(CLIENT, bytes, &serves_port, 0));
    assert_eq!((to, here_is.rpc.kind), (CLIENT, MessageType::HereIs));
    let (to, req) = sent(&client.on_message(SERVER, &here_is.encode(), &serves_port, 1));
    assert_eq!(
        (to, req.rpc.kind, req.rpc.tid),
        (SERVER, MessageType::Request, 1)
    );
    assert_eq!(req.message, request(b"ping"));

    let delivered = server.on_message(CLIENT, &req.encode(), &serves_port, 2);
    let [
        Action::Deliver {
            request: handle,
            message,
        },
    ] = &delivered[..]
    else {
        panic!("expected a delivery, got {delivered:?}");
    };
    assert_eq!(message, &request(b"ping"));
    let (to, answer) = sent(&server.reply(*handle, reply(b"pong"), 3));
    assert_eq!(
        (to, answer.rpc.kind, answer.rpc.flags),
        (CLIENT, MessageType::Reply, Flags::REPLY)
    );

    let done = client.on_message(SERVER, &answer.encode(), &serves_port, 4);
    assert_eq!(done.len(), 2);
    assert_eq!(kind_of(&done[0]), MessageType::Ack);
    assert_eq!(
        done[1],
        Action::Complete {
            client: THREAD,
            result: Ok(reply(b"pong"))
        }
    );
    assert!(server.next_deadline().is_some(), "reply awaits its ACK");
    assert!(
        server
            .on_message(CLIENT, bytes_of(&done[0]), &serves_port, 5)
            .is_empty()
    );
    assert_eq!(server.next_deadline(), None);
    assert_eq!(client.next_deadline(), None);
    assert_eq!(
        (client.counts().completed, server.counts().executed),
        (1, 1)
    );
}

#[test]
fn a_located_port_is_cached() {
    let (mut client, mut server) = (engine(1), engine(2));
    deliver(&mut client, &mut server, b"first");
    client.trans_cancel(THREAD);
    assert_eq!(client.cached_ports(), 1);
    let (to, next) = sent(&client.trans_start(THREAD, request(b""), 5200, 10).unwrap());
    assert_eq!(
        (to, next.rpc.kind, next.rpc.tid),
        (SERVER, MessageType::Request, 2)
    );
    // A second HEREIS nobody waits for does not touch the cache.
    let stray = Packet::control(RpcHeader::new(
        KernelId([9; 8]),
        MessageType::HereIs,
        port(),
        1,
    ));
    assert!(
        client
            .on_message(OTHER_SERVER, &stray.encode(), &serves_port, 11)
            .is_empty()
    );
    assert_eq!(client.counts().ignored, 1);
}

#[test]
fn duplicates_get_alive_then_the_reply_then_fail_and_never_run_twice() {
    let (mut client, mut server) = (engine(1), engine(2));
    let (handle, _, request_bytes) = deliver(&mut client, &mut server, b"x");
    let duplicate = |server: &mut Engine<u32>, now| {
        let actions = server.on_message(CLIENT, &request_bytes, &serves_port, now);
        sent(&actions).1.rpc.kind
    };
    assert_eq!(duplicate(&mut server, 1), MessageType::Alive);
    let first = server.reply(handle, reply(b"y"), 2);
    assert_eq!(duplicate(&mut server, 3), MessageType::Reply);
    let ack = client.on_message(SERVER, bytes_of(&first[0]), &serves_port, 4);
    server.on_message(CLIENT, bytes_of(&ack[0]), &serves_port, 5);
    assert_eq!(duplicate(&mut server, 6), MessageType::Fail);
    assert_eq!(server.counts().executed, 1);
    // A reply for a transaction no longer executing is ignored.
    assert!(server.reply(handle, reply(b"again"), 7).is_empty());
}

#[test]
fn a_silent_server_fails_the_request_after_ten_retransmissions() {
    let mut client = engine(1);
    // Cache the port, then lose every message from now on.
    deliver(&mut client, &mut engine(2), b"warm the cache");
    client.trans_cancel(THREAD);
    let first = client
        .trans_start(THREAD, request(b"lost"), 5200, 0)
        .unwrap();
    assert_eq!(kind_of(&first[0]), MessageType::Request);
    let mut retransmits = Vec::new();
    let (now, outcome) = loop {
        let now = client.next_deadline().unwrap();
        let actions = client.on_timer(now);
        match &actions[..] {
            [Action::Complete { result, .. }] => break (now, result.clone()),
            [send] => {
                let packet = Packet::decode(bytes_of(send)).unwrap();
                assert!(packet.rpc.flags.contains(Flags::RETRANS));
                retransmits.push(now);
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(outcome, Err(ErrorCode::RPC_FAILURE));
    assert_eq!(retransmits.len(), MAX_RETRIES as usize);
    assert_eq!(&retransmits[..4], [100, 300, 700, 1500]);
    assert_eq!(now, retransmit_window());
    assert_eq!(client.cached_ports(), 0, "a dead server is located afresh");
}

#[test]
fn a_slow_server_is_enquired_and_a_dead_one_fails_after_the_alive_timeout() {
    let (mut client, mut server) = (engine(1), engine(2));
    let (_, _, request_bytes) = deliver(&mut client, &mut server, b"slow");
    let alive = server.on_message(CLIENT, &request_bytes, &serves_port, 50);
    assert!(
        client
            .on_message(SERVER, bytes_of(&alive[0]), &serves_port, 50)
            .is_empty()
    );
    // Enquiries every second, answered with ALIVE while the server works.
    let enquiry = client.on_timer(50 + ENQUIRE_INTERVAL_MS);
    assert_eq!(sent(&enquiry).1.rpc.kind, MessageType::Enquire);
    let answer = server.on_message(CLIENT, bytes_of(&enquiry[0]), &serves_port, 1050);
    assert_eq!(sent(&answer).1.rpc.kind, MessageType::Alive);
    client.on_message(SERVER, bytes_of(&answer[0]), &serves_port, 1050);
    // Then the server node dies: enquiries go unanswered until the ALIVE timeout.
    let (now, outcome) = loop {
        let now = client.next_deadline().unwrap();
        if let [Action::Complete { result, .. }] = &client.on_timer(now)[..] {
            break (now, result.clone());
        }
    };
    assert_eq!(outcome, Err(ErrorCode::RPC_FAILURE));
    assert_eq!(now, 1050 + ALIVE_TIMEOUT_MS);
}

#[test]
fn an_unanswered_locate_is_rebroadcast_then_not_found() {
    let mut client = engine(1);
    client.trans_start(THREAD, request(b""), 2000, 0).unwrap();
    let mut broadcasts = Vec::new();
    let outcome = loop {
        let now = client.next_deadline().unwrap();
        match &client.on_timer(now)[..] {
            [Action::Broadcast { .. }] => broadcasts.push(now),
            [Action::Complete { result, .. }] => break (now, result.clone()),
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(broadcasts, [500, 1000, 1500]);
    assert_eq!(broadcasts[0], LOCATE_REBROADCAST_MS);
    assert_eq!(outcome, (2000, Err(ErrorCode::RPC_NOTFOUND)));
    assert_eq!(client.counts().not_found, 1);
}

#[test]
fn a_refused_port_is_located_again_under_a_fresh_id_and_never_runs_at_the_refuser() {
    let (mut client, mut old_server, mut new_server) = (engine(1), engine(2), engine(3));
    // Cache the port at SERVER, then let that server stop serving it.
    let (handle, _, _) = deliver(&mut client, &mut old_server, b"first");
    let answer = old_server.reply(handle, reply(b""), 0);
    client.on_message(SERVER, bytes_of(&answer[0]), &serves_port, 0);

    let (_, stale) = sent(
        &client
            .trans_start(THREAD, request(b"second"), 5200, 10)
            .unwrap(),
    );
    let nak = old_server.on_message(CLIENT, &stale.encode(), &serves_nothing, 10);
    assert_eq!(sent(&nak).1.rpc.kind, MessageType::Nak);
    let relocate = client.on_message(SERVER, bytes_of(&nak[0]), &serves_port, 11);
    let [Action::Broadcast { bytes }] = &relocate[..] else {
        panic!("expected a locate, got {relocate:?}");
    };
    let locate = Packet::decode(bytes).unwrap();
    assert_ne!(locate.rpc.tid, stale.rpc.tid, "a fresh transaction id");
    let here_is = new_server.on_message(CLIENT, bytes, &serves_port, 12);
    let (to, req) = sent(&client.on_message(OTHER_SERVER, bytes_of(&here_is[0]), &serves_port, 12));
    assert_eq!((to, req.rpc.tid), (OTHER_SERVER, locate.rpc.tid));
    let delivered = new_server.on_message(CLIENT, &req.encode(), &serves_port, 13);
    assert!(matches!(delivered[..], [Action::Deliver { .. }]));
    // A late copy of the refused request reaches the old server, which serves the port again.
    let late = old_server.on_message(CLIENT, &stale.encode(), &serves_port, 14);
    assert_eq!(sent(&late).1.rpc.kind, MessageType::Nak);
    assert_eq!(
        old_server.counts().executed,
        1,
        "only the first transaction"
    );
}

#[test]
fn a_reply_is_retransmitted_until_acknowledged_then_given_up() {
    let (mut client, mut server) = (engine(1), engine(2));
    let (handle, _, request_bytes) = deliver(&mut client, &mut server, b"");
    server.reply(handle, reply(b"lost"), 0);
    let mut copies = 0;
    while let Some(now) = server.next_deadline() {
        for action in server.on_timer(now) {
            assert_eq!(kind_of(&action), MessageType::Reply);
            copies += 1;
        }
    }
    assert_eq!(copies, MAX_RETRIES);
    let late = server.on_message(CLIENT, &request_bytes, &serves_port, 100_000);
    assert_eq!(sent(&late).1.rpc.kind, MessageType::Fail);
    let outcome = client.on_message(SERVER, bytes_of(&late[0]), &serves_port, 100_000);
    assert!(matches!(
        &outcome[..],
        [Action::Complete {
            result: Err(ErrorCode::RPC_FAILURE),
            ..
        }]
    ));
}

#[test]
fn bad_calls_are_refused_at_once() {
    let mut client = engine(1);
    let mut null = request(b"");
    null.header.port = Port::NULL;
    assert_eq!(
        client.trans_start(THREAD, null, 5200, 0),
        Err(ErrorCode::RPC_BADADDRESS)
    );
    let huge = request(&vec![0; crate::rpc::transport::MAX_MESSAGE_BYTES + 1]);
    assert_eq!(
        client.trans_start(THREAD, huge, 5200, 0),
        Err(ErrorCode::RPC_BADADDRESS)
    );
    client.trans_start(THREAD, request(b""), 5200, 0).unwrap();
    assert_eq!(
        client.trans_start(THREAD, request(b""), 5200, 0),
        Err(ErrorCode::RPC_FAILURE),
        "one transaction per client thread"
    );
    assert!(client.trans_cancel(THREAD));
    assert!(!client.trans_cancel(THREAD));
    for thread in 0..MAX_CLIENT_TRANSACTIONS as u32 {
        client.trans_start(thread, request(b""), 5200, 0).unwrap();
    }
    assert_eq!(
        client.trans_start(u32::MAX, request(b""), 5200, 0),
        Err(ErrorCode::RPC_FAILURE)
    );
}

#[test]
fn malformed_stale_and_own_messages_are_counted_and_dropped() {
    let mut node = engine(1);
    assert!(
        node.on_message(CLIENT, &[1, 2, 3], &serves_port, 0)
            .is_empty()
    );
    assert_eq!(
        Packet::decode(&[1, 2, 3]),
        Err(DecodeError::Truncated { len: 3, needed: 24 })
    );
    let own = node.trans_start(THREAD, request(b""), 5200, 0).unwrap();
    assert!(
        node.on_message(CLIENT, bytes_of(&own[0]), &serves_port, 0)
            .is_empty()
    );
    let stranger = KernelId([9; 8]);
    for kind in [
        MessageType::Alive,
        MessageType::Fail,
        MessageType::Received,
        MessageType::Ack,
    ] {
        let packet = Packet::control(RpcHeader::new(stranger, kind, port(), 77));
        assert!(
            node.on_message(SERVER, &packet.encode(), &serves_port, 0)
                .is_empty()
        );
    }
    let counts = node.counts();
    assert_eq!((counts.malformed, counts.ignored), (1, 5));
}

#[test]
fn a_flood_of_requests_is_bounded_by_the_server_table() {
    let mut server = engine(2);
    let mut delivered = 0;
    for n in 0..200u32 {
        let [a, b, c, d] = n.to_le_bytes();
        let kernel = KernelId([a, b, c, d, 0xee, 0xee, 0xee, 0xee]);
        let mut rpc = RpcHeader::new(kernel, MessageType::Request, port(), n);
        rpc.flags = Flags::REQUEST;
        let packet = Packet {
            rpc,
            message: request(b""),
        };
        let actions = server.on_message(CLIENT, &packet.encode(), &serves_port, 0);
        delivered += actions.len();
    }
    assert_eq!(delivered, MAX_LIVE_TRANSACTIONS);
    assert_eq!(
        server.counts().refused_full,
        200 - MAX_LIVE_TRANSACTIONS as u64
    );
}

#[test]
fn transmissions_go_to_the_link_and_the_rest_comes_back() {
    #[derive(Default)]
    struct Recorder(Vec<(Option<FlipAddress>, Vec<u8>)>);
    impl FlipLink for Recorder {
        fn send(&mut self, to: FlipAddress, bytes: &[u8]) {
            self.0.push((Some(to), bytes.to_vec()));
        }
        fn broadcast(&mut self, bytes: &[u8]) {
            self.0.push((None, bytes.to_vec()));
        }
    }
    let mut link = Recorder::default();
    let send = Action::<u32>::Send {
        to: SERVER,
        bytes: vec![1],
    };
    let broadcast = Action::<u32>::Broadcast { bytes: vec![2] };
    let complete = Action::<u32>::Complete {
        client: THREAD,
        result: Err(ErrorCode::RPC_FAILURE),
    };
    assert_eq!(send.transmit(&mut link), None);
    assert_eq!(broadcast.transmit(&mut link), None);
    assert_eq!(complete.clone().transmit(&mut link), Some(complete));
    assert_eq!(link.0, [(Some(SERVER), vec![1]), (None, vec![2])]);
}

#[test]
fn a_request_given_back_after_alive_is_sent_where_the_port_moved_and_runs_once() {
    let (mut client, mut server) = (engine(1), engine(2));
    let (handle, _, request_bytes) = deliver(&mut client, &mut server, b"moved");
    // Accepted: the client hears ALIVE for it.
    let alive = server.on_message(CLIENT, &request_bytes, &serves_port, 50);
    client.on_message(SERVER, bytes_of(&alive[0]), &serves_port, 50);
    // Its server went away before taking it: the node gives it back with a NAK.
    let nak = server.not_run(handle);
    assert_eq!(sent(&nak).1.rpc.kind, MessageType::Nak);
    assert!(server.not_run(handle).is_empty(), "only once");
    let relocate = client.on_message(SERVER, bytes_of(&nak[0]), &serves_port, 60);
    assert_eq!(kind_of(&relocate[0]), MessageType::Locate);
    // A late duplicate of the old request never runs there.
    let again = server.on_message(CLIENT, &request_bytes, &serves_nothing, 70);
    assert_eq!(sent(&again).1.rpc.kind, MessageType::Nak);
    // The new server answers the locate and runs it.
    let mut other = engine(3);
    let here_is = other.on_message(CLIENT, bytes_of(&relocate[0]), &serves_port, 80);
    let resent = client.on_message(OTHER_SERVER, bytes_of(&here_is[0]), &serves_port, 80);
    let delivered = other.on_message(CLIENT, bytes_of(&resent[0]), &serves_port, 90);
    assert!(
        matches!(&delivered[..], [Action::Deliver { message, .. }] if message.data == b"moved")
    );
}
