//! Engines wired to each other through an in-memory network that can drop, duplicate and
//! reorder a share of the messages, driven by a seeded generator so every run is repeatable.
//!
//! Three nodes call each other's ports: node 0 → port P on node 1, node 1 → port Q on node 2,
//! node 2 → port P. Each client node runs a few threads that each do a series of
//! transactions; each server takes a random time (up to a few seconds, so that ENQUIRE and
//! ALIVE are exercised) to answer. The checks: every transaction completes exactly once, with
//! the right reply or RPC_FAILURE; no request runs twice; a dead server's clients fail in
//! bounded time; garbage never panics an engine.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::address::{FlipAddress, KernelId};
use super::engine::{Action, Engine, RemoteRequest};
use super::timers::{ALIVE_TIMEOUT_MS, retransmit_window};
use crate::capability::Port;
use crate::rpc::codes::ErrorCode;
use crate::rpc::header::Header;
use crate::rpc::switchboard::Message;
use crate::rpc::transport::DEFAULT_LOCATE_TIMEOUT_MS;

const PORT_P: Port = Port([0x70, 1, 2, 3, 4, 5]);
const PORT_Q: Port = Port([0x71, 1, 2, 3, 4, 5]);
/// Client threads per node.
const THREADS: u32 = 3;
/// A message's trip takes this long, more when the network reorders it.
const BASE_DELAY_MS: u64 = 1;
/// A reordered message is late by up to this much.
const REORDER_DELAY_MS: u64 = 40;
/// Simulated time after which a run that is still busy counts as stuck.
const SETTLE_LIMIT_MS: u64 = 10_000_000;

/// splitmix64: small, fast and good enough to pick which messages to mistreat.
struct Prng(u64);

impl Prng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    fn percent(&mut self, share: u64) -> bool {
        self.below(100) < share
    }
}

struct Node {
    address: FlipAddress,
    engine: Engine<u32>,
    serves: Port,
    calls: Port,
    alive: bool,
    /// Requests its local server works on: (when it replies, which, the reply).
    working: Vec<(u64, RemoteRequest, Message)>,
    /// Per client thread: transactions done, and the one in progress with its start time.
    done: Vec<u32>,
    current: Vec<Option<u64>>,
}

struct Packet {
    at: u64,
    from: usize,
    to: usize,
    bytes: Vec<u8>,
}

/// What happened to one transaction.
#[derive(Debug)]
struct Outcome {
    node: usize,
    started: u64,
    finished: u64,
    result: Result<(), ErrorCode>,
}

struct Network {
    nodes: Vec<Node>,
    in_flight: Vec<Packet>,
    rng: Prng,
    /// Share (percent) of messages dropped, duplicated and reordered, each.
    mistreat: u64,
    max_service_ms: u64,
    transactions_per_thread: u32,
    now: u64,
    /// Executions per request (their data names them uniquely).
    executions: BTreeMap<Vec<u8>, u32>,
    outcomes: Vec<Outcome>,
    /// Every message sent, for the garbage test to mutate.
    log: Vec<Vec<u8>>,
}

fn request_data(node: usize, thread: u32, number: u32) -> Vec<u8> {
    alloc::format!("node {node} thread {thread} call {number}").into_bytes()
}

/// What the server answers: the request reversed, so a mixed-up reply is noticed.
fn answer_to(request: &[u8]) -> Vec<u8> {
    request.iter().rev().copied().collect()
}

