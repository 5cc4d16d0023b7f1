use super::*;
use crate::oneway::put_port;

const CLIENT: u32 = 1;
const CLIENT2: u32 = 2;
const SERVER: u32 = 10;
const SERVER2: u32 = 11;

fn port() -> Port {
    put_port(Port([0x80, 0, 0, 0, 0, 0]))
}

fn message(port: Port, command: u16, data: &[u8]) -> Message {
    Message {
        header: Header {
            port,
            command,
            ..Header::default()
        },
        data: data.to_vec(),
    }
}

fn reply(data: &[u8]) -> Message {
    message(Port::NULL, 0, data)
}

#[test]
fn request_to_a_waiting_server_is_handed_over_and_answered() {
    let mut board = Switchboard::default();
    assert_eq!(board.getreq(SERVER, port()), Ok(GetreqStep::Wait));
    assert_eq!(
        board.trans(CLIENT, message(port(), 7, b"hi")),
        Ok(TransStep::Delivered { server: SERVER })
    );
    let request = board.collect_request(SERVER).unwrap();
    assert_eq!((request.header.command, &request.data[..]), (7, &b"hi"[..]));
    assert_eq!(
        board.finish_trans(CLIENT, false),
        TransOutcome::Wait {
            locate_timeout: false
        }
    );
    assert_eq!(board.putrep(SERVER, reply(b"yo")), Ok(Some(CLIENT)));
    assert_eq!(
        board.finish_trans(CLIENT, false),
        TransOutcome::Done(Ok(reply(b"yo")))
    );
    let counts = board.counts();
    assert_eq!((counts.trans, counts.getreq, counts.putrep), (1, 1, 1));
    assert_eq!((counts.delivered_directly, counts.failed), (1, 0));
}

#[test]
fn queued_requests_are_taken_in_order_by_getreq() {
    let mut board = Switchboard::default();
    assert_eq!(
        board.trans(CLIENT, message(port(), 1, b"")),
        Ok(TransStep::Queued)
    );
    assert_eq!(
        board.trans(CLIENT2, message(port(), 2, b"")),
        Ok(TransStep::Queued)
    );
    let GetreqStep::Request(first) = board.getreq(SERVER, port()).unwrap() else {
        panic!("the first request should be taken at once");
    };
    assert_eq!(first.header.command, 1);
    // Alternation: no second getreq before the putrep.
    assert_eq!(board.getreq(SERVER, port()), Err(ErrorCode::RPC_FAILURE));
    assert_eq!(board.putrep(SERVER, reply(b"")), Ok(Some(CLIENT)));
    assert_eq!(
        board.putrep(SERVER, reply(b"")),
        Err(ErrorCode::RPC_FAILURE)
    );
    let GetreqStep::Request(second) = board.getreq(SERVER, port()).unwrap() else {
        panic!("the second request should be waiting");
    };
    assert_eq!(second.header.command, 2);
    assert_eq!(board.putrep(SERVER, reply(b"")), Ok(Some(CLIENT2)));
}

#[test]
fn putrep_without_getreq_and_trans_to_null_port_are_refused() {
    let mut board: Switchboard<u32> = Switchboard::default();
    assert_eq!(
        board.putrep(SERVER, reply(b"")),
        Err(ErrorCode::RPC_FAILURE)
    );
    assert_eq!(
        board.trans(CLIENT, message(Port::NULL, 1, b"")),
        Err(ErrorCode::RPC_BADADDRESS)
    );
    // One transaction at a time per client thread.
    assert_eq!(
        board.trans(CLIENT, message(port(), 1, b"")),
        Ok(TransStep::Queued)
    );
    assert_eq!(
        board.trans(CLIENT, message(port(), 1, b"")),
        Err(ErrorCode::RPC_FAILURE)
    );
}

