//! Free space of a Bullet volume, ours: not stored on disk but derived at mount from the
//! committed inodes' extents (`docs/bullet-format.md`, "Free space"). An uncommitted file's
//! bytes are on the disk in blocks that no record names, so a crash can lose no space:
//! whatever no committed record claims is free at the next mount.
//!
//! Free space is a sorted list of maximal runs; allocation is first fit, contiguous, as
//! Bullet stores every file in one extent, and a growing file's extent may be extended in
//! place when the blocks right after it are free.

use alloc::vec::Vec;

use super::layout::Extent;

/// The free runs of the data region, sorted by first block, none empty, none adjacent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreeSpace {
    runs: Vec<Extent>,
}

impl FreeSpace {
    /// `region` minus every `used` extent. Used extents may overlap one another or stick
    /// out of the region (a damaged disk's); only their part inside counts.
    pub fn from_used(region: Extent, used: impl IntoIterator<Item = Extent>) -> Self {
        let mut used: Vec<Extent> = used.into_iter().filter(|e| e.blocks > 0).collect();
        used.sort_by_key(|extent| extent.first);
        let mut runs = Vec::new();
        let mut next_free = u64::from(region.first);
        for extent in used {
            push_run(
                &mut runs,
                next_free,
                u64::from(extent.first).min(region.end()),
            );
            next_free = next_free.max(extent.end());
        }
        push_run(&mut runs, next_free, region.end());
        Self { runs }
    }

    /// The first run of `blocks` blocks (at least one), taken out of the free space.
    pub fn allocate(&mut self, blocks: u32) -> Option<Extent> {
        let index = self.runs.iter().position(|run| run.blocks >= blocks)?;
        let run = &mut self.runs[index];
        let taken = Extent {
            first: run.first,
            blocks,
        };
        run.first += blocks;
        run.blocks -= blocks;
        if run.blocks == 0 {
            self.runs.remove(index);
        }
        Some(taken)
    }

    /// Makes the allocated `extent` `more` blocks longer in place, if the blocks right after
    /// it are free; whether it did.
    pub fn extend(&mut self, extent: &mut Extent, more: u32) -> bool {
        // Runs are maximal and the extent is allocated, so a free block right after it is
        // the first block of a run.
        let Some(index) = self
            .runs
            .iter()
            .position(|run| u64::from(run.first) == extent.end())
        else {
            return false;
        };
        let run = &mut self.runs[index];
        if run.blocks < more {
            return false;
        }
        run.first += more;
        run.blocks -= more;
        if run.blocks == 0 {
            self.runs.remove(index);
        }
        extent.blocks += more;
        true
    }

    /// Gives `extent`, which must have been allocated, back, merging it with its neighbours.
    pub fn release(&mut self, extent: Extent) {
        if extent.blocks == 0 {
            return;
        }
        let index = self.runs.partition_point(|run| run.first < extent.first);
        self.runs.insert(index, extent);
        if index + 1 < self.runs.len() {
            self.merge_with_next(index);
        }
        if index > 0 {
            self.merge_with_next(index - 1);
        }
    }

    fn merge_with_next(&mut self, index: usize) {
        let next = self.runs[index + 1];
        let run = &mut self.runs[index];
        if run.end() == u64::from(next.first) {
            run.blocks += next.blocks;
            self.runs.remove(index + 1);
        }
    }

    pub fn free_blocks(&self) -> u64 {
        self.runs.iter().map(|run| u64::from(run.blocks)).sum()
    }

    /// The longest run: the largest file that can still be committed.
    pub fn largest_run(&self) -> u32 {
        self.runs.iter().map(|run| run.blocks).max().unwrap_or(0)
    }

    pub fn runs(&self) -> &[Extent] {
        &self.runs
    }
}

/// Appends the run `start..end` if it is not empty. Both lie in a region of u32 blocks.
fn push_run(runs: &mut Vec<Extent>, start: u64, end: u64) {
    if start < end {
        runs.push(Extent {
            first: start as u32,
            blocks: (end - start) as u32,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extent(first: u32, blocks: u32) -> Extent {
        Extent { first, blocks }
    }

    #[test]
    fn free_space_is_the_region_minus_the_used_extents() {
        let used = [extent(20, 5), extent(10, 5), extent(12, 2), extent(95, 50)];
        let free = FreeSpace::from_used(extent(5, 95), used);
        assert_eq!(free.runs(), &[extent(5, 5), extent(15, 5), extent(25, 70)]);
        assert_eq!(free.free_blocks(), 80);
        assert_eq!(free.largest_run(), 70);
    }

    #[test]
    fn allocation_is_first_fit_and_release_merges() {
        let mut free = FreeSpace::from_used(extent(0, 100), [extent(3, 2)]);
        assert_eq!(free.allocate(4), Some(extent(5, 4)));
        assert_eq!(free.allocate(3), Some(extent(0, 3)));
        assert_eq!(free.allocate(92), None);
        assert_eq!(free.allocate(91), Some(extent(9, 91)));
        assert!(free.runs().is_empty());
        free.release(extent(0, 3));
        free.release(extent(5, 4));
        free.release(extent(3, 2));
        assert_eq!(free.runs(), &[extent(0, 9)]);
        free.release(extent(9, 91));
        assert_eq!(free.runs(), &[extent(0, 100)]);
    }

    #[test]
    fn an_extent_grows_in_place_only_into_the_free_run_right_after_it() {
        let mut free = FreeSpace::from_used(extent(0, 100), [extent(10, 5), extent(20, 5)]);
        let mut file = extent(10, 5);
        assert!(free.extend(&mut file, 5));
        assert_eq!(file, extent(10, 10));
        // The next blocks belong to another extent now.
        assert!(!free.extend(&mut file, 1));
        let mut last = extent(20, 5);
        assert!(!free.extend(&mut last, 76));
        assert!(free.extend(&mut last, 75));
        assert_eq!(free.runs(), &[extent(0, 10)]);
    }
}
