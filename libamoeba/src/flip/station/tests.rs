//! Stations wired to each other through an in-memory LAN: every frame goes to its neighbour,
//! or to every other station for [`Hop::Everyone`].

use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::flip::header::{FLOW_CONTROL_LEN, MAX_FRAGMENT_PAYLOAD};
use crate::flip::route::{DEFAULT_LOCATE_INTERVAL_MS, LOCATE_HOP_SCHEDULE};

/// Stations are named by their index on the LAN.
type Lan = Vec<Station<usize>>;

fn lan(size: u8) -> Lan {
    (0..size)
        .map(|n| Station::new(&PrivateAddress([n + 1, 2, 3, 4, 5, 6, 7, 0])))
        .collect()
}

/// Moves frames until the LAN is quiet; returns what each station received.
fn settle(lan: &mut Lan, now: Millis) -> Vec<Vec<Delivered>> {
    let mut received = vec![Vec::new(); lan.len()];
    loop {
        let mut moved = false;
        for from in 0..lan.len() {
            for out in lan[from].take_outgoing() {
                moved = true;
                let targets: Vec<usize> = match out.hop {
                    Hop::Neighbour(to) => vec![to],
                    Hop::Everyone => (0..lan.len()).filter(|&n| n != from).collect(),
                };
                for to in targets {
                    if let Some(message) = lan[to].on_frame(from, &out.frame, now) {
                        received[to].push(message);
                    }
                }
            }
        }
        if !moved {
            return received;
        }
    }
}

fn message(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn a_message_to_an_unknown_address_is_held_located_and_delivered_once() {
    let mut lan = lan(3);
    let to = lan[2].address();
    lan[0].send(to, b"hello", 0);
    let received = settle(&mut lan, 0);
    assert_eq!(
        received[2],
        [Delivered {
            from: lan[0].address(),
            data: b"hello".to_vec()
        }]
    );
    assert!(received[1].is_empty());
    // The route is known now: the next message goes straight to station 2, no broadcast.
    lan[0].send(to, b"again", 1);
    let frames = lan[0].take_outgoing();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].hop, Hop::Neighbour(2));
}

#[test]
fn large_messages_are_fragmented_and_reassembled() {
    let mut lan = lan(2);
    let to = lan[1].address();
    let big = message(100_000);
    lan[0].send(to, &big, 0);
    let received = settle(&mut lan, 0);
    assert_eq!(received[1].len(), 1);
    assert_eq!(received[1][0].data, big);
    // 100000 bytes in 1458-byte fragments: 69 data frames and one LOCATE.
    assert_eq!(lan[0].stats().frames_out, 70);
}

#[test]
fn a_broadcast_reaches_every_other_station_and_teaches_them_the_route_back() {
    let mut lan = lan(3);
    lan[0].broadcast(b"who serves port P?");
    let received = settle(&mut lan, 0);
    assert!(received[0].is_empty());
    assert_eq!(received[1][0].data, b"who serves port P?");
    assert_eq!(received[2][0].data, b"who serves port P?");
    let back = lan[0].address();
    lan[2].send(back, b"I do", 0);
    let frames = lan[2].take_outgoing();
    assert_eq!(frames.len(), 1, "no locate needed");
    assert_eq!(frames[0].hop, Hop::Neighbour(0));
}

#[test]
fn our_own_frames_echoed_back_are_ignored() {
    let mut lan = lan(1);
    lan[0].broadcast(b"echo");
    let frames = lan[0].take_outgoing();
    assert_eq!(lan[0].on_frame(0, &frames[0].frame, 0), None);
    assert_eq!(lan[0].stats().not_for_us, 1);
}

#[test]
fn an_address_nobody_has_is_given_up_and_its_messages_dropped() {
    let mut lan = lan(2);
    let nobody = PrivateAddress([9; 8]).public();
    lan[0].send(nobody, b"lost", 0);
    lan[0].send(nobody, b"lost too", 0);
    let mut now = 0;
    for _ in 0..LOCATE_HOP_SCHEDULE.len() {
        settle(&mut lan, now);
        now += DEFAULT_LOCATE_INTERVAL_MS;
        assert_eq!(lan[0].next_deadline(), Some(now));
        lan[0].on_timer(now);
    }
    settle(&mut lan, now);
    assert_eq!(lan[0].next_deadline(), None);
    assert_eq!(lan[0].stats().messages_dropped, 2);
}

