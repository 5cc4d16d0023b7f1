//! The host peer: a FLIP endpoint in a plain user process, running the same remote RPC code as
//! a kernel (`libamoeba::remote_rpc::node::RpcNode`) over a [`Medium`] (the nodes' LAN or
//! FLIP inside UDP). It offers Amoeba RPC through libamoeba's [`Rpc`] trait, so every client
//! stub of `libamoeba::client` and every `libamoeba::rpc::server::Server` runs on the host
//! unchanged.
//!
//! One thread drives it. Nothing happens in the background: the calls that wait ([`Rpc::trans`],
//! [`Rpc::getreq`], [`HostPeer::serve_until`]) pump the medium, handing received frames to the
//! node, running its timers at their deadlines and putting its frames on the wire. While they
//! pump, requests from other nodes are answered by the servers [`attach`](HostPeer::attach)ed
//! here, or queued for a `getreq` on their port.
//!
//! # Our choices
//! * Kernel id and private FLIP address are random for every peer (a fresh "boot").
//! * [`Rpc::trans`] has the kernel's meaning (`amoeba-kernel/src/ipc/kernel_rpc.rs`): a reply
//!   larger than the buffer is truncated ([`Received::of`]), errors leave the reply header
//!   alone. A request for a port this peer serves goes through the network like any other (the
//!   peer does not short-cut to itself).
//! * A port stays served once a `getreq` asked for it, as a kernel keeps a server's port while
//!   its thread comes back to `getreq`; requests wait in a queue meanwhile.
//! * I/O errors of the medium are frames lost: the RPC layer retransmits, and a transaction
//!   that cannot get through ends in RPC_NOTFOUND or RPC_FAILURE. The last one is kept for
//!   messages ([`HostPeer::last_io_error`]).

use crate::entropy::HostEntropy;
use crate::medium::{Medium, Neighbour};
use libamoeba::capability::Port;
use libamoeba::flip::Millis;
use libamoeba::flip::address::Address;
use libamoeba::flip::header::{MAX_FRAGMENT_PAYLOAD, MAX_UDP_FRAGMENT_PAYLOAD};
use libamoeba::flip::station::Hop;
use libamoeba::oneway::put_port;
use libamoeba::remote_rpc::engine::{Action, RemoteRequest};
use libamoeba::remote_rpc::node::RpcNode;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::header::Header;
use libamoeba::rpc::server::{Reply, Request, Server, answer};
use libamoeba::rpc::switchboard::Message;
use libamoeba::rpc::transport::{DEFAULT_LOCATE_TIMEOUT_MS, MAX_MESSAGE_BYTES, Received, Rpc};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The longest a pump waits for a frame when no deadline is nearer: how often a waiting
/// [`HostPeer::serve_until`] looks at its stop flag.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A server answering requests here, with its reply buffer.
struct Attached {
    server: Box<dyn Server + Send>,
    reply_buffer: Vec<u8>,
}

/// Everything but the medium and the servers, borrowed only between calls out.
struct State {
    node: RpcNode<u64, Neighbour>,
    started: Instant,
    locate_timeout_ms: u64,
    next_client: u64,
    completed: BTreeMap<u64, Result<Message, ErrorCode>>,
    /// Put-ports served here: by an attached server or by `getreq`.
    served: BTreeSet<Port>,
    /// Put-ports some `getreq` asked for.
    listening: BTreeSet<Port>,
    /// Requests for `listening` ports not yet taken by a `getreq`.
    queued: VecDeque<(RemoteRequest, Message)>,
    /// The request the last `getreq` returned, until its `putrep`.
    owed: Option<RemoteRequest>,
    put_ports: BTreeMap<Port, Port>,
    last_io_error: Option<String>,
    io_errors: u64,
}

impl State {
    fn now(&self) -> Millis {
        Millis::try_from(self.started.elapsed().as_millis()).unwrap_or(Millis::MAX)
    }

    fn put_port(&mut self, get_port: Port) -> Port {
        *self
            .put_ports
            .entry(get_port)
            .or_insert_with(|| put_port(get_port))
    }
}

/// A FLIP endpoint and RPC node in this process; see the module documentation.
pub struct HostPeer {
    medium: Box<dyn Medium>,
    state: RefCell<State>,
    servers: RefCell<BTreeMap<Port, Attached>>,
}

