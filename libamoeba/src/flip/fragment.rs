//! Cutting a message into fragments that fit a frame, and putting received fragments back
//! together.
//!
//! From `docs/amoeba-protocol.md#fragmentation`: a frame carries at most
//! 1458 message bytes ([`MAX_FRAGMENT_PAYLOAD`]); larger messages are fragmented by offset and
//! total length, and 5.3 gives up on a reassembly after 4 s ([`REASSEMBLY_TIMEOUT_MS`]).
//!
//! # Our choices
//!
//! * A message is named by its (source address, message id); every fragment must agree with
//!   the first one on the total length, the packet type and the destination, or it is dropped.
//! * Fragments may arrive in any order, twice, or overlapping; where they overlap the later
//!   bytes win (a correct sender sends the same bytes, so that only matters to a broken one).
//! * A reassembly times out [`REASSEMBLY_TIMEOUT_MS`] after its *first* fragment, however many
//!   arrive later, so a trickle of fragments cannot keep memory pinned.
//! * Memory is bounded by [`ReassemblyLimits`]: messages in progress, bytes of one message
//!   ([`DEFAULT_MAX_MESSAGE_LEN`], 1 MiB), bytes of all of them, and the holes one message may
//!   have (received ranges are kept as a sorted list; a sender that scatters tiny fragments
//!   would otherwise grow it without limit). When a limit is hit the *new* fragment is dropped
//!   and counted; what is in progress is kept, and times out if it never completes.
//! * A message's buffer is allocated when its first fragment arrives, with `try_reserve`, so
//!   running out of memory drops the fragment instead of aborting the kernel.
//! * A completed message is forgotten: a late duplicate starts a new reassembly that times out
//!   (or, for a one-fragment message, is delivered again). Suppressing repeats is the RPC
//!   layer's job (at-most-once with transaction ids).
//! * Time is passed in by the caller ([`Millis`]); nothing here reads a clock.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

use super::Millis;
use super::address::Address;
use super::header::{Header, HeaderError, MAX_FRAGMENT_PAYLOAD, Packet};

/// How long a reassembly may take, from its first fragment (5.3: 4 s).
pub const REASSEMBLY_TIMEOUT_MS: Millis = 4_000;
/// Default for [`ReassemblyLimits::max_message_len`]: 1 MiB.
pub const DEFAULT_MAX_MESSAGE_LEN: u32 = 1 << 20;
/// Default for [`ReassemblyLimits::max_messages`].
pub const DEFAULT_MAX_MESSAGES: usize = 32;
/// Default for [`ReassemblyLimits::max_buffered_bytes`]: room for four largest messages.
pub const DEFAULT_MAX_BUFFERED_BYTES: usize = 4 << 20;
/// Default for [`ReassemblyLimits::max_ranges`]; on a LAN fragments arrive nearly in order.
pub const DEFAULT_MAX_RANGES: usize = 64;

// A largest message fits the buffer budget, and its fragments need a few thousand frames.
const _: () = assert!(DEFAULT_MAX_MESSAGE_LEN as usize <= DEFAULT_MAX_BUFFERED_BYTES);
const _: () = assert!(MAX_FRAGMENT_PAYLOAD == 1458);

/// The packets of one message, in order; see [`fragments`].
#[derive(Clone, Debug)]
pub struct Fragments<'a> {
    template: Header,
    message: &'a [u8],
    max_fragment: usize,
    next_offset: usize,
    finished: bool,
}

/// The packets that carry `message`, each with at most `max_fragment` bytes (use
/// [`MAX_FRAGMENT_PAYLOAD`] on Ethernet; 0 counts as 1). Their headers are `template` with the
/// fragment length, offset and total length filled in. An empty message is one empty packet.
pub fn fragments(
    template: Header,
    message: &[u8],
    max_fragment: usize,
) -> Result<Fragments<'_>, FragmentError> {
    if u32::try_from(message.len()).is_err() {
        return Err(FragmentError::MessageTooLong { len: message.len() });
    }
    Ok(Fragments {
        template,
        message,
        max_fragment: max_fragment.max(1),
        next_offset: 0,
        finished: false,
    })
}

impl<'a> Iterator for Fragments<'a> {
    type Item = Packet<'a>;

