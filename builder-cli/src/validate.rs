//! Checking what a profile means: names, levels, command-line words and the component
//! selection against a [`Catalog`]. Every problem is collected, so one run shows them all.

mod disk_files;

pub use disk_files::missing_sources;

use std::collections::HashMap;

use libamoeba::boot::LogLevel;
use libamoeba::boot::cmdline::{self, BootArg, IpSetting, is_valid_node_name};
use libamoeba::priority::Level;
use libamoeba::process::boot_table;
use libamoeba::process::layout::MAX_ENVIRONMENT_BYTES;
use thiserror::Error;

use crate::catalog::{Catalog, Component, Kind, Status};
use crate::disk::{DEFAULT_DISK_MIB, MAX_DISK_MIB, MIN_DISK_MIB};
use crate::nic::Nic;
use crate::node_spec::{NodeSpec, ProgramSource, ProgramSpec};
use crate::problem::{Problem, ProfileProblem, ProfileProblems};
use crate::profile::{Located, Profile, ProgramEntry};

/// RAM given to a node when its profile does not say.
pub const DEFAULT_MEMORY_MIB: u32 = 128;
/// Less than this cannot hold the kernel, its heap and a few processes.
pub const MIN_MEMORY_MIB: u32 = 32;
/// RAM `run` may give a node: more than QEMU can allocate on the machines this runs on is a typo.
pub const MAX_MEMORY_MIB: u32 = 64 * 1024;
/// The driver of the node's disk.
const DISK_DRIVER: &str = "virtio-blk";
/// Bytes of a process's environment block kept for its name, capabilities and strings.
const ENVIRONMENT_RESERVE: usize = 1024;
/// The server that places processes on the LAN's pool processors.
const RUN_SERVER: &str = "run";

/// Checks `profile` against `catalog`; on failure returns every problem found, in file order.
pub fn validate(profile: &Profile, catalog: &Catalog<'_>) -> Result<NodeSpec, ProfileProblems> {
    let mut check = Checker {
        file: &profile.file,
        dir: &profile.dir,
        problems: Vec::new(),
    };
    let description = check.description(&profile.description);
    check.profile_name(&profile.name);
    let node = check.node_name(profile);
    let log = check.log_level(profile.log.as_ref());
    let mut cmdline_extra = check.cmdline(profile.cmdline.as_ref(), profile.selftest.as_ref());
    let memory_mib = check.memory(profile.memory_mib.as_ref());
    let servers = check.components(catalog, Kind::Server, &profile.servers);
    let drivers = check.components(catalog, Kind::Driver, &profile.drivers);
    let selected: Vec<_> = servers.iter().chain(&drivers).copied().collect();
    check.dependencies(catalog, &selected);
    check.conflicts(&selected);
    check.remote_exec(profile);
    check.rebalance(profile);
    check.run_server_has_a_card(&servers, &drivers);
    let disk_mib = check.disk(profile, &drivers);
    let disk_contents = check.disk_contents(profile, catalog, disk_mib.is_some());
    let network = check.network(profile, &cmdline_extra, &drivers);
    cmdline_extra.extend(network);
    let programs = check.programs(catalog, &profile.programs);
    if !check.problems.is_empty() {
        check.problems.sort_by_key(|p| p.line);
        return Err(ProfileProblems(check.problems));
    }
    Ok(NodeSpec {
        profile: profile.name.clone(),
        description,
        node,
        log,
        cmdline_extra,
        memory_mib,
        servers: servers.iter().map(|s| s.name.to_string()).collect(),
        drivers: drivers.iter().map(|s| s.name.to_string()).collect(),
        selftest: is_on(profile.selftest.as_ref()),
        remote_exec: profile.remote_exec.as_ref().is_none_or(|r| r.value),
        rebalance: is_on(profile.rebalance.as_ref()),
        disk_mib,
        disk_contents,
        programs,
    })
}