impl HostPeer {
    /// A peer on `medium` with a fresh random kernel id and FLIP address.
    pub fn new(medium: impl Medium + 'static) -> Self {
        let mut node = RpcNode::with_random_identity(&mut HostEntropy);
        node.station_mut().set_fragment_limit(fragment_limit);
        let state = State {
            node,
            started: Instant::now(),
            locate_timeout_ms: DEFAULT_LOCATE_TIMEOUT_MS,
            next_client: 1,
            completed: BTreeMap::new(),
            served: BTreeSet::new(),
            listening: BTreeSet::new(),
            queued: VecDeque::new(),
            owed: None,
            put_ports: BTreeMap::new(),
            last_io_error: None,
            io_errors: 0,
        };
        Self {
            medium: Box::new(medium),
            state: RefCell::new(state),
            servers: RefCell::new(BTreeMap::new()),
        }
    }

    /// Our public FLIP address.
    pub fn address(&self) -> Address {
        self.state.borrow().node.station().address()
    }

    pub fn medium(&self) -> &dyn Medium {
        self.medium.as_ref()
    }

    /// How long a `trans` waits for its server to be found, milliseconds.
    pub fn locate_timeout_ms(&self) -> u64 {
        self.state.borrow().locate_timeout_ms
    }

    /// Sets the locate timeout of later transactions; returns the previous one.
    pub fn set_locate_timeout_ms(&self, millis: u64) -> u64 {
        std::mem::replace(&mut self.state.borrow_mut().locate_timeout_ms, millis)
    }

    /// The medium's last I/O error, and how many there were.
    pub fn last_io_error(&self) -> Option<(String, u64)> {
        let state = self.state.borrow();
        state.last_io_error.clone().map(|e| (e, state.io_errors))
    }

    /// Lets `server` answer requests for `get_port`'s put-port whenever this peer pumps;
    /// returns that put-port. Replaces a server attached to the same port before.
    pub fn attach(&self, get_port: Port, server: impl Server + Send + 'static) -> Port {
        let port = self.state.borrow_mut().put_port(get_port);
        let attached = Attached {
            server: Box::new(server),
            reply_buffer: vec![0; MAX_MESSAGE_BYTES],
        };
        self.servers.borrow_mut().insert(port, attached);
        self.state.borrow_mut().served.insert(port);
        port
    }

    /// Stops answering for `get_port` with the server attached there; whether there was one.
    pub fn detach(&self, get_port: Port) -> bool {
        let mut state = self.state.borrow_mut();
        let port = state.put_port(get_port);
        if !state.listening.contains(&port) {
            state.served.remove(&port);
        }
        self.servers.borrow_mut().remove(&port).is_some()
    }