    fn next(&mut self) -> Option<Packet<'a>> {
        if self.finished {
            return None;
        }
        let rest = self.message.get(self.next_offset..)?;
        let payload = rest.get(..rest.len().min(self.max_fragment))?;
        let mut header = self.template;
        // `fragments` checked that the whole message length fits 32 bits, so these do too.
        header.fragment_offset = u32::try_from(self.next_offset).ok()?;
        header.fragment_length = u32::try_from(payload.len()).ok()?;
        header.total_length = u32::try_from(self.message.len()).ok()?;
        self.next_offset += payload.len();
        self.finished = self.next_offset >= self.message.len();
        Some(Packet::new(header, payload))
    }
}

/// Why a message cannot be fragmented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FragmentError {
    /// Longer than a 32-bit total length can say.
    MessageTooLong { len: usize },
}

impl fmt::Display for FragmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MessageTooLong { len } => {
                write!(f, "a {len}-byte message does not fit FLIP's 32-bit lengths")
            }
        }
    }
}

/// The bounds of a [`Reassembly`] table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReassemblyLimits {
    /// Age, from its first fragment, at which an incomplete message is dropped.
    pub timeout_ms: Millis,
    /// Messages in progress at once.
    pub max_messages: usize,
    /// Largest total length accepted.
    pub max_message_len: u32,
    /// Sum of the total lengths of the messages in progress.
    pub max_buffered_bytes: usize,
    /// Separate received byte ranges one message may have.
    pub max_ranges: usize,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        Self {
            timeout_ms: REASSEMBLY_TIMEOUT_MS,
            max_messages: DEFAULT_MAX_MESSAGES,
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
            max_buffered_bytes: DEFAULT_MAX_BUFFERED_BYTES,
            max_ranges: DEFAULT_MAX_RANGES,
        }
    }
}

/// A reassembled message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The first fragment's header, with the fragment fields describing the whole message
    /// (offset 0, fragment length = total length = `data.len()`).
    pub header: Header,
    pub data: Vec<u8>,
}

/// Why a fragment was dropped. Each is also counted in [`ReassemblyStats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The total length is above [`ReassemblyLimits::max_message_len`].
    TooLarge { total: u32 },
    /// [`ReassemblyLimits::max_messages`] are in progress already.
    TableFull,
    /// The message would take the buffered bytes above their limit.
    BufferFull,
    /// The allocator had no room for the message.
    OutOfMemory,
    /// The fragment contradicts itself or the message's first fragment.
    Inconsistent,
    /// The message would have more than [`ReassemblyLimits::max_ranges`] holes.
    TooFragmented,
}

/// What a [`Reassembly`] table has done since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    pub completed: u64,
    /// Fragments that brought no new bytes.
    pub duplicates: u64,
    pub too_large: u64,
    pub table_full: u64,
    pub buffer_full: u64,
    pub out_of_memory: u64,
    pub inconsistent: u64,
    pub too_fragmented: u64,
    /// Incomplete messages dropped at their timeout.
    pub expired: u64,
}

impl ReassemblyStats {
    fn count_drop(&mut self, reason: DropReason) {
        let counter = match reason {
            DropReason::TooLarge { .. } => &mut self.too_large,
            DropReason::TableFull => &mut self.table_full,
            DropReason::BufferFull => &mut self.buffer_full,
            DropReason::OutOfMemory => &mut self.out_of_memory,
            DropReason::Inconsistent => &mut self.inconsistent,
            DropReason::TooFragmented => &mut self.too_fragmented,
        };
        *counter = counter.saturating_add(1);
    }

    /// Fragments or messages dropped for any reason.
    pub fn dropped(&self) -> u64 {
        [
            self.too_large,
            self.table_full,
            self.buffer_full,
            self.out_of_memory,
            self.inconsistent,
            self.too_fragmented,
            self.expired,
        ]
        .iter()
        .fold(0, |sum, count| sum.saturating_add(*count))
    }
}

/// Names a message being reassembled: its (source, message id).
type MessageKey = (Address, u32);

