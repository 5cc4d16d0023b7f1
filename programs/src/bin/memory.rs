//! `memory`: allocates and frees many data segments and heap blocks, checking that each holds
//! what was written and that fresh memory is zero, then prints `memory: ok` (or what failed,
//! with exit code 1). Peak use stays near 2 MiB, so several can run side by side on a small
//! node.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::ptr::NonNull;

use amoeba_user::println;
use amoeba_user::segment;
use libamoeba::process::Environment;

amoeba_user::amoeba_main!(main);

const SEGMENT_ROUNDS: usize = 20;
const SEGMENTS_PER_ROUND: usize = 12;
const HEAP_ROUNDS: usize = 20;
const BLOCKS_PER_ROUND: usize = 64;

fn main(_env: &Environment) -> i32 {
    let result = segments().and_then(|()| heap());
    match result {
        Ok(()) => {
            println!("memory: ok");
            0
        }
        Err(problem) => {
            println!("memory: FAILED: {problem}");
            1
        }
    }
}

/// A small deterministic pseudo-random sequence (xorshift), for sizes and fill bytes.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn pattern(seed: usize, index: usize) -> u8 {
    (seed.wrapping_mul(31).wrapping_add(index.wrapping_mul(7)) % 251) as u8
}

fn segments() -> Result<(), &'static str> {
    let mut sizes = Sequence(0x5EED_0001);
    for _ in 0..SEGMENT_ROUNDS {
        let mut held: Vec<(NonNull<u8>, usize)> = Vec::with_capacity(SEGMENTS_PER_ROUND);
        for index in 0..SEGMENTS_PER_ROUND {
            let bytes = 4096 + (sizes.next() % (160 * 1024)) as usize;
            let start = segment::allocate(bytes).map_err(|_| "segment allocation refused")?;
            // SAFETY: the segment is ours alone and `bytes` long.
            let memory = unsafe { core::slice::from_raw_parts_mut(start.as_ptr(), bytes) };
            if memory.iter().any(|&b| b != 0) {
                return Err("a fresh segment is not zero-filled");
            }
            for (i, byte) in memory.iter_mut().enumerate() {
                *byte = pattern(index, i);
            }
            held.push((start, bytes));
        }
        for (index, &(start, bytes)) in held.iter().enumerate() {
            // SAFETY: as above; the segment is still allocated.
            let memory = unsafe { core::slice::from_raw_parts(start.as_ptr(), bytes) };
            if memory
                .iter()
                .enumerate()
                .any(|(i, &b)| b != pattern(index, i))
            {
                return Err("a segment lost its contents");
            }
        }
        // Free in an order other than allocation order.
        for (start, _) in held.into_iter().rev() {
            // SAFETY: no reference into the segment is left.
            unsafe { segment::free(start) }.map_err(|_| "segment free refused")?;
        }
    }
    Ok(())
}

fn heap() -> Result<(), &'static str> {
    let mut sizes = Sequence(0x5EED_0002);
    for round in 0..HEAP_ROUNDS {
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        for index in 0..BLOCKS_PER_ROUND {
            // Mostly small blocks, some big enough for a segment of their own.
            let len = match sizes.next() % 16 {
                0 => 64 * 1024 + (sizes.next() % (128 * 1024)) as usize,
                _ => 1 + (sizes.next() % 2048) as usize,
            };
            let block = vec![pattern(index + round, 0); len];
            blocks.push(block);
            // Free every third block at once: holes for the next allocations.
            if index % 3 == 2 {
                let victim = (sizes.next() as usize) % blocks.len();
                blocks.swap_remove(victim);
            }
        }
        let boxed: Box<[u64]> = (0..1000u64).collect();
        if boxed.iter().sum::<u64>() != 999 * 1000 / 2 {
            return Err("a boxed slice lost its contents");
        }
        for block in &blocks {
            let first = block.first().copied().unwrap_or(0);
            if block.iter().any(|&b| b != first) {
                return Err("a heap block lost its contents");
            }
        }
        let mut grown = Vec::new();
        for i in 0..100_000u32 {
            grown.push(i);
        }
        if grown.iter().enumerate().any(|(i, &v)| v as usize != i) {
            return Err("a growing vector lost its contents");
        }
    }
    Ok(())
}
