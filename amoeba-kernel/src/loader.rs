//! Starting processes: from the Amoeba process images embedded at boot
//! (`libamoeba::process::image`), and from descriptors the process server checked for PS_EXEC
//! with the segments it gathered.
//!
//! An image is inflated and checked in full before anything is mapped, so a corrupt, truncated
//! or foreign image is refused with a message and nothing of it runs. Both ways lay out the
//! main thread as `libamoeba::process::exec_plan` says. Text segments of the same embedded
//! image are shared between the processes that run it.

use crate::arch::cpu;
use crate::build_info;
use crate::mm::address_space::{Access, AddressSpace, HeldFrames, MapError, SharedFrames};
use crate::sched::{self, Immigrant, NewProcess, ProcessId};
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec;
use alloc::vec::Vec;
use libamoeba::capability::Capability;
use libamoeba::memory::PAGE_SIZE;
use libamoeba::priority::Level;
use libamoeba::process::boot_table::{self, BootProgram};
use libamoeba::process::environment;
use libamoeba::process::exec_plan::idle_thread_argument;
use libamoeba::process::image::{ImageError, MAX_IMAGE_BYTES, decode_image};
use libamoeba::process::{
    ArchMagic, PlanError, ProcessDescriptor, SegmentDescriptor, ThreadDescriptor, plan_exec,
};
use spin::Mutex;

/// Text frames by (image address, segment index): the same embedded image shares its text.
static SHARED_TEXT: Mutex<BTreeMap<(usize, usize), Weak<SharedFrames>>> =
    Mutex::new(BTreeMap::new());

#[derive(Debug)]
pub enum LoadError {
    Image(ImageError),
    Plan(PlanError),
    Map(MapError),
    /// A held segment is not the length its descriptor says.
    #[cfg_attr(
        not(feature = "server-proc"),
        allow(
            dead_code,
            reason = "only the process server (exec, migration) uses it"
        )
    )]
    SegmentLength(usize),
    /// The descriptor asks for what this kernel cannot start yet.
    #[cfg_attr(
        not(feature = "server-proc"),
        allow(
            dead_code,
            reason = "only the process server (exec, migration) uses it"
        )
    )]
    Unsupported(&'static str),
    Start(libamoeba::syscall::Error),
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Image(error) => write!(f, "bad process image: {error}"),
            Self::Plan(error) => write!(f, "{error}"),
            Self::Map(error) => write!(f, "cannot map the image: {error:?}"),
            Self::SegmentLength(index) => {
                write!(f, "segment {index} is not the length its descriptor says")
            }
            Self::Unsupported(what) => write!(f, "not supported: {what}"),
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

/// The capabilities a boot program finds in its environment, null where the profile has no
/// such server: handed in by whoever starts the programs (the servers are started above the
/// loader, which names none of them).
#[derive(Clone, Copy, Debug, Default)]
pub struct BootCapabilities {
    pub tty: Capability,
    pub random: Capability,
    pub tod: Capability,
    pub root: Capability,
    /// Owner capabilities of the ps directory and the process and sys servers, for admin
    /// programs only.
    pub ps: Capability,
    pub proc: Capability,
    pub sys: Capability,
}

/// The environment the process finds on its stack: its arguments, standard capabilities and
/// strings. An admin program also gets the owner capabilities of the process and sys servers.
fn environment_block(name: &str, args: &[&str], admin: bool, caps: &BootCapabilities) -> Vec<u8> {
    let mut argv = vec![name];
    argv.extend_from_slice(args);
    let mut capabilities = vec![
        (environment::TTY, caps.tty),
        (environment::RANDOM, caps.random),
        (environment::TOD, caps.tod),
        (environment::ROOT, caps.root),
    ];
    if admin {
        capabilities.extend([
            (environment::PS, caps.ps),
            (environment::PROC, caps.proc),
            (environment::SYS, caps.sys),
        ]);
    }
    let node = alloc::format!("NODE_PROFILE={}", build_info::PROFILE);
    environment::encode(&argv, &capabilities, &["TERM=amoeba", node.as_str()])
}

/// Who a new process is, beside its memory and threads.
struct Identity<'a> {
    name: &'a str,
    priority: Level,
    driver: bool,
}

/// Starts the process's one thread, IDLE at `main.pc` with the environment above `main.sp`.
fn start_main(
    who: Identity<'_>,
    main: &ThreadDescriptor,
    space: AddressSpace,
) -> Result<ProcessId, LoadError> {
    let new = NewProcess {
        name: who.name,
        priority: who.priority,
        driver: who.driver,
        entry: main.pc,
        stack_pointer: main.sp,
        argument: idle_thread_argument(main.sp),
    };
    sched::spawn_process(new, space).map_err(LoadError::Start)
}