/// A word of `run --append` or `cluster --append` that the profile's kernel cannot honour.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum AppendError {
    #[error(
        "--append `{word}`: {file} compiles no kernel self-tests in; boot a test profile (one \
         with `selftest = true` under [kernel]), or leave the word out"
    )]
    SelfTestNotCompiledIn { word: String, file: String },
}

/// Checks the extra command-line words `run` or `cluster` would boot the node of `spec` (from
/// profile `file`) with: a `selftest=` word needs a kernel with its self-tests. Words the
/// kernel skips with a warning are not refused here, since a test may want just that.
pub fn validate_append(file: &str, spec: &NodeSpec, words: &[String]) -> Result<(), AppendError> {
    let selftest = |word: &&String| {
        word.split_once('=')
            .is_some_and(|(key, _)| key == "selftest")
    };
    match words.iter().find(selftest) {
        Some(word) if !spec.selftest => Err(AppendError::SelfTestNotCompiledIn {
            word: word.clone(),
            file: file.to_string(),
        }),
        _ => Ok(()),
    }
}

/// A selected component and the line naming it.
#[derive(Clone, Copy)]
struct Selected<'a> {
    component: &'a Component,
    name: &'a str,
    line: usize,
}

struct Checker<'f> {
    file: &'f str,
    /// The profile's directory: outside programs' paths are relative to it.
    dir: &'f std::path::Path,
    problems: Vec<ProfileProblem>,
}

