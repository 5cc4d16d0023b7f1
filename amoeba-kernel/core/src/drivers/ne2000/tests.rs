//! The driver against the fake DP8390: bring-up, reception across the ring's end, sending,
//! interrupts, overflow, and rings no honest card writes. Every driver call runs on a budget
//! of port accesses (the fake fails the test past it), so a driver that would hang fails
//! instead.

use super::fake::{FakeDp8390, Layout, MAC, Memory};
use super::registers::{ReceiveHeader, isr, rsr};
use super::*;
use alloc::vec::Vec;
use rsr::INTACT;

/// Port accesses allowed for one call: bring-up, one send, one receive (a receive may walk
/// the whole ring once: about 20 accesses a page), one interrupt.
const START_BUDGET: u64 = 200;
const SEND_BUDGET: u64 = 50;
const RECEIVE_BUDGET: u64 = 3_000;
const INTERRUPT_BUDGET: u64 = 100;

type Card = Ne2000<FakeDp8390>;

fn started(memory: Memory, layout: Layout) -> Card {
    let mut fake = FakeDp8390::new(memory);
    fake.layout = layout;
    fake.allow(START_BUDGET);
    let card = Ne2000::start(fake).expect("the fake acknowledges reset");
    assert_eq!(card.ports.violations, Vec::<alloc::string::String>::new());
    card
}

fn card() -> Card {
    started(Memory::Kib32, Layout::Packed)
}

/// A frame to our address of `length` bytes whose bytes say which frame it is.
fn frame(length: usize, tag: u8) -> Vec<u8> {
    let mut bytes: Vec<u8> = MAC
        .iter()
        .chain(&[2, 0, 0, 0, 0, 1, 0x88, 0xB5])
        .copied()
        .collect();
    bytes.extend((0..length.saturating_sub(bytes.len())).map(|i| tag ^ (i as u8)));
    bytes.truncate(length);
    bytes
}

fn receive(card: &mut Card) -> Option<Vec<u8>> {
    card.ports.allow(RECEIVE_BUDGET);
    let mut buffer = [0u8; MAX_FRAME];
    card.receive(&mut buffer)
        .map(|length| buffer[..length].to_vec())
}

/// Every frame the driver hands out until it says the ring is empty; fails if that takes
/// more calls than the ring has pages (the most frames a ring can hold).
fn drain(card: &mut Card) -> Vec<Vec<u8>> {
    drain_named(card, "")
}

fn drain_named(card: &mut Card, name: &str) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    for _ in 0..=card.ring_pages() {
        match receive(card) {
            Some(frame) => frames.push(frame),
            None => return frames,
        }
    }
    panic!("{name}: the ring never ran empty: {} frames", frames.len());
}

/// What the card's registers must say after any call: the ring where the driver put it,
/// and nothing an honest driver never does.
fn assert_sane(card: &Card) {
    let fake = &card.ports;
    assert_eq!(fake.violations, Vec::<alloc::string::String>::new());
    assert_eq!(
        (fake.page_start, fake.page_stop),
        (RING_START, card.ring_stop)
    );
    assert!(
        card.ring().contains(fake.boundary),
        "boundary {:#x}",
        fake.boundary
    );
    assert!(
        card.ring().contains(fake.current),
        "current {:#x}",
        fake.current
    );
}

fn header(status: u8, next_page: u8, count: usize) -> ReceiveHeader {
    ReceiveHeader {
        status,
        next_page,
        count: (count as u16).to_le_bytes(),
    }
}

