//! Where FLIP addresses live: the route cache and the locate state machine.
//!
//! From `docs/amoeba-protocol.md#locate-hereis-and-nothere`: addresses are location
//! independent, so a sender must find out where one is. LOCATE is broadcast with a growing hop
//! count; the owner answers HEREIS; a stale route yields NOTHERE and a fresh locate; at most 25
//! hops ([`MAX_HOPS`]).
//!
//! [`Router`] is driven by calls and answers with [`Action`]s; it does no I/O and reads no
//! clock. It is generic over `N`, whatever the caller uses to name the neighbour (or interface)
//! a packet came from and goes to, e.g. an (interface, Ethernet address) pair.
//!
//! * [`Router::send`] for each message to send: a cached route, or a locate to start.
//! * [`Router::on_frame`] for each received FLIP packet: learns routes, answers LOCATEs for our
//!   addresses, reports what is for us.
//! * [`Router::on_timer`] at [`Router::next_deadline`]: the next LOCATE round, or giving up.
//!
//! # Our choices
//!
//! * Hop schedule: LOCATE rounds go out with maximum hop counts [`LOCATE_HOP_SCHEDULE`]
//!   (1, 2, 4, 8, 16, 25), one round every [`DEFAULT_LOCATE_INTERVAL_MS`]; after the 25-hop round
//!   goes unanswered the destination is given up (about 3 s, inside 5.3's 5.2 s locate timeout).
//! * Routes are learned from every packet's source address (HEREIS, LOCATE, data), with the
//!   latest information winning, and live [`DEFAULT_ROUTE_LIFETIME_MS`] after they were last
//!   confirmed; an older route is located again before use.
//! * A NOTHERE names the missing address in its **source** field (as a HEREIS names the found
//!   address there) and the original sender in its destination field. It is believed only from
//!   the neighbour the route goes through; a report from elsewhere is about a route we no
//!   longer use.
//! * This is an endpoint, not a FLIP router: LOCATEs for addresses that are not ours are not
//!   forwarded, and data for an address that is not ours is answered with NOTHERE (once per
//!   message, for its first fragment), which is how a sender learns that a process migrated.
//! * Memory is bounded: when the route cache is full the oldest route makes room; when the
//!   locate table is full a new destination is given up at once.
//! * The router does not hold messages: on [`Action::BroadcastLocate`] the caller keeps the
//!   message until [`Action::SendTo`] or [`Action::GiveUp`] for that destination.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use super::Millis;
use super::address::{Address, PrivateAddress};
use super::header::{Header, MAX_HOPS, PacketType};

/// The maximum hop counts of successive LOCATE rounds for one destination.
pub const LOCATE_HOP_SCHEDULE: [u16; 6] = [1, 2, 4, 8, 16, MAX_HOPS];
/// Default time between LOCATE rounds.
pub const DEFAULT_LOCATE_INTERVAL_MS: Millis = 500;
/// Default lifetime of a route after it was last confirmed.
pub const DEFAULT_ROUTE_LIFETIME_MS: Millis = 60_000;
/// Default size of the route cache.
pub const DEFAULT_MAX_ROUTES: usize = 256;
/// Default number of destinations being located at once.
pub const DEFAULT_MAX_LOCATES: usize = 64;

// The schedule grows and ends at FLIP's 25-hop limit.
const _: () = assert!(LOCATE_HOP_SCHEDULE[0] == 1);
const _: () = assert!(LOCATE_HOP_SCHEDULE[LOCATE_HOP_SCHEDULE.len() - 1] == MAX_HOPS);
const _: () = assert!(
    DEFAULT_LOCATE_INTERVAL_MS * LOCATE_HOP_SCHEDULE.len() as u64 <= 5_200,
    "all LOCATE rounds fit 5.3's default locate timeout"
);

/// The bounds and timers of a [`Router`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouterLimits {
    pub locate_interval_ms: Millis,
    pub route_lifetime_ms: Millis,
    pub max_routes: usize,
    pub max_locates: usize,
}