#[test]
fn held_messages_are_bounded() {
    let mut lan = lan(1);
    let nobody = PrivateAddress([9; 8]).public();
    for _ in 0..MAX_HELD_PER_DESTINATION + 3 {
        lan[0].send(nobody, b"m", 0);
    }
    assert_eq!(lan[0].stats().messages_dropped, 3);
    let other = PrivateAddress([8; 8]).public();
    lan[0].send(other, &message(MAX_HELD_BYTES), 0);
    assert_eq!(lan[0].stats().messages_dropped, 4);
}

#[test]
fn garbage_is_counted_and_never_delivered() {
    let mut lan = lan(2);
    for len in 0..200 {
        let junk = message(len);
        assert_eq!(lan[1].on_frame(0, &junk, 0), None);
    }
    assert!(lan[1].stats().malformed >= 190);
    // Data for somebody else's address is not ours.
    let stranger = PrivateAddress([7; 8]).public();
    let mut lan2 = self::lan(3);
    lan2[0].send(stranger, b"x", 0);
    let located: Vec<_> = lan2[0].take_outgoing();
    assert_eq!(located.len(), 1);
    assert!(located[0].frame.len() > FLOW_CONTROL_LEN);
    assert_eq!(lan2[1].on_frame(0, &located[0].frame, 0), None);
}

#[test]
fn a_medium_with_smaller_frames_gets_smaller_fragments() {
    let mut lan = lan(2);
    lan[0].set_fragment_limit(|_| 1000);
    let to = lan[1].address();
    let big = message(5000);
    lan[0].send(to, &big, 0);
    let received = settle(&mut lan, 0);
    assert_eq!(received[1][0].data, big);
    // Five 1000-byte fragments and one LOCATE.
    assert_eq!(lan[0].stats().frames_out, 6);
}

#[test]
fn fragments_are_paced_more_carefully_when_a_message_is_sent_again() {
    let mut lan = lan(2);
    let to = lan[1].address();
    settle_route(&mut lan, to);
    let big = message(13 * MAX_FRAGMENT_PAYLOAD);
    let pauses = |station: &mut Station<usize>| -> Vec<u64> {
        station
            .take_outgoing()
            .iter()
            .map(|out| out.pause_before_nanos)
            .collect()
    };
    lan[0].send(to, &big, 0);
    let first = pauses(&mut lan[0]);
    let expected = |pacing: Pacing| -> Vec<u64> {
        (0..13)
            .map(|i| {
                if i > 0 && i % pacing.frames == 0 {
                    pacing.pause_nanos
                } else {
                    0
                }
            })
            .collect()
    };
    assert_eq!(first, expected(Pacing::FIRST_TRY));
    lan[0].send_again(to, &big, 1, 0);
    assert_eq!(pauses(&mut lan[0]), expected(Pacing::CAREFUL));
}

#[test]
fn the_fragments_of_two_tries_of_a_message_make_it_whole() {
    let mut lan = lan(2);
    let to = lan[1].address();
    settle_route(&mut lan, to);
    let big = message(4 * MAX_FRAGMENT_PAYLOAD);
    // Each try loses different fragments: the first its even ones, the second its odd ones.
    let id = lan[0].send(to, &big, 0);
    let mut delivered = Vec::new();
    for (index, out) in lan[0].take_outgoing().iter().enumerate() {
        if index % 2 == 1 {
            delivered.extend(lan[1].on_frame(0, &out.frame, 0));
        }
    }
    lan[0].send_again(to, &big, id, 100);
    for (index, out) in lan[0].take_outgoing().iter().enumerate() {
        if index % 2 == 0 {
            delivered.extend(lan[1].on_frame(0, &out.frame, 100));
        }
    }
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].data, big);
    // A new id for each try, as 5.3 has it, would have lost both.
    assert_ne!(lan[0].send(to, &big, 200), id);
}

/// Teaches station 0 the route to `to`, so later sends go out at once.
fn settle_route(lan: &mut Lan, to: Address) {
    lan[0].send(to, b"hello", 0);
    settle(lan, 0);
}