    /// Pumps the medium, answering requests for the attached servers, until `stop` is set
    /// (looked at every [`POLL_INTERVAL`] at least).
    pub fn serve_until(&self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            self.step(POLL_INTERVAL);
        }
    }

    /// Attaches `server` on `get_port`, serves until `stop`, detaches it.
    pub fn serve(&self, get_port: Port, server: impl Server + Send + 'static, stop: &AtomicBool) {
        self.attach(get_port, server);
        self.serve_until(stop);
        self.detach(get_port);
    }

    /// One round of the pump: frames out; then the node's timers if due, else at most one
    /// frame in, waiting up to the next deadline or `longest`.
    fn step(&self, longest: Duration) {
        self.flush();
        let (now, due) = {
            let state = self.state.borrow();
            (state.now(), state.node.next_deadline())
        };
        if due.is_some_and(|due| due <= now) {
            let actions = self.state.borrow_mut().node.on_timer(now);
            self.carry_out(actions);
            return;
        }
        let wait = due.map_or(longest, |due| {
            Duration::from_millis(due.saturating_sub(now)).min(longest)
        });
        match self.medium.receive(wait) {
            Ok(Some((from, frame))) => self.on_frame(from, &frame),
            Ok(None) => {}
            Err(error) => {
                self.note_io_error(&error);
                // A broken medium must not spin: let the time pass instead.
                std::thread::sleep(wait.min(Duration::from_millis(10)));
            }
        }
    }

    fn on_frame(&self, from: Neighbour, frame: &[u8]) {
        let actions = {
            let mut state = self.state.borrow_mut();
            let now = state.now();
            let State { node, served, .. } = &mut *state;
            let ports = |port: Port| served.contains(&port);
            node.on_frame(from, frame, &ports, now)
        };
        self.carry_out(actions);
    }

    /// Puts the node's frames on the wire, with the pauses the station asks for
    /// (`libamoeba::flip::station::Pacing`).
    fn flush(&self) {
        let outgoing = self.state.borrow_mut().node.take_outgoing();
        for out in outgoing {
            if out.pause_before_nanos > 0 {
                std::thread::sleep(Duration::from_nanos(out.pause_before_nanos));
            }
            if let Err(error) = self.medium.send(out.hop, &out.frame) {
                self.note_io_error(&error);
            }
        }
    }

    fn note_io_error(&self, error: &std::io::Error) {
        let mut state = self.state.borrow_mut();
        state.last_io_error = Some(format!("{} on {}", error, self.medium.describe()));
        state.io_errors += 1;
    }

    /// What the node left for us: completions to collect, requests to answer.
    fn carry_out(&self, actions: Vec<Action<u64>>) {
        for action in actions {
            match action {
                Action::Complete { client, result } => {
                    self.state.borrow_mut().completed.insert(client, result);
                }
                Action::Deliver { request, message } => self.deliver(request, message),
                // RpcNode hands sends to its station, which leaves frames in take_outgoing.
                Action::Send { .. } | Action::Broadcast { .. } => {}
            }
        }
    }

    /// A request from another node: to its attached server, or to the queue of `getreq`.
    fn deliver(&self, request: RemoteRequest, message: Message) {
        let port = message.header.port;
        let taken = self.servers.borrow_mut().remove(&port);
        if let Some(mut attached) = taken {
            // Taken out while it runs: a server that calls out through this peer pumps, and a
            // request arriving then must not find the table borrowed.
            let reply = run_server(&mut attached, &message);
            if self.state.borrow().served.contains(&port) {
                self.servers.borrow_mut().entry(port).or_insert(attached);
            }
            self.send_reply(request, reply);
            return;
        }
        let mut state = self.state.borrow_mut();
        if state.listening.contains(&port) {
            state.queued.push_back((request, message));
            return;
        }
        drop(state);
        self.send_reply(request, error_reply(ErrorCode::RPC_NOTFOUND));
    }

    fn send_reply(&self, request: RemoteRequest, reply: Message) {
        let actions = {
            let mut state = self.state.borrow_mut();
            let now = state.now();
            state.node.reply(request, reply, now)
        };
        self.carry_out(actions);
        self.flush();
    }

    /// Starts a transaction; its client number.
    fn start(&self, message: Message) -> Result<u64, ErrorCode> {
        let (client, actions) = {
            let mut state = self.state.borrow_mut();
            let client = state.next_client;
            state.next_client += 1;
            let (timeout, now) = (state.locate_timeout_ms, state.now());
            let actions = state.node.trans_start(client, message, timeout, now)?;
            (client, actions)
        };
        self.carry_out(actions);
        Ok(client)
    }

    /// Pumps until `client`'s transaction is over; what it left to send (the acknowledgement
    /// of the reply) is sent before returning.
    fn wait_for(&self, client: u64) -> Result<Message, ErrorCode> {
        loop {
            let done = self.state.borrow_mut().completed.remove(&client);
            if let Some(result) = done {
                self.flush();
                return result;
            }
            self.step(POLL_INTERVAL);
        }
    }

    /// The next queued request for `port`, pumping until there is one (or `deadline`).
    fn next_request(
        &self,
        port: Port,
        deadline: Option<Instant>,
    ) -> Option<(RemoteRequest, Message)> {
        loop {
            {
                let mut state = self.state.borrow_mut();
                let found = state.queued.iter().position(|(_, m)| m.header.port == port);
                if let Some(request) = found.and_then(|at| state.queued.remove(at)) {
                    return Some(request);
                }
            }
            let left = match deadline {
                Some(deadline) => deadline.checked_duration_since(Instant::now())?,
                None => POLL_INTERVAL,
            };
            self.step(left.min(POLL_INTERVAL));
        }
    }

    /// [`Rpc::getreq`] that gives up after `timeout` with RPC_ABORTED (nothing was taken).
    pub fn getreq_within(
        &self,
        header: &mut Header,
        buffer: &mut [u8],
        timeout: Duration,
    ) -> Result<Received, ErrorCode> {
        self.take_request(header, buffer, Some(Instant::now() + timeout))
    }

    fn take_request(
        &self,
        header: &mut Header,
        buffer: &mut [u8],
        deadline: Option<Instant>,
    ) -> Result<Received, ErrorCode> {
        if header.port.is_null() {
            return Err(ErrorCode::RPC_BADADDRESS);
        }
        let port = {
            let mut state = self.state.borrow_mut();
            if state.owed.is_some() {
                return Err(ErrorCode::RPC_FAILURE);
            }
            let port = state.put_port(header.port);
            state.listening.insert(port);
            state.served.insert(port);
            port
        };
        let (request, message) = self
            .next_request(port, deadline)
            .ok_or(ErrorCode::RPC_ABORTED)?;
        self.state.borrow_mut().owed = Some(request);
        *header = message.header;
        Ok(copy_out(&message.data, buffer))
    }
}

