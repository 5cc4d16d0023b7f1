//! The kernel's own servers. Each one the profile selects (Cargo feature `server-NAME`) runs as
//! a kernel thread: the portable logic of `libamoeba::servers` served through [`KernelRpc`],
//! with the machine facts it needs supplied by its file here. The same logic runs in a process
//! (`programs/src/bin/echo_server.rs` does so with the echo server).
//!
//! At boot every server gets a random get-port (its put-port is F of it), its owner capability
//! is printed on the serial console (not into the log PRINTBUF returns), and the capability processes may use is published in the kernel
//! directory under the server's name. Processes find the directory as ROOT in their
//! environment, next to TTY, RANDOM and TOD.
#![cfg_attr(
    not(any(
        feature = "server-dir",
        feature = "server-sys",
        feature = "server-tod",
        feature = "server-random",
        feature = "server-proc",
        feature = "server-tty",
        feature = "server-echo",
        feature = "server-run",
        feature = "server-vdisk",
        feature = "server-bullet",
        feature = "server-soap"
    )),
    allow(dead_code, reason = "a profile without servers uses none of this")
)]

#[cfg(feature = "server-bullet")]
mod bullet;
#[cfg(feature = "server-dir")]
mod dir;
#[cfg(feature = "server-bullet")]
mod disk_by_rpc;
#[cfg(feature = "server-echo")]
mod echo;
#[cfg(feature = "server-proc")]
mod proc;
#[cfg(feature = "server-random")]
mod random;
#[cfg(feature = "server-run")]
mod run;
#[cfg(feature = "server-soap")]
mod soap;
#[cfg(feature = "server-sys")]
mod sys;
#[cfg(feature = "server-tod")]
mod tod;
#[cfg(feature = "server-tty")]
mod tty;
#[cfg(feature = "server-vdisk")]
mod vdisk;

use crate::console;
use crate::entropy::KernelEntropy;
use crate::ipc::KernelRpc;
use crate::loader::BootCapabilities;
use crate::sched;
use alloc::vec::Vec;
use libamoeba::capability::{Capability, Port};
use libamoeba::oneway::put_port;
use libamoeba::priority::Level;
use libamoeba::random::Entropy;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::server::{Server, serve};
use spin::Once;

/// Request and reply buffers of a kernel server unless it says otherwise.
const BUFFER_BYTES: usize = 16 * 1024;

/// Capabilities every process finds in its environment (null when the server is absent).
#[derive(Clone, Copy, Debug, Default)]
pub struct EnvironmentCapabilities {
    pub tty: Capability,
    pub random: Capability,
    pub tod: Capability,
    pub root: Capability,
}

static ENVIRONMENT: Once<EnvironmentCapabilities> = Once::new();

/// Owner capabilities of the servers whose published capabilities are restricted: for the
/// kernel's own use and for admin programs (null when the server is absent).
#[derive(Clone, Copy, Debug, Default)]
pub struct OwnerCapabilities {
    pub ps: Capability,
    pub proc: Capability,
    pub sys: Capability,
}

static OWNERS: Once<OwnerCapabilities> = Once::new();

/// The root directory restricted to looking names up: what the node tells anyone on its LAN
/// (`net::link`'s link-check answer).
static LAN_DIRECTORY: Once<Capability> = Once::new();

/// The capability the node gives out on its LAN; `None` without a directory server.
#[cfg_attr(
    not(feature = "net"),
    allow(dead_code, reason = "only the network side gives it out")
)]
pub fn lan_directory() -> Option<Capability> {
    LAN_DIRECTORY.get().copied().filter(|cap| !cap.is_null())
}

pub fn owner_capabilities() -> OwnerCapabilities {
    OWNERS.get().copied().unwrap_or_default()
}

/// What the processes started from now on get; null capabilities before the servers start.
pub fn environment() -> EnvironmentCapabilities {
    ENVIRONMENT.get().copied().unwrap_or_default()
}

/// What boot programs get in their environment, from the servers started.
pub fn boot_capabilities() -> BootCapabilities {
    let standard = environment();
    let owners = owner_capabilities();
    BootCapabilities {
        tty: standard.tty,
        random: standard.random,
        tod: standard.tod,
        root: standard.root,
        ps: owners.ps,
        proc: owners.proc,
        sys: owners.sys,
    }
}