impl Default for RouterLimits {
    fn default() -> Self {
        Self {
            locate_interval_ms: DEFAULT_LOCATE_INTERVAL_MS,
            route_lifetime_ms: DEFAULT_ROUTE_LIFETIME_MS,
            max_routes: DEFAULT_MAX_ROUTES,
            max_locates: DEFAULT_MAX_LOCATES,
        }
    }
}

/// A cached route to a public address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route<N> {
    /// Where packets for the address go.
    pub neighbour: N,
    /// Hops the last packet from the address had travelled.
    pub hops: u16,
    /// When the route was last confirmed.
    pub confirmed_ms: Millis,
}

/// What the caller must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action<N> {
    /// Send to `neighbour` the message for `destination`, and any held for it.
    SendTo { destination: Address, neighbour: N },
    /// Hold the message for `destination`: a locate is under way.
    Hold { destination: Address },
    /// Hold the message for `destination` and broadcast a LOCATE for it with maximum hop
    /// count `max_hops` on every interface.
    BroadcastLocate { destination: Address, max_hops: u16 },
    /// `destination` could not be located: fail the messages held for it.
    GiveUp { destination: Address },
    /// Answer a LOCATE: send HEREIS from our `address` to `locator` through `neighbour`.
    SendHereIs {
        address: Address,
        locator: Address,
        neighbour: N,
    },
    /// Tell `sender`, through `neighbour`, that `address` is not here.
    SendNotHere {
        address: Address,
        sender: Address,
        neighbour: N,
    },
    /// The packet is for our `destination`: pass it up (to reassembly, then RPC).
    Deliver { destination: Address },
}

/// The actions for one received packet: at most two (e.g. deliver it, and send what was held
/// for its sender, which it just located).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameActions<N>([Option<Action<N>>; 2]);

impl<N> FrameActions<N> {
    const fn none() -> Self {
        Self([None, None])
    }

    fn push(&mut self, action: Option<Action<N>>) {
        if let Some(slot) = self.0.iter_mut().find(|slot| slot.is_none()) {
            *slot = action;
        }
    }
}

impl<N> IntoIterator for FrameActions<N> {
    type Item = Action<N>;
    type IntoIter = core::iter::Flatten<core::array::IntoIter<Option<Action<N>>, 2>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter().flatten()
    }
}

/// What a [`Router`] has done since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouterStats {
    /// LOCATE rounds broadcast.
    pub locates_sent: u64,
    /// Locates answered (by HEREIS or any packet from the destination).
    pub located: u64,
    /// Destinations given up.
    pub gave_up: u64,
    /// Routes dropped because a NOTHERE said they were stale.
    pub not_here: u64,
    /// Packets ignored (UNTRUSTED, NOTHERE about routes we do not use).
    pub ignored: u64,
}

/// A destination being located.
#[derive(Clone, Copy, Debug)]
struct Locate {
    /// Index into [`LOCATE_HOP_SCHEDULE`] of the round under way.
    round: usize,
    /// When the round under way is over.
    deadline_ms: Millis,
}

/// The route cache, the locates under way and our own addresses.
#[derive(Clone, Debug)]
pub struct Router<N> {
    limits: RouterLimits,
    local: BTreeSet<Address>,
    routes: BTreeMap<Address, Route<N>>,
    locates: BTreeMap<Address, Locate>,
    stats: RouterStats,
}

impl<N: Copy + Eq> Router<N> {
    pub fn new(limits: RouterLimits) -> Self {
        Self {
            limits,
            local: BTreeSet::new(),
            routes: BTreeMap::new(),
            locates: BTreeMap::new(),
            stats: RouterStats::default(),
        }
    }

    pub fn stats(&self) -> &RouterStats {
        &self.stats
    }