#[test]
fn bring_up_reads_the_address_sizes_memory_and_starts_the_ring() {
    for (memory, kib, pages) in [
        (Memory::Kib32, 32, 122),
        (Memory::Kib16, 16, 58),
        (Memory::Kib16Aliased, 16, 58),
    ] {
        let card = started(memory, Layout::Packed);
        assert_eq!(
            (card.buffer_kib(), card.ring_pages()),
            (kib, pages),
            "{memory:?}"
        );
        assert_eq!(card.mac(), MAC);
        let fake = &card.ports;
        assert_eq!(fake.par, MAC, "station address programmed");
        assert_eq!(fake.mar, [0xFF; 8], "every multicast accepted");
        assert_eq!((fake.boundary, fake.current), (RING_START, RING_START + 1));
        assert_eq!(
            (fake.imr, fake.rcr, fake.tcr, fake.dcr),
            (0x1F, 0x04, 0x00, 0x49)
        );
        assert_eq!(
            fake.command & (cmd::STOP | cmd::START),
            cmd::START,
            "running"
        );
        assert_eq!(fake.isr, 0, "every cause acknowledged");
        assert_sane(&card);
    }
}

#[test]
fn a_card_that_never_acknowledges_reset_is_refused_after_a_bounded_wait() {
    let mut fake = FakeDp8390::new(Memory::Kib32);
    fake.resets = false;
    fake.allow(u64::from(POLL_LIMIT) + 10);
    assert!(matches!(
        Ne2000::start(fake),
        Err(StartError::NoResetAcknowledge)
    ));
}

#[test]
fn frames_arrive_whole_and_in_order_across_the_ring_end() {
    // Sizes around page boundaries, odd ones, the smallest (padded to 60) and the largest;
    // 249-252, 505-508, 1273-1276: where QEMU's room for a CRC moves the next frame a page on.
    let sizes = [
        14, 59, 60, 61, 247, 248, 249, 250, 251, 252, 253, 500, 505, 508, 1000, 1023, 1273, 1276,
        1279, 1513, 1514,
    ];
    for (memory, layout) in [
        (Memory::Kib32, Layout::Packed),
        (Memory::Kib32, Layout::CrcRoom),
        (Memory::Kib16, Layout::Packed),
    ] {
        let mut card = started(memory, layout);
        let mut expected = Vec::new();
        let mut received = Vec::new();
        // Rounds of a few frames each, enough to go round the ring several times.
        for round in 0..60u8 {
            for (i, size) in sizes
                .iter()
                .enumerate()
                .skip(usize::from(round) % 5)
                .step_by(3)
            {
                let sent = frame(*size, round.wrapping_mul(16) ^ i as u8);
                assert!(card.ports.deliver(&sent), "room for {size} bytes");
                let mut padded = sent.clone();
                padded.resize((*size).max(60), 0);
                expected.push(padded);
            }
            received.extend(drain(&mut card));
            assert_sane(&card);
        }
        assert_eq!(received.len(), expected.len(), "{memory:?} {layout:?}");
        assert!(received == expected, "{memory:?} {layout:?}: frames differ");
        assert_eq!(
            (card.counters(), card.last_restart()),
            (Counters::default(), None)
        );
    }
}

#[test]
fn a_frame_split_by_the_ring_end_is_read_as_one() {
    let mut card = card();
    // Empty ring with the card's current page the ring's last: the frame wraps.
    let last = card.ring_stop - 1;
    card.ports.current = last;
    card.set_boundary(last - 1);
    let sent = frame(MAX_FRAME, 0x5A);
    assert!(card.ports.deliver(&sent));
    assert!(card.ports.current < last, "the frame went round the end");
    assert_eq!(drain(&mut card), [sent]);
    assert_sane(&card);
}

#[test]
fn an_empty_ring_gives_nothing() {
    let mut card = card();
    assert_eq!(receive(&mut card), None);
    assert!(
        card.ports.accesses <= 4,
        "{} accesses to find nothing",
        card.ports.accesses
    );
    assert_eq!(card.dropped(), 0);
}

#[test]
fn send_puts_the_frame_padded_in_the_transmit_pages_and_starts_it() {
    for size in [14, 59, 60, 61, 1000, 1513, 1514] {
        let mut card = card();
        let sent = frame(size, 0xC3);
        card.ports.allow(SEND_BUDGET);
        assert_eq!(card.send(&sent), Ok(()), "{size} bytes");
        let mut on_wire = sent.clone();
        on_wire.resize(size.max(MIN_FRAME), 0);
        assert_eq!(card.ports.sent, [on_wire], "{size} bytes");
        assert_eq!(card.ports.transmit_count as usize, size.max(MIN_FRAME));
        assert_sane(&card);
    }
}