/// The messages being reassembled. Feed it every received fragment with [`accept`] and call
/// [`expire`] now and then (`accept` expires too).
///
/// [`accept`]: Reassembly::accept
/// [`expire`]: Reassembly::expire
#[derive(Debug, Default)]
pub struct Reassembly {
    limits: ReassemblyLimits,
    in_progress: BTreeMap<MessageKey, Partial>,
    /// Sum of the total lengths in `in_progress`.
    buffered_bytes: usize,
    stats: ReassemblyStats,
}

impl Reassembly {
    pub fn new(limits: ReassemblyLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    pub fn limits(&self) -> &ReassemblyLimits {
        &self.limits
    }

    pub fn stats(&self) -> &ReassemblyStats {
        &self.stats
    }

    /// Messages in progress.
    pub fn in_progress(&self) -> usize {
        self.in_progress.len()
    }

    /// Bytes reserved for messages in progress.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered_bytes
    }

    /// Takes one received fragment at time `now_ms`. Returns the message it completes, if any;
    /// `Err` if the fragment was dropped (and counted).
    pub fn accept(
        &mut self,
        now_ms: Millis,
        packet: &Packet<'_>,
    ) -> Result<Option<Message>, DropReason> {
        self.expire(now_ms);
        let result = self.accept_fresh(now_ms, packet);
        match result {
            Ok(Some(_)) => self.stats.completed = self.stats.completed.saturating_add(1),
            Ok(None) => {}
            Err(reason) => self.stats.count_drop(reason),
        }
        result
    }

    /// Drops the messages whose first fragment is [`ReassemblyLimits::timeout_ms`] old at
    /// `now_ms`; returns how many.
    pub fn expire(&mut self, now_ms: Millis) -> usize {
        let timeout_ms = self.limits.timeout_ms;
        let before = self.in_progress.len();
        let mut freed = 0;
        self.in_progress.retain(|_, partial| {
            let alive = now_ms.saturating_sub(partial.started_ms) < timeout_ms;
            if !alive {
                freed += partial.data.len();
            }
            alive
        });
        let expired = before - self.in_progress.len();
        self.buffered_bytes = self.buffered_bytes.saturating_sub(freed);
        self.stats.expired = self.stats.expired.saturating_add(expired as u64);
        expired
    }

    fn accept_fresh(
        &mut self,
        now_ms: Millis,
        packet: &Packet<'_>,
    ) -> Result<Option<Message>, DropReason> {
        let header = &packet.header;
        let fragment = check_fragment(packet)?;
        if header.total_length > self.limits.max_message_len {
            return Err(DropReason::TooLarge {
                total: header.total_length,
            });
        }
        if fragment.start == 0 && fragment.end == header.total_length {
            // The whole message in one packet: no table entry needed.
            return Ok(Some(whole_message(header, packet.payload.to_vec())));
        }
        let key = (header.source, header.message_id);
        if !self.in_progress.contains_key(&key) {
            let partial = self.start_message(now_ms, header)?;
            self.in_progress.insert(key, partial);
        }
        let Some(partial) = self.in_progress.get_mut(&key) else {
            return Err(DropReason::Inconsistent); // just inserted: cannot happen
        };
        if !partial.matches(header) {
            return Err(DropReason::Inconsistent);
        }
        let news = partial.add(fragment, packet.payload, self.limits.max_ranges)?;
        if !news {
            self.stats.duplicates = self.stats.duplicates.saturating_add(1);
        }
        if !partial.is_complete() {
            return Ok(None);
        }
        let done = self.in_progress.remove(&key);
        let done = done.ok_or(DropReason::Inconsistent)?;
        self.buffered_bytes = self.buffered_bytes.saturating_sub(done.data.len());
        Ok(Some(whole_message(&done.header, done.data)))
    }

    /// A new entry for the message `header` starts, within the limits.
    fn start_message(&mut self, now_ms: Millis, header: &Header) -> Result<Partial, DropReason> {
        if self.in_progress.len() >= self.limits.max_messages {
            return Err(DropReason::TableFull);
        }
        let total = usize::try_from(header.total_length).map_err(|_| DropReason::BufferFull)?;
        let buffered = self.buffered_bytes.saturating_add(total);
        if buffered > self.limits.max_buffered_bytes {
            return Err(DropReason::BufferFull);
        }
        let mut data = Vec::new();
        data.try_reserve_exact(total)
            .map_err(|_| DropReason::OutOfMemory)?;
        data.resize(total, 0);
        self.buffered_bytes = buffered;
        Ok(Partial {
            header: *header,
            started_ms: now_ms,
            data,
            received: Ranges::default(),
        })
    }
}