#[test]
fn no_server_means_notfound_after_the_locate_timeout() {
    let mut board = Switchboard::default();
    assert_eq!(
        board.trans(CLIENT, message(port(), 1, b"")),
        Ok(TransStep::Queued)
    );
    // Woken early for another reason: keep waiting.
    assert_eq!(
        board.finish_trans(CLIENT, false),
        TransOutcome::Wait {
            locate_timeout: true
        }
    );
    assert_eq!(
        board.finish_trans(CLIENT, true),
        TransOutcome::Done(Err(ErrorCode::RPC_NOTFOUND))
    );
    assert_eq!(board.counts().failed, 1);
    // The request is gone: a server arriving later does not see it.
    assert_eq!(board.getreq(SERVER, port()), Ok(GetreqStep::Wait));
}

#[test]
fn a_busy_server_keeps_queued_clients_waiting() {
    let mut board = Switchboard::default();
    board.trans(CLIENT, message(port(), 1, b"")).unwrap();
    assert!(matches!(
        board.getreq(SERVER, port()),
        Ok(GetreqStep::Request(_))
    ));
    board.trans(CLIENT2, message(port(), 2, b"")).unwrap();
    // The server is attached to the port, only busy: CLIENT2 waits another period.
    assert_eq!(
        board.finish_trans(CLIENT2, true),
        TransOutcome::Wait {
            locate_timeout: true
        }
    );
    // A server that switches to another port detaches.
    board.putrep(SERVER, reply(b"")).unwrap();
    board.getreq(SERVER, Port([9; 6])).unwrap();
    assert_eq!(
        board.finish_trans(CLIENT2, true),
        TransOutcome::Done(Err(ErrorCode::RPC_NOTFOUND))
    );
}

#[test]
fn a_server_ending_mid_request_fails_its_client() {
    let mut board = Switchboard::default();
    board.getreq(SERVER, port()).unwrap();
    board.trans(CLIENT, message(port(), 1, b"")).unwrap();
    board.collect_request(SERVER).unwrap();
    assert!(board.attached(port()));
    assert_eq!(board.thread_ended(SERVER), Some(CLIENT));
    assert_eq!(
        board.finish_trans(CLIENT, false),
        TransOutcome::Done(Err(ErrorCode::RPC_FAILURE))
    );
    assert!(!board.attached(port()));
}

#[test]
fn a_request_its_server_never_saw_goes_to_the_next_server() {
    let mut board = Switchboard::default();
    board.getreq(SERVER, port()).unwrap();
    board.trans(CLIENT, message(port(), 7, b"")).unwrap();
    // Ends before collecting: nothing ran, so nobody is failed.
    assert_eq!(board.thread_ended(SERVER), None);
    assert_eq!(
        board.finish_trans(CLIENT, true),
        TransOutcome::Done(Err(ErrorCode::RPC_NOTFOUND))
    );
    // With another server around, it gets the request.
    let mut board = Switchboard::default();
    board.getreq(SERVER, port()).unwrap();
    board.trans(CLIENT, message(port(), 7, b"")).unwrap();
    board.thread_ended(SERVER);
    let Ok(GetreqStep::Request(request)) = board.getreq(SERVER2, port()) else {
        panic!("the requeued request should be taken at once");
    };
    assert_eq!(request.header.command, 7);
    assert_eq!(board.putrep(SERVER2, reply(b"")), Ok(Some(CLIENT)));
}

#[test]
fn a_server_that_stopped_listening_does_not_hold_clients() {
    let mut board = Switchboard::default();
    board.trans(CLIENT, message(port(), 1, b"")).unwrap();
    board.getreq(SERVER, port()).unwrap();
    board.putrep(SERVER, reply(b"")).unwrap();
    // SERVER went on to other work: a new client is not kept waiting past its timeout.
    board.trans(CLIENT2, message(port(), 2, b"")).unwrap();
    assert_eq!(
        board.finish_trans(CLIENT2, true),
        TransOutcome::Done(Err(ErrorCode::RPC_NOTFOUND))
    );
}