/// A server's ports: the secret get-port it listens on and the put-port clients address.
pub struct Ports {
    pub get: Port,
    pub put: Port,
}

fn new_ports() -> Ports {
    let get = Port(KernelEntropy.nonzero48());
    Ports {
        get,
        put: put_port(get),
    }
}

/// One server's capabilities: the one the directory publishes, and its owner capability.
struct Publication {
    name: &'static str,
    public: Capability,
    owner: Capability,
}

/// Names and capabilities for the directory, gathered as the servers start.
#[derive(Default)]
pub struct Publications(Vec<Publication>);

impl Publications {
    /// `public` goes into the directory under `name`; `owner` stays with the kernel.
    #[allow(dead_code, reason = "unused when the directory is the only server")]
    pub fn add(&mut self, name: &'static str, public: Capability, owner: Capability) {
        self.0.push(Publication {
            name,
            public,
            owner,
        });
    }

    fn get(&self, name: &str) -> Option<&Publication> {
        self.0.iter().find(|p| p.name == name)
    }

    fn find(&self, name: &str) -> Capability {
        self.get(name).map_or(Capability::NULL, |p| p.public)
    }

    fn owner(&self, name: &str) -> Capability {
        self.get(name).map_or(Capability::NULL, |p| p.owner)
    }

    /// Every name with its published capability.
    #[cfg(feature = "server-dir")]
    pub fn public(&self) -> impl Iterator<Item = (&'static str, Capability)> + '_ {
        self.0.iter().map(|p| (p.name, p.public))
    }
}

/// Starts every server compiled into this image, the directory last (it lists the others).
pub fn start_selected() {
    #[allow(unused_mut, reason = "a profile without servers publishes nothing")]
    let mut published = Publications::default();
    #[cfg(feature = "server-sys")]
    sys::start(&mut published);
    #[cfg(feature = "server-tod")]
    tod::start(&mut published);
    #[cfg(feature = "server-random")]
    random::start(&mut published);
    #[cfg(feature = "server-proc")]
    proc::start(&mut published);
    #[cfg(feature = "server-tty")]
    tty::start(&mut published);
    #[cfg(feature = "server-echo")]
    echo::start(&mut published);
    #[cfg(feature = "server-run")]
    run::start(&mut published);
    #[cfg(feature = "server-vdisk")]
    vdisk::start(&mut published);
    #[cfg(feature = "server-bullet")]
    bullet::start(&mut published);
    #[cfg(feature = "server-soap")]
    soap::start(&mut published);
    #[cfg(feature = "server-dir")]
    let (root, lan_root) = dir::start(&published);
    #[cfg(not(feature = "server-dir"))]
    let (root, lan_root) = (Capability::NULL, Capability::NULL);
    LAN_DIRECTORY.call_once(|| lan_root);
    OWNERS.call_once(|| OwnerCapabilities {
        ps: published.owner("ps"),
        proc: published.owner("proc"),
        sys: published.owner("sys"),
    });
    ENVIRONMENT.call_once(|| EnvironmentCapabilities {
        tty: published.find("tty"),
        random: published.find("random"),
        tod: published.find("tod"),
        root,
    });
}

/// Runs `server` on `ports` in a kernel thread of its own, for ever; says so with its owner
/// capability (the console is the node owner's).
pub fn run<S: Server + Send + 'static>(
    name: &'static str,
    ports: Ports,
    owner: Capability,
    mut server: S,
    buffer_bytes: usize,
) {
    let get = ports.get;
    spawn_server(name, owner, move || {
        serve(&KernelRpc, get, &mut server, buffer_bytes)
    });
}

/// Runs `serve`, a server's loop, in a kernel thread of its own, as [`run`] does for a server
/// that needs its own loop (one that also works when no request comes).
pub fn spawn_server(
    name: &'static str,
    owner: Capability,
    serve: impl FnOnce() -> ErrorCode + Send + 'static,
) {
    let started = sched::spawn_kernel_task(Level::Norm, move || {
        let error = serve();
        log::error!("server {name}: stopped: {error}");
    });
    match started {
        // Owner capabilities are for the console's reader alone: kept out of PRINTBUF's history.
        Ok(_) => console::write_unrecorded(format_args!("server {name}: {owner}\n")),
        Err(_) => log::error!("server {name}: no memory for its thread; not started"),
    }
}
