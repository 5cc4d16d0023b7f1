//! tty server stub (format in `servers/tty.rs`).

use super::{GARBLED, size_field, transact, transact_bare};
use crate::capability::Capability;
use crate::rpc::codes::ErrorCode;
use crate::rpc::header::Header;
use crate::rpc::transport::Rpc;
use crate::servers::tty::{END_OF_INPUT, Input, MAX_WRITE, TTY_READ, TTY_WRITE};

/// Writes `bytes` to the console, one request per [`MAX_WRITE`]; how many were written
/// (fewer than `bytes.len()` if the server wrote a chunk short, after which it stops).
pub fn tty_write(rpc: &impl Rpc, tty: &Capability, bytes: &[u8]) -> Result<usize, ErrorCode> {
    let mut written = 0;
    for chunk in bytes.chunks(MAX_WRITE) {
        let reply = transact_bare(rpc, &Header::request(tty, TTY_WRITE), chunk)?;
        let taken = usize::from(reply.size);
        if taken > chunk.len() {
            return Err(GARBLED);
        }
        written += taken;
        if taken < chunk.len() {
            break;
        }
    }
    Ok(written)
}

/// What was typed at the console so far, into `buffer` (at most [`MAX_WRITE`] bytes a call);
/// never waits.
pub fn tty_read(rpc: &impl Rpc, tty: &Capability, buffer: &mut [u8]) -> Result<Input, ErrorCode> {
    let want = buffer.len().min(MAX_WRITE);
    let request = Header {
        size: size_field(want),
        ..Header::request(tty, TTY_READ)
    };
    let answer = transact(rpc, &request, &[], &mut buffer[..want])?;
    if answer.truncated {
        return Err(GARBLED);
    }
    Ok(match (answer.data.len(), answer.header.extra) {
        (0, END_OF_INPUT) => Input::End,
        (0, _) => Input::Nothing,
        (n, _) => Input::Bytes(n),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Port;
    use crate::client::scripted::scripted;
    use crate::random::SeededGenerator;
    use crate::servers::loopback::Loopback;
    use crate::servers::tty::TtyServer;
    use crate::servers::tty::tests::Recorder;
    use alloc::vec::Vec;

    const PORT: Port = Port([0x77; 6]);

    #[test]
    fn long_writes_are_split_and_arrive_whole() {
        let (server, owner) =
            TtyServer::new(PORT, &mut SeededGenerator::new(5), Recorder::default());
        let mut rpc = Loopback::with_server_buffers(MAX_WRITE);
        let tty = rpc.add(PORT, server);
        let text: Vec<u8> = (0..2 * MAX_WRITE + 17)
            .map(|i| b'a' + (i % 26) as u8)
            .collect();
        assert_eq!(tty_write(&rpc, &owner, &text), Ok(text.len()));
        assert_eq!(tty.borrow().console().0, text);
        assert_eq!(tty_write(&rpc, &owner, b""), Ok(0));
    }

    #[test]
    fn short_writes_stop_and_overcounts_are_garbled() {
        let short = Header {
            size: 3,
            ..Header::default()
        };
        let (rpc, cap) = scripted(short, b"");
        assert_eq!(tty_write(&rpc, &cap, &[b'x'; MAX_WRITE + 1]), Ok(3));
        let (rpc, cap) = scripted(
            Header {
                size: 9,
                ..Header::default()
            },
            b"",
        );
        assert_eq!(tty_write(&rpc, &cap, b"four"), Err(GARBLED));
    }
}