/// The fragment's byte range in its message, after checking the packet agrees with itself.
fn check_fragment(packet: &Packet<'_>) -> Result<Range, DropReason> {
    let header = &packet.header;
    header
        .validate()
        .map_err(|_: HeaderError| DropReason::Inconsistent)?;
    if usize::try_from(header.fragment_length) != Ok(packet.payload.len()) {
        return Err(DropReason::Inconsistent);
    }
    // validate() checked offset + length <= total, so this cannot overflow.
    let end = header
        .fragment_offset
        .checked_add(header.fragment_length)
        .ok_or(DropReason::Inconsistent)?;
    Ok(Range {
        start: header.fragment_offset,
        end,
    })
}

fn whole_message(first: &Header, data: Vec<u8>) -> Message {
    let mut header = *first;
    header.fragment_offset = 0;
    header.fragment_length = header.total_length;
    Message { header, data }
}

/// A message being reassembled.
#[derive(Debug)]
struct Partial {
    /// The first fragment's header.
    header: Header,
    started_ms: Millis,
    /// `header.total_length` bytes.
    data: Vec<u8>,
    received: Ranges,
}

impl Partial {
    /// Whether a later fragment belongs to the same message as the first.
    fn matches(&self, header: &Header) -> bool {
        header.total_length == self.header.total_length
            && header.kind == self.header.kind
            && header.destination == self.header.destination
    }

    /// Copies a fragment in; returns whether it brought bytes not received before.
    fn add(&mut self, range: Range, bytes: &[u8], max_ranges: usize) -> Result<bool, DropReason> {
        let (Ok(start), Ok(end)) = (usize::try_from(range.start), usize::try_from(range.end))
        else {
            return Err(DropReason::Inconsistent);
        };
        let target = self
            .data
            .get_mut(start..end)
            .ok_or(DropReason::Inconsistent)?;
        let news = self.received.insert(range, max_ranges)?;
        target.copy_from_slice(bytes);
        Ok(news)
    }

    fn is_complete(&self) -> bool {
        self.received.covers(self.header.total_length)
    }
}

/// A half-open byte range `start..end` of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Range {
    start: u32,
    end: u32,
}

/// The byte ranges received so far: sorted, disjoint and not touching (touching ranges are
/// merged), so a complete message is one range.
#[derive(Debug, Default)]
struct Ranges(Vec<Range>);

impl Ranges {
    /// Adds `new`; returns whether it covered bytes not covered before. Refuses it if that
    /// would make more than `max_ranges` ranges.
    fn insert(&mut self, new: Range, max_ranges: usize) -> Result<bool, DropReason> {
        if new.start >= new.end {
            return Ok(false);
        }
        // The ranges that overlap or touch `new` are ranges[first..past].
        let first = self.0.partition_point(|range| range.end < new.start);
        let past = self.0.partition_point(|range| range.start <= new.end);
        let touching = self.0.get(first..past).unwrap_or_default();
        let (Some(low), Some(high)) = (touching.first(), touching.last()) else {
            if self.0.len() >= max_ranges {
                return Err(DropReason::TooFragmented);
            }
            self.0.insert(first, new);
            return Ok(true);
        };
        let already_covered = touching.len() == 1 && low.start <= new.start && new.end <= low.end;
        let merged = Range {
            start: low.start.min(new.start),
            end: high.end.max(new.end),
        };
        self.0.splice(first..past, [merged]);
        Ok(!already_covered)
    }