#[test]
fn a_listening_server_that_ends_stops_listening() {
    let mut board = Switchboard::default();
    board.getreq(SERVER, port()).unwrap();
    board.getreq(SERVER2, port()).unwrap();
    assert_eq!(board.thread_ended(SERVER), None);
    assert_eq!(
        board.trans(CLIENT, message(port(), 1, b"")),
        Ok(TransStep::Delivered { server: SERVER2 })
    );
}

#[test]
fn a_client_ending_leaves_nothing_behind() {
    // Still queued: withdrawn, the next getreq does not see it.
    let mut board = Switchboard::default();
    board.trans(CLIENT, message(port(), 1, b"")).unwrap();
    assert_eq!(board.thread_ended(CLIENT), None);
    assert_eq!(board.getreq(SERVER, port()), Ok(GetreqStep::Wait));

    // Being served: the reply is dropped, putrep succeeds.
    let mut board = Switchboard::default();
    board.trans(CLIENT, message(port(), 1, b"")).unwrap();
    board.getreq(SERVER, port()).unwrap();
    assert_eq!(board.thread_ended(CLIENT), None);
    assert_eq!(board.putrep(SERVER, reply(b"")), Ok(None));

    // Delivered but not collected: the server goes back to listening.
    let mut board = Switchboard::default();
    board.getreq(SERVER, port()).unwrap();
    board.trans(CLIENT, message(port(), 1, b"")).unwrap();
    assert_eq!(board.thread_ended(CLIENT), None);
    assert_eq!(board.collect_request(SERVER), None);
    assert_eq!(
        board.trans(CLIENT2, message(port(), 2, b"")),
        Ok(TransStep::Delivered { server: SERVER })
    );
    assert_eq!(board.collect_request(SERVER).unwrap().header.command, 2);
}

#[test]
fn a_thread_id_reused_after_ending_starts_clean() {
    let mut board = Switchboard::default();
    board.set_locate_timeout(CLIENT, 10);
    board.trans(CLIENT, message(port(), 1, b"")).unwrap();
    board.thread_ended(CLIENT);
    assert_eq!(board.locate_timeout(CLIENT), DEFAULT_LOCATE_TIMEOUT_MS);
    assert_eq!(
        board.trans(CLIENT, message(port(), 1, b"")),
        Ok(TransStep::Queued)
    );
}

#[test]
fn locate_timeouts_are_per_thread() {
    let mut board: Switchboard<u32> = Switchboard::default();
    assert_eq!(
        board.set_locate_timeout(CLIENT, 50),
        DEFAULT_LOCATE_TIMEOUT_MS
    );
    assert_eq!(board.locate_timeout(CLIENT), 50);
    assert_eq!(board.locate_timeout(CLIENT2), DEFAULT_LOCATE_TIMEOUT_MS);
    assert_eq!(
        board.set_locate_timeout(CLIENT, DEFAULT_LOCATE_TIMEOUT_MS),
        50
    );
}

#[test]
fn each_request_is_served_once_among_many_servers_and_clients() {
    let mut board = Switchboard::default();
    let servers = [SERVER, SERVER2, 12];
    for server in servers {
        board.getreq(server, port()).unwrap();
    }
    let mut served = Vec::new();
    for client in 100..130u32 {
        match board
            .trans(client, message(port(), client as u16, b""))
            .unwrap()
        {
            TransStep::Delivered { server } => {
                let request = board.collect_request(server).unwrap();
                served.push(request.header.command);
                assert_eq!(board.putrep(server, reply(b"")), Ok(Some(client)));
                assert_eq!(board.getreq(server, port()), Ok(GetreqStep::Wait));
            }
            TransStep::Queued => panic!("a server was always waiting"),
        }
        assert!(matches!(
            board.finish_trans(client, false),
            TransOutcome::Done(Ok(_))
        ));
    }
    served.sort_unstable();
    served.dedup();
    assert_eq!(served.len(), 30);
}

