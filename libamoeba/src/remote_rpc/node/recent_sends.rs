//! The FLIP message ids of the messages a node sent lately, so that the engine's
//! retransmission of a message goes out under the id of its first try (see
//! [`crate::flip::station`], "Our choices": the receiver then joins the fragments of all tries).
//!
//! A message is known by its destination and its RPC header without the flags (a
//! retransmission differs from its first try only in the RETRANS flag): ah_kid, ah_port and
//! ah_type with the client's ah_tid name one REQUEST, or one REPLY, to one node. The memory
//! is a small ring; a retransmission whose first try has been forgotten gets a new id, which
//! costs only the joining.

use alloc::collections::VecDeque;

use crate::flip::address::Address;
use crate::remote_rpc::header::{FLAGS_OFFSET, RPC_HEADER_LEN};

/// Messages remembered: more than a node has transactions in flight to retransmit at once.
pub const REMEMBERED: usize = 128;

/// What names one message (see the module documentation).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Sent {
    to: Address,
    header: [u8; RPC_HEADER_LEN],
    len: usize,
}

impl Sent {
    fn new(to: Address, message: &[u8]) -> Option<Self> {
        let mut header: [u8; RPC_HEADER_LEN] = message.get(..RPC_HEADER_LEN)?.try_into().ok()?;
        header[FLAGS_OFFSET] = 0;
        Some(Self {
            to,
            header,
            len: message.len(),
        })
    }
}

/// The last [`REMEMBERED`] messages sent, with their FLIP message ids.
#[derive(Default)]
pub struct RecentSends {
    ring: VecDeque<(Sent, u32)>,
}

impl RecentSends {
    /// Notes that `message` went to `to` under `message_id`. Messages too short to be RPC
    /// messages are not remembered.
    pub fn remember(&mut self, to: Address, message: &[u8], message_id: u32) {
        let Some(sent) = Sent::new(to, message) else {
            return;
        };
        if self.ring.len() == REMEMBERED {
            self.ring.pop_front();
        }
        self.ring.push_back((sent, message_id));
    }

    /// The message id `message` to `to` was last sent under, if it is remembered.
    pub fn message_id(&self, to: Address, message: &[u8]) -> Option<u32> {
        let wanted = Sent::new(to, message)?;
        self.ring
            .iter()
            .rev()
            .find(|(sent, _)| *sent == wanted)
            .map(|&(_, id)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote_rpc::header::Flags;

    const TO: Address = Address([1, 2, 3, 4, 5, 6, 7, 0]);

    fn message(tid: u8, len: usize) -> alloc::vec::Vec<u8> {
        let mut bytes = alloc::vec![0x11; len];
        bytes[16] = tid;
        bytes
    }

    #[test]
    fn a_retransmission_is_known_by_its_header_without_the_flags() {
        let mut recent = RecentSends::default();
        let first = message(7, 100);
        recent.remember(TO, &first, 42);
        let mut again = first.clone();
        again[FLAGS_OFFSET] |= Flags::RETRANS.bits();
        assert_eq!(recent.message_id(TO, &again), Some(42));
        // Another transaction, another length, another node: other messages.
        assert_eq!(recent.message_id(TO, &message(8, 100)), None);
        assert_eq!(recent.message_id(TO, &message(7, 101)), None);
        assert_eq!(recent.message_id(Address([9; 8]), &first), None);
    }

    #[test]
    fn the_oldest_are_forgotten_and_short_messages_never_remembered() {
        let mut recent = RecentSends::default();
        recent.remember(TO, &[1, 2, 3], 1);
        assert_eq!(recent.message_id(TO, &[1, 2, 3]), None);
        for n in 0..=REMEMBERED {
            recent.remember(TO, &message(n as u8, 40 + n), n as u32);
        }
        assert_eq!(recent.message_id(TO, &message(0, 40)), None);
        assert_eq!(recent.message_id(TO, &message(1, 41)), Some(1));
    }
}
