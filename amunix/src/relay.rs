//! A lossy relay between two virtual LANs: every frame seen on LAN A is passed on to LAN B and
//! every frame seen on B to A, but a given share of them is dropped, duplicated or reordered
//! ([`Mistreatment`]). It is how a test or a benchmark checks that remote RPC over FLIP completes
//! every call exactly once, or reports `RPC_FAILURE`, on a network that loses and mangles frames.
//!
//! # Use
//!
//! Put one node on LAN A (QEMU `-netdev socket,id=n0,mcast=230.0.0.1:A,localaddr=127.0.0.1`),
//! another on LAN B (`mcast=230.0.0.1:B`), and a relay between them: in a test
//! `Relay::new(A, B, mistreatment)?.spawn()?` (the [`RelayHandle`] stops the relay when dropped
//! and [`RelayHandle::stop`] returns its counters), from a shell `amoeba relay --from-port A
//! --to-port B --drop 10 --duplicate 5 --reorder 5 --seed 7`. Every frame between the two
//! nodes then passes the relay, and nothing else joins them. A host seat ([`LanSeat`]) on either
//! LAN sees the other LAN through the relay too.
//!
//! # Mistreatment
//!
//! Each direction decides each frame with its own small PRNG (splitmix64) seeded from
//! [`Mistreatment::seed`], four draws a frame (drop, duplicate, reorder, how far to reorder), so
//! the same seed and the same frames in the same order get the same fates, and a changed share
//! of one kind leaves the draws of the others alone. A dropped frame is not passed on; a
//! duplicated one is sent twice in a row; a reordered one is held back until 1 to
//! [`MAX_FRAMES_OVERTAKING`] later frames of its direction have been passed on, or
//! [`REORDER_HOLD`] passes (so a held frame is never stuck when traffic stops), whichever comes
//! first. Which frames a deadline releases depends on timing; everything else is deterministic.
//! Frames still held when the relay stops are passed on then.
//!
//! # Not relaying our own frames again
//!
//! Every member of a LAN is a socket on this host, so multicast loopback must stay on (it is
//! how QEMU's socket hears the others), and it also hands every frame the relay sends on a LAN
//! back to the relay's own socket there. Passing those echoes on again would bounce every frame
//! between the LANs forever.
//!
//! The relay keeps, per LAN, a ledger of the exact frames (all bytes) it has sent there and not
//! yet heard back: each send adds one, and a frame received on that LAN that matches a ledger
//! entry is taken off it and counted as an echo instead of being passed on. Entries not heard
//! back within [`ECHO_MEMORY`] (the echo normally arrives within microseconds) are forgotten.
//!
//! We chose this over learning on which side each source address lives (a frame on B whose
//! source was first heard on A is our own echo) because that breaks as soon as two stations
//! share an address across the LANs, which is what tests do: `amoeba-tests` gives node 1 of
//! every LAN the same card address, and every `amoeba` command sends from the same host
//! address. The ledger only mistakes a frame for an echo if a station on one LAN sends exactly
//! the bytes, source address included, of a frame the relay has just sent there from the other
//! LAN; and if an echo is ever missed (a full receive buffer), the frame is passed back once and
//! the echo of that is caught, so a miss never turns into a storm.
//!
//! The two directions run on two threads (each blocks receiving on its own LAN), sharing only
//! the ledgers: a frame is entered into the destination's ledger before it is sent, so its
//! echo always finds it.

use crate::lan::{LAN_GROUP, LanSeat};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest a reordered frame is held back when no later frames come to overtake it.
pub const REORDER_HOLD: Duration = Duration::from_millis(20);

/// The most later frames that overtake a reordered one (1 to this many, drawn per frame).
pub const MAX_FRAMES_OVERTAKING: u8 = 3;

/// How long the relay waits for the echo of a frame it sent before forgetting it.
pub const ECHO_MEMORY: Duration = Duration::from_secs(2);

/// How often a waiting direction looks at its stop flag.
const POLL: Duration = Duration::from_millis(10);

/// Room for the longest UDP datagram, so no frame is ever cut short.
const FRAME_BUFFER: usize = 64 * 1024;

