//! Random bytes for a process: a [`SeededGenerator`] seeded from the node's random server (the
//! RANDOM capability of the environment) when it answers, mixed with the cycle counter.

use super::rpc::UserRpc;
use super::time;
use libamoeba::client;
use libamoeba::process::environment::{self, Environment};
use libamoeba::random::SeededGenerator;

/// A generator for ports and check fields. Without a random server the seed is the cycle
/// counter alone: guessable, so a server process on such a node is only as safe as its node.
pub fn generator(env: &Environment<'_>) -> SeededGenerator {
    let mut seed = [0u8; 8];
    if let Some(random) = env.capability(environment::RANDOM).filter(|c| !c.is_null()) {
        // On failure the seed stays zero and the cycle counter alone counts.
        let _ = client::getrandom(&UserRpc, &random, &mut seed);
    }
    SeededGenerator::new(u64::from_le_bytes(seed) ^ time::cycles())
}