#[test]
fn send_refuses_frames_no_ethernet_has_without_touching_the_card() {
    let mut card = card();
    for size in [0, 13, MAX_FRAME + 1, 9000] {
        card.ports.allow(0);
        assert_eq!(
            card.send(&alloc::vec![0; size]),
            Err(SendError::BadLength(size))
        );
    }
    assert!(card.ports.sent.is_empty());
}

#[test]
fn one_frame_is_sent_at_a_time() {
    let mut card = card();
    card.ports.instant_transmit = false;
    card.ports.allow(SEND_BUDGET);
    assert_eq!(card.send(&frame(100, 1)), Ok(()));
    card.ports.allow(SEND_BUDGET);
    assert_eq!(
        card.send(&frame(100, 2)),
        Err(SendError::Busy),
        "the first is still going"
    );
    card.ports.finish_transmit();
    card.ports.allow(INTERRUPT_BUDGET);
    assert!(
        !card.service_interrupt(),
        "a transmit interrupt brings no frames"
    );
    card.ports.allow(SEND_BUDGET);
    assert_eq!(card.send(&frame(100, 3)), Ok(()));
    card.ports.finish_transmit();
    // The card says it is done before its interrupt is serviced: no need to wait for it.
    card.ports.allow(SEND_BUDGET);
    assert_eq!(card.send(&frame(100, 4)), Ok(()));
    card.ports.finish_transmit();
    let tags: Vec<u8> = card.ports.sent.iter().map(|f| f[14]).collect();
    assert_eq!(tags, [1, 3, 4]);
    assert_sane(&card);
}

#[test]
fn service_interrupt_acknowledges_causes_and_counts_receive_errors() {
    // Interrupt status, then: frames may be waiting, receive errors, ring restarts.
    let cases = [
        (0, false, 0, 0),
        (isr::RECEIVED, true, 0, 0),
        (isr::TRANSMITTED, false, 0, 0),
        (isr::RECEIVE_ERROR, false, 1, 0),
        (isr::OVERWRITE, false, 0, 1),
        (0xFF, true, 1, 1),
    ];
    for (status, waiting, receive_errors, ring_restarts) in cases {
        let mut card = card();
        card.ports.isr = status;
        card.ports.allow(INTERRUPT_BUDGET);
        assert_eq!(card.service_interrupt(), waiting, "{status:#x}");
        let counters = card.counters();
        let counted = (counters.receive_errors, counters.ring_restarts);
        assert_eq!(counted, (receive_errors, ring_restarts), "{status:#x}");
        let left = card.ports.isr & !(isr::REMOTE_DMA_DONE | isr::RESET);
        assert_eq!(left, 0, "{status:#x}: every cause acknowledged");
        assert_sane(&card);
    }
}

#[test]
fn an_overflowed_ring_is_restarted_and_works_again() {
    let mut card = card();
    let mut stored = 0;
    while card.ports.deliver(&frame(1514, stored)) {
        stored += 1;
    }
    assert_eq!(stored, 20, "a 122-page ring holds 20 full frames");
    assert_ne!(card.ports.isr & isr::OVERWRITE, 0, "the card warned");
    card.ports.allow(INTERRUPT_BUDGET);
    assert!(card.service_interrupt());
    assert_eq!(card.last_restart(), Some(RingRestart::Overwrite));
    assert_eq!(card.dropped(), 1, "the lost ring counts once");
    assert_eq!(
        drain(&mut card),
        Vec::<Vec<u8>>::new(),
        "what the ring held is gone"
    );
    let after = frame(300, 0x77);
    assert!(card.ports.deliver(&after));
    assert_eq!(drain(&mut card), [after]);
    assert_sane(&card);
}

/// The first page the card fills in a fresh ring.
const P: u8 = RING_START + 1;
const RING_PAGES: usize = (BUFFER_END_32K - RING_START) as usize;

