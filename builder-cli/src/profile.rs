//! Node profiles: the TOML files in `node-profiles/`, read into a [`Profile`] that remembers
//! the line of every value, so that validation can point at the line to fix.
//!
//! ```toml
//! description = "one line shown by `amoeba-build list`"   # required
//! [node]
//! name = "pool"        # default: the profile name (file stem)
//! log = "info"         # default: info
//! cmdline = ""         # extra kernel command-line words
//! memory_mib = 128     # RAM for `amoeba-build run`
//! [kernel]
//! servers = []
//! drivers = ["pci"]
//! selftest = false     # compile in the self-tests of `selftest=` words (test profiles only)
//! remote_exec = true   # others may start processes here (needs server "proc")
//! [run]                # optional; for a node with server "run"
//! rebalance = false    # also move processes from the busiest pool processor to the idlest
//! [network]            # optional; needs a network card driver
//! ip = "dhcp"          # the card's address: "dhcp" or "A.B.C.D/N" (kernel word `ip=`)
//! flip_udp_port = 4146 # FLIP inside UDP on this port, 1 to 65535 (kernel word `flip-udp=`)
//! [disk]               # optional; for a node with driver "virtio-blk"
//! size_mib = 64        # the disk image the build writes, 1 to 65536 MiB
//! dirs = ["/home"]     # directories on it even when no file is in them
//! [[disk.files]]       # any number: files the build puts on the disk
//! path = "/bin/hello"  # where the file goes
//! program = "hello"    # a program of programs/ (its process image), or:
//! source = "motd.txt"  # a host file, relative to the profile file
//! [[programs]]         # any number: processes started at boot, in this order; one of:
//! name = "hello"       # a program of programs/ (a [[bin]] of programs/Cargo.toml),
//! path = "../my-prog"  # a Cargo package of one binary, built by amoeba-build, or
//! image = "x.process"  # a process image file (`amoeba-build image`); paths are relative to
//!                      # the profile file
//! args = ["a", "b"]    # default: none
//! priority = "norm"    # process priority: high, norm (default), low
//! driver = false        # may be granted I/O ports and wait for IRQ lines
//! admin = false         # owner capabilities of proc and sys: may end processes, halt the node
//! ```
//!
//! Parsing only checks the shape (keys and types); [`crate::validate()`] checks the meaning.

mod disk_entries;
mod parse_error;

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;
use toml::Spanned;

use crate::problem::{Problem, ProfileProblem, ProfileProblems};
use crate::workspace::Workspace;
use disk_entries::RawDisk;

pub use disk_entries::DiskFileEntry;

/// A value from the profile and the 1-based line it was written on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub line: usize,
}

/// A profile as written: shape checked, meaning not yet (see [`crate::validate::validate`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// The profile name: the file stem.
    pub name: String,
    /// The file as shown in messages (relative to the workspace root when inside it).
    pub file: String,
    /// The directory holding the file: `[[disk.files]] source` paths are relative to it.
    pub dir: PathBuf,
    /// The file's bytes, for the manifest's digest.
    pub source: Vec<u8>,
    pub description: Located<String>,
    pub node_name: Option<Located<String>>,
    pub log: Option<Located<String>>,
    pub cmdline: Option<Located<String>>,
    pub memory_mib: Option<Located<u32>>,
    pub servers: Vec<Located<String>>,
    pub drivers: Vec<Located<String>>,
    /// `[kernel] selftest`: whether the kernel's self-tests are compiled in.
    pub selftest: Option<Located<bool>>,
    /// `[kernel] remote_exec`: whether the process server's published capability lets other
    /// hosts and nodes send segments and start processes.
    pub remote_exec: Option<Located<bool>>,
    /// `[run] rebalance`: whether the run server also moves the processes handed to it from
    /// the busiest pool processor to the idlest.
    pub rebalance: Option<Located<bool>>,
    /// `[network] ip`: "dhcp" or "A.B.C.D/N".
    pub network_ip: Option<Located<String>>,
    /// `[network] flip_udp_port`, as written (its range is checked by validation).
    pub flip_udp_port: Option<Located<i64>>,
    /// `[disk] size_mib`: the size of the node's disk image, as written (its range is checked
    /// by validation).
    pub disk_size_mib: Option<Located<i64>>,
    /// `[disk] dirs`: directories the disk has even when no file is in them.
    pub disk_dirs: Vec<Located<String>>,
    /// The `[[disk.files]]` entries, in file order.
    pub disk_files: Vec<DiskFileEntry>,
    /// The `[[programs]]` entries, in file order.
    pub programs: Vec<ProgramEntry>,
}

