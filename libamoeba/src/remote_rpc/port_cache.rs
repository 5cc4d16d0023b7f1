//! The client's cache of port locates: put-port → FLIP address of a kernel serving it.
//!
//! From `docs/amoeba-protocol.md#rpc-over-flip`: a port locate is a broadcast that finds the
//! FLIP address of a kernel serving a put-port, and its answers are cached. Ours: the cache
//! holds at most [`PORT_CACHE_CAPACITY`] ports and evicts the least recently used; the engine
//! removes an entry when the kernel behind it refuses the port or stops answering.

use alloc::collections::BTreeMap;

use super::address::FlipAddress;
use crate::capability::Port;

/// Ports remembered at once (ours: a node talks to a handful of services).
pub const PORT_CACHE_CAPACITY: usize = 64;

#[derive(Clone, Copy, Debug)]
struct Entry {
    server: FlipAddress,
    /// When the entry was last looked up or refreshed, for LRU eviction.
    last_used: u64,
}

/// Put-port → server kernel, bounded.
#[derive(Debug, Default)]
pub struct PortCache {
    entries: BTreeMap<Port, Entry>,
}

impl PortCache {
    pub const fn new() -> Self {
        Self {
            entries: BTreeMap::new(),
        }
    }

    /// Where `port` was last found, if it is cached.
    pub fn lookup(&mut self, port: Port, now: u64) -> Option<FlipAddress> {
        let entry = self.entries.get_mut(&port)?;
        entry.last_used = now;
        Some(entry.server)
    }

    /// Records that `server` serves `port`, evicting the least recently used entry when full.
    pub fn insert(&mut self, port: Port, server: FlipAddress, now: u64) {
        if !self.entries.contains_key(&port) && self.entries.len() >= PORT_CACHE_CAPACITY {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(port, _)| *port);
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        let entry = Entry {
            server,
            last_used: now,
        };
        self.entries.insert(port, entry);
    }

    /// Forgets `port` if it still points at `server` (a newer answer is kept).
    pub fn forget(&mut self, port: Port, server: FlipAddress) {
        if self.entries.get(&port).is_some_and(|e| e.server == server) {
            self.entries.remove(&port);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(n: u16) -> Port {
        let [a, b] = n.to_le_bytes();
        Port([a, b, 0, 0, 0, 1])
    }

    #[test]
    fn lookups_refresh_and_the_least_recently_used_is_evicted() {
        let mut cache = PortCache::new();
        let server = FlipAddress([7; 8]);
        for n in 0..PORT_CACHE_CAPACITY as u16 {
            cache.insert(port(n), server, u64::from(n));
        }
        assert_eq!(cache.lookup(port(0), 1000), Some(server));
        cache.insert(port(999), server, 1001);
        assert_eq!(cache.len(), PORT_CACHE_CAPACITY);
        assert_eq!(cache.lookup(port(1), 1002), None, "oldest evicted");
        assert_eq!(cache.lookup(port(0), 1002), Some(server), "refreshed kept");
    }

    #[test]
    fn forget_only_removes_the_named_server() {
        let mut cache = PortCache::new();
        cache.insert(port(1), FlipAddress([1; 8]), 0);
        cache.forget(port(1), FlipAddress([2; 8]));
        assert_eq!(cache.lookup(port(1), 0), Some(FlipAddress([1; 8])));
        cache.forget(port(1), FlipAddress([1; 8]));
        assert!(cache.is_empty());
    }
}
