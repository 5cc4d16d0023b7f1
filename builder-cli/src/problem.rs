//! What can be wrong with a profile, and how each problem is told to the user:
//! `FILE:LINE: KEY: what is wrong; how to fix it`, one line per problem, all problems at once.

use std::fmt;

use thiserror::Error;

use crate::catalog::Kind;
use crate::disk_image::tree::PathError;
use crate::program_sources::SourceProblem;

/// `name and path`, `none of them`.
fn given_sources(given: &[&str]) -> String {
    match given {
        [] => "none of them".to_string(),
        _ => given.join(" and "),
    }
}

/// One thing wrong with a profile, without its location.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Problem {
    /// The file is not TOML of the profile schema (syntax, unknown key, wrong type); the
    /// message comes from the TOML parser, reworded or with a fix added where
    /// `profile::explain` knows one.
    #[error("{0}")]
    Syntax(String),
    #[error("must be one non-empty line of text")]
    BadDescription,
    #[error(
        "profile name {name:?} (the file name) must be 1 to 32 letters, digits, `-` or `_`, \
         since it names images/{name}/; rename the file"
    )]
    BadProfileName { name: String },
    #[error("bad node name {name:?}; use 1 to 32 letters, digits, `-` or `_`")]
    BadNodeName { name: String },
    #[error("unknown log level {level:?}; use one of {valid}")]
    BadLogLevel { level: String, valid: &'static str },
    #[error("bad kernel command-line word {word:?}: {reason}; remove or correct it")]
    BadCmdlineWord { word: String, reason: String },
    #[error("`{word_key}=` is set by amoeba-build from [node] {profile_key}; set it there instead")]
    ReservedCmdlineWord {
        word_key: &'static str,
        profile_key: &'static str,
    },
    #[error(
        "`{word}` runs a kernel self-test, but this profile compiles none in; {}, or remove the \
         word", self_test_fix(.off_line)
    )]
    SelfTestNotCompiledIn {
        word: String,
        /// The line of `selftest = false`, if the profile says so.
        off_line: Option<usize>,
    },
    #[error("{mib} MiB is too little memory; use at least {min}")]
    TooLittleMemory { mib: u32, min: u32 },
    #[error("unknown {kind} {name:?}; valid {kind}s: {valid}")]
    UnknownComponent {
        kind: Kind,
        name: String,
        valid: String,
    },
    #[error(
        "`{name}` is a {actual}, not a {kind}; move it to [kernel] {}", actual.profile_key()
    )]
    WrongKind {
        kind: Kind,
        name: String,
        actual: Kind,
    },
    #[error("{kind} `{name}` is listed twice (first on line {first_line}); remove one")]
    Duplicate {
        kind: Kind,
        name: String,
        first_line: usize,
    },
    #[error(
        "{kind} `{name}` is not implemented yet; remove it from [kernel] {}",
        kind.profile_key()
    )]
    Planned { kind: Kind, name: String },
    #[error(
        "{kind} `{name}` requires {needed_kind} `{needed}`; add \"{needed}\" to [kernel] {}",
        needed_kind.profile_key()
    )]
    MissingDependency {
        kind: Kind,
        name: String,
        needed_kind: Kind,
        needed: String,
    },
    #[error(
        "{kind} `{name}` conflicts with {other_kind} `{other}` (line {other_line}); remove one of them"
    )]
    Conflict {
        kind: Kind,
        name: String,
        other_kind: Kind,
        other: String,
        other_line: usize,
    },
    #[error(
        "unknown program {name:?}; available programs: {valid} (the [[bin]]s of programs/Cargo.toml)"
    )]
    UnknownProgram { name: String, valid: String },
    #[error(
        "says {}; give exactly one: `name` (a program of programs/), `path` (a Cargo package) \
         or `image` (a process image file)", given_sources(.given)
    )]
    ProgramSource { given: Vec<&'static str> },
    #[error(transparent)]
    Source(#[from] SourceProblem),
    #[error("program `{name}` cannot become a process image: {reason}")]
    ProgramElf { name: String, reason: String },
    #[error("{count} arguments; a program takes at most {max}, remove some")]
    TooManyProgramArgs { count: usize, max: usize },
    #[error(
        "the arguments take {bytes} bytes; at most {max} fit in a process's environment (shorten them)"
    )]
    ProgramArgsTooLarge { bytes: usize, max: usize },
    #[error("memory_mib = {mib} is more than a node is given here; use at most {max}")]
    TooMuchMemory { mib: u32, max: u32 },
    #[error("argument {index} is {len} bytes long; shorten it to at most {max}")]
    ProgramArgTooLong {
        index: usize,
        len: usize,
        max: usize,
    },
    #[error("unknown priority {priority:?}; use one of {valid}")]
    BadPriority {
        priority: String,
        valid: &'static str,
    },
    #[error(
        "bad address {value:?}; write \"dhcp\" or an IPv4 address with its prefix length, \
         e.g. `ip = \"10.0.2.15/24\"`"
    )]
    BadIpSetting { value: String },
    #[error("{port} is not a UDP port; write a whole number from 1 to 65535, e.g. `{key} = 4146`")]
    BadUdpPort { key: &'static str, port: i64 },
    #[error(
        "a node without a network card has no IP side; add {drivers} to [kernel] drivers, or \
         remove [network]"
    )]
    NetworkWithoutCard { drivers: String },
    #[error("`{word_key}=` is also set by {profile_key} (line {line}); keep only one of the two")]
    CmdlineWordSetTwice {
        word_key: &'static str,
        profile_key: &'static str,
        line: usize,
    },
    #[error(
        "says who may start processes through the process server, which this profile leaves \
         out; add \"proc\" to servers, or remove remote_exec"
    )]
    RemoteExecWithoutProc,
    #[error(
        "says whether the run server moves processes between its pool processors, but this \
         profile has no run server; add \"run\" to [kernel] servers, or remove rebalance"
    )]
    RebalanceWithoutRun,
    #[error(
        "server `run` finds its pool processors and polls their load over the LAN, but this \
         node has no network card; add {drivers} to [kernel] drivers"
    )]
    RunServerWithoutCard { drivers: String },
    #[error(
        "sizes the node's virtio disk, but this profile has no disk driver; add \"{driver}\" to \
         [kernel] drivers, or remove [disk]"
    )]
    DiskWithoutDriver { driver: &'static str },
    #[error(
        "{mib} MiB is not a disk size here; write a whole number from {min} to {max}, e.g. \
         `size_mib = 64`"
    )]
    BadDiskSize { mib: i64, min: u32, max: u32 },
    #[error(
        "puts something on the node's virtio disk, but this profile has no disk driver; add \
         \"{driver}\" to [kernel] drivers, or remove it"
    )]
    DiskContentWithoutDriver { driver: &'static str },
    #[error(
        "{path:?} is not a path on the disk: {reason}; write an absolute path of names, e.g. \
         \"/bin/hello\""
    )]
    BadDiskPath { path: String, reason: PathError },
    #[error("{path} is on the disk twice (first on line {first_line}); remove one")]
    DuplicateDiskPath { path: String, first_line: usize },
    #[error("{path} would be inside {file}, which is a file (line {file_line}); move one of them")]
    DiskPathUnderFile {
        path: String,
        file: String,
        file_line: usize,
    },
    #[error(
        "says nothing of what the file holds; add `program = \"NAME\"` (a program of \
         programs/) or `source = \"FILE\"` (a host file)"
    )]
    DiskFileWithoutContent,
    #[error("gives both `program` (line {program_line}) and `source`; keep one of them")]
    DiskFileWithTwoContents { program_line: usize },
    #[error(
        "no file {shown}; `source` is relative to the profile's directory: correct the path or \
         create the file"
    )]
    MissingDiskSource { shown: String },
    #[error("{shown} is not a file ({reason}); name a file")]
    UnreadableDiskSource { shown: String, reason: String },
    #[error(
        "{files} files take {needed_kib} KiB of a {mib} MiB disk, whose Bullet volume holds \
         {holds_kib} KiB and {inodes} files; set `size_mib = {suggested_mib}` or more under \
         [disk], or put less on it"
    )]
    DiskTooSmall {
        files: usize,
        needed_kib: u64,
        mib: u32,
        holds_kib: u64,
        inodes: u32,
        suggested_mib: u64,
    },
}