/// One `[[programs]]` entry as written. Validation wants exactly one of `name`, `path` and
/// `image`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramEntry {
    /// The line of the entry's first key.
    pub line: usize,
    /// A program of `programs/`.
    pub name: Option<Located<String>>,
    /// A Cargo package's directory, as written (relative to the profile's directory).
    pub path: Option<Located<String>>,
    /// A process image file, as written (relative to the profile's directory).
    pub image: Option<Located<String>>,
    /// The arguments (argv[1..]); the line is the `args` key's, or the entry's when absent.
    pub args: Located<Vec<String>>,
    pub priority: Option<Located<String>>,
    /// A driver (`driver = true`): the kernel lets it use I/O ports and wait for IRQ lines.
    pub driver: bool,
    /// An admin (`admin = true`): the kernel gives it the owner capabilities of the process and
    /// sys servers, so it may end other processes and halt the node.
    pub admin: bool,
}

#[derive(Debug, Error)]
pub enum ProfileError {
    #[error("no profile `{name}` in {dir}/; available: {available}")]
    NotFound {
        name: String,
        dir: String,
        available: String,
    },
    #[error("cannot read profile {file}")]
    Read {
        file: String,
        #[source]
        source: io::Error,
    },
    #[error("{0}")]
    Invalid(#[from] ProfileProblems),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    description: Spanned<String>,
    node: Option<RawNode>,
    kernel: Option<RawKernel>,
    network: Option<RawNetwork>,
    run: Option<RawRun>,
    disk: Option<RawDisk>,
    #[serde(default)]
    programs: Vec<Spanned<RawProgram>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    rebalance: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    ip: Option<Spanned<String>>,
    flip_udp_port: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProgram {
    name: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    image: Option<Spanned<String>>,
    args: Option<Spanned<Vec<String>>>,
    priority: Option<Spanned<String>>,
    #[serde(default)]
    driver: bool,
    #[serde(default)]
    admin: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    name: Option<Spanned<String>>,
    log: Option<Spanned<String>>,
    cmdline: Option<Spanned<String>>,
    memory_mib: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKernel {
    #[serde(default)]
    servers: Vec<Spanned<String>>,
    #[serde(default)]
    drivers: Vec<Spanned<String>>,
    selftest: Option<Spanned<bool>>,
    remote_exec: Option<Spanned<bool>>,
}

/// Loads a profile by name (`pool` means `node-profiles/pool.toml`) or by path (anything
/// containing a `/` or ending in `.toml`).
pub fn load_profile(ws: &Workspace, name_or_path: &str) -> Result<Profile, ProfileError> {
    let path = resolve(ws, name_or_path)?;
    let file = ws.display(&path);
    let source = std::fs::read(&path).map_err(|source| ProfileError::Read {
        file: file.clone(),
        source,
    })?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut profile = Profile::parse(&name, &file, source)?;
    profile.dir = directory_of(&path);
    Ok(profile)
}

/// The directory of the file at `path`: `.` for a bare file name.
fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn resolve(ws: &Workspace, name_or_path: &str) -> Result<PathBuf, ProfileError> {
    if name_or_path.contains('/') || name_or_path.ends_with(".toml") {
        return Ok(PathBuf::from(name_or_path));
    }
    let path = ws.profiles_dir().join(format!("{name_or_path}.toml"));
    if path.is_file() {
        return Ok(path);
    }
    let available = profile_names(&ws.profiles_dir()).join(", ");
    Err(ProfileError::NotFound {
        name: name_or_path.to_string(),
        dir: ws.display(&ws.profiles_dir()),
        available: if available.is_empty() {
            "none".into()
        } else {
            available
        },
    })
}

/// The names of the `*.toml` profiles in `dir`, sorted; unreadable entries are skipped.
pub fn profile_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml") && path.is_file())
        .filter_map(|path| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

impl Profile {
    /// Parses profile text; `name` is the profile name and `file` how to name the file in
    /// messages.
    pub fn parse(name: &str, file: &str, source: Vec<u8>) -> Result<Self, ProfileProblems> {
        let problem = |line, key, problem| {
            ProfileProblems(vec![ProfileProblem {
                file: file.into(),
                line,
                key,
                problem,
            }])
        };
        let text = std::str::from_utf8(&source).map_err(|e| {
            let line = line_of(
                &String::from_utf8_lossy(&source[..e.valid_up_to()]),
                e.valid_up_to(),
            );
            problem(
                Some(line),
                None,
                Problem::Syntax("the file is not UTF-8 text".into()),
            )
        })?;
        let mut raw: RawProfile = toml::from_str(text).map_err(|e| {
            let (line, key, message) = parse_error::explain(text, &e);
            problem(Some(line), key, Problem::Syntax(message))
        })?;
        let lines = Lines(text);
        let (disk_dirs, disk_files) = disk_entries::entries(raw.disk.as_mut(), &lines);
        let node = raw.node.unwrap_or(RawNode {
            name: None,
            log: None,
            cmdline: None,
            memory_mib: None,
        });
        let kernel = raw.kernel.unwrap_or(RawKernel {
            servers: Vec::new(),
            drivers: Vec::new(),
            selftest: None,
            remote_exec: None,
        });
        let network = raw.network.unwrap_or(RawNetwork {
            ip: None,
            flip_udp_port: None,
        });
        Ok(Self {
            name: name.to_string(),
            file: file.to_string(),
            dir: directory_of(Path::new(file)),
            description: lines.locate(raw.description),
            node_name: node.name.map(|v| lines.locate(v)),
            log: node.log.map(|v| lines.locate(v)),
            cmdline: node.cmdline.map(|v| lines.locate(v)),
            memory_mib: node.memory_mib.map(|v| lines.locate(v)),
            servers: kernel
                .servers
                .into_iter()
                .map(|v| lines.locate(v))
                .collect(),
            drivers: kernel
                .drivers
                .into_iter()
                .map(|v| lines.locate(v))
                .collect(),
            selftest: kernel.selftest.map(|v| lines.locate(v)),
            remote_exec: kernel.remote_exec.map(|v| lines.locate(v)),
            rebalance: raw
                .run
                .and_then(|run| run.rebalance)
                .map(|v| lines.locate(v)),
            network_ip: network.ip.map(|v| lines.locate(v)),
            flip_udp_port: network.flip_udp_port.map(|v| lines.locate(v)),
            disk_size_mib: raw
                .disk
                .and_then(|disk| disk.size_mib)
                .map(|v| lines.locate(v)),
            disk_dirs,
            disk_files,
            programs: raw
                .programs
                .into_iter()
                .map(|program| {
                    let line = line_of(lines.0, program.span().start);
                    let program = program.into_inner();
                    let args = match program.args {
                        Some(args) => lines.locate(args),
                        None => Located {
                            value: Vec::new(),
                            line,
                        },
                    };
                    ProgramEntry {
                        line,
                        name: program.name.map(|v| lines.locate(v)),
                        path: program.path.map(|v| lines.locate(v)),
                        image: program.image.map(|v| lines.locate(v)),
                        args,
                        priority: program.priority.map(|v| lines.locate(v)),
                        driver: program.driver,
                        admin: program.admin,
                    }
                })
                .collect(),
            source,
        })
    }
}

struct Lines<'a>(&'a str);

impl Lines<'_> {
    fn locate<T>(&self, spanned: Spanned<T>) -> Located<T> {
        let Range { start, .. } = spanned.span();
        Located {
            line: line_of(self.0, start),
            value: spanned.into_inner(),
        }
    }
}

/// The 1-based line holding byte `offset`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Profile, ProfileProblems> {
        Profile::parse("x", "node-profiles/x.toml", text.as_bytes().to_vec())
    }