/// The receive buffer the relay asks for on each LAN, so bursts wait instead of being lost
/// before the relay's own mistreatment (the system may grant less).
const RECEIVE_BUFFER: usize = 4 * 1024 * 1024;

/// The relay's seats never send frames of their own ([`LanSeat::send_frame`] passes frames on
/// as they are), so their address is never on the wire.
const RELAY_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0xFE];

/// Draws per million for one percent: shares have a resolution of 0.0001 %.
const PER_MILLION_PER_PERCENT: f64 = 10_000.0;

/// What the relay does to the frames it passes on, in percent of the frames of each direction
/// (0 to 100, fractions allowed). Duplicate and reorder shares apply to the frames not dropped;
/// a frame may be both duplicated and reordered (its two copies are held back together).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mistreatment {
    pub drop_percent: f64,
    pub duplicate_percent: f64,
    pub reorder_percent: f64,
    /// Seeds both directions' PRNGs (each its own stream).
    pub seed: u64,
}

impl Mistreatment {
    /// A faithful relay: every frame passed on once, in order.
    pub const NONE: Self = Self {
        drop_percent: 0.0,
        duplicate_percent: 0.0,
        reorder_percent: 0.0,
        seed: 0,
    };

    /// Whether every share is a percentage from 0 to 100.
    pub fn check(&self) -> Result<(), RelayError> {
        for (what, value) in [
            ("drop", self.drop_percent),
            ("duplicate", self.duplicate_percent),
            ("reorder", self.reorder_percent),
        ] {
            if !(0.0..=100.0).contains(&value) {
                return Err(RelayError::Percent { what, value });
            }
        }
        Ok(())
    }

    /// The fate of the next frame; always four draws from `rng`.
    fn decide(&self, rng: &mut SplitMix64) -> Fate {
        let drop = rng.chance(self.drop_percent);
        let duplicate = rng.chance(self.duplicate_percent);
        let reorder = rng.chance(self.reorder_percent);
        let overtaking = rng.below(u64::from(MAX_FRAMES_OVERTAKING)) as u8 + 1;
        if drop {
            return Fate::Drop;
        }
        Fate::Forward {
            copies: if duplicate { 2 } else { 1 },
            hold: reorder.then_some(overtaking),
        }
    }
}

impl fmt::Display for Mistreatment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "drop {}%, duplicate {}%, reorder {}%, seed {}",
            self.drop_percent, self.duplicate_percent, self.reorder_percent, self.seed
        )
    }
}

/// What happens to one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Drop,
    /// Sent `copies` times; if `hold` is given, only after that many later frames were passed
    /// on (or [`REORDER_HOLD`] passed).
    Forward {
        copies: u8,
        hold: Option<u8>,
    },
}

/// splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014):
/// small, fast, and good enough to pick which frames to mistreat.
#[derive(Clone, Debug)]
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `bound` (> 0); the modulo bias is negligible for small bounds.
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    /// True with a chance of `percent` (0 to 100).
    fn chance(&mut self, percent: f64) -> bool {
        let threshold = (percent * PER_MILLION_PER_PERCENT).round() as u64;
        self.below(1_000_000) < threshold
    }
}

/// The relay's two directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    AToB,
    BToA,
}

impl Direction {
    /// This direction's PRNG seed: the two must not draw the same stream.
    fn seed(self, seed: u64) -> u64 {
        match self {
            Self::AToB => seed,
            Self::BToA => seed ^ 0xD1B5_4A32_D192_ED03,
        }
    }
}

/// What one direction of the relay did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectionCounts {
    /// Frames heard on the source LAN, not counting the relay's own echoes.
    pub received: u64,
    /// Frames passed on (at least once).
    pub forwarded: u64,
    /// Frames not passed on.
    pub dropped: u64,
    /// Extra copies sent (one per duplicated frame).
    pub duplicated: u64,
    /// Frames held back to be overtaken.
    pub reordered: u64,
    /// The relay's own frames heard back on the source LAN, and not passed on.
    pub echoes: u64,
    /// Sends that failed (each counted like a dropped copy).
    pub send_errors: u64,
}

impl fmt::Display for DirectionCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} received, {} forwarded, {} dropped, {} duplicated, {} reordered, {} own echoes \
             skipped, {} send errors",
            self.received,
            self.forwarded,
            self.dropped,
            self.duplicated,
            self.reordered,
            self.echoes,
            self.send_errors
        )
    }
}