    /// Whether the ranges are exactly `0..total`.
    fn covers(&self, total: u32) -> bool {
        matches!(self.0.as_slice(), [Range { start: 0, end }] if *end == total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flip::header::PacketType;

    fn template() -> Header {
        Header::new(
            PacketType::UniData,
            Address([0xd; 8]),
            Address([0x5; 8]),
            77,
            0,
        )
    }

    fn message(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn packets(data: &[u8], max_fragment: usize) -> Vec<Packet<'_>> {
        fragments(template(), data, max_fragment).unwrap().collect()
    }

    #[test]
    fn splitting_fills_the_fragment_fields() {
        let data = message(3000);
        let parts = packets(&data, MAX_FRAGMENT_PAYLOAD);
        let fields: Vec<_> = parts
            .iter()
            .map(|p| {
                let h = p.header;
                (h.fragment_offset, h.fragment_length, h.total_length)
            })
            .collect();
        assert_eq!(
            fields,
            [(0, 1458, 3000), (1458, 1458, 3000), (2916, 84, 3000)]
        );
        assert!(parts.iter().all(|p| p.header.message_id == 77));
        let joined: Vec<u8> = parts
            .iter()
            .flat_map(|p| p.payload.iter().copied())
            .collect();
        assert_eq!(joined, data);
        // Exact multiples do not end with an empty fragment; an empty message is one packet.
        assert_eq!(packets(&message(2916), MAX_FRAGMENT_PAYLOAD).len(), 2);
        let empty = packets(&[], MAX_FRAGMENT_PAYLOAD);
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0].header.total_length, 0);
        // A zero fragment size is taken as 1.
        assert_eq!(packets(&message(3), 0).len(), 3);
    }

    #[test]
    fn fragments_reassemble_in_any_order_with_duplicates() {
        let data = message(5000);
        let mut parts = packets(&data, 1000);
        parts.reverse();
        let duplicate = parts[2];
        parts.insert(1, duplicate);
        let mut table = Reassembly::default();
        let mut done = None;
        for (i, packet) in parts.iter().enumerate() {
            let result = table.accept(10, packet).unwrap();
            if i + 1 < parts.len() {
                assert_eq!(result, None);
            } else {
                done = result;
            }
        }
        let done = done.unwrap();
        assert_eq!(done.data, data);
        assert_eq!(done.header.fragment_length, 5000);
        assert_eq!(done.header.fragment_offset, 0);
        assert_eq!(table.in_progress(), 0);
        assert_eq!(table.buffered_bytes(), 0);
        assert_eq!(table.stats().completed, 1);
        assert_eq!(table.stats().duplicates, 1);
    }

    #[test]
    fn overlapping_fragments_complete_a_message() {
        let data = message(100);
        let mut table = Reassembly::default();
        let piece = |start: usize, end: usize| {
            let mut header = template();
            header.fragment_offset = start as u32;
            header.fragment_length = (end - start) as u32;
            header.total_length = 100;
            Packet::new(header, &data[start..end])
        };
        assert_eq!(table.accept(0, &piece(10, 60)), Ok(None));
        assert_eq!(table.accept(0, &piece(50, 90)), Ok(None));
        assert_eq!(table.accept(0, &piece(20, 30)), Ok(None)); // inside: a duplicate
        assert_eq!(table.stats().duplicates, 1);
        assert_eq!(table.accept(0, &piece(85, 100)), Ok(None));
        let done = table.accept(0, &piece(0, 15)).unwrap().unwrap();
        assert_eq!(done.data, data);
    }

    #[test]
    fn one_fragment_messages_skip_the_table() {
        let mut table = Reassembly::default();
        let data = message(10);
        let packet = packets(&data, 1458)[0];
        let done = table.accept(0, &packet).unwrap().unwrap();
        assert_eq!(done.data, data);
        assert_eq!(table.in_progress(), 0);
        let empty = packets(&[], 1458)[0];
        assert_eq!(table.accept(0, &empty).unwrap().unwrap().data, []);
    }

    #[test]
    fn incomplete_messages_expire_after_the_timeout() {
        let data = message(3000);
        let parts = packets(&data, 1000);
        let mut table = Reassembly::default();
        assert_eq!(table.accept(1_000, &parts[0]), Ok(None));
        assert_eq!(table.expire(1_000 + REASSEMBLY_TIMEOUT_MS - 1), 0);
        assert_eq!(table.accept(4_000, &parts[1]), Ok(None));
        // Timed from the first fragment, even though another came later.
        assert_eq!(table.expire(1_000 + REASSEMBLY_TIMEOUT_MS), 1);
        assert_eq!(table.stats().expired, 1);
        assert_eq!(table.buffered_bytes(), 0);
        // The last fragment now starts a new reassembly instead of completing the old one.
        assert_eq!(table.accept(5_000, &parts[2]), Ok(None));
        assert_eq!(table.in_progress(), 1);
    }