/// The ring page `offset` pages after the ring's first, wrapping.
fn ring_page(offset: usize) -> u8 {
    RING_START + (offset % RING_PAGES) as u8
}

/// A good frame of `pages` pages (with its header) at `page`.
fn put_good(fake: &mut FakeDp8390, page: u8, pages: usize, tag: u8) {
    let count = pages * 256 - 100;
    let next = ring_page(usize::from(page - RING_START) + pages);
    fake.put_frame(page, header(INTACT, next, count), &frame(count - 4, tag));
}

/// What the driver must make of a ring.
#[derive(Debug)]
enum Outcome {
    /// It restarts the ring for this reason (once).
    Restart(RingRestart),
    /// It skips this many frames of impossible lengths and restarts nothing.
    Skipped(u64),
}

struct Hostile {
    name: &'static str,
    /// Writes the ring of a started card (empty: boundary at the ring's first page, the
    /// card's current page `P`).
    ring: fn(&mut FakeDp8390),
    /// Good frames the driver hands out before the outcome.
    frames: usize,
    outcome: Outcome,
}

fn bad(name: &'static str, ring: fn(&mut FakeDp8390), fault: HeaderFault) -> Hostile {
    let outcome = Outcome::Restart(RingRestart::Header(fault));
    Hostile {
        name,
        ring,
        frames: 0,
        outcome,
    }
}

/// A single header at `P` and the card's current page a few pages on.
fn lone_header(fake: &mut FakeDp8390, header: ReceiveHeader) {
    fake.put_frame(P, header, &frame(60, 0xEE));
    fake.current = P + 8;
}

/// Headers the card cannot have written: each restarts the ring.
#[rustfmt::skip]
fn bad_headers() -> Vec<Hostile> {
    use HeaderFault::*;
    alloc::vec![
        bad("next page below the ring",
            |f| lone_header(f, header(INTACT, 0x10, 64)), NextOutsideRing(0x10)),
        bad("next page at the ring's end",
            |f| lone_header(f, header(INTACT, 0xC0, 64)), NextOutsideRing(0xC0)),
        bad("next page past buffer memory",
            |f| lone_header(f, header(INTACT, 0xFF, 64)), NextOutsideRing(0xFF)),
        bad("next page is the header's own",
            |f| lone_header(f, header(INTACT, P, 64)), NextIsSelf),
        bad("zero count, next page its own",
            |f| lone_header(f, header(INTACT, P, 0)), NextIsSelf),
        bad("next page disagrees with the count",
            |f| lone_header(f, header(INTACT, P + 3, 64)),
            NextDisagreesWithCount { next: P + 3, count: 64 }),
        bad("next page backwards, the count agreeing the long way round",
            |f| lone_header(f, header(INTACT, RING_START, (RING_PAGES - 1) * 256)),
            PastCurrent { next: RING_START, current: P + 8 }),
        bad("count longer than the ring",
            |f| lone_header(f, header(INTACT, P + 1, 0xFFFF)), LongerThanRing(0xFFFF)),
        bad("count a ring and a page, next page agreeing modulo the ring",
            |f| lone_header(f, header(INTACT, P + 1, (RING_PAGES + 1) * 256)),
            LongerThanRing((RING_PAGES + 1) * 256)),
        bad("status not intact", |f| lone_header(f, header(0x00, P + 1, 64)), Status(0x00)),
        bad("status with a CRC error", |f| lone_header(f, header(0x03, P + 1, 64)), Status(0x03)),
        bad("status with an alignment error",
            |f| lone_header(f, header(0x05, P + 1, 64)), Status(0x05)),
        bad("a header overwritten by a giant frame's payload",
            |f| {
                (0..3).for_each(|i| assert!(f.deliver(&frame(1000, i))));
                f.write_ring(P, &[0xA5; 700]);
            },
            Status(0xA5)),
        bad("a header overwritten by a giant frame's zeros",
            |f| {
                (0..3).for_each(|i| assert!(f.deliver(&frame(1000, i))));
                f.write_ring(P, &[0; 700]);
            },
            Status(0)),
    ]
}

