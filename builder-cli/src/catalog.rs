//! The components a profile can select: kernel servers and drivers, what each needs, and
//! whether it exists yet. Validation takes a [`Catalog`] as a parameter so rules the real
//! table does not exercise yet (conflicts) can be tested with a table of the test's own.

use std::fmt;

use crate::program_sources::{NoProgramSources, ProgramSources};

/// Whether a component is a kernel server or a driver; decides its profile key and feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Server,
    Driver,
}

impl Kind {
    /// The word used in messages: "server", "driver".
    pub const fn word(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Driver => "driver",
        }
    }

    /// The key under `[kernel]` that lists components of this kind.
    pub const fn profile_key(self) -> &'static str {
        match self {
            Self::Server => "servers",
            Self::Driver => "drivers",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Whether the kernel has the component's code yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Implemented,
    /// Named so that profiles may plan for it, but not written yet: a profile that selects
    /// it is refused.
    Planned,
}

/// One selectable server or driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Component {
    pub name: &'static str,
    pub kind: Kind,
    pub description: &'static str,
    /// Names of components (of either kind) that must be selected too.
    pub requires: &'static [&'static str],
    /// Names of components that must not be selected together with this one.
    pub conflicts: &'static [&'static str],
    pub status: Status,
}

/// A table of components (names are unique across both kinds) and the user programs a profile
/// may start at boot.
#[derive(Clone, Copy, Debug)]
pub struct Catalog<'a> {
    components: &'a [Component],
    programs: &'a [String],
    sources: &'a dyn ProgramSources,
}

impl<'a> Catalog<'a> {
    /// These components and no programs.
    pub const fn new(components: &'a [Component]) -> Self {
        Self {
            components,
            programs: &[],
            sources: &NoProgramSources,
        }
    }

    /// The same components, with `programs` as the programs there are (the binaries of
    /// `programs/`, see [`crate::programs::available`]).
    pub const fn with_programs(self, programs: &'a [String]) -> Self {
        Self { programs, ..self }
    }

    /// The same catalog, looking at outside programs with `sources`.
    pub const fn with_sources(self, sources: &'a dyn ProgramSources) -> Self {
        Self { sources, ..self }
    }

    /// How outside programs are looked at.
    pub fn sources(&self) -> &'a dyn ProgramSources {
        self.sources
    }

    /// The programs a profile's `[[programs]]` may name.
    pub fn programs(&self) -> &'a [String] {
        self.programs
    }

    /// The components the kernel knows about.
    pub const fn builtin() -> Catalog<'static> {
        Catalog::new(BUILTIN)
    }

    pub fn components(&self) -> &'a [Component] {
        self.components
    }

    pub fn get(&self, name: &str) -> Option<&'a Component> {
        self.components.iter().find(|c| c.name == name)
    }

    /// Components of one kind, in table order.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &'a Component> {
        self.components.iter().filter(move |c| c.kind == kind)
    }
}

const fn driver(
    name: &'static str,
    description: &'static str,
    requires: &'static [&'static str],
    status: Status,
) -> Component {
    Component {
        name,
        kind: Kind::Driver,
        description,
        requires,
        conflicts: &[],
        status,
    }
}

const fn server(
    name: &'static str,
    description: &'static str,
    requires: &'static [&'static str],
    status: Status,
) -> Component {
    Component {
        name,
        kind: Kind::Server,
        description,
        requires,
        conflicts: &[],
        status,
    }
}

#[allow(
    dead_code,
    reason = "every component is built today; the next one planned uses it"
)]
const PLANNED: Status = Status::Planned;

const IMPLEMENTED: Status = Status::Implemented;

// Keep in step with the `[features]` of amoeba-kernel/Cargo.toml: an Implemented entry must
// have its feature there (a test of `features` checks it). One line per component reads best as a table.
#[rustfmt::skip]
static BUILTIN: &[Component] = &[
    driver("pci", "PCI enumeration over config ports 0xCF8/0xCFC; devices in the boot log", &[], IMPLEMENTED),
    driver("rtc", "CMOS real-time clock, read at boot", &[], IMPLEMENTED),
    driver("virtio-net", "virtio network card (QEMU virtio-net-pci, modern interface): frames in and out, interrupts, link check", &["pci"], IMPLEMENTED),
    driver("ne2000", "NE2000-compatible network card (QEMU ne2k_pci): frames in and out, link check", &["pci"], IMPLEMENTED),
    driver("virtio-blk", "virtio block device (QEMU virtio-blk-pci): reads, writes and flush, on its interrupt line", &["pci"], IMPLEMENTED),
    server("dir", "kernel directory: every server's capability by name (ROOT of each process)", &[], IMPLEMENTED),
    server("sys", "system server: KSTAT statistics, PRINTBUF kernel log, BOOT reboot/halt", &["dir"], IMPLEMENTED),
    server("tod", "time-of-day server: GETTIME", &["dir", "rtc"], IMPLEMENTED),
    server("random", "random number server: GETRANDOM (RDRAND or a seeded generator)", &["dir"], IMPLEMENTED),
    server("proc", "process server: processes as objects (info, kill, stun, load) and the ps directory", &["dir"], IMPLEMENTED),
    server("tty", "terminal server on the serial console: processes print through it", &["dir"], IMPLEMENTED),
    server("echo", "echo server: replies with the request (RPC tests and benchmarks)", &["dir"], IMPLEMENTED),
    server("vdisk", "virtual disk server: 512-byte blocks of the node's disk by DS_READ/DS_WRITE (5.3's disk commands), published as vdisk:00", &["dir", "virtio-blk"], IMPLEMENTED),
    server("bullet", "Bullet file server: immutable files on the node's disk, by capabilities that survive reboots (created and committed in chunks, read, sized, MODIFY/INSERT/DELETE as 5.3 does, destroyed, fsck, sync)", &["vdisk"], IMPLEMENTED),
    server("soap", "SOAP directory server: directories kept in Bullet files, the table on vdisk:01, capabilities that survive reboots (5.3's SP_* commands)", &["bullet"], IMPLEMENTED),
    server("run", "run server: picks a pool processor for a new process and (with [run] rebalance) balances load by migration", &["dir"], IMPLEMENTED),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_references_resolve() {
        let catalog = Catalog::builtin();
        let mut seen = HashSet::new();
        for c in catalog.components() {
            assert!(seen.insert(c.name), "duplicate component {}", c.name);
            for other in c.requires.iter().chain(c.conflicts) {
                assert!(
                    catalog.get(other).is_some(),
                    "{} names unknown {other}",
                    c.name
                );
            }
        }
    }
}
