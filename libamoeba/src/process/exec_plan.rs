//! From a process image and an environment block to the process to create: every segment with
//! the bytes it starts with, and a main thread that starts at the image's entry with the
//! environment on top of its stack.
//!
//! The one convention every creator and kernel share: the environment block lies 16-byte
//! aligned at the top of the main stack segment, the main thread starts with `sp` 8 bytes below
//! it (as if `_start` had been called: RSP = 16n + 8) and with RDI = `sp + 8`, the block's
//! address. A kernel starting an IDLE thread of a descriptor (at boot, or for PS_EXEC) sets RDI
//! so; a creator on another machine (the host's `amoeba exec`) lays out the stack with this
//! module and sends the segments by PS_SEG_WRITE.

use alloc::vec::Vec;
use core::fmt;

use super::descriptor::{ProcessDescriptor, ThreadDescriptor};
use super::image::{ProcessImage, ZERO_FILLED};
use super::layout::MAX_ENVIRONMENT_BYTES;
use crate::capability::Capability;

/// Largest main stack a plan sets up: the builder makes them `layout::MAIN_STACK_BYTES`.
pub const MAX_MAIN_STACK_BYTES: u64 = 1 << 20;

/// What one segment starts with: `bytes` at byte `at` of the segment, zeros elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentStart<'a> {
    pub at: usize,
    pub bytes: &'a [u8],
}

/// A process to create: the descriptor (segment capabilities null, offsets 0, one IDLE main
/// thread) and, for each of its segments in order, what the segment starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecPlan<'a> {
    pub descriptor: ProcessDescriptor,
    pub contents: Vec<SegmentStart<'a>>,
    /// The index of the main stack segment among the segments.
    pub main_stack: usize,
}

/// Why an image and an environment make no process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// No writable segment ends where the main thread's stack pointer starts.
    NoStack,
    /// The main stack is bigger than [`MAX_MAIN_STACK_BYTES`], or less than twice the
    /// environment (the program needs room to run).
    BadStack { stack: u64, environment: usize },
    /// The environment block is bigger than [`MAX_ENVIRONMENT_BYTES`].
    EnvironmentTooLarge { bytes: usize },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoStack => write!(f, "the image's main thread has no stack segment"),
            Self::BadStack { stack, environment } => write!(
                f,
                "the main stack ({stack} bytes) must be at most {MAX_MAIN_STACK_BYTES} bytes \
                 and at least twice the environment ({environment} bytes)"
            ),
            Self::EnvironmentTooLarge { bytes } => write!(
                f,
                "the arguments and environment take {bytes} bytes; at most \
                 {MAX_ENVIRONMENT_BYTES} fit"
            ),
        }
    }
}

/// Where the environment block goes in a main stack of `stack_length` bytes, if it fits.
fn environment_offset(stack_length: u64, environment: usize) -> Result<usize, PlanError> {
    if environment > MAX_ENVIRONMENT_BYTES {
        return Err(PlanError::EnvironmentTooLarge { bytes: environment });
    }
    let bad = PlanError::BadStack {
        stack: stack_length,
        environment,
    };
    if stack_length > MAX_MAIN_STACK_BYTES || (environment as u64) * 2 > stack_length {
        return Err(bad);
    }
    // Both at most 1 MiB: the subtraction cannot wrap and fits usize.
    Ok((stack_length as usize - environment) & !15)
}

/// The process `image` makes with `environment` (an `environment::encode` block).
pub fn plan_exec<'a>(
    image: &'a ProcessImage,
    environment: &'a [u8],
) -> Result<ExecPlan<'a>, PlanError> {
    let bytes: Vec<&[u8]> = image.segments().map(|(_, bytes)| bytes).collect();
    let mut plan = plan_with(image.descriptor(), environment, |index| bytes[index])?;
    for segment in &mut plan.descriptor.segments {
        segment.offset = 0;
    }
    Ok(plan)
}

/// The process the uncompressed image in the file `file` makes with `environment`, the
/// image's `descriptor` read from the file's start: each segment with contents in the file
/// is named by `file` at its offset, for the process server to read in place (PS_EXEC reads
/// a segment's capability by BS_READ), so only the main stack's environment is left to send.
pub fn plan_exec_in_place<'a>(
    descriptor: &ProcessDescriptor,
    file: Capability,
    environment: &'a [u8],
) -> Result<ExecPlan<'a>, PlanError> {
    let mut plan = plan_with(descriptor, environment, |_| &[][..])?;
    for (index, segment) in plan.descriptor.segments.iter_mut().enumerate() {
        if index != plan.main_stack && segment.offset != ZERO_FILLED {
            segment.cap = file;
        } else {
            segment.offset = 0;
        }
    }
    Ok(plan)
}