/// Rings that are wrong as a whole, and frames of impossible lengths.
fn hostile_rings() -> Vec<Hostile> {
    use HeaderFault::PastCurrent;
    alloc::vec![
        Hostile {
            name: "good frames chained round the whole ring, past the current page",
            // 2-page frames at odd offsets; the current page is at an even one, which the
            // chain never reaches: without a check it would go round forever.
            ring: |f| {
                (0..RING_PAGES / 2).for_each(|k| put_good(f, ring_page(1 + 2 * k), 2, k as u8));
                f.current = ring_page(12);
            },
            frames: 5,
            outcome: Outcome::Restart(RingRestart::Header(PastCurrent {
                next: ring_page(13),
                current: ring_page(12),
            })),
        },
        Hostile {
            name: "a giant frame that fits the ring, then a good one",
            ring: |f| {
                f.put_frame(P, header(INTACT, P + 12, 3004), &[0x11; 3000]);
                put_good(f, P + 12, 1, 7);
                f.current = P + 13;
            },
            frames: 1,
            outcome: Outcome::Skipped(1),
        },
        Hostile {
            name: "a runt shorter than an Ethernet header, then a good frame",
            ring: |f| {
                f.put_frame(P, header(INTACT, P + 1, 4 + 10), &[0x22; 10]);
                put_good(f, P + 1, 2, 8);
                f.current = P + 3;
            },
            frames: 1,
            outcome: Outcome::Skipped(1),
        },
        Hostile {
            name: "a header with no frame behind it",
            ring: |f| {
                f.put_frame(P, header(INTACT, P + 1, 4), &[]);
                f.current = P + 1;
            },
            frames: 0,
            outcome: Outcome::Skipped(1),
        },
        Hostile {
            name: "runts as fast as the driver reads them",
            ring: |f| {
                for offset in 0..RING_PAGES {
                    let page = ring_page(offset);
                    f.put_frame(
                        page,
                        header(INTACT, ring_page(offset + 1), 4 + 10),
                        &[0x33; 10],
                    );
                }
                f.current_chases_boundary = true;
            },
            frames: 0,
            outcome: Outcome::Restart(RingRestart::Endless),
        },
    ]
}

/// The card's current page outside the ring: each restarts the ring.
fn bad_current_pages() -> Vec<Hostile> {
    let outside = |name, ring: fn(&mut FakeDp8390), page| Hostile {
        name,
        ring,
        frames: 0,
        outcome: Outcome::Restart(RingRestart::CurrentOutsideRing(page)),
    };
    alloc::vec![
        outside("current page below the ring", |f| f.current = 0x20, 0x20),
        outside("current page at the ring's end", |f| f.current = 0xC0, 0xC0),
        outside(
            "current page past buffer memory",
            |f| f.current = 0xFF,
            0xFF
        ),
    ]
}

#[test]
fn hostile_rings_are_refused_within_one_pass() {
    let cases = [bad_headers(), bad_current_pages(), hostile_rings()];
    for case in cases.into_iter().flatten() {
        let name = case.name;
        let mut card = card();
        (case.ring)(&mut card.ports);
        let frames = drain_named(&mut card, name);
        assert_eq!(frames.len(), case.frames, "{name}: frames handed out");
        assert!(
            frames.iter().all(|f| f[..6] == MAC),
            "{name}: only the good frames"
        );
        let counters = card.counters();
        match case.outcome {
            Outcome::Restart(why) => {
                assert_eq!(card.last_restart(), Some(why), "{name}");
                assert_eq!(counters.ring_restarts, 1, "{name}: restarts");
            }
            Outcome::Skipped(skipped) => {
                assert_eq!(
                    (counters.bad_lengths, counters.ring_restarts),
                    (skipped, 0),
                    "{name}"
                );
            }
        }
        assert_eq!(
            card.dropped(),
            counters.ring_restarts + counters.bad_lengths,
            "{name}"
        );
        card.ports.current_chases_boundary = false;
        assert_sane(&card);
        // And the ring works again.
        let good = frame(200, 0x99);
        assert!(card.ports.deliver(&good), "{name}");
        assert_eq!(drain(&mut card), [good], "{name}: after");
    }
}

