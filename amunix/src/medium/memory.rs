//! An in-memory LAN for unit tests: stations joined by channels, each frame delivered whole and
//! at once, neighbours named by made-up card addresses.

use super::{Medium, Neighbour};
use libamoeba::flip::station::Hop;
use std::io;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

type Frame = (Neighbour, Vec<u8>);

/// One station's seat on the in-memory LAN.
pub struct MemoryMedium {
    me: Neighbour,
    inbox: Receiver<Frame>,
    others: Vec<(Neighbour, Sender<Frame>)>,
}

/// The card address of station `index`.
pub fn card(index: u8) -> Neighbour {
    Neighbour::Ethernet([2, 0, 0, 0, 0, index])
}

/// `size` stations, every one reaching every other.
pub fn lan(size: u8) -> Vec<MemoryMedium> {
    let (senders, inboxes): (Vec<_>, Vec<_>) = (0..size).map(|_| channel()).unzip();
    inboxes
        .into_iter()
        .zip(0..size)
        .map(|(inbox, index)| MemoryMedium {
            me: card(index),
            inbox,
            others: (0..size)
                .zip(&senders)
                .filter(|(other, _)| *other != index)
                .map(|(other, sender)| (card(other), sender.clone()))
                .collect(),
        })
        .collect()
}

impl Medium for MemoryMedium {
    fn send(&self, hop: Hop<Neighbour>, frame: &[u8]) -> io::Result<()> {
        for (neighbour, sender) in &self.others {
            if hop == Hop::Everyone || hop == Hop::Neighbour(*neighbour) {
                // A station that has gone away loses its frames, as on a wire.
                let _ = sender.send((self.me, frame.to_vec()));
            }
        }
        Ok(())
    }

    fn receive(&self, wait: Duration) -> io::Result<Option<(Neighbour, Vec<u8>)>> {
        match self.inbox.recv_timeout(wait) {
            Ok(frame) => Ok(Some(frame)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(wait);
                Ok(None)
            }
        }
    }

    fn describe(&self) -> String {
        format!("an in-memory LAN (as {})", self.me)
    }
}