/// What the relay did, per direction. Once it has stopped, `received == forwarded + dropped`
/// in each direction unless sends failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RelayCounts {
    pub a_to_b: DirectionCounts,
    pub b_to_a: DirectionCounts,
}

/// [`DirectionCounts`] being counted.
#[derive(Debug, Default)]
struct Counters {
    received: AtomicU64,
    forwarded: AtomicU64,
    dropped: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
    echoes: AtomicU64,
    send_errors: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, amount: u64) {
        counter.fetch_add(amount, Ordering::Relaxed);
    }

    fn snapshot(&self) -> DirectionCounts {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        DirectionCounts {
            received: read(&self.received),
            forwarded: read(&self.forwarded),
            dropped: read(&self.dropped),
            duplicated: read(&self.duplicated),
            reordered: read(&self.reordered),
            echoes: read(&self.echoes),
            send_errors: read(&self.send_errors),
        }
    }
}

#[derive(Debug, Default)]
struct RelayCounters {
    a_to_b: Counters,
    b_to_a: Counters,
}

impl RelayCounters {
    fn snapshot(&self) -> RelayCounts {
        RelayCounts {
            a_to_b: self.a_to_b.snapshot(),
            b_to_a: self.b_to_a.snapshot(),
        }
    }
}

/// Why the relay cannot start or had to stop.
#[derive(Debug)]
pub enum RelayError {
    /// A share of [`Mistreatment`] is not a percentage from 0 to 100.
    Percent { what: &'static str, value: f64 },
    /// Both sides are the same LAN: the relay would hear and pass on its own frames forever.
    SamePort(u16),
    /// Joining the LAN at `port` failed.
    Join { port: u16, source: std::io::Error },
    /// Receiving on the LAN at `port` failed (not a timeout: the socket is unusable).
    Receive { port: u16, source: std::io::Error },
    /// The relay's thread could not be started.
    Thread(std::io::Error),
    /// A thread of the relay panicked.
    Panicked,
}

impl fmt::Display for RelayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Percent { what, value } => write!(
                f,
                "the {what} share must be a percentage from 0 to 100, not {value}"
            ),
            Self::SamePort(port) => write!(
                f,
                "both sides of the relay are the LAN at {LAN_GROUP}:{port}; give two different \
                 ports"
            ),
            Self::Join { port, .. } => write!(f, "cannot join the LAN at {LAN_GROUP}:{port}"),
            Self::Receive { port, .. } => {
                write!(f, "receiving on the LAN at {LAN_GROUP}:{port} failed")
            }
            Self::Thread(_) => write!(f, "cannot start the relay's thread"),
            Self::Panicked => write!(f, "a thread of the relay panicked"),
        }
    }
}

impl std::error::Error for RelayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Join { source, .. } | Self::Receive { source, .. } | Self::Thread(source) => {
                Some(source)
            }
            Self::Percent { .. } | Self::SamePort(_) | Self::Panicked => None,
        }
    }
}

/// A relay between the LANs at ports A and B, joined and ready to run.
pub struct Relay {
    a: LanSeat,
    b: LanSeat,
    mistreatment: Mistreatment,
    /// Frames sent on A (B) whose echo has not come back yet.
    echoes_a: Mutex<EchoLedger>,
    echoes_b: Mutex<EchoLedger>,
    counters: Arc<RelayCounters>,
}

impl Relay {
    /// Joins the LANs at ports `port_a` and `port_b`; checks `mistreatment` first.
    pub fn new(port_a: u16, port_b: u16, mistreatment: Mistreatment) -> Result<Self, RelayError> {
        mistreatment.check()?;
        if port_a == port_b {
            return Err(RelayError::SamePort(port_a));
        }
        let join = |port| {
            let seat = LanSeat::join(port, RELAY_MAC)
                .map_err(|source| RelayError::Join { port, source })?;
            // A smaller buffer than asked for only makes bursts lossier; not worth failing for.
            let _ = seat.enlarge_receive_buffer(RECEIVE_BUFFER);
            Ok::<_, RelayError>(seat)
        };
        Ok(Self {
            a: join(port_a)?,
            b: join(port_b)?,
            mistreatment,
            echoes_a: Mutex::default(),
            echoes_b: Mutex::default(),
            counters: Arc::default(),
        })
    }