impl Checker<'_> {
    fn report(&mut self, line: Option<usize>, key: Option<&str>, problem: Problem) {
        let (file, key) = (self.file.to_string(), key.map(str::to_string));
        self.problems.push(ProfileProblem {
            file,
            line,
            key,
            problem,
        });
    }

    fn description(&mut self, description: &Located<String>) -> String {
        let text = description.value.trim();
        if text.is_empty() || text.chars().any(char::is_control) {
            self.report(
                Some(description.line),
                Some("description"),
                Problem::BadDescription,
            );
        }
        text.to_string()
    }

    fn profile_name(&mut self, name: &str) {
        if !is_valid_node_name(name) {
            self.report(
                None,
                None,
                Problem::BadProfileName {
                    name: name.to_string(),
                },
            );
        }
    }

    /// The node name defaults to the profile name, whose problems are reported on their own.
    fn node_name(&mut self, profile: &Profile) -> String {
        let Some(name) = &profile.node_name else {
            return profile.name.clone();
        };
        if !is_valid_node_name(&name.value) {
            let problem = Problem::BadNodeName {
                name: name.value.clone(),
            };
            self.report(Some(name.line), Some("[node] name"), problem);
        }
        name.value.clone()
    }

    fn log_level(&mut self, log: Option<&Located<String>>) -> LogLevel {
        let Some(log) = log else {
            return LogLevel::Info;
        };
        LogLevel::parse(&log.value).unwrap_or_else(|| {
            let problem = Problem::BadLogLevel {
                level: log.value.clone(),
                valid: LogLevel::NAMES,
            };
            self.report(Some(log.line), Some("[node] log"), problem);
            LogLevel::Info
        })
    }

    /// Words the kernel would skip with a warning are errors here: a profile is checked
    /// before anything compiles, so a typo never reaches a booted node. So is a `selftest=`
    /// word of a kernel that lacks its self-tests.
    fn cmdline(
        &mut self,
        cmdline: Option<&Located<String>>,
        selftest: Option<&Located<bool>>,
    ) -> Vec<String> {
        let Some(cmdline) = cmdline else {
            return Vec::new();
        };
        let mut words = Vec::new();
        for (word, parsed) in cmdline
            .value
            .split_ascii_whitespace()
            .zip(cmdline::parse(&cmdline.value))
        {
            let problem = match parsed {
                Ok(BootArg::Node(_)) => Problem::ReservedCmdlineWord {
                    word_key: "node",
                    profile_key: "name",
                },
                Ok(BootArg::Log(_)) => Problem::ReservedCmdlineWord {
                    word_key: "log",
                    profile_key: "log",
                },
                Ok(BootArg::SelfTest(_)) if !is_on(selftest) => Problem::SelfTestNotCompiledIn {
                    word: word.to_string(),
                    off_line: selftest.map(|s| s.line),
                },
                Ok(_) => {
                    words.push(word.to_string());
                    continue;
                }
                Err(e) => {
                    let reason = e.to_string();
                    let reason = reason.trim_end_matches(" (ignored)").to_string();
                    Problem::BadCmdlineWord {
                        word: word.to_string(),
                        reason,
                    }
                }
            };
            self.report(Some(cmdline.line), Some("[node] cmdline"), problem);
        }
        words
    }

    fn memory(&mut self, memory: Option<&Located<u32>>) -> u32 {
        let Some(memory) = memory else {
            return DEFAULT_MEMORY_MIB;
        };
        if memory.value < MIN_MEMORY_MIB {
            let problem = Problem::TooLittleMemory {
                mib: memory.value,
                min: MIN_MEMORY_MIB,
            };
            self.report(Some(memory.line), Some("[node] memory_mib"), problem);
        }
        if memory.value > MAX_MEMORY_MIB {
            let problem = Problem::TooMuchMemory {
                mib: memory.value,
                max: MAX_MEMORY_MIB,
            };
            self.report(Some(memory.line), Some("[node] memory_mib"), problem);
        }
        memory.value
    }

    /// `[network]`: the kernel command-line words its keys stand for. Each key may be written
    /// either there or as a word of `[node] cmdline`, not both; either needs a card.
    fn network(
        &mut self,
        profile: &Profile,
        cmdline_words: &[String],
        drivers: &[Selected<'_>],
    ) -> Vec<String> {
        let mut words = Vec::new();
        if let Some(ip) = &profile.network_ip {
            match IpSetting::parse(&ip.value) {
                Some(setting) => words.push(format!("ip={setting}")),
                None => {
                    let problem = Problem::BadIpSetting {
                        value: ip.value.clone(),
                    };
                    self.report(Some(ip.line), Some("[network] ip"), problem);
                }
            }
        }
        if let Some(port) = &profile.flip_udp_port {
            match u16::try_from(port.value).ok().filter(|&p| p != 0) {
                Some(port) => words.push(format!("flip-udp={port}")),
                None => {
                    let problem = Problem::BadUdpPort {
                        key: "flip_udp_port",
                        port: port.value,
                    };
                    self.report(Some(port.line), Some("[network] flip_udp_port"), problem);
                }
            }
        }
        let ip_line = profile.network_ip.as_ref().map(|ip| ip.line);
        let port_line = profile.flip_udp_port.as_ref().map(|port| port.line);
        let keys = [
            ("ip", "[network] ip", ip_line),
            ("flip-udp", "[network] flip_udp_port", port_line),
        ];
        for (word_key, profile_key, line) in keys {
            let (Some(line), Some(cmdline)) = (line, &profile.cmdline) else {
                continue;
            };
            let prefix = format!("{word_key}=");
            if cmdline_words.iter().any(|w| w.starts_with(&prefix)) {
                let problem = Problem::CmdlineWordSetTwice {
                    word_key,
                    profile_key,
                    line,
                };
                self.report(Some(cmdline.line), Some("[node] cmdline"), problem);
            }
        }
        if let Some(line) = ip_line.into_iter().chain(port_line).min()
            && !has_card(drivers)
        {
            let problem = Problem::NetworkWithoutCard {
                drivers: card_drivers(),
            };
            self.report(Some(line), Some("[network]"), problem);
        }
        words
    }

    /// Resolves one `[kernel]` list; returns the implemented, first-listed entries.
    fn components<'c>(
        &mut self,
        catalog: &Catalog<'c>,
        kind: Kind,
        listed: &'c [Located<String>],
    ) -> Vec<Selected<'c>> {
        let key = format!("[kernel] {}", kind.profile_key());
        let mut first_lines: HashMap<&str, usize> = HashMap::new();
        let mut selected = Vec::new();
        for entry in listed {
            let name = entry.value.as_str();
            let problem = match catalog.get(name) {
                _ if first_lines.contains_key(name) => {
                    let first_line = first_lines[name];
                    Problem::Duplicate {
                        kind,
                        name: name.into(),
                        first_line,
                    }
                }
                None => Problem::UnknownComponent {
                    kind,
                    name: name.into(),
                    valid: valid_names(catalog, kind),
                },
                Some(c) if c.kind != kind => Problem::WrongKind {
                    kind,
                    name: name.into(),
                    actual: c.kind,
                },
                Some(c) => match c.status {
                    Status::Planned => Problem::Planned {
                        kind,
                        name: name.into(),
                    },
                    Status::Implemented => {
                        first_lines.insert(name, entry.line);
                        selected.push(Selected {
                            component: c,
                            name,
                            line: entry.line,
                        });
                        continue;
                    }
                },
            };
            first_lines.entry(name).or_insert(entry.line);
            self.report(Some(entry.line), Some(&key), problem);
        }
        selected
    }

    /// Checked only for implemented components: a planned one is already an error whose fix
    /// is to remove it, and asking for its dependencies too would point the wrong way.
    fn dependencies(&mut self, catalog: &Catalog<'_>, selected: &[Selected<'_>]) {
        for s in selected {
            for &needed in s.component.requires {
                if selected.iter().any(|other| other.name == needed) {
                    continue;
                }
                let needed_kind = catalog.get(needed).map_or(s.component.kind, |c| c.kind);
                let problem = Problem::MissingDependency {
                    kind: s.component.kind,
                    name: s.name.into(),
                    needed_kind,
                    needed: needed.into(),
                };
                self.report(Some(s.line), Some(&key_of(s.component.kind)), problem);
            }
        }
    }

    /// A conflict is reported once, at the later of the two lines.
    fn conflicts(&mut self, selected: &[Selected<'_>]) {
        for (i, a) in selected.iter().enumerate() {
            for b in &selected[i + 1..] {
                let clash = a.component.conflicts.contains(&b.name)
                    || b.component.conflicts.contains(&a.name);
                if !clash {
                    continue;
                }
                let (later, earlier) = if a.line >= b.line { (a, b) } else { (b, a) };
                let problem = Problem::Conflict {
                    kind: later.component.kind,
                    name: later.name.into(),
                    other_kind: earlier.component.kind,
                    other: earlier.name.into(),
                    other_line: earlier.line,
                };
                self.report(
                    Some(later.line),
                    Some(&key_of(later.component.kind)),
                    problem,
                );
            }
        }
    }
}

