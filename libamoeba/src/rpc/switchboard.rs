//! The local RPC engine: which server thread gets which client's request, and what each
//! blocked thread finds when it wakes. The kernel owns one and supplies the rest: copying
//! messages in and out of address spaces, blocking and waking threads, timers.
//!
//! Semantics from `docs/amoeba-protocol.md#rpc-semantics`: a client's
//! `trans` goes to a server thread blocked in `getreq` on the put-port F(get-port); server
//! threads alternate `getreq` and `putrep`; every request is executed at most once, by one
//! server. Rules of ours where the sources are silent (one node's engine; requests from other
//! nodes reach it through `crate::remote_rpc` and the kernel, and meet the same rules):
//! * A request waits for a server for the client thread's locate timeout. When it passes and a
//!   server thread is attached to the port (it waits in a getreq on it or serves one of its
//!   requests: it is just busy), the request waits another period; when none is, the client
//!   gets RPC_NOTFOUND.
//! * Once a server has taken the request there is no timeout: the client waits for the reply
//!   as long as the server thread lives. If the server thread ends first, the client gets
//!   RPC_FAILURE (the request may have run); if it ends before it even saw the request, the
//!   request goes back to the head of the port's queue for another server.
//! * A client that ends leaves nothing behind: a request not yet taken is withdrawn, and the
//!   reply to one being served is dropped (the server's `putrep` still succeeds).
//! * A server thread must `putrep` before its next `getreq`, and may `putrep` only after a
//!   `getreq`: otherwise RPC_FAILURE, and nothing changes.
//!
//! The engine is generic over the kernel's thread identifier so that every path, error paths
//! included, runs in host tests.

use alloc::collections::btree_map::Entry;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

use super::codes::ErrorCode;
use super::header::Header;
use super::transport::DEFAULT_LOCATE_TIMEOUT_MS;
use crate::capability::Port;

/// A request or reply: its header and data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub data: Vec<u8>,
}

/// What a `trans` did with the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransStep<T> {
    /// Handed to `server`, which was waiting in `getreq`: wake it; the client waits for the
    /// reply without a timeout.
    Delivered { server: T },
    /// No server was waiting: the client waits for one, for its locate timeout.
    Queued,
}

/// What a `getreq` found.
#[derive(Debug, PartialEq, Eq)]
pub enum GetreqStep {
    /// A queued request, taken at once.
    Request(Message),
    /// None yet: the server thread waits until a `trans` delivers one.
    Wait,
}

/// What a client thread that woke up (or timed out) must do next.
#[derive(Debug, PartialEq, Eq)]
pub enum TransOutcome {
    /// The transaction is over: the reply, or why there is none.
    Done(Result<Message, ErrorCode>),
    /// Keep waiting: with the locate timeout again (`true`) or for ever (`false`, a server
    /// holds the request).
    Wait { locate_timeout: bool },
}

/// Counters for the sys server's KSTAT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub trans: u64,
    pub getreq: u64,
    pub putrep: u64,
    /// Transactions that ended with RPC_NOTFOUND or RPC_FAILURE.
    pub failed: u64,
    /// Requests handed straight to a waiting server.
    pub delivered_directly: u64,
}

enum Client<T> {
    /// The request, waiting for a server to take it.
    Waiting {
        request: Message,
    },
    /// Taken by `server`.
    Served {
        server: T,
    },
    Answered(Result<Message, ErrorCode>),
}

enum ServerState<T> {
    /// Blocked in getreq.
    Listening,
    /// A trans handed it `request` while it waited; not yet collected.
    Delivered { request: Message, client: T },
    /// Working on `client`'s request (`None`: that client has gone).
    Serving { client: Option<T> },
    /// Between putrep and the next getreq.
    Idle,
}

struct ServerThread<T> {
    /// The put-port of its latest getreq.
    port: Port,
    state: ServerState<T>,
}