    fn error(text: &str) -> String {
        match parse(text) {
            Ok(_) => panic!("profile should not parse:\n{text}"),
            Err(problems) => problems.to_string(),
        }
    }

    #[test]
    fn a_full_profile_keeps_values_and_lines() {
        let text = "description = \"d\"\n[node]\nname = \"n\"\nlog = \"debug\"\ncmdline = \"ready=exit\"\nmemory_mib = 64\n[kernel]\nservers = []\ndrivers = [\n  \"pci\",\n  \"rtc\",\n]\n";
        let profile = parse(text).expect("parses");
        assert_eq!(
            profile.description,
            Located {
                value: "d".into(),
                line: 1
            }
        );
        assert_eq!(
            profile.node_name,
            Some(Located {
                value: "n".into(),
                line: 3
            })
        );
        assert_eq!(profile.log.map(|l| l.line), Some(4));
        assert_eq!(profile.memory_mib, Some(Located { value: 64, line: 6 }));
        assert!(profile.servers.is_empty());
        let drivers: Vec<_> = profile
            .drivers
            .iter()
            .map(|d| (d.value.as_str(), d.line))
            .collect();
        assert_eq!(drivers, [("pci", 10), ("rtc", 11)]);
        assert_eq!(profile.source, text.as_bytes());
    }