/// The plan for `source` whose segment `index` starts with `contents(index)`, the main stack
/// with the environment.
fn plan_with<'a>(
    source: &ProcessDescriptor,
    environment: &'a [u8],
    contents: impl Fn(usize) -> &'a [u8],
) -> Result<ExecPlan<'a>, PlanError> {
    let main = source.threads.first().ok_or(PlanError::NoStack)?;
    let main_stack = source
        .segments
        .iter()
        .position(|s| s.end() == Some(main.sp) && s.kind.is_writable())
        .ok_or(PlanError::NoStack)?;
    let stack = &source.segments[main_stack];
    let env_offset = environment_offset(stack.length, environment.len())?;
    let env_address = stack.address + env_offset as u64;
    let contents = (0..source.segments.len())
        .map(|index| match index == main_stack {
            true => SegmentStart {
                at: env_offset,
                bytes: environment,
            },
            false => SegmentStart {
                at: 0,
                bytes: contents(index),
            },
        })
        .collect();
    let mut descriptor = source.clone();
    descriptor.threads = alloc::vec![ThreadDescriptor {
        state: 0,
        idle: true,
        pc: main.pc,
        sp: env_address - 8,
        registers: None,
        kernel: None,
    }];
    Ok(ExecPlan {
        descriptor,
        contents,
        main_stack,
    })
}

/// The first argument (RDI) of an IDLE thread that starts at `sp`: the environment block.
pub const fn idle_thread_argument(sp: u64) -> u64 {
    sp.wrapping_add(8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::descriptor::{ArchMagic, SegmentDescriptor, SegmentType};
    use crate::process::image::{decode_image, encode_image};
    use crate::process::layout::{MAIN_STACK_BASE, MAIN_STACK_BYTES, MAIN_STACK_TOP};
    use alloc::vec;

    const TEXT: u64 = 0x0000_0080_0000_0000;

    fn image() -> ProcessImage {
        let segment = |address, length, kind| SegmentDescriptor {
            cap: Capability::NULL,
            offset: 0,
            address,
            length,
            kind,
        };
        let descriptor = ProcessDescriptor {
            arch: ArchMagic::X86_64,
            self_cap: Capability::NULL,
            owner_cap: Capability::NULL,
            segments: vec![
                segment(TEXT, 4096, SegmentType::TEXT | SegmentType::RO),
                segment(
                    MAIN_STACK_BASE,
                    MAIN_STACK_BYTES,
                    SegmentType::SYSTEM | SegmentType::DATA | SegmentType::RW,
                ),
            ],
            threads: vec![ThreadDescriptor {
                pc: TEXT + 0x20,
                sp: MAIN_STACK_TOP,
                ..ThreadDescriptor::default()
            }],
        };
        let file = encode_image(&descriptor, &[&[0xC3; 4096], &[]]).unwrap();
        decode_image(&file, ArchMagic::X86_64, 1 << 20).unwrap()
    }

    #[test]
    fn in_place_the_file_names_the_segments_with_contents() {
        let image = image();
        let file = Capability::new(crate::capability::Port([4; 6]), 9, 0x02, [5; 6]).unwrap();
        let env = [7u8; 100];
        let plan = plan_exec_in_place(image.descriptor(), file, &env).unwrap();
        let text = &plan.descriptor.segments[0];
        assert_eq!(
            (text.cap, text.offset),
            (file, image.descriptor().segments[0].offset)
        );
        assert!(text.offset > 0);
        assert!(plan.contents[0].bytes.is_empty());
        let stack = &plan.descriptor.segments[1];
        assert_eq!((stack.cap, stack.offset), (Capability::NULL, 0));
        assert_eq!(plan.contents[1].bytes, &env);
        assert_eq!(
            plan.descriptor.threads,
            plan_exec(&image, &env).unwrap().descriptor.threads
        );
    }

    #[test]
    fn the_environment_tops_the_stack_and_the_thread_starts_below_it() {
        let image = image();
        let env = [7u8; 100];
        let plan = plan_exec(&image, &env).unwrap();
        assert_eq!(plan.main_stack, 1);
        let start = plan.contents[1];
        assert_eq!(start.bytes, &env);
        assert_eq!(start.at % 16, 0);
        assert!(start.at + env.len() <= MAIN_STACK_BYTES as usize);
        let main = &plan.descriptor.threads[0];
        assert!(main.idle);
        assert_eq!(main.pc, TEXT + 0x20);
        assert_eq!(
            idle_thread_argument(main.sp),
            MAIN_STACK_BASE + start.at as u64
        );
        assert_eq!(main.sp % 16, 8, "as if called");
        assert_eq!(plan.contents[0].bytes.len(), 4096);
        assert!(plan.descriptor.segments.iter().all(|s| s.offset == 0));
    }

    #[test]
    fn an_environment_too_big_for_the_stack_is_refused() {
        let image = image();
        let env = vec![0u8; MAX_ENVIRONMENT_BYTES + 1];
        assert_eq!(
            plan_exec(&image, &env),
            Err(PlanError::EnvironmentTooLarge {
                bytes: MAX_ENVIRONMENT_BYTES + 1
            })
        );
        assert!(matches!(
            environment_offset(4096, 3000),
            Err(PlanError::BadStack { .. })
        ));
        assert!(matches!(
            environment_offset(MAX_MAIN_STACK_BYTES * 2, 10),
            Err(PlanError::BadStack { .. })
        ));
    }
}
