//! Requests from other nodes on the local switchboard. Each one gets a pseudo client id (a
//! thread id no thread has, [`REMOTE_CLIENT`] and above) so that local server threads take it
//! with getreq and answer with putrep exactly as they do a local client's; the answer goes
//! back through the remote transport instead of waking a thread.

use super::BOARD;
use crate::sched::{self, ThreadId};
use alloc::collections::BTreeMap;
use libamoeba::remote_rpc::engine::RemoteRequest;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::header::Header;
use libamoeba::rpc::switchboard::{Message, TransOutcome, TransStep};
use spin::Mutex;

/// Pseudo client ids start here: far above any thread id the scheduler hands out.
const REMOTE_CLIENT: ThreadId = 1 << 62;

struct Remote {
    next: ThreadId,
    /// Requests on the switchboard, by pseudo client.
    requests: BTreeMap<ThreadId, RemoteRequest>,
}

static REMOTE: Mutex<Remote> = Mutex::new(Remote {
    next: REMOTE_CLIENT,
    requests: BTreeMap::new(),
});

pub fn is_remote(client: ThreadId) -> bool {
    client >= REMOTE_CLIENT
}

/// Puts a request from another node on the switchboard for a local server thread.
pub fn deliver_remote(request: RemoteRequest, message: Message) {
    let client = {
        let mut remote = REMOTE.lock();
        let client = remote.next;
        remote.next = remote.next.wrapping_add(1).max(REMOTE_CLIENT);
        remote.requests.insert(client, request);
        client
    };
    let step = BOARD.lock().trans(client, message);
    match step {
        Ok(TransStep::Delivered { server }) => {
            sched::rpc_wake(server, false);
        }
        Ok(TransStep::Queued) => {}
        Err(error) => {
            REMOTE.lock().requests.remove(&client);
            send_back(request, failure(error));
        }
    }
}

/// Sends the reply the switchboard holds for `client` back to its node.
pub fn answer(client: ThreadId) {
    let outcome = BOARD.lock().finish_trans(client, false);
    let TransOutcome::Done(result) = outcome else {
        return;
    };
    let Some(request) = REMOTE.lock().requests.remove(&client) else {
        return;
    };
    send_back(request, result.unwrap_or_else(failure));
}

/// Sends a reply to the node `request` came from. Requests arrive only through a registered
/// transport, so one is there to take it.
fn send_back(request: RemoteRequest, reply: Message) {
    if let Some(remote) = super::remote_transport::transport() {
        remote.reply(request, reply);
    }
}

/// Answers the remote requests whose server thread ended (RPC_FAILURE waits for them on the
/// switchboard) and sends on those no server here will take; whether some are still being
/// worked on.
pub fn reap_remote() -> bool {
    let clients: alloc::vec::Vec<ThreadId> = REMOTE.lock().requests.keys().copied().collect();
    for &client in &clients {
        answer(client);
    }
    // Requests whose port lost its last server before one took them (a server process that
    // moved to another node): their clients are sent on to where the port is served now.
    let orphans = BOARD.lock().take_orphans(is_remote);
    for (client, _) in orphans {
        let request = REMOTE.lock().requests.remove(&client);
        if let (Some(request), Some(remote)) = (request, super::remote_transport::transport()) {
            remote.not_run(request);
        }
    }
    !REMOTE.lock().requests.is_empty()
}

/// A reply carrying only `error`.
fn failure(error: ErrorCode) -> Message {
    let mut header = Header::default();
    header.set_status(Err(error));
    Message {
        header,
        data: alloc::vec::Vec::new(),
    }
}