impl Network {
    fn new(seed: u64, mistreat: u64, max_service_ms: u64, transactions_per_thread: u32) -> Self {
        let nodes = [
            (PORT_Q, PORT_P),
            (PORT_P, PORT_Q),
            (Port([0x72; 6]), PORT_P),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, (serves, calls))| Node {
            address: FlipAddress([i as u8 + 1; 8]),
            engine: Engine::new(KernelId([0xa0 + i as u8; 8])),
            serves,
            calls,
            alive: true,
            working: Vec::new(),
            done: alloc::vec![0; THREADS as usize],
            current: alloc::vec![None; THREADS as usize],
        })
        .collect();
        Self {
            nodes,
            in_flight: Vec::new(),
            rng: Prng(seed),
            mistreat,
            max_service_ms,
            transactions_per_thread,
            now: 0,
            executions: BTreeMap::new(),
            outcomes: Vec::new(),
            log: Vec::new(),
        }
    }

    fn start_all(&mut self) {
        for node in 0..self.nodes.len() {
            for thread in 0..THREADS {
                self.start(node, thread);
            }
        }
    }

    /// Starts `thread`'s next transaction, if it has one left.
    fn start(&mut self, node: usize, thread: u32) {
        let n = &mut self.nodes[node];
        let number = n.done[thread as usize];
        if number >= self.transactions_per_thread || !n.alive {
            return;
        }
        n.current[thread as usize] = Some(self.now);
        let request = Message {
            header: Header {
                port: n.calls,
                ..Header::default()
            },
            data: request_data(node, thread, number),
        };
        let actions = n
            .engine
            .trans_start(thread, request, DEFAULT_LOCATE_TIMEOUT_MS, self.now)
            .expect("a valid request is accepted");
        self.carry_out(node, actions);
    }

    fn carry_out(&mut self, node: usize, actions: Vec<Action<u32>>) {
        for action in actions {
            match action {
                Action::Send { to, bytes } => {
                    let target = self.nodes.iter().position(|n| n.address == to);
                    self.post(node, target.expect("only node addresses"), bytes);
                }
                Action::Broadcast { bytes } => {
                    for target in (0..self.nodes.len()).filter(|&t| t != node) {
                        self.post(node, target, bytes.clone());
                    }
                }
                Action::Deliver { request, message } => {
                    *self.executions.entry(message.data.clone()).or_default() += 1;
                    let at = self.now + self.rng.below(self.max_service_ms + 1);
                    let reply = Message {
                        header: Header::default(),
                        data: answer_to(&message.data),
                    };
                    self.nodes[node].working.push((at, request, reply));
                }
                Action::Complete { client, result } => self.complete(node, client, result),
            }
        }
    }

    fn complete(&mut self, node: usize, thread: u32, result: Result<Message, ErrorCode>) {
        let n = &mut self.nodes[node];
        let number = n.done[thread as usize];
        let started = n.current[thread as usize]
            .take()
            .expect("a transaction completes exactly once");
        let expected = answer_to(&request_data(node, thread, number));
        let result = result.map(|reply| assert_eq!(reply.data, expected, "the right reply"));
        n.done[thread as usize] += 1;
        self.outcomes.push(Outcome {
            node,
            started,
            finished: self.now,
            result,
        });
        self.start(node, thread);
    }

    fn post(&mut self, from: usize, to: usize, bytes: Vec<u8>) {
        self.log.push(bytes.clone());
        if !self.nodes[from].alive || !self.nodes[to].alive || self.rng.percent(self.mistreat) {
            return;
        }
        let copies = if self.rng.percent(self.mistreat) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let late = if self.rng.percent(self.mistreat) {
                self.rng.below(REORDER_DELAY_MS)
            } else {
                0
            };
            let at = self.now + BASE_DELAY_MS + late;
            let bytes = bytes.clone();
            self.in_flight.push(Packet {
                at,
                from,
                to,
                bytes,
            });
        }
    }

    /// The next time anything happens.
    fn next_event(&self) -> Option<u64> {
        let messages = self.in_flight.iter().map(|p| p.at);
        let live = self.nodes.iter().filter(|n| n.alive);
        let work = live.clone().flat_map(|n| n.working.iter().map(|w| w.0));
        let timers = live.filter_map(|n| n.engine.next_deadline());
        messages.chain(work).chain(timers).min()
    }

    /// Runs until nothing is left to happen; panics if that takes absurdly long.
    fn run(&mut self) {
        self.run_until(SETTLE_LIMIT_MS);
        assert_eq!(self.next_event(), None, "the simulation does not settle");
    }

    /// Runs the events due by `end`.
    fn run_until(&mut self, end: u64) {
        while let Some(at) = self.next_event().filter(|&at| at <= end) {
            self.now = at;
            self.deliver_messages();
            self.finish_work();
            for node in 0..self.nodes.len() {
                if self.nodes[node].alive {
                    let actions = self.nodes[node].engine.on_timer(self.now);
                    self.carry_out(node, actions);
                }
            }
        }
    }

    fn deliver_messages(&mut self) {
        let now = self.now;
        let (due, later) = core::mem::take(&mut self.in_flight)
            .into_iter()
            .partition(|p| p.at <= now);
        self.in_flight = later;
        let due: Vec<Packet> = due;
        for packet in due {
            let from = self.nodes[packet.from].address;
            let node = &mut self.nodes[packet.to];
            if !node.alive {
                continue;
            }
            let serves = node.serves;
            let local = move |port: Port| port == serves;
            let actions = node.engine.on_message(from, &packet.bytes, &local, now);
            self.carry_out(packet.to, actions);
        }
    }

    fn finish_work(&mut self) {
        for node in 0..self.nodes.len() {
            let now = self.now;
            let n = &mut self.nodes[node];
            let (ready, busy) = core::mem::take(&mut n.working)
                .into_iter()
                .partition(|w| w.0 <= now);
            n.working = busy;
            let ready: Vec<(u64, RemoteRequest, Message)> = ready;
            if !n.alive {
                continue;
            }
            for (_, request, reply) in ready {
                let actions = self.nodes[node].engine.reply(request, reply, now);
                self.carry_out(node, actions);
            }
        }
    }

    fn assert_at_most_once(&self) {
        for (request, count) in &self.executions {
            assert!(*count <= 1, "{request:?} ran {count} times");
        }
    }

    fn assert_all_finished(&self) {
        let expected = self.nodes.len() as u32 * THREADS * self.transactions_per_thread;
        assert_eq!(self.outcomes.len(), expected as usize);
        for node in &self.nodes {
            assert_eq!(node.engine.in_progress(), 0);
        }
    }
}