    /// Makes `private`'s public address ours: LOCATEs for it are answered, packets to it
    /// delivered. Returns the public address.
    pub fn register(&mut self, private: &PrivateAddress) -> Address {
        let public = private.public();
        self.local.insert(public);
        self.routes.remove(&public);
        public
    }

    /// Stops answering for `public` (e.g. its process migrated away); whether it was ours.
    pub fn unregister(&mut self, public: Address) -> bool {
        self.local.remove(&public)
    }

    pub fn is_local(&self, address: Address) -> bool {
        self.local.contains(&address)
    }

    /// The cached route to `destination`, however old.
    pub fn route(&self, destination: Address) -> Option<&Route<N>> {
        self.routes.get(&destination)
    }

    /// What to do with a message for `destination` at `now_ms`.
    pub fn send(&mut self, destination: Address, now_ms: Millis) -> Action<N> {
        if self.is_local(destination) {
            return Action::Deliver { destination };
        }
        if let Some(route) = self.fresh_route(destination, now_ms) {
            return Action::SendTo {
                destination,
                neighbour: route.neighbour,
            };
        }
        if self.locates.contains_key(&destination) {
            return Action::Hold { destination };
        }
        self.start_locate(destination, now_ms)
    }

    /// Takes a received packet's header, which came from `from`, at `now_ms`.
    pub fn on_frame(&mut self, from: N, header: &Header, now_ms: Millis) -> FrameActions<N> {
        let mut actions = FrameActions::none();
        match header.kind {
            PacketType::Locate => {
                actions.push(self.learn(header.source, from, header.hop_count, now_ms));
                actions.push(self.answer_locate(from, header));
            }
            PacketType::HereIs => {
                actions.push(self.learn(header.source, from, header.hop_count, now_ms));
            }
            PacketType::UniData | PacketType::MultiData => {
                actions.push(self.learn(header.source, from, header.hop_count, now_ms));
                actions.push(self.receive_data(from, header));
            }
            PacketType::NotHere => actions.push(self.on_not_here(from, header, now_ms)),
            PacketType::Untrusted => self.stats.ignored = self.stats.ignored.saturating_add(1),
        }
        actions
    }

    /// The next LOCATE rounds, and the destinations given up, at `now_ms`.
    pub fn on_timer(&mut self, now_ms: Millis) -> Vec<Action<N>> {
        let due: Vec<Address> = self
            .locates
            .iter()
            .filter(|(_, locate)| locate.deadline_ms <= now_ms)
            .map(|(destination, _)| *destination)
            .collect();
        due.into_iter()
            .filter_map(|destination| self.next_round(destination, now_ms))
            .collect()
    }

