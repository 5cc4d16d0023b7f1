//! The time-of-day server.
//!
//! From `docs/amoeba-protocol.md#kernel-servers`: GETTIME 2400 answers the seconds since
//! 1970 in h_offset and the milliseconds in h_size. h_offset is an `i32`, which runs out on
//! 2038-01-19 03:14:07 UTC; from then on it carries the low 32 bits of the seconds, so it turns
//! negative and wraps (as a 5.3 client's 32-bit `time_t` would), and is only good for a
//! client that knows the era. Ours, so that the full time is always there: the reply data is
//! the [`UnixTime`] as 12 little-endian bytes,
//!
//! | bytes | field                      |
//! |-------|----------------------------|
//! | 0..8  | u64 seconds since 1970 UTC |
//! | 8..12 | u32 nanoseconds, < 10^9    |
//!
//! and later fields may follow (a decoder ignores them). GETTIME needs [`READ`]; a clock that
//! is not set gives STD_NOTNOW.

use core::fmt;

use crate::capability::{Capability, Port};
use crate::le;
use crate::random::Entropy;
use crate::rpc::codes::{Command, ErrorCode, TOD_FIRST_COM};
use crate::rpc::server::{Reply, Request, Server};
use crate::servers::server_object::ServerObject;

/// Right to read the time.
pub const READ: u8 = 0x01;

/// The time of day.
pub const GETTIME: Command = Command(TOD_FIRST_COM);

/// Bytes of an encoded [`UnixTime`].
pub const UNIX_TIME_LEN: usize = 12;
const SECS_OFFSET: usize = 0;
const NANOS_OFFSET: usize = 8;
const _: () = assert!(NANOS_OFFSET + 4 == UNIX_TIME_LEN);

const NANOS_PER_SEC: u32 = 1_000_000_000;
const NANOS_PER_MILLI: u32 = 1_000_000;

/// A point in time: seconds and nanoseconds since 1970-01-01 00:00:00 UTC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnixTime {
    pub secs: u64,
    /// Below 10^9.
    pub nanos: u32,
}

/// Why bytes are not a [`UnixTime`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeError {
    /// Fewer than [`UNIX_TIME_LEN`] bytes.
    Truncated { len: usize },
    /// Nanoseconds of a second or more.
    BadNanos { nanos: u32 },
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { len } => {
                write!(f, "a time is {UNIX_TIME_LEN} bytes, got only {len}")
            }
            Self::BadNanos { nanos } => write!(f, "{nanos} nanoseconds is a second or more"),
        }
    }
}

impl UnixTime {
    pub fn encode(&self) -> [u8; UNIX_TIME_LEN] {
        let mut bytes = [0; UNIX_TIME_LEN];
        le::put(&mut bytes, SECS_OFFSET, &self.secs.to_le_bytes());
        le::put(&mut bytes, NANOS_OFFSET, &self.nanos.to_le_bytes());
        bytes
    }

    /// Reads the first [`UNIX_TIME_LEN`] bytes of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Self, TimeError> {
        let truncated = TimeError::Truncated { len: bytes.len() };
        let secs = le::array(bytes, SECS_OFFSET).ok_or(truncated)?;
        let nanos = le::array(bytes, NANOS_OFFSET).ok_or(truncated)?;
        let nanos = u32::from_le_bytes(nanos);
        if nanos >= NANOS_PER_SEC {
            return Err(TimeError::BadNanos { nanos });
        }
        Ok(Self {
            secs: u64::from_le_bytes(secs),
            nanos,
        })
    }

    /// h_offset of a GETTIME reply: the low 32 bits of the seconds (see the module header).
    pub const fn header_seconds(&self) -> i32 {
        self.secs as u32 as i32
    }

    /// h_size of a GETTIME reply.
    pub const fn millis(&self) -> u16 {
        (self.nanos / NANOS_PER_MILLI) as u16
    }
}

/// The machine's real-time clock.
pub trait Clock {
    /// The time now, or `None` if the clock has not been set.
    fn now(&self) -> Option<UnixTime>;
}

/// The time-of-day server.
pub struct TodServer<C> {
    object: ServerObject,
    clock: C,
}