#[test]
fn a_card_stuck_with_its_current_page_outside_the_ring_costs_one_restart_a_call() {
    let mut card = card();
    card.ports.stuck_current = Some(0x05);
    for calls in 1..=10 {
        assert_eq!(receive(&mut card), None);
        assert_eq!(card.counters().ring_restarts, calls);
    }
    assert_eq!(
        card.last_restart(),
        Some(RingRestart::CurrentOutsideRing(0x05))
    );
    assert_sane(&card);
}

#[test]
fn the_driver_keeps_its_own_boundary() {
    // A card whose boundary register reads back wrong changes nothing: the driver never
    // believes it, so it reads no frame twice and skips none.
    let mut card = card();
    card.ports.stuck_boundary = Some(0x10);
    let sent: Vec<Vec<u8>> = (0..4).map(|i| frame(700, i)).collect();
    sent.iter().for_each(|f| assert!(card.ports.deliver(f)));
    assert_eq!(drain(&mut card), sent);
    assert_eq!(card.dropped(), 0);
}

/// A small deterministic generator (xorshift64) for the rings below.
struct Noise(u64);

impl Noise {
    fn byte(&mut self) -> u8 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 24) as u8
    }
}

#[test]
fn rings_of_noise_neither_hang_nor_panic_the_driver() {
    for seed in 1..=300u64 {
        let mut noise = Noise(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut card = card();
        let ring = (usize::from(RING_START) << 8)..(usize::from(card.ring_stop) << 8);
        let fake = &mut card.ports;
        fake.mem[ring]
            .iter_mut()
            .for_each(|byte| *byte = noise.byte());
        // Now and then a plausible header at the first page, so the walk gets further.
        if seed % 3 == 0 {
            let next = ring_page(1 + usize::from(noise.byte()) % 7);
            fake.put_frame(P, header(INTACT, next, usize::from(noise.byte()) * 6), &[]);
        }
        fake.current = noise.byte();
        for frame in drain(&mut card) {
            assert!(
                (ETHERNET_HEADER..=MAX_FRAME).contains(&frame.len()),
                "seed {seed}"
            );
        }
        assert_sane(&card);
    }
}

#[test]
fn ring_arithmetic_wraps_at_the_ring_end() {
    let ring = Ring {
        start: 0x46,
        stop: 0xC0,
    };
    assert_eq!(ring.pages(), 122);
    assert_eq!(ring.advance(0xBF, 1), 0x46);
    assert_eq!(ring.advance(0xBE, 6), 0x4A);
    assert_eq!(ring.advance(0x50, 122), 0x50);
    assert_eq!(ring.before(0x46), 0xBF);
    assert_eq!(ring.distance(0xBE, 0x47), 3);
    assert_eq!(ring.distance(0x47, 0x47), 0);
    assert_eq!(ring.distance(0x47, 0x46), 121);
}

#[test]
fn the_next_page_may_be_one_later_only_where_qemus_crc_room_moves_it() {
    let ring = Ring {
        start: 0x46,
        stop: 0xC0,
    };
    let page = 0x50;
    // Count, pages on to the next frame, whether a header saying so is believed.
    let cases = [
        (200, 1, true),
        (200, 2, false),
        (252, 1, true),
        (253, 1, true),
        (253, 2, true),
        (256, 2, true),
        (257, 2, true),
        (257, 3, false),
        (1518, 6, true),
        (1518, 7, false),
    ];
    for (count, pages, believed) in cases {
        let next = ring.advance(page, pages);
        let verdict = ring::judge(ring, page, 0x70, header(INTACT, next, count));
        let frame = Verdict::Frame {
            length: count - 4,
            next,
        };
        assert_eq!(
            verdict == frame,
            believed,
            "count {count}, {pages} pages: {verdict:?}"
        );
    }
}
