//! Random server stub (format in `servers/random.rs`).

use super::{GARBLED, size_field, transact};
use crate::capability::Capability;
use crate::rpc::codes::ErrorCode;
use crate::rpc::header::Header;
use crate::rpc::transport::Rpc;
use crate::servers::random::{GETRANDOM, MAX_RANDOM_BYTES};

/// Fills `buf` with random bytes, one request per [`MAX_RANDOM_BYTES`].
pub fn getrandom(rpc: &impl Rpc, random: &Capability, buf: &mut [u8]) -> Result<(), ErrorCode> {
    for chunk in buf.chunks_mut(MAX_RANDOM_BYTES) {
        let request = Header {
            size: size_field(chunk.len()),
            ..Header::request(random, GETRANDOM)
        };
        let wanted = chunk.len();
        let answer = transact(rpc, &request, &[], chunk)?;
        if answer.truncated || answer.data.len() != wanted {
            return Err(GARBLED);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Port;
    use crate::client::scripted::scripted;
    use crate::random::SeededGenerator;
    use crate::servers::loopback::Loopback;
    use crate::servers::random::RandomServer;
    use alloc::vec;

    const PORT: Port = Port([0x72; 6]);

    #[test]
    fn getrandom_fills_any_length_in_chunks() {
        let (server, owner) = RandomServer::new(PORT, SeededGenerator::new(4), "seeded generator");
        let mut rpc = Loopback::new();
        rpc.add(PORT, server);
        let mut big = vec![0; 3 * MAX_RANDOM_BYTES + 5];
        assert_eq!(getrandom(&rpc, &owner, &mut big), Ok(()));
        // Each chunk is fresh: no chunk repeats the first.
        let chunks: vec::Vec<&[u8]> = big.chunks(MAX_RANDOM_BYTES).collect();
        assert!(chunks[1..].iter().all(|chunk| chunk[..5] != chunks[0][..5]));
        assert!(big.iter().filter(|&&byte| byte == 0).count() < big.len() / 16);
        assert_eq!(getrandom(&rpc, &owner, &mut []), Ok(()));
    }

    #[test]
    fn short_or_long_replies_are_garbled() {
        for data in [&[1; 3][..], &[1; 5]] {
            let (rpc, cap) = scripted(Header::default(), data);
            assert_eq!(getrandom(&rpc, &cap, &mut [0; 4]), Err(GARBLED));
        }
    }
}