/// How to compile the self-tests in, given the line of a `selftest = false` if there is one.
fn self_test_fix(off_line: &Option<usize>) -> String {
    match off_line {
        Some(line) => format!("set `selftest = true` on line {line} (test profiles only)"),
        None => "add `selftest = true` under [kernel] (test profiles only)".to_string(),
    }
}

/// A [`Problem`] with the place it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileProblem {
    /// The profile file as shown to the user (relative to the workspace when inside it).
    pub file: String,
    /// 1-based line; `None` for problems of the file as a whole.
    pub line: Option<usize>,
    /// The profile key, e.g. `[kernel] drivers`; `None` when no single key is at fault.
    pub key: Option<String>,
    pub problem: Problem,
}

impl fmt::Display for ProfileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// Every problem found in one profile (never empty), in file order.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub struct ProfileProblems(pub Vec<ProfileProblem>);

impl ProfileProblems {
    pub fn problems(&self) -> &[ProfileProblem] {
        &self.0
    }
}

impl fmt::Display for ProfileProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_key_and_fix() {
        let problem = ProfileProblem {
            file: "node-profiles/x.toml".into(),
            line: Some(12),
            key: Some("[kernel] drivers".into()),
            problem: Problem::UnknownComponent {
                kind: Kind::Driver,
                name: "virtio".into(),
                valid: "pci, rtc".into(),
            },
        };
        assert_eq!(
            problem.to_string(),
            "node-profiles/x.toml:12: [kernel] drivers: unknown driver \"virtio\"; valid drivers: pci, rtc"
        );
    }

    #[test]
    fn file_level_problems_have_no_line() {
        let problem = ProfileProblem {
            file: "a b.toml".into(),
            line: None,
            key: None,
            problem: Problem::BadProfileName { name: "a b".into() },
        };
        assert!(
            problem
                .to_string()
                .starts_with("a b.toml: profile name \"a b\"")
        );
    }
}
