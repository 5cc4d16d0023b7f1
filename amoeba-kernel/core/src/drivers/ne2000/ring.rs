//! The receive ring's geometry and the check of every header read from it.
//!
//! The card stores each frame it receives in consecutive pages of the ring, from its current
//! page on, wrapping at the ring's end, behind a [`ReceiveHeader`] saying where the next frame
//! will go (DP8390D datasheet, section 7.0). The headers come from buffer memory the LAN
//! writes into: a runt, a giant or a card gone wrong can leave anything there, so nothing a
//! header says is believed before it is checked against the ring and against the card's
//! current page.

use super::registers::{PAGE_BYTES, ReceiveHeader, rsr};
use crate::drivers::ethernet::{ETHERNET_HEADER, MAX_FRAME};

/// QEMU's model leaves this much room after each frame for a CRC that it neither stores
/// nor counts, so its next frame can start a page later than the count says; a DP8390
/// starts it in the page after the count's last byte.
const CRC_ROOM: usize = 4;

/// The pages `start..stop` of buffer memory that hold received frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ring {
    pub start: u8,
    pub stop: u8,
}

impl Ring {
    /// Pages in the ring (at least 1: `start < stop`).
    pub fn pages(self) -> usize {
        usize::from(self.stop - self.start)
    }

    pub fn contains(self, page: u8) -> bool {
        (self.start..self.stop).contains(&page)
    }

    /// The ring page `count` pages after `page` (a ring page), wrapping at the ring's end.
    pub fn advance(self, page: u8, count: usize) -> u8 {
        let offset = (usize::from(page - self.start) + count) % self.pages();
        // The offset is below the ring's size, so start + offset is below `stop`.
        self.start + offset as u8
    }

    /// The ring page before `page`: what the boundary says once the frame ending at `page`
    /// has been read.
    pub fn before(self, page: u8) -> u8 {
        self.advance(page, self.pages() - 1)
    }

    /// How many pages forward from `from` to `to` (both ring pages): 0 when they are equal.
    pub fn distance(self, from: u8, to: u8) -> usize {
        let pages = self.pages();
        (usize::from(to - self.start) + pages - usize::from(from - self.start)) % pages
    }
}

/// What a header says, once checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A frame of `length` bytes follows the header; the frame after it is at `next`.
    Frame { length: usize, next: u8 },
    /// The header adds up but the frame it holds cannot be an Ethernet frame (shorter than
    /// an Ethernet header or longer than [`MAX_FRAME`]): skip to `next`.
    BadLength { length: usize, next: u8 },
    /// The header is not one the card wrote: where frames start in the ring is unknown.
    Broken(HeaderFault),
}

/// Why a header cannot be one the card wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderFault {
    /// The card stores intact frames only, and marks them so.
    Status(u8),
    /// The next page lies outside the ring.
    NextOutsideRing(u8),
    /// The next page is the header's own: the walk would stand still.
    NextIsSelf,
    /// The count is as long as the ring or longer: no such frame fits.
    LongerThanRing(usize),
    /// The next page is not where a frame of this count ends (on a DP8390 or in QEMU).
    NextDisagreesWithCount { next: u8, count: usize },
    /// The frame would reach past the card's current page, into pages the card has not
    /// filled yet: following it could walk the ring forever.
    PastCurrent { next: u8, current: u8 },
}

/// Checks the header read at ring page `page`, the card's current page being `current` (a
/// ring page other than `page`).
pub fn judge(ring: Ring, page: u8, current: u8, header: ReceiveHeader) -> Verdict {
    let next = header.next_page;
    let count = header.count();
    let fault = if header.status & (rsr::INTACT | rsr::CRC_ERROR | rsr::FRAME_ALIGNMENT_ERROR)
        != rsr::INTACT
    {
        Some(HeaderFault::Status(header.status))
    } else if !ring.contains(next) {
        Some(HeaderFault::NextOutsideRing(next))
    } else if next == page {
        Some(HeaderFault::NextIsSelf)
    } else if count.div_ceil(PAGE_BYTES) >= ring.pages() {
        Some(HeaderFault::LongerThanRing(count))
    } else if next != ring.advance(page, count.div_ceil(PAGE_BYTES))
        && next != ring.advance(page, (count + CRC_ROOM).div_ceil(PAGE_BYTES))
    {
        Some(HeaderFault::NextDisagreesWithCount { next, count })
    } else if ring.distance(page, next) > ring.distance(page, current) {
        Some(HeaderFault::PastCurrent { next, current })
    } else {
        None
    };
    if let Some(fault) = fault {
        return Verdict::Broken(fault);
    }
    let length = count.saturating_sub(ReceiveHeader::BYTES);
    if (ETHERNET_HEADER..=MAX_FRAME).contains(&length) {
        Verdict::Frame { length, next }
    } else {
        Verdict::BadLength { length, next }
    }
}