    #[test]
    fn only_description_is_required() {
        let profile = parse("description = \"tiny\"\n").expect("parses");
        assert_eq!(profile.node_name, None);
        assert!(profile.drivers.is_empty());
    }

    #[test]
    fn unknown_key_names_its_line_and_table() {
        let message = error("description = \"d\"\n[node]\ncolour = \"red\"\n");
        assert!(
            message.starts_with("node-profiles/x.toml:3: [node] colour: unknown field `colour`"),
            "{message}"
        );
        assert!(
            message.contains("`memory_mib`"),
            "the valid keys are listed: {message}"
        );
    }

    #[test]
    fn unknown_table_is_rejected() {
        let message = error("description = \"d\"\n\n[disks]\nnic = \"x\"\n");
        assert!(
            message.starts_with("node-profiles/x.toml:3: [disks]: unknown field `disks`"),
            "{message}"
        );
    }

    #[test]
    fn the_network_table_keeps_values_and_lines() {
        let text = "description = \"d\"\n[network]\nip = \"dhcp\"\nflip_udp_port = 4146\n";
        let profile = parse(text).expect("parses");
        assert_eq!(
            profile.network_ip,
            Some(Located {
                value: "dhcp".into(),
                line: 3
            })
        );
        assert_eq!(
            profile.flip_udp_port,
            Some(Located {
                value: 4146,
                line: 4
            })
        );
        let profile = parse("description = \"d\"\n").expect("parses");
        assert_eq!((profile.network_ip, profile.flip_udp_port), (None, None));
    }

    #[test]
    fn network_shape_errors_say_the_fix() {
        let message = error("description = \"d\"\n[network]\nflip_udp_port = \"4146\"\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:3: [network] flip_udp_port: invalid type: string \"4146\", \
             expected i64; write a whole number from 1 to 65535, e.g. `flip_udp_port = 4146`"
        );
        let message = error("description = \"d\"\n[network]\nip = 10\n");
        assert!(
            message.starts_with("node-profiles/x.toml:3: [network] ip: invalid type: integer")
                && message.ends_with("; write text in double quotes, e.g. `ip = \"…\"`"),
            "{message}"
        );
        let message = error("description = \"d\"\n[network]\nport = 1\n");
        assert!(
            message.starts_with("node-profiles/x.toml:3: [network] port: unknown field `port`")
                && message.contains("`flip_udp_port`"),
            "{message}"
        );
        let message = error("description = \"d\"\nnetwork = \"dhcp\"\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:2: network: `network` must be a table: write `[network]` and \
             its keys below it"
        );
        let message = error("description = \"d\"\n[[network]]\nip = \"dhcp\"\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:2: [[network]]: `[[network]]` makes a list of tables, but there \
             is one `network` table: write `[network]`"
        );
    }