    /// The ports of LAN A and LAN B.
    pub fn ports(&self) -> (u16, u16) {
        (self.a.port(), self.b.port())
    }

    pub fn mistreatment(&self) -> Mistreatment {
        self.mistreatment
    }

    /// What the relay has done so far (all runs together).
    pub fn counts(&self) -> RelayCounts {
        self.counters.snapshot()
    }

    /// Relays until `stop` is set (looked at every few milliseconds); the counts then.
    pub fn run_until(&self, stop: &AtomicBool) -> Result<RelayCounts, RelayError> {
        self.run(stop, None)
    }

    /// Relays for `duration`; the counts then.
    pub fn run_for(&self, duration: Duration) -> Result<RelayCounts, RelayError> {
        self.run(&AtomicBool::new(false), Some(Instant::now() + duration))
    }

    /// Relays on a thread of its own until the handle is stopped or dropped.
    pub fn spawn(self) -> Result<RelayHandle, RelayError> {
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::clone(&self.counters);
        let thread = std::thread::Builder::new()
            .name("amunix-relay".into())
            .spawn({
                let stop = Arc::clone(&stop);
                move || self.run_until(&stop)
            })
            .map_err(RelayError::Thread)?;
        Ok(RelayHandle {
            stop,
            counters,
            thread: Some(thread),
        })
    }

    fn run(&self, stop: &AtomicBool, deadline: Option<Instant>) -> Result<RelayCounts, RelayError> {
        let failed = AtomicBool::new(false);
        let end = End {
            stop,
            failed: &failed,
            deadline,
        };
        let a = Side {
            seat: &self.a,
            echoes: &self.echoes_a,
        };
        let b = Side {
            seat: &self.b,
            echoes: &self.echoes_b,
        };
        let a_to_b = Forwarder::new(self.mistreatment, Direction::AToB);
        let b_to_a = Forwarder::new(self.mistreatment, Direction::BToA);
        let (forward, back) = std::thread::scope(|scope| {
            let forward = scope.spawn(|| pass_on(a, b, a_to_b, &self.counters.a_to_b, &end));
            let back = pass_on(b, a, b_to_a, &self.counters.b_to_a, &end);
            (forward.join(), back)
        });
        forward.map_err(|_| RelayError::Panicked)??;
        back?;
        Ok(self.counts())
    }
}

/// A relay running on its own thread; dropping it stops the relay and waits for it.
pub struct RelayHandle {
    stop: Arc<AtomicBool>,
    counters: Arc<RelayCounters>,
    thread: Option<JoinHandle<Result<RelayCounts, RelayError>>>,
}

impl RelayHandle {
    /// What the relay has done so far.
    pub fn counts(&self) -> RelayCounts {
        self.counters.snapshot()
    }

    /// False once the relay has stopped by itself (an error: [`RelayHandle::stop`] returns it).
    pub fn is_running(&self) -> bool {
        self.thread
            .as_ref()
            .is_some_and(|thread| !thread.is_finished())
    }

    /// Stops the relay (held frames are passed on first) and returns its counts, or why it
    /// stopped early.
    pub fn stop(mut self) -> Result<RelayCounts, RelayError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<RelayCounts, RelayError> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| RelayError::Panicked)?,
            None => Ok(self.counts()),
        }
    }
}

impl Drop for RelayHandle {
    fn drop(&mut self) {
        // Whoever wanted the outcome called `stop`.
        let _ = self.finish();
    }
}

/// When a direction stops.
struct End<'a> {
    stop: &'a AtomicBool,
    /// Set by a direction that failed, so the other one stops too.
    failed: &'a AtomicBool,
    deadline: Option<Instant>,
}

impl End<'_> {
    fn reached(&self, now: Instant) -> bool {
        self.stop.load(Ordering::Relaxed)
            || self.failed.load(Ordering::Relaxed)
            || self.deadline.is_some_and(|deadline| now >= deadline)
    }
}