    /// When [`on_timer`](Router::on_timer) next has work, if ever.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.locates.values().map(|locate| locate.deadline_ms).min()
    }

    /// Forgets every route through `neighbour` (its link went down).
    pub fn forget_neighbour(&mut self, neighbour: N) {
        self.routes.retain(|_, route| route.neighbour != neighbour);
    }

    fn fresh_route(&self, destination: Address, now_ms: Millis) -> Option<Route<N>> {
        let route = self.routes.get(&destination)?;
        let age = now_ms.saturating_sub(route.confirmed_ms);
        (age < self.limits.route_lifetime_ms).then_some(*route)
    }

    fn start_locate(&mut self, destination: Address, now_ms: Millis) -> Action<N> {
        self.routes.remove(&destination);
        if self.locates.len() >= self.limits.max_locates {
            self.stats.gave_up = self.stats.gave_up.saturating_add(1);
            return Action::GiveUp { destination };
        }
        self.locates.insert(
            destination,
            Locate {
                round: 0,
                deadline_ms: 0,
            },
        );
        self.locate_round(destination, 0, now_ms)
    }

    /// Moves the locate of `destination` on to `round`, or gives it up after the last.
    fn locate_round(&mut self, destination: Address, round: usize, now_ms: Millis) -> Action<N> {
        let Some(&max_hops) = LOCATE_HOP_SCHEDULE.get(round) else {
            self.locates.remove(&destination);
            self.stats.gave_up = self.stats.gave_up.saturating_add(1);
            return Action::GiveUp { destination };
        };
        let deadline_ms = now_ms.saturating_add(self.limits.locate_interval_ms);
        self.locates
            .insert(destination, Locate { round, deadline_ms });
        self.stats.locates_sent = self.stats.locates_sent.saturating_add(1);
        Action::BroadcastLocate {
            destination,
            max_hops,
        }
    }

    fn next_round(&mut self, destination: Address, now_ms: Millis) -> Option<Action<N>> {
        let round = self.locates.get(&destination)?.round;
        Some(self.locate_round(destination, round.saturating_add(1), now_ms))
    }

    /// Records that `address` was just heard from through `neighbour`; if it was being
    /// located, the held messages can go.
    fn learn(
        &mut self,
        address: Address,
        neighbour: N,
        hops: u16,
        now_ms: Millis,
    ) -> Option<Action<N>> {
        if address.is_null() || self.is_local(address) {
            return None;
        }
        if !self.routes.contains_key(&address) && self.routes.len() >= self.limits.max_routes {
            self.evict_oldest_route();
        }
        let route = Route {
            neighbour,
            hops,
            confirmed_ms: now_ms,
        };
        self.routes.insert(address, route);
        self.locates.remove(&address)?;
        self.stats.located = self.stats.located.saturating_add(1);
        Some(Action::SendTo {
            destination: address,
            neighbour,
        })
    }

    fn evict_oldest_route(&mut self) {
        let oldest = self
            .routes
            .iter()
            .min_by_key(|(_, route)| route.confirmed_ms)
            .map(|(address, _)| *address);
        if let Some(address) = oldest {
            self.routes.remove(&address);
        }
    }

    fn answer_locate(&self, from: N, header: &Header) -> Option<Action<N>> {
        self.is_local(header.destination)
            .then_some(Action::SendHereIs {
                address: header.destination,
                locator: header.source,
                neighbour: from,
            })
    }

    fn receive_data(&self, from: N, header: &Header) -> Option<Action<N>> {
        let destination = header.destination;
        if self.is_local(destination) {
            return Some(Action::Deliver { destination });
        }
        // Group data for a group we are not in is simply not ours; unicast data means the
        // sender's route is stale. Answer once per message, not once per fragment.
        let first_fragment = header.fragment_offset == 0;
        (header.kind == PacketType::UniData && first_fragment).then_some(Action::SendNotHere {
            address: destination,
            sender: header.source,
            neighbour: from,
        })
    }

    fn on_not_here(&mut self, from: N, header: &Header, now_ms: Millis) -> Option<Action<N>> {
        let missing = header.source;
        let route_is_through_reporter = self
            .routes
            .get(&missing)
            .is_some_and(|route| route.neighbour == from);
        if !route_is_through_reporter || self.locates.contains_key(&missing) {
            self.stats.ignored = self.stats.ignored.saturating_add(1);
            return None;
        }
        self.stats.not_here = self.stats.not_here.saturating_add(1);
        Some(self.start_locate(missing, now_ms))
    }
}