impl Drop for HostPeer {
    /// Sends what is still queued (a last acknowledgement), as a kernel would before halting.
    fn drop(&mut self) {
        self.flush();
    }
}

/// The reply of an attached server to `message`.
fn run_server(attached: &mut Attached, message: &Message) -> Message {
    let request = Request {
        header: message.header,
        data: &message.data,
        truncated: false,
    };
    let mut reply = Reply::new(&mut attached.reply_buffer);
    let _ = answer(&mut Boxed(attached.server.as_mut()), &request, &mut reply);
    Message {
        header: reply.header,
        data: reply.data().to_vec(),
    }
}

/// A boxed server as the `Sized` one [`answer`] takes.
struct Boxed<'a>(&'a mut (dyn Server + Send));

impl Server for Boxed<'_> {
    fn handle(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        self.0.handle(request, reply)
    }
}

/// A reply carrying only the status `error`.
fn error_reply(error: ErrorCode) -> Message {
    let mut header = Header::default();
    header.set_status(Err(error));
    Message {
        header,
        data: Vec::new(),
    }
}

/// Copies what fits of `data` into `buffer`.
fn copy_out(data: &[u8], buffer: &mut [u8]) -> Received {
    let received = Received::of(data.len(), buffer.len());
    buffer[..received.len].copy_from_slice(&data[..received.len]);
    received
}

impl Rpc for HostPeer {
    fn trans(
        &self,
        request: &Header,
        request_data: &[u8],
        reply: &mut Header,
        reply_data: &mut [u8],
    ) -> Result<Received, ErrorCode> {
        let message = Message {
            header: *request,
            data: request_data.to_vec(),
        };
        let client = self.start(message)?;
        let answer = self.wait_for(client)?;
        *reply = answer.header;
        Ok(copy_out(&answer.data, reply_data))
    }

    fn getreq(&self, header: &mut Header, buffer: &mut [u8]) -> Result<Received, ErrorCode> {
        self.take_request(header, buffer, None)
    }

    fn putrep(&self, header: &Header, data: &[u8]) -> Result<(), ErrorCode> {
        let request = self
            .state
            .borrow_mut()
            .owed
            .take()
            .ok_or(ErrorCode::RPC_FAILURE)?;
        if data.len() > MAX_MESSAGE_BYTES {
            self.send_reply(request, error_reply(ErrorCode::RPC_BADADDRESS));
            return Err(ErrorCode::RPC_BADADDRESS);
        }
        let reply = Message {
            header: *header,
            data: data.to_vec(),
        };
        self.send_reply(request, reply);
        Ok(())
    }
}

#[cfg(test)]
mod tests;

/// Frames inside UDP must fit one unfragmented datagram (the kernel's IP side does not
/// reassemble IP fragments).
fn fragment_limit(hop: &Hop<Neighbour>) -> usize {
    match hop {
        Hop::Neighbour(Neighbour::Udp(_)) => MAX_UDP_FRAGMENT_PAYLOAD,
        Hop::Neighbour(Neighbour::Ethernet(_)) | Hop::Everyone => MAX_FRAGMENT_PAYLOAD,
    }
}
