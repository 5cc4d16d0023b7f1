//! Echo server stub (format in `servers/echo.rs`).

use super::transact;
use crate::capability::Capability;
use crate::rpc::codes::ErrorCode;
use crate::rpc::header::Header;
use crate::rpc::transport::Rpc;
use crate::servers::echo::ECHO;

/// Sends `data` to the echo server and receives it back into `reply_buf`; how many bytes came
/// back. STD_OVERFLOW if they did not all fit `reply_buf`.
pub fn echo(
    rpc: &impl Rpc,
    cap: &Capability,
    data: &[u8],
    reply_buf: &mut [u8],
) -> Result<usize, ErrorCode> {
    let answer = transact(rpc, &Header::request(cap, ECHO), data, reply_buf)?;
    if answer.truncated {
        return Err(ErrorCode::STD_OVERFLOW);
    }
    Ok(answer.data.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Port;
    use crate::random::SeededGenerator;
    use crate::servers::echo::EchoServer;
    use crate::servers::loopback::Loopback;
    use alloc::vec;

    const PORT: Port = Port([0xec; 6]);

    fn node(server_buffer_bytes: usize) -> (Loopback, Capability) {
        let (server, owner) = EchoServer::new(PORT, &mut SeededGenerator::new(2));
        let mut rpc = Loopback::with_server_buffers(server_buffer_bytes);
        rpc.add(PORT, server);
        (rpc, owner)
    }

    #[test]
    fn null_and_bulk_round_trips() {
        let (rpc, owner) = node(64 * 1024);
        assert_eq!(echo(&rpc, &owner, &[], &mut []), Ok(0));
        let bulk: vec::Vec<u8> = (0..60_000).map(|i| i as u8).collect();
        let mut back = vec![0; bulk.len()];
        assert_eq!(echo(&rpc, &owner, &bulk, &mut back), Ok(bulk.len()));
        assert_eq!(back, bulk);
        assert_eq!(
            echo(&rpc, &owner, b"abc", &mut [0; 2]),
            Err(ErrorCode::STD_OVERFLOW)
        );
    }

    #[test]
    fn a_request_larger_than_the_server_buffer_overflows() {
        let (rpc, owner) = node(16);
        assert_eq!(
            echo(&rpc, &owner, &[7; 17], &mut [0; 32]),
            Err(ErrorCode::STD_OVERFLOW)
        );
        assert_eq!(echo(&rpc, &owner, &[7; 16], &mut [0; 32]), Ok(16));
    }
}