#[test]
fn a_perfect_network_completes_every_transaction() {
    let mut network = Network::new(1, 0, 2500, 20);
    network.start_all();
    network.run();
    network.assert_all_finished();
    network.assert_at_most_once();
    assert!(network.outcomes.iter().all(|o| o.result.is_ok()));
    assert_eq!(network.executions.len(), network.outcomes.len());
    // Slow servers were enquired about, and no request was retransmitted into a second run.
    let retransmissions: u64 = network
        .nodes
        .iter()
        .map(|n| n.engine.counts().retransmissions)
        .sum();
    assert!(retransmissions > 0);
}

#[test]
fn a_lossy_network_keeps_exactly_once_completion_and_at_most_once_execution() {
    for seed in 1..=6 {
        let mut network = Network::new(seed, 20, 2500, 15);
        network.start_all();
        network.run();
        network.assert_all_finished();
        network.assert_at_most_once();
        let failures = network.outcomes.iter().filter(|o| o.result.is_err());
        for outcome in failures.clone() {
            assert_eq!(outcome.result, Err(ErrorCode::RPC_FAILURE), "{outcome:?}");
        }
        let failed = failures.count();
        assert!(
            failed * 10 < network.outcomes.len(),
            "seed {seed}: {failed} of {} failed",
            network.outcomes.len()
        );
        let malformed: u64 = network
            .nodes
            .iter()
            .map(|n| n.engine.counts().malformed)
            .sum();
        assert_eq!(malformed, 0);
    }
}

#[test]
fn a_dead_server_makes_its_clients_fail_in_bounded_time() {
    // Every way a client can be waiting when the server dies: locating (RPC_NOTFOUND after the
    // locate timeout), sent (RPC_FAILURE after the retransmissions), accepted (RPC_FAILURE
    // after the ALIVE timeout, counted from the last word before the death), plus the
    // longest trip of a message the server sent just before it died.
    let bound = DEFAULT_LOCATE_TIMEOUT_MS
        .max(retransmit_window())
        .max(ALIVE_TIMEOUT_MS)
        + BASE_DELAY_MS
        + REORDER_DELAY_MS;
    for death in [0, 3, 1500, 4000, 9000] {
        let mut network = Network::new(death + 7, 5, 3000, 10);
        network.start_all();
        network.run_until(death);
        network.now = death;
        network.nodes[1].alive = false;
        network.run();
        network.assert_at_most_once();
        // Node 1's own threads died with it; the others all finish.
        let calling_p = network.outcomes.iter().filter(|o| o.node != 1);
        for outcome in calling_p {
            assert!(
                outcome.finished.saturating_sub(outcome.started.max(death)) <= bound,
                "death at {death}: {outcome:?} took longer than {bound} ms"
            );
        }
        for node in [0, 2] {
            assert_eq!(network.nodes[node].engine.in_progress(), 0);
            assert!(network.nodes[node].current.iter().all(Option::is_none));
        }
        let node_0_failed = network
            .outcomes
            .iter()
            .filter(|o| o.node == 0 && o.result.is_err());
        assert!(node_0_failed.count() > 0, "death at {death}");
        let node_0_after_death = network
            .outcomes
            .iter()
            .filter(|o| o.node == 0 && o.finished > death + bound);
        assert!(node_0_after_death.clone().all(|o| o.result.is_err()));
    }
}

#[test]
fn a_thousand_garbage_messages_panic_no_engine() {
    let mut network = Network::new(99, 10, 1500, 3);
    network.start_all();
    network.run();
    let samples = core::mem::take(&mut network.log);
    let mut rng = Prng(4242);
    let mut node = Engine::<u32>::new(KernelId([0x42; 8]));
    node.trans_start(
        0,
        Message {
            header: Header {
                port: PORT_P,
                ..Header::default()
            },
            data: Vec::new(),
        },
        5200,
        0,
    )
    .unwrap();
    let serves = |port: Port| port == PORT_P;
    for round in 0..1000u64 {
        let mut bytes = if round % 3 == 0 {
            let len = rng.below(100) as usize;
            (0..len).map(|_| rng.next() as u8).collect()
        } else {
            samples[rng.below(samples.len() as u64) as usize].clone()
        };
        if !bytes.is_empty() {
            for _ in 0..=rng.below(4) {
                let at = rng.below(bytes.len() as u64) as usize;
                bytes[at] = rng.next() as u8;
            }
            bytes.truncate(rng.below(bytes.len() as u64 + 1) as usize);
        }
        let from = FlipAddress([rng.below(4) as u8; 8]);
        node.on_message(from, &bytes, &serves, round);
        node.on_timer(round);
    }
    let counts = node.counts();
    assert!(counts.malformed > 100, "{counts:?}");
    assert!(counts.ignored + counts.executed > 0, "{counts:?}");
}