    #[test]
    fn the_selftest_key_is_a_located_switch() {
        let profile = parse("description = \"d\"\n[kernel]\nselftest = true\n").expect("parses");
        assert_eq!(
            profile.selftest,
            Some(Located {
                value: true,
                line: 3
            })
        );
        assert_eq!(parse("description = \"d\"\n").unwrap().selftest, None);
        let message = error("description = \"d\"\n[kernel]\nselftest = \"yes\"\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:3: [kernel] selftest: invalid type: string \"yes\", expected a \
             boolean; write `true` or `false`"
        );
    }

    #[test]
    fn the_remote_exec_key_is_a_located_switch() {
        let text = "description = \"d\"\n[kernel]\nservers = [\"proc\"]\nremote_exec = false\n";
        let profile = parse(text).expect("parses");
        assert_eq!(
            profile.remote_exec,
            Some(Located {
                value: false,
                line: 4
            })
        );
        assert_eq!(parse("description = \"d\"\n").unwrap().remote_exec, None);
        let message = error("description = \"d\"\n[kernel]\nremote_exec = 0\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:3: [kernel] remote_exec: invalid type: integer `0`, expected a \
             boolean; write `true` or `false`"
        );
    }

    #[test]
    fn the_rebalance_key_is_a_located_switch() {
        let text = "description = \"d\"\n[kernel]\nservers = [\"dir\", \"run\"]\n[run]\nrebalance = true\n";
        let profile = parse(text).expect("parses");
        assert_eq!(
            profile.rebalance,
            Some(Located {
                value: true,
                line: 5
            })
        );
        assert_eq!(parse("description = \"d\"\n").unwrap().rebalance, None);
        assert_eq!(
            parse("description = \"d\"\n[run]\n").unwrap().rebalance,
            None
        );
        let message = error("description = \"d\"\n[run]\nrebalance = \"yes\"\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:3: [run] rebalance: invalid type: string \"yes\", expected a \
             boolean; write `true` or `false`"
        );
    }

    #[test]
    fn run_shape_errors_say_the_fix() {
        let message = error("description = \"d\"\n[run]\nbalance = true\n");
        assert!(
            message.starts_with("node-profiles/x.toml:3: [run] balance: unknown field `balance`")
                && message.contains("`rebalance`")
                && message.ends_with("; remove it or correct its spelling"),
            "{message}"
        );
        let message = error("description = \"d\"\nrun = true\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:2: run: `run` must be a table: write `[run]` and its keys below it"
        );
        let message = error("description = \"d\"\n[[run]]\nrebalance = true\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:2: [[run]]: `[[run]]` makes a list of tables, but there is one \
             `run` table: write `[run]`"
        );
    }

    #[test]
    fn the_disk_size_is_a_located_number() {
        let text = "description = \"d\"\n[kernel]\ndrivers = [\"pci\", \"virtio-blk\"]\n[disk]\nsize_mib = 16\n";
        let profile = parse(text).expect("parses");
        assert_eq!(profile.disk_size_mib, Some(Located { value: 16, line: 5 }));
        assert_eq!(parse("description = \"d\"\n").unwrap().disk_size_mib, None);
        assert_eq!(
            parse("description = \"d\"\n[disk]\n")
                .unwrap()
                .disk_size_mib,
            None
        );
        // Out of range parses: validation says what the range is.
        let big = parse("description = \"d\"\n[disk]\nsize_mib = -1\n").expect("parses");
        assert_eq!(big.disk_size_mib.map(|s| s.value), Some(-1));
    }

