//! The seam through which local RPC reaches other nodes. The network layer registers a
//! [`RemoteTransport`] when it starts (a node without a card registers none); from then on a
//! trans to a port no thread here serves goes to it, and replies to requests that came from
//! other nodes go back through it. Local RPC never names the network layer.

use crate::sched::ThreadId;
use libamoeba::remote_rpc::engine::RemoteRequest;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::switchboard::Message;
use spin::Once;

/// What local RPC needs of the network.
pub trait RemoteTransport: Sync {
    /// `client`'s transaction with a server on another node: blocks until the reply,
    /// RPC_NOTFOUND after `locate_timeout_ms` without a server, or RPC_FAILURE.
    fn trans(
        &self,
        client: ThreadId,
        request: Message,
        locate_timeout_ms: u64,
    ) -> Result<Message, ErrorCode>;
    /// The reply of a local server to `request`, which came from another node.
    fn reply(&self, request: RemoteRequest, reply: Message);
    /// `request`, which came from another node, will never be taken by a server here (its
    /// port's server went away first): its client should send it to the port's server now.
    fn not_run(&self, request: RemoteRequest);
    /// Forgets what `thread`, which ended, had under way. Called with the scheduler's state
    /// locked: it must not call the scheduler.
    fn thread_ended(&self, thread: ThreadId);
}

static TRANSPORT: Once<&'static dyn RemoteTransport> = Once::new();

/// Makes `transport` the way to other nodes. Set once, when the network starts.
pub fn register_remote_transport(transport: &'static dyn RemoteTransport) {
    TRANSPORT.call_once(|| transport);
}

/// The registered transport; `None` on a node without a network.
pub(super) fn transport() -> Option<&'static dyn RemoteTransport> {
    TRANSPORT.get().copied()
}
