//! The three calls of Amoeba RPC as one interface, so that a client or a server is written once
//! and runs in a kernel thread or in a user process.
//!
//! Semantics from `docs/amoeba-protocol.md#rpc-semantics`: `trans` sends a
//! request to the service whose put-port is in `h_port` and blocks until the reply; a server
//! thread alternates `getreq` (block until a request arrives on the get-port it names) and
//! `putrep` (answer it). A request is executed at most once; [`ErrorCode::RPC_FAILURE`] means
//! it may or may not have run.
//!
//! The kernel implements [`Rpc`] with direct calls, the user runtime with system calls
//! (`libamoeba::user::rpc`); tests implement it in memory.

use super::codes::ErrorCode;
use super::header::Header;

/// The largest request or reply data one call carries. Amoeba 5.3's classic limit was 30000
/// bytes; ours is larger (the kernel copies messages through its heap, so a limit there is).
pub const MAX_MESSAGE_BYTES: usize = 128 * 1024;

/// Default time a `trans` waits for a server to be found (5.3's locate timeout), milliseconds.
pub const DEFAULT_LOCATE_TIMEOUT_MS: u64 = 5200;

/// How much of a message arrived.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// Bytes placed in the caller's buffer.
    pub len: usize,
    /// Bytes the sender sent: more than `len` when the buffer was too small and the message
    /// was truncated.
    pub sent: usize,
}

impl Received {
    /// What a buffer of `capacity` bytes keeps of a `sent`-byte message.
    pub const fn of(sent: usize, capacity: usize) -> Self {
        Self {
            len: if sent < capacity { sent } else { capacity },
            sent,
        }
    }

    pub const fn truncated(&self) -> bool {
        self.sent > self.len
    }
}

/// trans / getreq / putrep, with the same meaning wherever they run.
pub trait Rpc {
    /// Client: sends `request` (with `request_data`) to the service `request.port` names and
    /// blocks until the reply, which lands in `reply` and `reply_data` (truncated if longer;
    /// see [`Received`]). Errors: RPC_NOTFOUND when no server answers within the calling
    /// thread's locate timeout, RPC_FAILURE when the server went away after taking the request,
    /// RPC_BADADDRESS for a null port or an unusable buffer, STD_NOMEM when the kernel cannot
    /// spare memory for the message now.
    fn trans(
        &self,
        request: &Header,
        request_data: &[u8],
        reply: &mut Header,
        reply_data: &mut [u8],
    ) -> Result<Received, ErrorCode>;

    /// Server: blocks until a request arrives for the put-port F(`header.port`), `header.port`
    /// being the server's secret get-port; the request's header replaces `*header` and its data
    /// lands in `buffer`. Must be followed by [`Rpc::putrep`] before the next `getreq`.
    fn getreq(&self, header: &mut Header, buffer: &mut [u8]) -> Result<Received, ErrorCode>;

    /// Server: answers the request the last `getreq` returned. A client that has gone away
    /// meanwhile is not an error (the reply is dropped). A reply that cannot be delivered (an
    /// unusable buffer, no memory for it) is an error here, and its client gets that error as
    /// the reply's status instead: a client never waits on a server that cannot answer.
    fn putrep(&self, header: &Header, data: &[u8]) -> Result<(), ErrorCode>;
}