/// One LAN as a direction sees it.
#[derive(Clone, Copy)]
struct Side<'a> {
    seat: &'a LanSeat,
    echoes: &'a Mutex<EchoLedger>,
}

fn lock(ledger: &Mutex<EchoLedger>) -> MutexGuard<'_, EchoLedger> {
    ledger
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One direction of the relay: frames heard on `from` (but not its own echoes) pass on to
/// `to` as `forwarder` decides, until `end`; frames still held are sent at the end.
fn pass_on(
    from: Side<'_>,
    to: Side<'_>,
    mut forwarder: Forwarder,
    counters: &Counters,
    end: &End<'_>,
) -> Result<(), RelayError> {
    let mut buffer = vec![0u8; FRAME_BUFFER];
    let mut outgoing = Vec::new();
    let result = loop {
        let now = Instant::now();
        forwarder.release(now, &mut outgoing);
        send(to, &mut outgoing, counters);
        if end.reached(now) {
            break Ok(());
        }
        let wait = forwarder
            .next_deadline()
            .map_or(POLL, |deadline| deadline.saturating_duration_since(now))
            .min(POLL);
        let length = match from.seat.receive_frame(&mut buffer, wait) {
            Ok(Some(length)) => length.min(buffer.len()),
            Ok(None) => continue,
            Err(source) => {
                break Err(RelayError::Receive {
                    port: from.seat.port(),
                    source,
                });
            }
        };
        let frame = &buffer[..length];
        let now = Instant::now();
        if lock(from.echoes).take(frame, now) {
            Counters::add(&counters.echoes, 1);
            continue;
        }
        Counters::add(&counters.received, 1);
        match forwarder.on_frame(frame, now, &mut outgoing) {
            Fate::Drop => Counters::add(&counters.dropped, 1),
            Fate::Forward { hold: Some(_), .. } => Counters::add(&counters.reordered, 1),
            Fate::Forward { hold: None, .. } => {}
        }
        send(to, &mut outgoing, counters);
    };
    if result.is_err() {
        end.failed.store(true, Ordering::Relaxed);
    }
    forwarder.flush(&mut outgoing);
    send(to, &mut outgoing, counters);
    result
}

/// Sends (and empties) `outgoing` on `to`, each frame entered in `to`'s echo ledger first.
fn send(to: Side<'_>, outgoing: &mut Vec<Outgoing>, counters: &Counters) {
    for frame in outgoing.drain(..) {
        let mut sent = 0;
        for _ in 0..frame.copies {
            lock(to.echoes).expect(&frame.frame, Instant::now());
            match to.seat.send_frame(&frame.frame) {
                Ok(()) => sent += 1,
                Err(_) => {
                    lock(to.echoes).forget(&frame.frame);
                    Counters::add(&counters.send_errors, 1);
                }
            }
        }
        if sent > 0 {
            Counters::add(&counters.forwarded, 1);
            Counters::add(&counters.duplicated, sent - 1);
        }
    }
}

/// A frame to send, `copies` times in a row.
#[derive(Debug, PartialEq, Eq)]
struct Outgoing {
    frame: Vec<u8>,
    copies: u8,
}

/// A reordered frame waiting to be overtaken.
#[derive(Debug)]
struct Held {
    frame: Vec<u8>,
    copies: u8,
    /// Later frames still to pass it.
    overtaking: u8,
    deadline: Instant,
}

/// One direction's mistreatment, without sockets: frames in, frames to send out.
#[derive(Debug)]
struct Forwarder {
    mistreatment: Mistreatment,
    rng: SplitMix64,
    /// Oldest first.
    held: VecDeque<Held>,
}

impl Forwarder {
    fn new(mistreatment: Mistreatment, direction: Direction) -> Self {
        Self {
            mistreatment,
            rng: SplitMix64::new(direction.seed(mistreatment.seed)),
            held: VecDeque::new(),
        }
    }