    #[test]
    fn limits_drop_new_fragments_and_count_them() {
        let limits = ReassemblyLimits {
            max_messages: 2,
            max_message_len: 3000,
            max_buffered_bytes: 4999,
            max_ranges: 2,
            ..ReassemblyLimits::default()
        };
        let mut table = Reassembly::new(limits);
        let big = message(3001);
        assert_eq!(
            table.accept(0, &packets(&big, 1000)[0]),
            Err(DropReason::TooLarge { total: 3001 })
        );
        let data = message(2500);
        let with_id = |id: u32, index: usize| {
            let mut packet = packets(&data, 500)[index];
            packet.header.message_id = id;
            packet
        };
        assert_eq!(table.accept(0, &with_id(1, 0)), Ok(None));
        assert_eq!(table.accept(0, &with_id(1, 2)), Ok(None));
        // A third hole in message 1.
        assert_eq!(
            table.accept(0, &with_id(1, 4)),
            Err(DropReason::TooFragmented)
        );
        assert_eq!(table.accept(0, &with_id(2, 0)), Err(DropReason::BufferFull));
        let small = message(1000);
        let mut other = packets(&small, 500)[0];
        other.header.message_id = 3;
        assert_eq!(table.accept(0, &other), Ok(None));
        other.header.message_id = 4;
        assert_eq!(table.accept(0, &other), Err(DropReason::TableFull));
        let stats = *table.stats();
        assert_eq!(
            (
                stats.too_large,
                stats.too_fragmented,
                stats.buffer_full,
                stats.table_full
            ),
            (1, 1, 1, 1)
        );
        assert_eq!(stats.dropped(), 4);
        assert_eq!(table.buffered_bytes(), 3500);
    }

    #[test]
    fn fragments_that_disagree_with_the_message_are_dropped() {
        let data = message(3000);
        let parts = packets(&data, 1000);
        let mut table = Reassembly::default();
        assert_eq!(table.accept(0, &parts[0]), Ok(None));
        let mut other_total = parts[1];
        other_total.header.total_length = 2999;
        assert_eq!(table.accept(0, &other_total), Err(DropReason::Inconsistent));
        let mut other_kind = parts[1];
        other_kind.header.kind = PacketType::MultiData;
        assert_eq!(table.accept(0, &other_kind), Err(DropReason::Inconsistent));
        let mut short_payload = parts[1];
        short_payload.payload = &data[..10];
        assert_eq!(
            table.accept(0, &short_payload),
            Err(DropReason::Inconsistent)
        );
        let mut past_the_end = parts[2];
        past_the_end.header.fragment_offset = 2500;
        assert_eq!(
            table.accept(0, &past_the_end),
            Err(DropReason::Inconsistent)
        );
        assert_eq!(table.stats().inconsistent, 4);
        // The message itself is unharmed.
        assert_eq!(table.accept(0, &parts[1]), Ok(None));
        assert_eq!(table.accept(0, &parts[2]).unwrap().unwrap().data, data);
    }

    #[test]
    fn ranges_merge_and_report_new_bytes() {
        let mut ranges = Ranges::default();
        let range = |start, end| Range { start, end };
        assert_eq!(ranges.insert(range(10, 20), 3), Ok(true));
        assert_eq!(ranges.insert(range(30, 40), 3), Ok(true));
        assert_eq!(ranges.insert(range(12, 18), 3), Ok(false));
        assert_eq!(ranges.insert(range(5, 5), 3), Ok(false));
        assert_eq!(ranges.insert(range(50, 60), 3), Ok(true));
        assert_eq!(
            ranges.insert(range(70, 80), 3),
            Err(DropReason::TooFragmented)
        );
        // Touching ranges merge, so this joins two into one.
        assert_eq!(ranges.insert(range(20, 30), 3), Ok(true));
        assert_eq!(ranges.0, [range(10, 40), range(50, 60)]);
        assert_eq!(ranges.insert(range(0, 100), 3), Ok(true));
        assert!(ranges.covers(100));
        assert!(!ranges.covers(101));
    }
}