impl<N: Copy + Eq> Default for Router<N> {
    fn default() -> Self {
        Self::new(RouterLimits::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Neighbours in the tests: small numbers.
    type Neighbour = u8;

    const INTERVAL: Millis = DEFAULT_LOCATE_INTERVAL_MS;

    fn address(n: u8) -> Address {
        Address([n, 0, 0, 0, 0, 0, 0, 1])
    }

    fn packet(kind: PacketType, destination: Address, source: Address, hops: u16) -> Header {
        let mut header = Header::new(kind, destination, source, 1, 0);
        header.hop_count = hops;
        header
    }

    fn actions(result: FrameActions<Neighbour>) -> Vec<Action<Neighbour>> {
        result.into_iter().collect()
    }

    #[test]
    fn an_unknown_destination_is_located_with_growing_hop_counts_then_given_up() {
        let mut router = Router::<Neighbour>::default();
        let far = address(9);
        assert_eq!(
            router.send(far, 0),
            Action::BroadcastLocate {
                destination: far,
                max_hops: 1
            }
        );
        assert_eq!(router.send(far, 1), Action::Hold { destination: far });
        assert_eq!(router.next_deadline(), Some(INTERVAL));
        assert_eq!(router.on_timer(INTERVAL - 1), []);
        let mut now = 0;
        for hops in [2, 4, 8, 16, 25] {
            now += INTERVAL;
            assert_eq!(
                router.on_timer(now),
                [Action::BroadcastLocate {
                    destination: far,
                    max_hops: hops
                }]
            );
        }
        now += INTERVAL;
        assert_eq!(router.on_timer(now), [Action::GiveUp { destination: far }]);
        assert_eq!(router.next_deadline(), None);
        assert_eq!(
            (router.stats().locates_sent, router.stats().gave_up),
            (6, 1)
        );
        // The next message starts over.
        assert!(matches!(
            router.send(far, now),
            Action::BroadcastLocate { max_hops: 1, .. }
        ));
    }

    #[test]
    fn hereis_fills_the_cache_and_releases_held_messages() {
        let mut router = Router::<Neighbour>::default();
        let me = router.register(&PrivateAddress([7; 8]));
        let far = address(9);
        router.send(far, 0);
        let answer = packet(PacketType::HereIs, me, far, 3);
        assert_eq!(
            actions(router.on_frame(4, &answer, 10)),
            [Action::SendTo {
                destination: far,
                neighbour: 4
            }]
        );
        assert_eq!(
            router.route(far),
            Some(&Route {
                neighbour: 4,
                hops: 3,
                confirmed_ms: 10
            })
        );
        assert_eq!(
            router.send(far, 20),
            Action::SendTo {
                destination: far,
                neighbour: 4
            }
        );
        assert_eq!(router.on_timer(10 * INTERVAL), []);
        assert_eq!(router.stats().located, 1);
        // A second HEREIS refreshes the route, with nothing held to send.
        assert_eq!(actions(router.on_frame(5, &answer, 30)), []);
        assert_eq!(router.route(far).unwrap().neighbour, 5);
    }

    #[test]
    fn old_routes_are_located_again() {
        let mut router = Router::<Neighbour>::default();
        let far = address(9);
        router.on_frame(4, &packet(PacketType::HereIs, address(1), far, 1), 0);
        let lifetime = DEFAULT_ROUTE_LIFETIME_MS;
        assert!(matches!(
            router.send(far, lifetime - 1),
            Action::SendTo { .. }
        ));
        assert!(matches!(
            router.send(far, lifetime),
            Action::BroadcastLocate { max_hops: 1, .. }
        ));
        assert_eq!(router.route(far), None);
    }

    #[test]
    fn nothere_from_the_route_restarts_the_locate() {
        let mut router = Router::<Neighbour>::default();
        let far = address(9);
        let me = address(1);
        router.on_frame(4, &packet(PacketType::HereIs, me, far, 1), 0);
        // From another neighbour: about a route we do not use.
        let not_here = packet(PacketType::NotHere, me, far, 0);
        assert_eq!(actions(router.on_frame(5, &not_here, 1)), []);
        assert_eq!(router.route(far).unwrap().neighbour, 4);
        assert_eq!(
            actions(router.on_frame(4, &not_here, 2)),
            [Action::BroadcastLocate {
                destination: far,
                max_hops: 1
            }]
        );
        assert_eq!(router.route(far), None);
        assert_eq!(router.send(far, 3), Action::Hold { destination: far });
        // The process turns up elsewhere.
        assert_eq!(
            actions(router.on_frame(6, &packet(PacketType::HereIs, me, far, 2), 4)),
            [Action::SendTo {
                destination: far,
                neighbour: 6
            }]
        );
        assert_eq!((router.stats().not_here, router.stats().ignored), (1, 1));
    }

    #[test]
    fn our_addresses_answer_locates_and_take_data() {
        let mut router = Router::<Neighbour>::default();
        let me = router.register(&PrivateAddress([7; 8]));
        let them = address(2);
        assert_eq!(
            actions(router.on_frame(3, &packet(PacketType::Locate, me, them, 1), 0)),
            [Action::SendHereIs {
                address: me,
                locator: them,
                neighbour: 3
            }]
        );
        // The locator was learned on the way, so the answer can go straight back.
        assert_eq!(
            router.send(them, 1),
            Action::SendTo {
                destination: them,
                neighbour: 3
            }
        );
        assert_eq!(
            actions(router.on_frame(3, &packet(PacketType::UniData, me, them, 1), 2)),
            [Action::Deliver { destination: me }]
        );
        assert_eq!(router.send(me, 3), Action::Deliver { destination: me });
        // Not ours: LOCATEs go unanswered.
        let other = address(3);
        assert_eq!(
            actions(router.on_frame(3, &packet(PacketType::Locate, other, them, 1), 4)),
            []
        );
    }

    #[test]
    fn data_for_an_address_that_left_is_answered_with_nothere() {
        let mut router = Router::<Neighbour>::default();
        let private = PrivateAddress([7; 8]);
        let me = router.register(&private);
        assert!(router.unregister(me) && !router.unregister(me));
        let them = address(2);
        let mut data = packet(PacketType::UniData, me, them, 1);
        assert_eq!(
            actions(router.on_frame(3, &data, 0)),
            [Action::SendNotHere {
                address: me,
                sender: them,
                neighbour: 3
            }]
        );
        // Once per message, and never for group data.
        data.fragment_offset = 1458;
        data.total_length = 3000;
        assert_eq!(actions(router.on_frame(3, &data, 1)), []);
        let group = packet(PacketType::MultiData, me, them, 1);
        assert_eq!(actions(router.on_frame(3, &group, 2)), []);
    }

    #[test]
    fn data_from_a_destination_being_located_both_delivers_and_releases() {
        let mut router = Router::<Neighbour>::default();
        let me = router.register(&PrivateAddress([7; 8]));
        let them = address(2);
        router.send(them, 0);
        assert_eq!(
            actions(router.on_frame(8, &packet(PacketType::UniData, me, them, 1), 1)),
            [
                Action::SendTo {
                    destination: them,
                    neighbour: 8
                },
                Action::Deliver { destination: me },
            ]
        );
    }

    #[test]
    fn tables_are_bounded() {
        let limits = RouterLimits {
            max_routes: 2,
            max_locates: 1,
            ..RouterLimits::default()
        };
        let mut router = Router::<Neighbour>::new(limits);
        for (n, now) in [(1, 10), (2, 20), (3, 30)] {
            router.on_frame(
                1,
                &packet(PacketType::HereIs, address(0), address(n), 1),
                now,
            );
        }
        assert_eq!(router.route(address(1)), None); // the oldest made room
        assert!(router.route(address(2)).is_some() && router.route(address(3)).is_some());
        assert!(matches!(
            router.send(address(7), 40),
            Action::BroadcastLocate { .. }
        ));
        assert_eq!(
            router.send(address(8), 40),
            Action::GiveUp {
                destination: address(8)
            }
        );
        router.forget_neighbour(1);
        assert_eq!(router.route(address(2)), None);
        // Untrusted packets and null sources teach nothing.
        let untrusted = packet(PacketType::Untrusted, address(0), address(5), 1);
        assert_eq!(actions(router.on_frame(1, &untrusted, 50)), []);
        let anonymous = packet(PacketType::HereIs, address(0), Address::NULL, 1);
        assert_eq!(actions(router.on_frame(1, &anonymous, 50)), []);
        assert_eq!(router.route(Address::NULL), None);
    }
}