/// The RPC state of one node's threads.
pub struct Switchboard<T> {
    /// Server threads blocked in getreq, by put-port, oldest first.
    listening: BTreeMap<Port, VecDeque<T>>,
    /// Clients whose request no server has taken, by put-port, oldest first.
    waiting: BTreeMap<Port, VecDeque<T>>,
    clients: BTreeMap<T, Client<T>>,
    servers: BTreeMap<T, ServerThread<T>>,
    /// Locate timeouts that differ from the default, by thread.
    timeouts: BTreeMap<T, u64>,
    counts: Counts,
}

impl<T> Default for Switchboard<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Switchboard<T> {
    /// No thread in any RPC (const, for a kernel's static).
    pub const fn new() -> Self {
        Self {
            listening: BTreeMap::new(),
            waiting: BTreeMap::new(),
            clients: BTreeMap::new(),
            servers: BTreeMap::new(),
            timeouts: BTreeMap::new(),
            counts: Counts {
                trans: 0,
                getreq: 0,
                putrep: 0,
                failed: 0,
                delivered_directly: 0,
            },
        }
    }
}

impl<T: Copy + Ord> Switchboard<T> {
    /// `client` sends `request` to the put-port in its header.
    pub fn trans(&mut self, client: T, request: Message) -> Result<TransStep<T>, ErrorCode> {
        let port = request.header.port;
        if port.is_null() {
            return Err(ErrorCode::RPC_BADADDRESS);
        }
        let Entry::Vacant(slot) = self.clients.entry(client) else {
            return Err(ErrorCode::RPC_FAILURE);
        };
        self.counts.trans += 1;
        let Some(server) = pop(&mut self.listening, port) else {
            slot.insert(Client::Waiting { request });
            self.waiting.entry(port).or_default().push_back(client);
            return Ok(TransStep::Queued);
        };
        slot.insert(Client::Served { server });
        if let Some(thread) = self.servers.get_mut(&server) {
            thread.state = ServerState::Delivered { request, client };
        }
        self.counts.delivered_directly += 1;
        Ok(TransStep::Delivered { server })
    }

    /// `server` asks for the next request on `put_port` (F of the get-port it holds).
    pub fn getreq(&mut self, server: T, put_port: Port) -> Result<GetreqStep, ErrorCode> {
        let thread = self.servers.entry(server).or_insert(ServerThread {
            port: put_port,
            state: ServerState::Idle,
        });
        if !matches!(thread.state, ServerState::Idle) {
            return Err(ErrorCode::RPC_FAILURE);
        }
        self.counts.getreq += 1;
        thread.port = put_port;
        let request = pop(&mut self.waiting, put_port).and_then(|client| {
            let waiting = self.clients.get_mut(&client)?;
            match core::mem::replace(waiting, Client::Served { server }) {
                Client::Waiting { request } => Some((client, request)),
                other => {
                    *waiting = other;
                    None
                }
            }
        });
        match request {
            Some((client, request)) => {
                thread.state = ServerState::Serving {
                    client: Some(client),
                };
                Ok(GetreqStep::Request(request))
            }
            None => {
                thread.state = ServerState::Listening;
                self.listening
                    .entry(put_port)
                    .or_default()
                    .push_back(server);
                Ok(GetreqStep::Wait)
            }
        }
    }

    /// The request a `trans` delivered to `server` while it waited; `None` if there is none
    /// yet (it woke for another reason and should wait again).
    pub fn collect_request(&mut self, server: T) -> Option<Message> {
        let thread = self.servers.get_mut(&server)?;
        match core::mem::replace(&mut thread.state, ServerState::Listening) {
            ServerState::Delivered { request, client } => {
                thread.state = ServerState::Serving {
                    client: Some(client),
                };
                Some(request)
            }
            other => {
                thread.state = other;
                None
            }
        }
    }

