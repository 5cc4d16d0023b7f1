//! Physical memory bookkeeping that needs no hardware: sets of address ranges.
//!
//! The kernel builds the set of frames it may allocate from the boot loader's memory map (usable
//! ranges) minus everything already in use (the kernel image, boot information, modules). The
//! arithmetic lives here so it is tested on the host; the kernel only feeds it addresses.

use core::ops::Range;

/// Size of a physical page frame.
pub const PAGE_SIZE: u64 = 4096;

/// A set of disjoint, sorted, page-aligned address ranges with a fixed capacity (no allocator is
/// running when it is built).
#[derive(Clone, Debug)]
pub struct RegionSet<const N: usize> {
    ranges: [Range<u64>; N],
    len: usize,
    /// Ranges lost because the set was full; reported so that no memory vanishes silently.
    pub dropped_bytes: u64,
}

impl<const N: usize> Default for RegionSet<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> RegionSet<N> {
    pub const fn new() -> Self {
        Self {
            ranges: [const { 0..0 }; N],
            len: 0,
            dropped_bytes: 0,
        }
    }

    pub fn ranges(&self) -> &[Range<u64>] {
        &self.ranges[..self.len]
    }

    pub fn total_bytes(&self) -> u64 {
        self.ranges().iter().map(|r| r.end - r.start).sum()
    }

    /// Adds `range` shrunk to whole pages; overlaps with ranges already present are merged.
    pub fn add(&mut self, range: Range<u64>) {
        let start = range.start.next_multiple_of(PAGE_SIZE);
        let end = range.end - range.end % PAGE_SIZE;
        if start >= end {
            return;
        }
        // Remove overlapping or touching ranges first and widen the new one to cover them.
        let (mut start, mut end) = (start, end);
        let mut index = 0;
        while index < self.len {
            let existing = &self.ranges[index];
            if existing.start <= end && start <= existing.end {
                start = start.min(existing.start);
                end = end.max(existing.end);
                self.remove_at(index);
            } else {
                index += 1;
            }
        }
        self.insert_sorted(start..end);
    }

    /// Adds `range` widened to whole pages: for ranges in use, where a partly used page is used.
    pub fn add_covering(&mut self, range: Range<u64>) {
        let start = range.start - range.start % PAGE_SIZE;
        self.add(start..range.end.next_multiple_of(PAGE_SIZE));
    }

    /// Takes `range` (widened to whole pages) out of the set.
    pub fn remove(&mut self, range: Range<u64>) {
        let start = range.start - range.start % PAGE_SIZE;
        let end = range.end.next_multiple_of(PAGE_SIZE);
        if start >= end {
            return;
        }
        let mut index = 0;
        while index < self.len {
            let existing = self.ranges[index].clone();
            if existing.end <= start || end <= existing.start {
                index += 1;
                continue;
            }
            self.remove_at(index);
            if existing.start < start {
                self.insert_sorted(existing.start..start);
                index += 1;
            }
            if end < existing.end {
                self.insert_sorted(end..existing.end);
                index += 1;
            }
        }
    }

    fn remove_at(&mut self, index: usize) {
        self.ranges[index..self.len].rotate_left(1);
        self.len -= 1;
    }

    fn insert_sorted(&mut self, range: Range<u64>) {
        if self.len == N {
            self.dropped_bytes += range.end - range.start;
            return;
        }
        let at = self.ranges().partition_point(|r| r.start < range.start);
        self.ranges[self.len] = range;
        self.ranges[at..=self.len].rotate_right(1);
        self.len += 1;
    }
}

#[cfg(test)]
#[expect(
    clippy::single_range_in_vec_init,
    reason = "a set of one range is what these tests expect"
)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn ranges_are_page_aligned_inward_when_added() {
        let mut set = RegionSet::<4>::new();
        set.add(100..3 * PAGE_SIZE + 5);
        assert_eq!(set.ranges(), [PAGE_SIZE..3 * PAGE_SIZE]);
        set.add(10..20);
        assert_eq!(
            set.ranges().len(),
            1,
            "a range smaller than a page adds nothing"
        );
    }

    #[test]
    fn covering_ranges_widen_outward() {
        let mut set = RegionSet::<4>::new();
        set.add_covering(PAGE_SIZE + 1..2 * PAGE_SIZE + 1);
        assert_eq!(set.ranges(), [PAGE_SIZE..3 * PAGE_SIZE]);
    }

    #[test]
    fn overlapping_and_touching_ranges_merge() {
        let mut set = RegionSet::<4>::new();
        set.add(4 * MIB..8 * MIB);
        set.add(MIB..2 * MIB);
        set.add(2 * MIB..5 * MIB);
        assert_eq!(set.ranges(), [MIB..8 * MIB]);
    }

    #[test]
    fn removal_splits_and_widens_outward() {
        let mut set = RegionSet::<4>::new();
        set.add(MIB..16 * MIB);
        set.remove(2 * MIB + 1..3 * MIB - 1);
        assert_eq!(set.ranges(), [MIB..2 * MIB, 3 * MIB..16 * MIB]);
        set.remove(0..MIB + PAGE_SIZE);
        set.remove(15 * MIB..20 * MIB);
        assert_eq!(set.ranges(), [MIB + PAGE_SIZE..2 * MIB, 3 * MIB..15 * MIB]);
        assert_eq!(set.total_bytes(), (MIB - PAGE_SIZE) + 12 * MIB);
    }

    #[test]
    fn removal_spanning_several_ranges() {
        let mut set = RegionSet::<4>::new();
        set.add(0..MIB);
        set.add(2 * MIB..3 * MIB);
        set.add(4 * MIB..5 * MIB);
        set.remove(MIB / 2..4 * MIB + MIB / 2);
        assert_eq!(set.ranges(), [0..MIB / 2, 4 * MIB + MIB / 2..5 * MIB]);
    }

    #[test]
    fn a_full_set_counts_what_it_drops() {
        let mut set = RegionSet::<2>::new();
        set.add(0..MIB);
        set.add(2 * MIB..3 * MIB);
        set.add(4 * MIB..5 * MIB);
        assert_eq!(set.ranges().len(), 2);
        assert_eq!(set.dropped_bytes, MIB);
    }
}