impl<C: Clock> TodServer<C> {
    /// The server at `put_port` with its owner capability.
    pub fn new(put_port: Port, entropy: &mut impl Entropy, clock: C) -> (Self, Capability) {
        let (object, owner) = ServerObject::new(put_port, entropy, "time of day server");
        (Self { object, clock }, owner)
    }
}

impl<C: Clock> Server for TodServer<C> {
    fn handle(&mut self, request: &Request<'_>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
        let gettime = |_, reply: &mut Reply<'_>| {
            let now = self.clock.now().ok_or(ErrorCode::STD_NOTNOW)?;
            reply.header.offset = now.header_seconds();
            reply.header.size = now.millis();
            reply.push(&now.encode())
        };
        self.object
            .serve(request, reply, &[(GETTIME, READ)], gettime)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::random::SeededGenerator;
    use crate::rpc::header::Header;
    use crate::servers::loopback::call;
    use crate::servers::refusals::assert_refusals;
    use core::cell::Cell;

    /// A clock that says what it was set to.
    pub(crate) struct FakeClock(pub(crate) Cell<Option<UnixTime>>);

    impl Clock for FakeClock {
        fn now(&self) -> Option<UnixTime> {
            self.0.get()
        }
    }

    pub(crate) const NOW: UnixTime = UnixTime {
        secs: 1_700_000_000,
        nanos: 123_456_789,
    };

    fn server(now: Option<UnixTime>) -> (TodServer<FakeClock>, Capability) {
        let clock = FakeClock(Cell::new(now));
        TodServer::new(Port([0x70; 6]), &mut SeededGenerator::new(4), clock)
    }

    #[test]
    fn gettime_answers_in_the_header_and_the_data() {
        let (mut tod, owner) = server(Some(NOW));
        let (reply, data) = call(&mut tod, Header::request(&owner, GETTIME), &[]);
        assert_eq!(
            (reply.status(), reply.offset, reply.size),
            (0, 1_700_000_000, 123)
        );
        assert_eq!(UnixTime::decode(&data), Ok(NOW));
    }

    #[test]
    fn after_2038_the_header_wraps_and_the_data_does_not() {
        let late = UnixTime {
            secs: (1 << 31) + 5,
            nanos: 999_999_999,
        };
        let (mut tod, owner) = server(Some(late));
        let (reply, data) = call(&mut tod, Header::request(&owner, GETTIME), &[]);
        assert_eq!((reply.offset, reply.size), (i32::MIN + 5, 999));
        assert_eq!(UnixTime::decode(&data), Ok(late));
    }

    #[test]
    fn an_unset_clock_is_notnow_and_capabilities_are_checked() {
        let (mut tod, owner) = server(None);
        let (reply, data) = call(&mut tod, Header::request(&owner, GETTIME), &[]);
        assert_eq!(
            (reply.error(), data.len()),
            (Some(ErrorCode::STD_NOTNOW), 0)
        );
        tod.clock.0.set(Some(NOW));
        assert_refusals(&mut tod, owner, READ, |cap| Header::request(cap, GETTIME));
        let (_, info) = call(&mut tod, Header::request(&owner, Command::STD_INFO), &[]);
        assert_eq!(info, b"time of day server");
    }

    #[test]
    fn times_round_trip_and_bad_ones_are_refused() {
        let bytes = NOW.encode();
        assert_eq!(bytes[..8], 1_700_000_000u64.to_le_bytes());
        assert_eq!(UnixTime::decode(&bytes), Ok(NOW));
        let mut longer = bytes.to_vec();
        longer.push(7);
        assert_eq!(UnixTime::decode(&longer), Ok(NOW));
        for len in 0..UNIX_TIME_LEN {
            assert_eq!(
                UnixTime::decode(&bytes[..len]),
                Err(TimeError::Truncated { len })
            );
        }
        let bad = UnixTime {
            secs: 1,
            nanos: NANOS_PER_SEC,
        };
        let nanos = NANOS_PER_SEC;
        assert_eq!(
            UnixTime::decode(&bad.encode()),
            Err(TimeError::BadNanos { nanos })
        );
        assert_eq!(
            TimeError::Truncated { len: 3 }.to_string(),
            "a time is 12 bytes, got only 3"
        );
    }
}
