//! Starting processes from Amoeba process images (`libamoeba::process::image`).
//!
//! The image is inflated and checked in full before anything is mapped, so a corrupt,
//! truncated or foreign image is refused with a message and nothing of it runs. Text segments
//! of the same embedded image are shared between the processes that run it.

use crate::arch::cpu;
use crate::build_info;
use crate::mm::address_space::{Access, AddressSpace, MapError, SharedFrames};
use crate::sched::{self, NewProcess, ProcessId};
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec;
use alloc::vec::Vec;
use libamoeba::memory::PAGE_SIZE;
use libamoeba::process::boot_table::{self, BootProgram};
use libamoeba::process::environment;
use libamoeba::process::image::{ImageError, MAX_IMAGE_BYTES, decode_image};
use libamoeba::process::layout::MAX_ENVIRONMENT_BYTES;
use libamoeba::process::{ArchMagic, SegmentDescriptor};
use spin::Mutex;

/// Largest main stack set up (the builder makes them `process::layout::MAIN_STACK_BYTES`).
const MAX_STACK_BYTES: u64 = 1 << 20;

/// Text frames by (image address, segment index): the same embedded image shares its text.
static SHARED_TEXT: Mutex<BTreeMap<(usize, usize), Weak<SharedFrames>>> =
    Mutex::new(BTreeMap::new());

#[derive(Debug)]
pub enum LoadError {
    Image(ImageError),
    Map(MapError),
    NoStack,
    /// The main stack is not the layout's (`process::layout`): too big to set up, or too small
    /// for the environment block.
    BadStack,
    EnvironmentTooLarge(usize),
    Start(libamoeba::syscall::Error),
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Image(error) => write!(f, "bad process image: {error}"),
            Self::Map(error) => write!(f, "cannot map the image: {error:?}"),
            Self::NoStack => write!(f, "the image's main thread has no stack segment"),
            Self::BadStack => write!(
                f,
                "the image's main stack must hold the environment and be at most {MAX_STACK_BYTES} bytes"
            ),
            Self::EnvironmentTooLarge(bytes) => write!(
                f,
                "its arguments and environment take {bytes} bytes; at most {MAX_ENVIRONMENT_BYTES} fit"
            ),
            Self::Start(error) => write!(f, "cannot start the main thread: {error:?}"),
        }
    }
}

fn access_of(segment: &SegmentDescriptor) -> Access {
    if segment.kind.is_text() {
        Access::Text
    } else if segment.kind.is_writable() {
        Access::ReadWrite
    } else {
        Access::ReadOnly
    }
}

/// The environment the process finds on its stack: its arguments, standard capabilities (null
/// where the profile has no such server) and strings. An admin program also gets the owner
/// capabilities of the process and sys servers.
fn environment_block(name: &str, args: &[&str], admin: bool) -> Vec<u8> {
    let mut argv = vec![name];
    argv.extend_from_slice(args);
    let caps = crate::servers::environment();
    let mut capabilities = vec![
        (environment::TTY, caps.tty),
        (environment::RANDOM, caps.random),
        (environment::TOD, caps.tod),
        (environment::ROOT, caps.root),
    ];
    if admin {
        let owners = crate::servers::owner_capabilities();
        capabilities.extend([
            (environment::PS, owners.ps),
            (environment::PROC, owners.proc),
            (environment::SYS, owners.sys),
        ]);
    }
    let node = alloc::format!("NODE_PROFILE={}", build_info::PROFILE);
    environment::encode(&argv, &capabilities, &["TERM=amoeba", node.as_str()])
}

/// Creates a process running `program` (embedded, so its image's address identifies it).
pub fn exec(program: &BootProgram<'static>) -> Result<ProcessId, LoadError> {
    let image = program.image;
    let decoded =
        decode_image(image, ArchMagic::X86_64, MAX_IMAGE_BYTES).map_err(LoadError::Image)?;
    let descriptor = decoded.descriptor();
    let main = descriptor.threads.first().ok_or(LoadError::NoStack)?;
    let mut space = AddressSpace::new().map_err(LoadError::Map)?;
    let mut stack = None;
    for (index, (segment, bytes)) in decoded.segments().enumerate() {
        let pages = segment.length.div_ceil(PAGE_SIZE);
        if segment.address + segment.length == main.sp && segment.kind.is_writable() {
            stack = Some((segment.address, segment.length, pages));
            continue;
        }
        let mapped = match access_of(segment) {
            Access::Text => shared_text(image, index, pages, bytes)
                .and_then(|frames| space.map_shared(segment.address, frames)),
            access => space.map_new(segment.address, pages, access, bytes),
        };
        mapped.map_err(LoadError::Map)?;
    }
    let (stack_start, stack_length, stack_pages) = stack.ok_or(LoadError::NoStack)?;
    let env = environment_block(program.name, &program.args, program.admin);
    if env.len() > MAX_ENVIRONMENT_BYTES {
        return Err(LoadError::EnvironmentTooLarge(env.len()));
    }
    if stack_length > MAX_STACK_BYTES || (env.len() as u64) * 2 > stack_length {
        return Err(LoadError::BadStack);
    }
    let env_offset = (stack_length as usize - env.len()) & !15;
    space
        .map_new_at(
            stack_start,
            stack_pages,
            Access::ReadWrite,
            env_offset,
            &env,
        )
        .map_err(LoadError::Map)?;
    let env_address = stack_start + env_offset as u64;
    // Enter `_start` as if called: RSP = 16n + 8.
    let new = NewProcess {
        name: program.name,
        priority: program.priority,
        driver: program.driver,
        entry: main.pc,
        stack_pointer: env_address - 8,
        argument: env_address,
    };
    sched::spawn_process(new, space).map_err(LoadError::Start)
}

fn shared_text(
    image: &'static [u8],
    index: usize,
    pages: u64,
    bytes: &[u8],
) -> Result<Arc<SharedFrames>, MapError> {
    let key = (image.as_ptr() as usize, index);
    let mut cache = SHARED_TEXT.lock();
    if let Some(frames) = cache.get(&key).and_then(Weak::upgrade) {
        return Ok(frames);
    }
    let frames = SharedFrames::with_contents(pages, bytes)?;
    cache.insert(key, Arc::downgrade(&frames));
    Ok(frames)
}

/// Starts every program of the embedded boot table; a bad entry is reported and skipped.
pub fn start_boot_programs() {
    let programs = match boot_table::decode(build_info::BOOT_PROGRAMS) {
        Ok(programs) => programs,
        Err(error) => {
            log::error!("boot programs: the embedded table is unreadable ({error}); none started");
            return;
        }
    };
    for program in &programs {
        let started = cpu::rdtsc();
        match exec(program) {
            Ok(pid) => log::info!(
                "process {} (pid {pid}) created from its {} byte image in {} cycles",
                program.name,
                program.image.len(),
                cpu::rdtsc() - started
            ),
            Err(error) => log::error!("process {} not started: {error}", program.name),
        }
    }
}