/// Creates a process running `program` (embedded, so its image's address identifies it) with
/// `caps` in its environment.
pub fn exec(
    program: &BootProgram<'static>,
    caps: &BootCapabilities,
) -> Result<ProcessId, LoadError> {
    let image = program.image;
    let decoded =
        decode_image(image, ArchMagic::X86_64, MAX_IMAGE_BYTES).map_err(LoadError::Image)?;
    let env = environment_block(program.name, &program.args, program.admin, caps);
    let plan = plan_exec(&decoded, &env).map_err(LoadError::Plan)?;
    let mut space = AddressSpace::new().map_err(LoadError::Map)?;
    let segments = plan.descriptor.segments.iter().zip(&plan.contents);
    for (index, (segment, start)) in segments.enumerate() {
        let pages = segment.length.div_ceil(PAGE_SIZE);
        let mapped = match access_of(segment) {
            Access::Text => shared_text(image, index, pages, start.bytes)
                .and_then(|frames| space.map_shared(segment.address, frames)),
            access => space.map_new_at(segment.address, pages, access, start.at, start.bytes),
        };
        mapped.map_err(LoadError::Map)?;
    }
    let who = Identity {
        name: program.name,
        priority: program.priority,
        driver: program.driver,
    };
    start_main(who, &plan.descriptor.threads[0], space)
}

/// Creates process `name` from a descriptor PS_EXEC checked, whose segments the process server
/// gathered: each held segment becomes that segment's memory, a missing one is zero-filled.
#[cfg_attr(
    not(feature = "server-proc"),
    allow(
        dead_code,
        reason = "only the process server (exec, migration) uses it"
    )
)]
pub fn exec_descriptor(
    name: &str,
    descriptor: &ProcessDescriptor,
    segments: Vec<Option<HeldFrames>>,
) -> Result<ProcessId, LoadError> {
    let space = map_segments(descriptor, segments)?;
    match descriptor.threads.as_slice() {
        [main] if main.idle && main.registers.is_none() && main.kernel.is_none() => {
            let who = Identity {
                name,
                priority: Level::Norm,
                driver: false,
            };
            start_main(who, main, space)
        }
        threads => immigrate(name, threads, space),
    }
}

/// Starts threads that stopped on another node where each stopped: every one must carry its
/// registers and kernel state, the first one the process's.
#[cfg_attr(
    not(feature = "server-proc"),
    allow(
        dead_code,
        reason = "only the process server (exec, migration) uses it"
    )
)]
fn immigrate(
    name: &str,
    threads: &[ThreadDescriptor],
    mut space: AddressSpace,
) -> Result<ProcessId, LoadError> {
    let mut immigrants = Vec::with_capacity(threads.len());
    for thread in threads {
        let (Some(registers), Some(kernel)) = (thread.registers, thread.kernel.as_ref()) else {
            return Err(LoadError::Unsupported(
                "threads that are neither one IDLE main thread nor all resuming",
            ));
        };
        immigrants.push(Immigrant {
            local_id: kernel.local_id,
            registers,
            fpu: kernel.fpu.as_deref().copied(),
            pending_signals: kernel.pending_signals,
        });
    }
    let state = threads
        .first()
        .and_then(|t| t.kernel.as_ref())
        .and_then(|k| k.process.as_ref())
        .ok_or(LoadError::Unsupported(
            "a resuming process without its kernel state",
        ))?;
    space.grow_past_mapped();
    sched::spawn_immigrant(name, space, &immigrants, state).map_err(LoadError::Start)
}

/// A new address space with every segment of `descriptor`: each held segment becomes that
/// segment's memory, a missing one is zero-filled.
#[cfg_attr(
    not(feature = "server-proc"),
    allow(
        dead_code,
        reason = "only the process server (exec, migration) uses it"
    )
)]
fn map_segments(
    descriptor: &ProcessDescriptor,
    segments: Vec<Option<HeldFrames>>,
) -> Result<AddressSpace, LoadError> {
    let mut space = AddressSpace::new().map_err(LoadError::Map)?;
    for (index, (segment, held)) in descriptor.segments.iter().zip(segments).enumerate() {
        let access = access_of(segment);
        let mapped = match held {
            Some(held) if held.len() != segment.length => {
                return Err(LoadError::SegmentLength(index));
            }
            Some(held) => space.map_held(segment.address, access, held),
            None => {
                let pages = segment.length.div_ceil(PAGE_SIZE);
                space.map_new(segment.address, pages, access, &[])
            }
        };
        mapped.map_err(LoadError::Map)?;
    }
    Ok(space)
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

/// Starts every program of the embedded boot table with `caps`; a bad entry is reported and
/// skipped.
pub fn start_boot_programs(caps: &BootCapabilities) {
    let programs = match boot_table::decode(build_info::BOOT_PROGRAMS) {
        Ok(programs) => programs,
        Err(error) => {
            log::error!("boot programs: the embedded table is unreadable ({error}); none started");
            return;
        }
    };
    for program in &programs {
        let started = cpu::rdtsc();
        match exec(program, caps) {
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