    /// `server` answers the request it took; returns the client to wake (`None` if it has gone).
    pub fn putrep(&mut self, server: T, reply: Message) -> Result<Option<T>, ErrorCode> {
        let thread = self
            .servers
            .get_mut(&server)
            .ok_or(ErrorCode::RPC_FAILURE)?;
        let ServerState::Serving { client } = thread.state else {
            return Err(ErrorCode::RPC_FAILURE);
        };
        thread.state = ServerState::Idle;
        self.counts.putrep += 1;
        let served = client.and_then(|c| self.clients.get_mut(&c).map(|state| (c, state)));
        let Some((client, state)) = served else {
            return Ok(None);
        };
        if !matches!(state, Client::Served { server: s } if *s == server) {
            return Ok(None);
        }
        *state = Client::Answered(Ok(reply));
        Ok(Some(client))
    }

    /// What `client`, awake again, does next; `timed_out` says its locate timeout passed.
    pub fn finish_trans(&mut self, client: T, timed_out: bool) -> TransOutcome {
        let Entry::Occupied(state) = self.clients.entry(client) else {
            return TransOutcome::Done(Err(ErrorCode::RPC_FAILURE));
        };
        let port = match state.get() {
            Client::Served { .. } => {
                return TransOutcome::Wait {
                    locate_timeout: false,
                };
            }
            Client::Waiting { request } => request.header.port,
            Client::Answered(_) => {
                let result = match state.remove() {
                    Client::Answered(result) => result,
                    _ => Err(ErrorCode::RPC_FAILURE),
                };
                self.counts.failed += u64::from(result.is_err());
                return TransOutcome::Done(result);
            }
        };
        if !timed_out || attached(&self.servers, port) {
            return TransOutcome::Wait {
                locate_timeout: true,
            };
        }
        state.remove();
        remove(&mut self.waiting, port, client);
        self.counts.failed += 1;
        TransOutcome::Done(Err(ErrorCode::RPC_NOTFOUND))
    }

    /// Whether a server thread works for `port`: waits in a getreq on it or serves one of its
    /// requests. One between putrep and its next getreq does not count: it may never come back.
    pub fn attached(&self, port: Port) -> bool {
        attached(&self.servers, port)
    }

    /// Whether a thread of this node serves `port`, attached or between a putrep and its next
    /// getreq: where a request for `port` belongs (here, not on another node). A server thread
    /// that serves another port now, or ended, no longer counts.
    pub fn has_server(&self, port: Port) -> bool {
        self.servers.values().any(|s| s.port == port)
    }

    /// Takes back the `getreq` of `server`, which stops waiting without a request (a stun
    /// backs it out, to ask again later): it no longer listens, so its port is not claimed for
    /// it. A request already delivered is handed over instead, as `collect_request` would.
    pub fn cancel_getreq(&mut self, server: T) -> Option<Message> {
        if let Some(request) = self.collect_request(server) {
            return Some(request);
        }
        let thread = self.servers.get(&server)?;
        if matches!(thread.state, ServerState::Listening) {
            let port = thread.port;
            self.servers.remove(&server);
            remove(&mut self.listening, port, server);
        }
        None
    }

    /// The clients that `which` picks among those waiting on a port no server is left for:
    /// taken off the board with their requests (none ran), for whoever can send them
    /// elsewhere. A local client may wait for a server yet to come; a remote one came for a
    /// server that was there and is gone.
    pub fn take_orphans(&mut self, which: impl Fn(T) -> bool) -> Vec<(T, Message)> {
        let ports: Vec<Port> = self
            .waiting
            .keys()
            .copied()
            .filter(|&port| !self.has_server(port))
            .collect();
        let mut orphans = Vec::new();
        for port in ports {
            let Some(queue) = self.waiting.get_mut(&port) else {
                continue;
            };
            let (taken, kept): (VecDeque<T>, VecDeque<T>) =
                queue.drain(..).partition(|&c| which(c));
            *queue = kept;
            if queue.is_empty() {
                self.waiting.remove(&port);
            }
            for client in taken {
                if let Some(Client::Waiting { request }) = self.clients.remove(&client) {
                    orphans.push((client, request));
                }
            }
        }
        orphans
    }

