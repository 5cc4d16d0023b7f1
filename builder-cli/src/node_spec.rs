//! The node a checked profile describes, made by [`crate::validate()`] and read by everything
//! that builds or boots it: the feature mapping, the programs' boot table, the image, QEMU.

use std::path::PathBuf;

use libamoeba::boot::LogLevel;
use libamoeba::priority::Level;

use crate::disk_image::tree::DiskPath;

/// A profile that passed validation: everything needed to build and boot the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSpec {
    pub profile: String,
    pub description: String,
    pub node: String,
    pub log: LogLevel,
    /// The profile's extra command-line words, in order: `[node] cmdline`'s, then those
    /// `[network]` stands for (`ip=`, `flip-udp=`).
    pub cmdline_extra: Vec<String>,
    pub memory_mib: u32,
    /// Selected servers and drivers, in profile order.
    pub servers: Vec<String>,
    pub drivers: Vec<String>,
    /// The kernel's self-tests are compiled in (`[kernel] selftest = true`): its `selftest=`
    /// words work. Shipped profiles leave them out.
    pub selftest: bool,
    /// Other hosts and nodes may send segments and start processes through the process
    /// server's published capability (`[kernel] remote_exec`, true unless set false).
    pub remote_exec: bool,
    /// The run server also moves processes handed to it from the busiest pool processor to
    /// the idlest (`[run] rebalance`, false unless set true; only with server "run").
    pub rebalance: bool,
    /// The size in MiB of the node's virtio disk, whose image the build writes (`[disk]
    /// size_mib`, 64 unless set); `None` for a node without driver "virtio-blk".
    pub disk_mib: Option<u32>,
    /// What the build puts on that disk (`[disk] dirs`, `[[disk.files]]`).
    pub disk_contents: DiskContents,
    /// The programs the node starts at boot, in profile order.
    pub programs: Vec<ProgramSpec>,
}

/// One program a node starts at boot (a checked `[[programs]]` entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramSpec {
    /// The process's name: the binary's, or the image file's stem.
    pub name: String,
    pub source: ProgramSource,
    /// Where it comes from as the manifest tells it: `programs/NAME`, or the profile's
    /// `path = "..."` or `image = "..."` as written.
    pub origin: String,
    /// The line of its `[[programs]]` entry, for what goes wrong when it is built.
    pub line: usize,
    /// Its arguments after its name (argv[1..]).
    pub args: Vec<String>,
    /// The process priority.
    pub priority: Level,
    /// May be granted I/O ports and wait for interrupt lines.
    pub driver: bool,
    /// Gets the owner capabilities of the process and sys servers (may end processes, halt).
    pub admin: bool,
}

/// Where a boot program comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgramSource {
    /// A binary of `programs/` (`name =`).
    Builtin,
    /// The one binary of a Cargo package (`path =`).
    Package(PackageProgram),
    /// A process image file (`image =`), absolute.
    Image(PathBuf),
}

/// A Cargo package that builds one Amoeba program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageProgram {
    /// The package's directory, absolute.
    pub dir: PathBuf,
    /// The package's name.
    pub package: String,
    /// Its binary's name.
    pub bin: String,
    /// The directory of the `amoeba-user` it depends on, which holds the linker script.
    pub runtime_dir: PathBuf,
}

/// The files and directories a node's disk image gets, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskContents {
    /// In profile order.
    pub files: Vec<DiskFileSpec>,
    /// Directories named in `[disk] dirs`, in profile order.
    pub dirs: Vec<DiskPath>,
}

/// One file of the disk image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskFileSpec {
    pub path: DiskPath,
    pub content: DiskContent,
}

/// What a file of the disk image holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskContent {
    /// The uncompressed process image of a program of `programs/` (as `amoeba put
    /// --program` stores one), so pool processors exec it in place.
    Program(String),
    /// A host file's bytes; the path is the profile's directory joined with `source`.
    HostFile(PathBuf),
}

impl NodeSpec {
    /// The kernel command line the node boots with: its name and log level, then the
    /// profile's own words.
    pub fn cmdline(&self) -> String {
        let mut words = vec![
            format!("node={}", self.node),
            format!("log={}", self.log.name()),
        ];
        words.extend(self.cmdline_extra.iter().cloned());
        words.join(" ")
    }
}