    /// Decides `frame`'s fate and adds what is to be sent now to `outgoing`: the frame itself
    /// unless it is dropped or held, then the held frames it was the last to overtake.
    fn on_frame(&mut self, frame: &[u8], now: Instant, outgoing: &mut Vec<Outgoing>) -> Fate {
        let fate = self.mistreatment.decide(&mut self.rng);
        match fate {
            Fate::Drop => {}
            Fate::Forward {
                copies,
                hold: Some(overtaking),
            } => self.held.push_back(Held {
                frame: frame.to_vec(),
                copies,
                overtaking,
                deadline: now + REORDER_HOLD,
            }),
            Fate::Forward { copies, hold: None } => {
                outgoing.push(Outgoing {
                    frame: frame.to_vec(),
                    copies,
                });
                for held in &mut self.held {
                    held.overtaking = held.overtaking.saturating_sub(1);
                }
                self.release(now, outgoing);
            }
        }
        fate
    }

    /// Adds the held frames that have been overtaken enough or held long enough to `outgoing`,
    /// oldest first.
    fn release(&mut self, now: Instant, outgoing: &mut Vec<Outgoing>) {
        if !self
            .held
            .iter()
            .any(|held| held.overtaking == 0 || held.deadline <= now)
        {
            return;
        }
        let (ready, waiting): (VecDeque<Held>, VecDeque<Held>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|held| held.overtaking == 0 || held.deadline <= now);
        self.held = waiting;
        outgoing.extend(ready.into_iter().map(Held::into_outgoing));
    }

    /// Adds every held frame to `outgoing`, oldest first.
    fn flush(&mut self, outgoing: &mut Vec<Outgoing>) {
        outgoing.extend(self.held.drain(..).map(Held::into_outgoing));
    }

    /// When the next held frame is due if nothing overtakes it.
    fn next_deadline(&self) -> Option<Instant> {
        self.held.iter().map(|held| held.deadline).min()
    }
}

impl Held {
    fn into_outgoing(self) -> Outgoing {
        Outgoing {
            frame: self.frame,
            copies: self.copies,
        }
    }
}

/// Frames the relay sent on one LAN whose echo has not come back yet, by their exact bytes.
#[derive(Debug, Default)]
struct EchoLedger {
    expected: HashMap<Vec<u8>, Expected>,
    last_pruned: Option<Instant>,
}

#[derive(Debug)]
struct Expected {
    /// Echoes still to come (a duplicated frame is sent, and echoed, twice).
    count: u32,
    /// When the last of them was sent.
    sent: Instant,
}

impl EchoLedger {
    /// `frame` is about to be sent: its echo is expected.
    fn expect(&mut self, frame: &[u8], now: Instant) {
        self.prune(now);
        let entry = self.expected.entry(frame.to_vec()).or_insert(Expected {
            count: 0,
            sent: now,
        });
        entry.count += 1;
        entry.sent = now;
    }

    /// Sending `frame` failed: no echo will come.
    fn forget(&mut self, frame: &[u8]) {
        if let Some(entry) = self.expected.get_mut(frame) {
            entry.count -= 1;
            if entry.count == 0 {
                self.expected.remove(frame);
            }
        }
    }

    /// Whether `frame`, just received, is an expected echo (then it is expected once less).
    fn take(&mut self, frame: &[u8], now: Instant) -> bool {
        self.prune(now);
        let Some(entry) = self.expected.get_mut(frame) else {
            return false;
        };
        entry.count -= 1;
        if entry.count == 0 {
            self.expected.remove(frame);
        }
        true
    }

