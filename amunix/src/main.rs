//! `amoeba`: talk to the Amoeba nodes on a virtual LAN from the host, as a plain user process.
//!
//! `amoeba nodes [--lan-port P] [--wait-ms MS] [--json]`: the nodes that answer a link check.

use std::process::ExitCode;
use std::time::Duration;

use amunix::lan::LanSeat;
use amunix::nodes;
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use libamoeba::ethernet::MacText;

/// The address this host seat sends from (locally administered, outside QEMU's 52:54:00 range).
const HOST_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

#[derive(Parser)]
#[command(
    name = "amoeba",
    version,
    about = "Talk to the Amoeba nodes of a virtual LAN"
)]
struct Cli {
    /// UDP port of the LAN (multicast group 230.0.0.1 on loopback), as given to
    /// `amoeba-build cluster --lan-port`
    #[arg(long, value_name = "PORT", default_value_t = 47474, global = true)]
    lan_port: u16,
    /// Print JSON instead of text
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the nodes on the LAN (every node's card answers a broadcast link check)
    Nodes {
        /// How long to listen for answers
        #[arg(long, value_name = "MS", default_value_t = 1500)]
        wait_ms: u64,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("amoeba: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Nodes { wait_ms } => list_nodes(cli.lan_port, wait_ms, cli.json),
    }
}

fn list_nodes(port: u16, wait_ms: u64, json: bool) -> Result<ExitCode> {
    let seat = LanSeat::join(port, HOST_MAC)
        .with_context(|| format!("cannot join the LAN at 230.0.0.1:{port}"))?;
    let found = nodes::find(
        &seat,
        Duration::from_millis(wait_ms),
        Duration::from_millis(250),
    )
    .context("sending on the LAN")?;
    if json {
        let list: Vec<_> = found
            .iter()
            .map(|n| serde_json::json!({ "name": n.name, "mac": MacText(&n.mac).to_string() }))
            .collect();
        println!("{}", serde_json::Value::Array(list));
    } else if found.is_empty() {
        println!("no node answered on the LAN at 230.0.0.1:{port}");
    } else {
        for node in &found {
            println!("{:<24} {}", node.name, MacText(&node.mac));
        }
    }
    Ok(if found.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
