//! `amoeba put/get/cat/ls/mkdir/rm/mv`: the command lines of the file commands
//! ([`crate::files`] does their work).
//!
//! A path is `NODE/PATH`: NODE a node's name, whose file system is the `soap` directory its
//! kernel directory publishes (new files go to its `bullet`), or a directory's capability
//! (then `put` needs `--bullet`). `amoeba dir ls NODE/...` still walks the kernel directory.

use super::{Lan, PeerOptions, Session, open};
use crate::exec::Program;
use crate::files::{self, Place, Removed};
use crate::target::{NodeRef, Target};
use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use libamoeba::capability::Capability;
use libamoeba::client;
use libamoeba::process::ArchMagic;
use libamoeba::process::image::{MAX_IMAGE_BYTES, inflate_image};
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Files at least this big get a progress bar (on a terminal).
const PROGRESS_FROM_BYTES: u64 = 256 * 1024;

/// The file commands.
#[derive(Subcommand, Clone, Debug)]
pub enum FileCommand {
    /// Store a local file as NODE/PATH (replacing a file there); prints its capability
    Put {
        #[arg(value_name = "LOCAL")]
        local: PathBuf,
        #[arg(value_name = "NODE/PATH")]
        remote: String,
        /// LOCAL is a process image: store it uncompressed, for `amoeba exec NODE
        /// FILESERVER/PATH` to start it with its segments read in place
        #[arg(long)]
        program: bool,
        /// The Bullet server to store it on (default: the node's `bullet`)
        #[arg(long, value_name = "CAP", value_parser = parse_capability)]
        bullet: Option<Capability>,
    },
    /// Copy NODE/PATH to a local file, or to standard output with `-`
    Get {
        #[arg(value_name = "NODE/PATH")]
        remote: String,
        #[arg(value_name = "LOCAL|-")]
        local: String,
    },
    /// Print NODE/PATH on standard output
    Cat {
        #[arg(value_name = "NODE/PATH")]
        remote: String,
    },
    /// List the directory NODE[/PATH]: names, masks (one a column) and capabilities
    Ls {
        #[arg(value_name = "NODE[/PATH]")]
        remote: String,
    },
    /// Make the directory NODE/PATH
    Mkdir {
        #[arg(value_name = "NODE/PATH")]
        remote: String,
    },
    /// Remove NODE/PATH: a file is destroyed, an empty directory discarded
    Rm {
        #[arg(value_name = "NODE/PATH")]
        remote: String,
    },
    /// Rename NODE/FROM to NODE/TO (into TO if it is a directory)
    Mv {
        #[arg(value_name = "NODE/FROM")]
        from: String,
        #[arg(value_name = "NODE/TO")]
        to: String,
    },
}

fn parse_capability(text: &str) -> Result<Capability, String> {
    text.trim()
        .parse()
        .map_err(|e| format!("`{text}` is not a capability: {e}"))
}

/// A `NODE/PATH` split.
fn split(text: &str) -> Result<(Target, String)> {
    let target: Target = text.parse().map_err(|e| anyhow!("`{text}`: {e}"))?;
    let path = target.path.join("/");
    Ok((
        Target {
            node: target.node,
            path: Vec::new(),
        },
        path,
    ))
}

/// The session for NODE and where its paths start.
fn place(
    options: &PeerOptions,
    lan: Lan,
    node: &Target,
    bullet: Option<Capability>,
) -> Result<(Session, Place)> {
    let session = open(options, lan, node)?;
    let shown = node.to_string();
    let place = match node.node {
        NodeRef::Capability(root) => Place {
            root,
            bullet,
            shown,
        },
        NodeRef::Name(_) => {
            let kernel = session.object;
            let root = client::dir_lookup(&session.peer, &kernel, "soap").map_err(|e| {
                anyhow!("{shown} has no file system: its kernel directory has no `soap` ({e})")
            })?;
            let bullet =
                bullet.or_else(|| client::dir_lookup(&session.peer, &kernel, "bullet").ok());
            Place {
                root,
                bullet,
                shown,
            }
        }
    };
    Ok((session, place))
}