    /// Forgets echoes not heard within [`ECHO_MEMORY`] (looking every half of it).
    fn prune(&mut self, now: Instant) {
        if self
            .last_pruned
            .is_some_and(|last| now.saturating_duration_since(last) < ECHO_MEMORY / 2)
        {
            return;
        }
        self.expected
            .retain(|_, entry| now.saturating_duration_since(entry.sent) < ECHO_MEMORY);
        self.last_pruned = Some(now);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.expected
            .values()
            .map(|entry| entry.count as usize)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRAWS: usize = 100_000;

    fn fates(mistreatment: Mistreatment, direction: Direction, count: usize) -> Vec<Fate> {
        let mut rng = SplitMix64::new(direction.seed(mistreatment.seed));
        (0..count).map(|_| mistreatment.decide(&mut rng)).collect()
    }

    fn share(fates: &[Fate], which: impl Fn(&Fate) -> bool) -> f64 {
        fates.iter().filter(|fate| which(fate)).count() as f64 * 100.0 / fates.len() as f64
    }

    fn dropped(fate: &Fate) -> bool {
        *fate == Fate::Drop
    }

    fn duplicated(fate: &Fate) -> bool {
        matches!(fate, Fate::Forward { copies: 2, .. })
    }

    fn reordered(fate: &Fate) -> bool {
        matches!(fate, Fate::Forward { hold: Some(_), .. })
    }

    fn mistreatment(drop: f64, duplicate: f64, reorder: f64, seed: u64) -> Mistreatment {
        Mistreatment {
            drop_percent: drop,
            duplicate_percent: duplicate,
            reorder_percent: reorder,
            seed,
        }
    }

    #[test]
    fn splitmix64_matches_the_reference() {
        // The first outputs for seed 0 of the reference implementation (Vigna's splitmix64.c).
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn shares_are_kept_within_a_percent() {
        for seed in [0, 1, 0xDEAD_BEEF] {
            let all = fates(mistreatment(30.0, 20.0, 10.0, seed), Direction::AToB, DRAWS);
            let passed: Vec<Fate> = all.iter().copied().filter(|f| !dropped(f)).collect();
            for (what, measured, wanted) in [
                ("drop", share(&all, dropped), 30.0),
                ("duplicate", share(&passed, duplicated), 20.0),
                ("reorder", share(&passed, reordered), 10.0),
            ] {
                assert!(
                    (measured - wanted).abs() < 1.0,
                    "seed {seed}: {what} {measured}% instead of {wanted}%"
                );
            }
        }
    }

    #[test]
    fn fractional_shares_are_kept() {
        let all = fates(mistreatment(0.5, 0.0, 0.0, 3), Direction::AToB, DRAWS);
        let measured = share(&all, dropped);
        assert!((measured - 0.5).abs() < 0.15, "{measured}%");
    }

    #[test]
    fn nothing_and_everything_are_exact() {
        let none = fates(Mistreatment::NONE, Direction::AToB, DRAWS);
        assert!(none.iter().all(|fate| *fate
            == Fate::Forward {
                copies: 1,
                hold: None
            }));
        let all = fates(mistreatment(100.0, 0.0, 0.0, 1), Direction::BToA, DRAWS);
        assert!(all.iter().all(dropped));
        let twice = fates(mistreatment(0.0, 100.0, 100.0, 1), Direction::AToB, DRAWS);
        assert!(twice.iter().all(|fate| duplicated(fate) && reordered(fate)));
    }

    #[test]
    fn frames_overtaking_a_reordered_one_are_one_to_three() {
        let all = fates(mistreatment(0.0, 0.0, 100.0, 9), Direction::AToB, DRAWS);
        for overtaking in 1..=MAX_FRAMES_OVERTAKING {
            let count = all
                .iter()
                .filter(
                    |fate| matches!(fate, Fate::Forward { hold: Some(n), .. } if *n == overtaking),
                )
                .count();
            assert!(count > DRAWS / 4, "{overtaking}: {count}");
        }
    }

    #[test]
    fn the_same_seed_decides_the_same_and_directions_differ() {
        let treatment = mistreatment(30.0, 30.0, 30.0, 42);
        let first = fates(treatment, Direction::AToB, 1000);
        assert_eq!(first, fates(treatment, Direction::AToB, 1000));
        assert_ne!(first, fates(treatment, Direction::BToA, 1000));
        let other_seed = Mistreatment {
            seed: 43,
            ..treatment
        };
        assert_ne!(first, fates(other_seed, Direction::AToB, 1000));
    }

    #[test]
    fn another_drop_share_leaves_the_other_decisions_alone() {
        let without = fates(mistreatment(0.0, 30.0, 30.0, 5), Direction::AToB, 1000);
        let with = fates(mistreatment(50.0, 30.0, 30.0, 5), Direction::AToB, 1000);
        for (before, after) in without.iter().zip(&with) {
            if *after != Fate::Drop {
                assert_eq!(before, after);
            }
        }
    }

    #[test]
    fn shares_outside_0_to_100_are_refused() {
        for bad in [-0.1, 100.1, f64::NAN, f64::INFINITY] {
            let error = mistreatment(0.0, bad, 0.0, 0).check().expect_err("refused");
            assert!(error.to_string().contains("duplicate share"), "{error}");
        }
        assert!(mistreatment(0.0, 100.0, 0.0, 0).check().is_ok());
        assert!(matches!(
            Relay::new(1, 2, mistreatment(101.0, 0.0, 0.0, 0)),
            Err(RelayError::Percent { what: "drop", .. })
        ));
    }

    #[test]
    fn the_same_port_on_both_sides_is_refused() {
        assert!(matches!(
            Relay::new(7, 7, Mistreatment::NONE),
            Err(RelayError::SamePort(7))
        ));
    }

    /// A forwarder whose fates are given instead of drawn.
    fn forward_all(forwarder: &mut Forwarder, frames: &[u8], now: Instant) -> Vec<u8> {
        let mut outgoing = Vec::new();
        for &frame in frames {
            forwarder.on_frame(&[frame], now, &mut outgoing);
        }
        sent(outgoing)
    }

    fn sent(outgoing: Vec<Outgoing>) -> Vec<u8> {
        outgoing
            .into_iter()
            .flat_map(|out| std::iter::repeat_n(out.frame[0], usize::from(out.copies)))
            .collect()
    }

    #[test]
    fn a_reordered_frame_is_overtaken_then_sent() {
        let now = Instant::now();
        let mut forwarder = Forwarder::new(mistreatment(0.0, 0.0, 25.0, 11), Direction::AToB);
        let frames: Vec<u8> = (0..=255).collect();
        let mut out = forward_all(&mut forwarder, &frames, now);
        let mut rest = Vec::new();
        forwarder.flush(&mut rest);
        out.extend(sent(rest));
        let mut sorted = out.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, frames, "every frame once");
        assert_ne!(out, frames, "some frames overtaken");
    }

    #[test]
    fn a_held_frame_goes_when_its_time_is_up() {
        let start = Instant::now();
        let mut forwarder = Forwarder::new(mistreatment(0.0, 0.0, 100.0, 1), Direction::AToB);
        assert!(forward_all(&mut forwarder, &[1, 2], start).is_empty());
        assert_eq!(forwarder.next_deadline(), Some(start + REORDER_HOLD));
        let mut outgoing = Vec::new();
        forwarder.release(start + REORDER_HOLD / 2, &mut outgoing);
        assert!(outgoing.is_empty());
        forwarder.release(start + REORDER_HOLD, &mut outgoing);
        assert_eq!(sent(outgoing), [1, 2]);
        assert_eq!(forwarder.next_deadline(), None);
    }

    #[test]
    fn a_duplicated_frame_goes_twice_and_a_dropped_one_never() {
        let now = Instant::now();
        let mut forwarder = Forwarder::new(mistreatment(0.0, 100.0, 0.0, 1), Direction::AToB);
        assert_eq!(forward_all(&mut forwarder, &[1, 2], now), [1, 1, 2, 2]);
        let mut forwarder = Forwarder::new(mistreatment(100.0, 100.0, 100.0, 1), Direction::AToB);
        assert!(forward_all(&mut forwarder, &[1, 2], now).is_empty());
        assert_eq!(forwarder.next_deadline(), None);
    }

    #[test]
    fn an_echo_is_taken_once_per_send() {
        let now = Instant::now();
        let mut ledger = EchoLedger::default();
        ledger.expect(b"frame", now);
        ledger.expect(b"frame", now);
        assert!(!ledger.take(b"other", now));
        assert!(ledger.take(b"frame", now));
        assert!(ledger.take(b"frame", now));
        assert!(!ledger.take(b"frame", now));
        ledger.expect(b"frame", now);
        ledger.forget(b"frame");
        assert!(!ledger.take(b"frame", now));
        assert_eq!(ledger.len(), 0);
    }

    #[test]
    fn an_echo_never_heard_is_forgotten() {
        let start = Instant::now();
        let mut ledger = EchoLedger::default();
        ledger.expect(b"lost", start);
        ledger.expect(b"late", start + ECHO_MEMORY / 4);
        assert_eq!(ledger.len(), 2);
        let later = start + ECHO_MEMORY + ECHO_MEMORY / 8;
        assert!(!ledger.take(b"lost", later));
        assert!(ledger.take(b"late", later));
        assert_eq!(ledger.len(), 0);
    }
}