#[test]
fn empty_queues_of_many_ports_are_not_all_kept() {
    let mut board = Switchboard::default();
    for i in 0..1000u32 {
        let [a, b, c, d] = i.to_le_bytes();
        let port = Port([1, a, b, c, d, 0]);
        assert_eq!(board.trans(i, message(port, 1, b"")), Ok(TransStep::Queued));
        assert_eq!(
            board.finish_trans(i, true),
            TransOutcome::Done(Err(ErrorCode::RPC_NOTFOUND))
        );
    }
    assert!(board.waiting.len() <= KEPT_EMPTY_QUEUES + 1);
}

#[test]
fn a_server_between_requests_still_has_its_port_here() {
    let mut board = Switchboard::default();
    assert!(!board.has_server(port()));
    board.getreq(SERVER, port()).unwrap();
    board.trans(CLIENT, message(port(), 1, b"")).unwrap();
    board.collect_request(SERVER).unwrap();
    board.putrep(SERVER, reply(b"")).unwrap();
    // Between its putrep and its next getreq: not attached, but the port is served here.
    assert!(!board.attached(port()));
    assert!(board.has_server(port()));
    board.thread_ended(SERVER);
    assert!(!board.has_server(port()));
}

#[test]
fn a_cancelled_getreq_stops_claiming_the_port_unless_a_request_came() {
    let mut board = Switchboard::default();
    assert_eq!(board.getreq(SERVER, port()), Ok(GetreqStep::Wait));
    assert!(board.has_server(port()));
    assert_eq!(board.cancel_getreq(SERVER), None);
    assert!(!board.has_server(port()), "backed out: the port is free");
    assert_eq!(
        board.trans(CLIENT, message(port(), 1, b"")),
        Ok(TransStep::Queued)
    );
    // Asked again, it takes the request that waited.
    assert!(matches!(
        board.getreq(SERVER, port()),
        Ok(GetreqStep::Request(_))
    ));
    assert_eq!(board.putrep(SERVER, reply(b"")), Ok(Some(CLIENT)));
    assert_eq!(board.getreq(SERVER2, port()), Ok(GetreqStep::Wait));
    assert_eq!(
        board.trans(CLIENT2, message(port(), 2, b"x")),
        Ok(TransStep::Delivered { server: SERVER2 })
    );
    let handed = board.cancel_getreq(SERVER2).map(|m| m.header.command);
    assert_eq!(handed, Some(2), "a delivered request is taken, not lost");
}

#[test]
fn requests_left_without_a_server_are_taken_for_the_remote_ones_only() {
    let mut board = Switchboard::default();
    assert_eq!(board.getreq(SERVER, port()), Ok(GetreqStep::Wait));
    assert_eq!(
        board.trans(CLIENT, message(port(), 1, b"")),
        Ok(TransStep::Delivered { server: SERVER })
    );
    // Busy: the next two wait.
    assert!(board.collect_request(SERVER).is_some());
    assert_eq!(
        board.trans(CLIENT2, message(port(), 2, b"")),
        Ok(TransStep::Queued)
    );
    assert_eq!(
        board.trans(100, message(port(), 3, b"")),
        Ok(TransStep::Queued)
    );
    assert!(
        board.take_orphans(|c| c >= 100).is_empty(),
        "its server is still there"
    );
    assert_eq!(board.putrep(SERVER, reply(b"")), Ok(Some(CLIENT)));
    assert_eq!(board.thread_ended(SERVER), None);
    let orphans = board.take_orphans(|c| c >= 100);
    let taken: Vec<(u32, u16)> = orphans
        .iter()
        .map(|(c, m)| (*c, m.header.command))
        .collect();
    assert_eq!(taken, [(100, 3)]);
    // The local client still waits for a server to come.
    assert!(
        matches!(board.getreq(SERVER2, port()), Ok(GetreqStep::Request(m)) if m.header.command == 2)
    );
}