    /// Forgets `thread`, which ended; returns the clients to wake (with RPC_FAILURE waiting
    /// for them) because it was serving them.
    pub fn thread_ended(&mut self, thread: T) -> Option<T> {
        self.timeouts.remove(&thread);
        match self.clients.remove(&thread) {
            Some(Client::Waiting { request }) => {
                remove(&mut self.waiting, request.header.port, thread)
            }
            Some(Client::Served { server }) => self.forget_client(server),
            Some(Client::Answered(_)) | None => {}
        }
        let server = self.servers.remove(&thread)?;
        let client = match server.state {
            ServerState::Listening => {
                remove(&mut self.listening, server.port, thread);
                None
            }
            ServerState::Delivered { request, client } => {
                self.requeue(client, request);
                None
            }
            ServerState::Serving { client } => client,
            ServerState::Idle => None,
        };
        let client = client.filter(|c| self.clients.contains_key(c))?;
        self.clients
            .insert(client, Client::Answered(Err(ErrorCode::RPC_FAILURE)));
        Some(client)
    }

    /// Puts a request its server never saw back at the head of its port's queue.
    fn requeue(&mut self, client: T, request: Message) {
        let port = request.header.port;
        if let Some(state) = self.clients.get_mut(&client) {
            *state = Client::Waiting { request };
            self.waiting.entry(port).or_default().push_front(client);
        }
    }

    fn forget_client(&mut self, server: T) {
        if let Some(thread) = self.servers.get_mut(&server) {
            match &mut thread.state {
                ServerState::Serving { client } => *client = None,
                ServerState::Delivered { .. } => {
                    // It has not seen the request yet: it gets no request from a dead client.
                    thread.state = ServerState::Listening;
                    let port = thread.port;
                    self.listening.entry(port).or_default().push_front(server);
                }
                ServerState::Listening | ServerState::Idle => {}
            }
        }
    }

    /// Sets `thread`'s locate timeout in milliseconds; returns the previous one.
    pub fn set_locate_timeout(&mut self, thread: T, millis: u64) -> u64 {
        let previous = self.locate_timeout(thread);
        if millis == DEFAULT_LOCATE_TIMEOUT_MS {
            self.timeouts.remove(&thread);
        } else {
            self.timeouts.insert(thread, millis);
        }
        previous
    }

    /// `thread`'s locate timeout in milliseconds.
    pub fn locate_timeout(&self, thread: T) -> u64 {
        self.timeouts
            .get(&thread)
            .copied()
            .unwrap_or(DEFAULT_LOCATE_TIMEOUT_MS)
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }
}

/// Per-port queues are kept when they empty, up to this many ports, so the next request on a
/// busy port does not allocate a queue again; beyond it empty queues are dropped, which bounds
/// what a client calling many ports leaves behind.
const KEPT_EMPTY_QUEUES: usize = 64;

fn attached<T>(servers: &BTreeMap<T, ServerThread<T>>, port: Port) -> bool {
    servers
        .values()
        .any(|s| s.port == port && !matches!(s.state, ServerState::Idle))
}

fn pop<T>(queues: &mut BTreeMap<Port, VecDeque<T>>, port: Port) -> Option<T> {
    let queue = queues.get_mut(&port)?;
    let first = queue.pop_front();
    drop_if_empty(queues, port);
    first
}

fn remove<T: PartialEq>(queues: &mut BTreeMap<Port, VecDeque<T>>, port: Port, thread: T) {
    if let Some(queue) = queues.get_mut(&port) {
        queue.retain(|t| *t != thread);
        drop_if_empty(queues, port);
    }
}

fn drop_if_empty<T>(queues: &mut BTreeMap<Port, VecDeque<T>>, port: Port) {
    if queues.len() > KEPT_EMPTY_QUEUES && queues.get(&port).is_some_and(VecDeque::is_empty) {
        queues.remove(&port);
    }
}

#[cfg(test)]
mod tests;