fn bar(total: u64, verb: &str) -> Option<ProgressBar> {
    if total < PROGRESS_FROM_BYTES || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(&format!(
        "{verb} {{bar:30}} {{bytes}}/{{total_bytes}} {{binary_bytes_per_sec}} {{eta}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

fn rate(bytes: u64, started: Instant) -> (f64, f64) {
    let seconds = started.elapsed().as_secs_f64();
    (seconds * 1e3, bytes as f64 / seconds.max(1e-9) / 1e6)
}

pub(super) fn run(
    options: &PeerOptions,
    lan: Lan,
    command: FileCommand,
    json: bool,
) -> Result<ExitCode> {
    match command {
        FileCommand::Put {
            local,
            remote,
            program,
            bullet,
        } => {
            let (node, path) = split(&remote)?;
            let mut data =
                std::fs::read(&local).with_context(|| format!("reading {}", local.display()))?;
            if program {
                data = inflate_image(&data, ArchMagic::X86_64, MAX_IMAGE_BYTES).map_err(|e| {
                    anyhow!("{} is not a process image for x86_64: {e}", local.display())
                })?;
            }
            let (session, place) = place(options, lan, &node, bullet)?;
            let started = Instant::now();
            let progress = bar(data.len() as u64, "put");
            let mut tick = |done: u64| {
                if let Some(bar) = &progress {
                    bar.set_position(done);
                }
            };
            let file =
                session.context(files::put(&session.peer, &place, &path, &data, &mut tick))?;
            if let Some(bar) = progress {
                bar.finish_and_clear();
            }
            let (ms, mbps) = rate(data.len() as u64, started);
            if json {
                let value = json!({ "path": remote, "capability": file.to_string(), "bytes": data.len(), "ms": ms, "mb_per_s": mbps });
                println!("{value}");
            } else {
                println!("{file}");
                eprintln!(
                    "amoeba: {} bytes to {remote} in {ms:.1} ms ({mbps:.2} MB/s)",
                    data.len()
                );
            }
        }
        FileCommand::Get { remote, local } => {
            return get(options, lan, &remote, Some(&local), json);
        }
        FileCommand::Cat { remote } => return get(options, lan, &remote, None, json),
        FileCommand::Ls { remote } => {
            let (node, path) = split(&remote)?;
            let (session, place) = place(options, lan, &node, None)?;
            let (columns, rows) = session.context(files::ls(&session.peer, &place, &path))?;
            if json {
                println!("{}", files::ls_json(&columns, &rows));
            } else {
                print!("{}", files::ls_text(&columns, &rows));
            }
        }
        FileCommand::Mkdir { remote } => {
            let (node, path) = split(&remote)?;
            let (session, place) = place(options, lan, &node, None)?;
            let dir = session.context(files::mkdir(&session.peer, &place, &path))?;
            match json {
                true => println!(
                    "{}",
                    json!({ "path": remote, "capability": dir.to_string() })
                ),
                false => println!("{dir}"),
            }
        }
        FileCommand::Rm { remote } => {
            let (node, path) = split(&remote)?;
            let (session, place) = place(options, lan, &node, None)?;
            let removed = session.context(files::rm(&session.peer, &place, &path))?;
            let what = match removed {
                Removed::File => "file",
                Removed::Directory => "directory",
                Removed::NameOnly => "name",
            };
            match json {
                true => println!("{}", json!({ "path": remote, "removed": what })),
                false => eprintln!("amoeba: removed {what} {remote}"),
            }
        }
        FileCommand::Mv { from, to } => {
            let (node, from_path) = split(&from)?;
            let (to_node, to_path) = split(&to)?;
            if to_node != node {
                bail!(
                    "mv renames within one file system: {from} and {to} start at different places"
                );
            }
            let (session, place) = place(options, lan, &node, None)?;
            let now = session.context(files::mv(&session.peer, &place, &from_path, &to_path))?;
            match json {
                true => println!("{}", json!({ "from": from, "to": format!("{node}/{now}") })),
                false => eprintln!("amoeba: {from} is now {node}/{now}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn get(
    options: &PeerOptions,
    lan: Lan,
    remote: &str,
    local: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    let (node, path) = split(remote)?;
    let (session, place) = place(options, lan, &node, None)?;
    let to_stdout = matches!(local, None | Some("-"));
    let mut out: Box<dyn Write> = match local.filter(|_| !to_stdout) {
        Some(file) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(file).with_context(|| format!("creating {file}"))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let started = Instant::now();
    let mut progress: Option<ProgressBar> = None;
    let mut tick = |done: u64, total: u64| {
        let bar =
            progress.get_or_insert_with(|| bar(total, "get").unwrap_or_else(ProgressBar::hidden));
        bar.set_position(done);
    };
    let size = session.context(files::get(
        &session.peer,
        &place,
        &path,
        &mut out,
        &mut tick,
    ))?;
    out.flush()?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let (ms, mbps) = rate(size, started);
    if json && !to_stdout {
        println!(
            "{}",
            json!({ "path": remote, "bytes": size, "ms": ms, "mb_per_s": mbps })
        );
    } else if let Some(file) = local.filter(|_| !to_stdout) {
        eprintln!("amoeba: {size} bytes from {remote} to {file} in {ms:.1} ms ({mbps:.2} MB/s)");
    }
    Ok(ExitCode::SUCCESS)
}

/// The program `text` names in a file server's file (`FILESERVER/PATH`), for `amoeba exec`.
pub(super) fn program_in_files(options: &PeerOptions, lan: Lan, text: &str) -> Result<Program> {
    let (node, path) = split(text)?;
    let (session, place) = place(options, lan, &node, None)?;
    let file = session.context(place.find(&session.peer, &path))?;
    session.context(crate::exec::program_in_file(&session.peer, file, text))
}
