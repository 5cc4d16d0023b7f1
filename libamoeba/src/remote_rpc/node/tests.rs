//! Nodes exchanging frames on an in-memory LAN, through the whole stack: engine, station,
//! fragments. The lossy cases drop a share of frames (whole fragments, so a large message
//! is lost when any of its fragments is): the engine's retransmissions must still get every
//! transaction through exactly once.

use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::capability::Port;
use crate::flip::station::Hop;
use crate::random::SeededGenerator;
use crate::rpc::header::Header;

const PORT: Port = Port([0x50, 1, 2, 3, 4, 5]);

struct Lan {
    nodes: Vec<RpcNode<u32, usize>>,
    /// Which node serves [`PORT`].
    server: usize,
    loss: Loss,
    frames: usize,
    now: Millis,
    completed: Vec<(u32, Result<Message, ErrorCode>)>,
    executed: usize,
}

/// Which frames the LAN loses.
enum Loss {
    None,
    /// Every n-th frame.
    Every(usize),
    /// Frames picked by a seeded generator, `per_256` in 256 of them.
    Random {
        generator: SeededGenerator,
        per_256: u8,
    },
}

impl Loss {
    fn loses(&mut self, frame: usize) -> bool {
        match self {
            Self::None => false,
            Self::Every(n) => frame.is_multiple_of(*n),
            Self::Random { generator, per_256 } => {
                let mut byte = [0];
                generator.fill(&mut byte);
                byte[0] < *per_256
            }
        }
    }
}

impl Lan {
    fn new(size: u8, server: usize, loss: Loss) -> Self {
        let nodes = (0..size)
            .map(|n| {
                RpcNode::new(
                    KernelId([0xc0 + n; 8]),
                    &PrivateAddress([n + 1, 9, 9, 9, 9, 9, 9, 0]),
                )
            })
            .collect();
        Self {
            nodes,
            server,
            loss,
            frames: 0,
            now: 0,
            completed: Vec::new(),
            executed: 0,
        }
    }

    /// The server's local work: the request's data reversed.
    fn handle(&mut self, node: usize, actions: Vec<Action<u32>>) {
        for action in actions {
            match action {
                Action::Deliver { request, message } => {
                    self.executed += 1;
                    let mut reply = Message {
                        header: Header::default(),
                        data: message.data.iter().rev().copied().collect(),
                    };
                    reply.header.port = message.header.port;
                    let more = self.nodes[node].reply(request, reply, self.now);
                    self.handle(node, more);
                }
                Action::Complete { client, result } => self.completed.push((client, result)),
                Action::Send { .. } | Action::Broadcast { .. } => {
                    unreachable!("RpcNode hands sends to its station")
                }
            }
        }
    }

    /// Moves frames until quiet, then lets time pass to the next deadline; stops when nothing
    /// is pending or after `limit` ms.
    fn run(&mut self, limit: Millis) {
        while self.now <= limit {
            self.move_frames();
            let Some(next) = self.nodes.iter().filter_map(RpcNode::next_deadline).min() else {
                return;
            };
            self.now = self.now.max(next);
            for node in 0..self.nodes.len() {
                let actions = self.nodes[node].on_timer(self.now);
                self.handle(node, actions);
            }
        }
    }

    fn move_frames(&mut self) {
        loop {
            let mut moved = false;
            for from in 0..self.nodes.len() {
                for out in self.nodes[from].take_outgoing() {
                    moved = true;
                    self.frames += 1;
                    if self.loss.loses(self.frames) {
                        continue;
                    }
                    let targets: Vec<usize> = match out.hop {
                        Hop::Neighbour(to) => vec![to],
                        Hop::Everyone => (0..self.nodes.len()).filter(|&n| n != from).collect(),
                    };
                    for to in targets {
                        let server = self.server;
                        let serves = move |port: Port| to == server && port == PORT;
                        let actions = self.nodes[to].on_frame(from, &out.frame, &serves, self.now);
                        self.handle(to, actions);
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn call(&mut self, node: usize, client: u32, data: Vec<u8>) {
        let mut request = Message {
            header: Header::default(),
            data,
        };
        request.header.port = PORT;
        let actions = self.nodes[node]
            .trans_start(client, request, 5200, self.now)
            .expect("transaction starts");
        self.handle(node, actions);
    }
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(seed)).collect()
}

#[test]
fn a_remote_call_finds_its_server_and_gets_the_reply() {
    let mut lan = Lan::new(3, 2, Loss::None);
    lan.call(0, 1, b"ping".to_vec());
    lan.run(60_000);
    assert_eq!(lan.completed.len(), 1);
    let (client, result) = &lan.completed[0];
    assert_eq!(*client, 1);
    assert_eq!(
        result.as_ref().map(|m| m.data.clone()),
        Ok(b"gnip".to_vec())
    );
    assert_eq!(lan.executed, 1);
    assert_eq!(lan.nodes[0].engine().cached_ports(), 1);
}

#[test]
fn large_requests_and_replies_cross_in_fragments() {
    let mut lan = Lan::new(2, 1, Loss::None);
    let big = data(100_000, 13);
    lan.call(0, 7, big.clone());
    lan.run(60_000);
    let expected: Vec<u8> = big.iter().rev().copied().collect();
    assert_eq!(lan.completed.len(), 1);
    assert_eq!(lan.completed[0].1.as_ref().map(|m| &m.data), Ok(&expected));
}

#[test]
fn a_lossy_lan_still_completes_every_call_exactly_once() {
    // Every 7th frame lost: LOCATEs, requests, replies and acknowledgements all suffer.
    let mut lan = Lan::new(3, 1, Loss::Every(7));
    for round in 0..20u32 {
        lan.call(0, round * 2, data(10 + round as usize * 300, 3));
        lan.call(2, round * 2 + 1, data(20, 5));
        lan.run(lan.now + 120_000);
    }
    assert_eq!(lan.completed.len(), 40);
    let failures = lan.completed.iter().filter(|(_, r)| r.is_err()).count();
    assert_eq!(failures, 0, "{:?}", lan.completed);
    assert_eq!(lan.executed, 40, "no request ran twice");
}

#[test]
fn large_messages_cross_a_lan_that_loses_a_tenth_of_all_frames() {
    // 30000 bytes are 21 fragments: at 10 % loss only one try in nine gets all of them
    // through, but the tries share a message id, so what each try brings adds up.
    let loss = Loss::Random {
        generator: SeededGenerator::new(2026),
        per_256: 26,
    };
    let mut lan = Lan::new(2, 1, loss);
    for call in 0..20u32 {
        lan.call(0, call, data(30_000, call as u8 | 1));
        lan.run(lan.now + 120_000);
    }
    let failed: Vec<u32> = (lan.completed.iter())
        .filter(|(_, result)| result.is_err())
        .map(|&(client, _)| client)
        .collect();
    assert_eq!(failed, [], "calls that failed");
    assert_eq!(lan.completed.len(), 20);
    assert_eq!(lan.executed, 20, "no request ran twice");
}

#[test]
fn a_port_nobody_serves_is_not_found_within_the_locate_timeout() {
    let mut lan = Lan::new(2, 99, Loss::None);
    lan.call(0, 1, b"anyone?".to_vec());
    lan.run(60_000);
    assert_eq!(lan.completed, [(1, Err(ErrorCode::RPC_NOTFOUND))]);
    assert!(lan.now <= 5200 + 1000, "gave up at {} ms", lan.now);
}