impl Checker<'_> {
    /// `[kernel] remote_exec` says what the process server publishes; on a node without that
    /// server it would say nothing, so either value there is a mistake worth pointing at.
    fn remote_exec(&mut self, profile: &Profile) {
        let Some(remote_exec) = &profile.remote_exec else {
            return;
        };
        if !profile.servers.iter().any(|s| s.value == "proc") {
            self.report(
                Some(remote_exec.line),
                Some("[kernel] remote_exec"),
                Problem::RemoteExecWithoutProc,
            );
        }
    }

    /// `[run] rebalance` tunes the run server and means nothing without it; `true` would even
    /// pull the server in unasked (its kernel feature implies `server-run`), so either value
    /// on a node without server "run" is a mistake worth pointing at.
    fn rebalance(&mut self, profile: &Profile) {
        let Some(rebalance) = &profile.rebalance else {
            return;
        };
        if !profile.servers.iter().any(|s| s.value == RUN_SERVER) {
            self.report(
                Some(rebalance.line),
                Some("[run] rebalance"),
                Problem::RebalanceWithoutRun,
            );
        }
    }

    /// `[disk] size_mib`: the disk a boot gives the node, for its virtio-blk driver; a node
    /// with that driver gets [`DEFAULT_DISK_MIB`] unless the profile says, one without it
    /// none, and a size for it there is a mistake worth pointing at (the disk would be made
    /// and never seen).
    fn disk(&mut self, profile: &Profile, drivers: &[Selected<'_>]) -> Option<u32> {
        let key = Some("[disk] size_mib");
        let size = profile.disk_size_mib.as_ref();
        if let Some(size) = size
            && !profile.drivers.iter().any(|d| d.value == DISK_DRIVER)
        {
            let problem = Problem::DiskWithoutDriver {
                driver: DISK_DRIVER,
            };
            self.report(Some(size.line), key, problem);
        }
        let mib = match size {
            None => DEFAULT_DISK_MIB,
            Some(size) => match u32::try_from(size.value)
                .ok()
                .filter(|mib| (MIN_DISK_MIB..=MAX_DISK_MIB).contains(mib))
            {
                Some(mib) => mib,
                None => {
                    let problem = Problem::BadDiskSize {
                        mib: size.value,
                        min: MIN_DISK_MIB,
                        max: MAX_DISK_MIB,
                    };
                    self.report(Some(size.line), key, problem);
                    DEFAULT_DISK_MIB
                }
            },
        };
        drivers.iter().any(|d| d.name == DISK_DRIVER).then_some(mib)
    }

    /// The run server's pool is the other nodes of the LAN (found by the link check, their
    /// load polled by PS_GETLOAD), so without a card it would have nothing to choose among.
    fn run_server_has_a_card(&mut self, servers: &[Selected<'_>], drivers: &[Selected<'_>]) {
        let Some(run) = servers.iter().find(|s| s.name == RUN_SERVER) else {
            return;
        };
        if !has_card(drivers) {
            let problem = Problem::RunServerWithoutCard {
                drivers: card_drivers(),
            };
            self.report(Some(run.line), Some(&key_of(Kind::Server)), problem);
        }
    }

    /// Each `[[programs]]` entry: a known program, arguments the boot table can carry, a
    /// priority level. The same program may be listed any number of times.
    fn programs(&mut self, catalog: &Catalog<'_>, entries: &[ProgramEntry]) -> Vec<ProgramSpec> {
        let mut programs = Vec::new();
        for entry in entries {
            let (name, source, origin) = self.program_source(catalog, entry);
            let args = &entry.args;
            if args.value.len() > boot_table::MAX_ARGS {
                let problem = Problem::TooManyProgramArgs {
                    count: args.value.len(),
                    max: boot_table::MAX_ARGS,
                };
                self.report(Some(args.line), Some("[[programs]] args"), problem);
            }
            // The kernel puts the arguments (with the name, capabilities and strings) in an
            // environment block on the main stack; keep room for the rest of the block.
            let bytes: usize = args.value.iter().map(|arg| arg.len() + 4).sum();
            let room = MAX_ENVIRONMENT_BYTES - ENVIRONMENT_RESERVE;
            if bytes > room {
                let problem = Problem::ProgramArgsTooLarge { bytes, max: room };
                self.report(Some(args.line), Some("[[programs]] args"), problem);
            }
            let max = usize::from(u16::MAX);
            for (index, arg) in args.value.iter().enumerate() {
                if arg.len() > max {
                    let problem = Problem::ProgramArgTooLong {
                        index,
                        len: arg.len(),
                        max,
                    };
                    self.report(Some(args.line), Some("[[programs]] args"), problem);
                }
            }
            let priority = match &entry.priority {
                None => Level::Norm,
                Some(priority) => Level::parse(&priority.value).unwrap_or_else(|| {
                    let problem = Problem::BadPriority {
                        priority: priority.value.clone(),
                        valid: Level::NAMES,
                    };
                    self.report(Some(priority.line), Some("[[programs]] priority"), problem);
                    Level::Norm
                }),
            };
            programs.push(ProgramSpec {
                name,
                source,
                origin,
                line: entry.line,
                args: args.value.clone(),
                priority,
                driver: entry.driver,
                admin: entry.admin,
            });
        }
        programs
    }
}