    #[test]
    fn disk_shape_errors_say_the_fix() {
        let message = error("description = \"d\"\n[disk]\nsize_mib = \"64\"\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:3: [disk] size_mib: invalid type: string \"64\", expected i64; \
             write a whole number from 1 to 65536, e.g. `size_mib = 64`"
        );
        let message = error("description = \"d\"\n[disk]\nsize = 64\n");
        assert!(
            message.starts_with("node-profiles/x.toml:3: [disk] size: unknown field `size`")
                && message.contains("`size_mib`")
                && message.ends_with("; remove it or correct its spelling"),
            "{message}"
        );
        let message = error("description = \"d\"\ndisk = 64\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:2: disk: `disk` must be a table: write `[disk]` and its keys \
             below it"
        );
        let message = error("description = \"d\"\n[[disk]]\nsize_mib = 64\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:2: [[disk]]: `[[disk]]` makes a list of tables, but there is \
             one `disk` table: write `[disk]`"
        );
    }

    #[test]
    fn wrong_type_names_its_line() {
        let message = error("description = \"d\"\n[node]\nmemory_mib = \"lots\"\n");
        assert!(
            message.starts_with("node-profiles/x.toml:3: [node] memory_mib: invalid type: string"),
            "{message}"
        );
        let message = error("description = \"d\"\n[kernel]\ndrivers = \"pci\"\n");
        assert!(
            message.starts_with("node-profiles/x.toml:3: [kernel] drivers: invalid type"),
            "{message}"
        );
    }

    #[test]
    fn missing_description_is_reported() {
        let message = error("[node]\nname = \"a\"\n");
        assert!(message.contains("missing field `description`"), "{message}");
    }

    #[test]
    fn programs_keep_their_order_values_and_lines() {
        let text = "description = \"d\"\n\n[[programs]]\nname = \"hello\"\nargs = [\"a\", \"b c\"]\n\n[[programs]]\npriority = \"high\"\npath = \"../p\"\n";
        let profile = parse(text).expect("parses");
        let at = |value: &str, line| {
            Some(Located {
                value: value.to_string(),
                line,
            })
        };
        assert_eq!(
            profile.programs,
            [
                ProgramEntry {
                    line: 3,
                    name: at("hello", 4),
                    path: None,
                    image: None,
                    driver: false,
                    admin: false,
                    args: Located {
                        value: vec!["a".into(), "b c".into()],
                        line: 5
                    },
                    priority: None,
                },
                ProgramEntry {
                    line: 7,
                    name: None,
                    path: at("../p", 9),
                    image: None,
                    driver: false,
                    admin: false,
                    args: Located {
                        value: vec![],
                        line: 7
                    },
                    priority: at("high", 8),
                },
            ]
        );
        assert!(parse("description = \"d\"\n").unwrap().programs.is_empty());
    }

    #[test]
    fn program_shape_errors_name_the_programs_table() {
        let message = error("description = \"d\"\n[[programs]]\nname = \"hello\"\ncolour = 1\n");
        assert!(
            message
                .starts_with("node-profiles/x.toml:4: [[programs]] colour: unknown field `colour`"),
            "{message}"
        );
        assert!(
            message.contains("`priority`"),
            "the valid keys are listed: {message}"
        );
        let message = error("description = \"d\"\n[[programs]]\nname = \"x\"\nargs = \"a b\"\n");
        assert!(
            message.starts_with("node-profiles/x.toml:4: [[programs]] args: invalid type"),
            "{message}"
        );
    }

    #[test]
    fn syntax_errors_name_their_line() {
        let message = error("description = \"d\"\n[node\n");
        assert!(message.starts_with("node-profiles/x.toml:2:"), "{message}");
    }

    #[test]
    fn a_table_written_as_a_value_says_to_write_the_table() {
        let message = error("description = \"d\"\nnode = 1\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:2: node: `node` must be a table: write `[node]` and its keys below it"
        );
        assert!(
            !message.contains("Raw"),
            "no internal type names: {message}"
        );
        let message = error("description = \"d\"\nkernel = \"pci\"\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:2: kernel: `kernel` must be a table: write `[kernel]` and its keys below it"
        );
        let message = error("description = \"d\"\nprograms = [1]\n");
        assert!(
            message.starts_with("node-profiles/x.toml:2: programs: each program must be a table")
                && message.contains("write `[[programs]]`"),
            "{message}"
        );
        assert!(
            !message.contains("Raw"),
            "no internal type names: {message}"
        );
    }

