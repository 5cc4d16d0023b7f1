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
//! [[programs]]         # any number: processes started at boot, in this order
//! name = "hello"       # a program of programs/ (a [[bin]] of programs/Cargo.toml)
//! args = ["a", "b"]    # default: none
//! priority = "norm"    # process priority: high, norm (default), low
//! driver = false        # may be granted I/O ports and wait for IRQ lines
//! ```
//!
//! Parsing only checks the shape (keys and types); [`crate::validate()`] checks the meaning.

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;
use toml::Spanned;

use crate::problem::{Problem, ProfileProblem, ProfileProblems};
use crate::workspace::Workspace;

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
    /// The file's bytes, for the manifest's digest.
    pub source: Vec<u8>,
    pub description: Located<String>,
    pub node_name: Option<Located<String>>,
    pub log: Option<Located<String>>,
    pub cmdline: Option<Located<String>>,
    pub memory_mib: Option<Located<u32>>,
    pub servers: Vec<Located<String>>,
    pub drivers: Vec<Located<String>>,
    /// The `[[programs]]` entries, in file order.
    pub programs: Vec<ProgramEntry>,
}

/// One `[[programs]]` entry as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramEntry {
    pub name: Located<String>,
    /// The arguments (argv[1..]); the line is the `args` key's, or the name's when absent.
    pub args: Located<Vec<String>>,
    pub priority: Option<Located<String>>,
    /// A driver (`driver = true`): the kernel lets it use I/O ports and wait for IRQ lines.
    pub driver: bool,
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
    #[serde(default)]
    programs: Vec<RawProgram>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProgram {
    name: Spanned<String>,
    args: Option<Spanned<Vec<String>>>,
    priority: Option<Spanned<String>>,
    #[serde(default)]
    driver: bool,
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
    Ok(Profile::parse(&name, &file, source)?)
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
        let raw: RawProfile = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let line = line_of(text, span.start);
            problem(
                Some(line),
                key_at(text, line),
                Problem::Syntax(e.message().trim().to_string()),
            )
        })?;
        let lines = Lines(text);
        let node = raw.node.unwrap_or(RawNode {
            name: None,
            log: None,
            cmdline: None,
            memory_mib: None,
        });
        let kernel = raw.kernel.unwrap_or(RawKernel {
            servers: Vec::new(),
            drivers: Vec::new(),
        });
        Ok(Self {
            name: name.to_string(),
            file: file.to_string(),
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
            programs: raw
                .programs
                .into_iter()
                .map(|program| {
                    let name = lines.locate(program.name);
                    let args = match program.args {
                        Some(args) => lines.locate(args),
                        None => Located {
                            value: Vec::new(),
                            line: name.line,
                        },
                    };
                    ProgramEntry {
                        name,
                        args,
                        priority: program.priority.map(|v| lines.locate(v)),
                        driver: program.driver,
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
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Names the key a parse error is about, as `[table] key` (or `[[programs]] key`), from the
/// text around its line.
/// Profiles are flat tables of plain keys, so the last `[header]` above the line and the
/// `key =` on it say it; where they don't (a value inside a multi-line array), naming only
/// the table is still right.
fn key_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().take(line).collect();
    let table = lines.iter().rev().find_map(|l| {
        let l = l.trim();
        if let Some(rest) = l.strip_prefix("[[") {
            return rest
                .split_once("]]")
                .map(|(name, _)| format!("[[{}]]", name.trim()));
        }
        l.strip_prefix('[')
            .and_then(|rest| rest.split_once(']'))
            .map(|(name, _)| format!("[{}]", name.trim()))
    });
    let key = lines
        .last()
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| k.trim())
        .filter(|k| {
            !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
    match (table, key) {
        (Some(table), Some(key)) => Some(format!("{table} {key}")),
        (Some(table), None) => Some(table),
        (None, Some(key)) => Some(key.to_string()),
        (None, None) => None,
    }
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
        let message = error("description = \"d\"\n\n[network]\nnic = \"x\"\n");
        assert!(
            message.starts_with("node-profiles/x.toml:3: [network]: unknown field `network`"),
            "{message}"
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
        let text = "description = \"d\"\n\n[[programs]]\nname = \"hello\"\nargs = [\"a\", \"b c\"]\n\n[[programs]]\npriority = \"high\"\nname = \"counter\"\n";
        let profile = parse(text).expect("parses");
        assert_eq!(
            profile.programs,
            [
                ProgramEntry {
                    driver: false,
                    name: Located {
                        value: "hello".into(),
                        line: 4
                    },
                    args: Located {
                        value: vec!["a".into(), "b c".into()],
                        line: 5
                    },
                    priority: None,
                },
                ProgramEntry {
                    driver: false,
                    name: Located {
                        value: "counter".into(),
                        line: 9
                    },
                    args: Located {
                        value: vec![],
                        line: 9
                    },
                    priority: Some(Located {
                        value: "high".into(),
                        line: 8
                    }),
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
        let message = error("description = \"d\"\n[[programs]]\nargs = [\"a\"]\n");
        assert!(message.contains("missing field `name`"), "{message}");
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
}