impl Checker<'_> {
    /// The program an entry names and where it comes from: exactly one of `name` (a program
    /// of programs/), `path` (a Cargo package) and `image` (a process image file), the last two
    /// relative to the profile's directory and looked at by the catalog's sources.
    fn program_source(
        &mut self,
        catalog: &Catalog<'_>,
        entry: &ProgramEntry,
    ) -> (String, ProgramSource, String) {
        let keys = [
            ("name", &entry.name),
            ("path", &entry.path),
            ("image", &entry.image),
        ];
        let given: Vec<_> = keys.iter().filter(|(_, v)| v.is_some()).collect();
        let [(key, Some(value))] = given.as_slice() else {
            let problem = Problem::ProgramSource {
                given: given.iter().map(|(key, _)| *key).collect(),
            };
            self.report(Some(entry.line), Some("[[programs]]"), problem);
            return (String::new(), ProgramSource::Builtin, String::new());
        };
        let origin = match *key {
            "name" => format!("programs/{}", value.value),
            _ => format!("{key} = {:?}", value.value),
        };
        let full_key = format!("[[programs]] {key}");
        let located = self.dir.join(&value.value);
        let outcome = match *key {
            "name" => self.builtin_program(catalog, value),
            "path" => catalog
                .sources()
                .package(&located)
                .map(|package| (package.bin.clone(), ProgramSource::Package(package)))
                .map_err(Problem::from),
            _ => catalog
                .sources()
                .image(&located)
                .map(|()| {
                    let stem = located.file_stem().unwrap_or_default();
                    let name = stem.to_string_lossy().into_owned();
                    let file = std::path::absolute(&located).unwrap_or(located);
                    (name, ProgramSource::Image(file))
                })
                .map_err(Problem::from),
        };
        let (name, source) = outcome.unwrap_or_else(|problem| {
            self.report(Some(value.line), Some(&full_key), problem);
            (value.value.clone(), ProgramSource::Builtin)
        });
        (name, source, origin)
    }

    fn builtin_program(
        &self,
        catalog: &Catalog<'_>,
        name: &Located<String>,
    ) -> Result<(String, ProgramSource), Problem> {
        if catalog.programs().contains(&name.value) {
            return Ok((name.value.clone(), ProgramSource::Builtin));
        }
        let valid = match catalog.programs() {
            [] => "none".to_string(),
            programs => programs.join(", "),
        };
        Err(Problem::UnknownProgram {
            name: name.value.clone(),
            valid,
        })
    }
}

/// A `true`/`false` key: on only when written `true`.
fn is_on(flag: Option<&Located<bool>>) -> bool {
    flag.is_some_and(|f| f.value)
}

/// Whether a network card's driver is among the selected drivers.
fn has_card(drivers: &[Selected<'_>]) -> bool {
    let cards = Nic::ALL.map(Nic::driver);
    drivers.iter().any(|d| cards.contains(&d.name))
}

/// The card drivers, as a fix names them: `"virtio-net" or "ne2000"`.
fn card_drivers() -> String {
    Nic::ALL
        .map(|nic| format!("\"{}\"", nic.driver()))
        .join(" or ")
}

fn key_of(kind: Kind) -> String {
    format!("[kernel] {}", kind.profile_key())
}

fn valid_names(catalog: &Catalog<'_>, kind: Kind) -> String {
    catalog
        .of_kind(kind)
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