    #[test]
    fn dotted_keys_are_named() {
        let message = error("description = \"d\"\nnode.name = 5\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:2: [node] name: invalid type: integer `5`, expected a string; \
             write text in double quotes, e.g. `name = \"…\"`"
        );
        let message = error("description = \"d\"\n[node]\nname.first = \"a\"\n");
        assert!(
            message.starts_with("node-profiles/x.toml:3: [node] name.first: invalid type: map")
                && message.contains("e.g. `name = \"…\"`"),
            "{message}"
        );
        let message = error("description = \"d\"\n\"kernel\" . 'drivers' = \"pci\"\n");
        assert!(
            message.starts_with("node-profiles/x.toml:2: [kernel] drivers: invalid type: string")
                && message.contains("write a list in brackets, e.g. `drivers = [\"…\"]`"),
            "{message}"
        );
    }

    #[test]
    fn a_duplicate_table_says_which_to_remove() {
        let message = error("description = \"d\"\n[node]\nname = \"a\"\n[node]\nlog = \"info\"\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:4: [node]: `[node]` is written twice (first on line 2); \
             remove one of the two `[node]` tables, moving its keys into the other"
        );
        let message = error("description = \"d\"\nnode.name = \"a\"\n[node]\nlog = \"info\"\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:3: [node]: `node` is already set above (by a dotted key or an \
             inline table); put all its keys under this one `[node]` table"
        );
    }

    #[test]
    fn a_duplicate_key_says_where_the_first_is() {
        let message =
            error("description = \"d\"\n[node]\nname = \"a\"\nlog = \"info\"\nname = \"b\"\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:5: [node] name: `name` is set twice (first on line 3); remove one of the two"
        );
    }

    #[test]
    fn programs_written_as_one_table_suggest_double_brackets() {
        let message = error("description = \"d\"\n\n[programs]\nname = \"hello\"\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:3: [programs]: programs are a list of tables: write \
             `[[programs]]` (double brackets) instead of `[programs]`, once per program"
        );
        let message = error("description = \"d\"\nprograms = \"hello\"\n");
        assert!(
            message.starts_with("node-profiles/x.toml:2: programs: `programs` must be a list")
                && message.contains("write `[[programs]]`"),
            "{message}"
        );
    }

    #[test]
    fn a_single_table_written_as_a_list_says_to_use_single_brackets() {
        let message = error("description = \"d\"\n[[node]]\nname = \"a\"\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:2: [[node]]: `[[node]]` makes a list of tables, but there is \
             one `node` table: write `[node]`"
        );
    }

    #[test]
    fn type_and_field_errors_say_the_fix() {
        let message = error("description = \"d\"\n[node]\nmemory_mib = \"lots\"\n");
        assert!(
            message
                .ends_with("; write a whole number from 0 to 4294967295, e.g. `memory_mib = 128`"),
            "{message}"
        );
        let message = error("description = \"d\"\n[[programs]]\nname = \"a\"\ndriver = 1\n");
        assert!(
            message.starts_with("node-profiles/x.toml:4: [[programs]] driver: invalid type")
                && message.ends_with("; write `true` or `false`"),
            "{message}"
        );
        let message = error("description = \"d\"\n[[programs]]\nname = \"a\"\nadmin = \"yes\"\n");
        assert!(
            message.starts_with("node-profiles/x.toml:4: [[programs]] admin: invalid type: string")
                && message.ends_with("; write `true` or `false`"),
            "{message}"
        );
        let message = error("description = \"d\"\n[node]\ncolour = \"red\"\n");
        assert!(
            message.ends_with("; remove it or correct its spelling"),
            "{message}"
        );
        // `description` is missing from the file, not from the table on line 1.
        let message = error("[node]\nname = \"a\"\n");
        assert_eq!(
            message,
            "node-profiles/x.toml:1: missing field `description`; add a `description = …` line \
             at the top of the file"
        );
    }
}
