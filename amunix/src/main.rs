//! `amoeba`: talk to the Amoeba nodes on a virtual LAN from the host, as a plain user process.
//!
//! `amoeba nodes [--lan-port P] [--wait-ms MS] [--json]`: the nodes that answer a link check,
//! with their root directories.
//!
//! `amoeba [--udp HOST:PORT] [--locate-timeout-ms MS] dir ls | info | kstat | ps | ping | echo
//! NODE[/PATH]`, `amoeba serve-echo`: RPC through a host peer (`amunix::cli`, `amunix::peer`).
//!
//! `amoeba relay --from-port A --to-port B [--drop P] [--duplicate P] [--reorder P] [--seed N]
//! [--duration-ms MS] [--report-ms MS] [--json]`: passes frames between LANs A and B, both ways,
//! mistreating the given shares of them (`amunix::relay`); runs until killed or for the given
//! time, reporting its counters on stderr every few seconds and once more at the end.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use amunix::cli::{PeerCommand, PeerOptions};
use amunix::lan::{LAN_GROUP, LanSeat};
use amunix::nodes;
use amunix::relay::{DirectionCounts, Mistreatment, Relay, RelayCounts};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

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
    #[command(flatten)]
    peer: PeerOptions,
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
    #[command(flatten)]
    Peer(PeerCommand),
    /// Pass frames between two LANs, both ways, dropping, duplicating and reordering the given
    /// shares of them: a lossy network for tests and benchmarks
    Relay {
        /// UDP port of LAN A (frames go from A to B and from B to A)
        #[arg(long, value_name = "PORT")]
        from_port: u16,
        /// UDP port of LAN B
        #[arg(long, value_name = "PORT")]
        to_port: u16,
        /// Percentage of frames not passed on (0 to 100, fractions allowed)
        #[arg(long, value_name = "PERCENT", default_value_t = 0.0, value_parser = percentage)]
        drop: f64,
        /// Percentage of the frames passed on that are sent twice
        #[arg(long, value_name = "PERCENT", default_value_t = 0.0, value_parser = percentage)]
        duplicate: f64,
        /// Percentage of the frames passed on that are held back until 1 to 3 later frames (or
        /// 20 ms) have passed
        #[arg(long, value_name = "PERCENT", default_value_t = 0.0, value_parser = percentage)]
        reorder: f64,
        /// Seed of the choice of frames (the same seed and traffic, the same choice)
        #[arg(long, value_name = "N", default_value_t = 0)]
        seed: u64,
        /// Stop after this long (default: run until killed)
        #[arg(long, value_name = "MS")]
        duration_ms: Option<u64>,
        /// Print the counters on stderr this often (0: never)
        #[arg(long, value_name = "MS", default_value_t = 5000)]
        report_ms: u64,
    },
}

/// A share in percent, from 0 to 100.
fn percentage(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("must be a percentage from 0 to 100, not {text}"))
    }
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
        Command::Peer(command) => amunix::cli::run(command, &cli.peer, cli.lan_port, cli.json),
        Command::Relay {
            from_port,
            to_port,
            drop,
            duplicate,
            reorder,
            seed,
            duration_ms,
            report_ms,
        } => {
            let mistreatment = Mistreatment {
                drop_percent: drop,
                duplicate_percent: duplicate,
                reorder_percent: reorder,
                seed,
            };
            let duration = duration_ms.map(Duration::from_millis);
            let report = (report_ms > 0).then(|| Duration::from_millis(report_ms));
            relay(from_port, to_port, mistreatment, duration, report, cli.json)
        }
    }
}

/// Runs a relay for `duration` (or until killed), its counters on stderr every `report` and
/// on stdout at the end.
fn relay(
    from_port: u16,
    to_port: u16,
    mistreatment: Mistreatment,
    duration: Option<Duration>,
    report: Option<Duration>,
    json: bool,
) -> Result<ExitCode> {
    let relay = Relay::new(from_port, to_port, mistreatment).context("cannot start the relay")?;
    eprintln!(
        "amoeba: relaying {LAN_GROUP}:{from_port} <-> {LAN_GROUP}:{to_port} ({mistreatment})"
    );
    let relay = relay.spawn().context("cannot start the relay")?;
    let started = Instant::now();
    let end = duration.map(|duration| started + duration);
    let mut next_report = report.map(|report| started + report);
    while relay.is_running() {
        let now = Instant::now();
        if end.is_some_and(|end| now >= end) {
            break;
        }
        if let (Some(at), Some(report)) = (next_report, report)
            && now >= at
        {
            eprintln!("{}", counts_text(from_port, to_port, &relay.counts()));
            next_report = Some(at + report);
        }
        let mut nap = Duration::from_millis(50);
        for at in [end, next_report].into_iter().flatten() {
            nap = nap.min(at.saturating_duration_since(now));
        }
        std::thread::sleep(nap);
    }
    let counts = relay.stop().context("the relay stopped")?;
    if json {
        let direction = |from: u16, to: u16, counts: &DirectionCounts| {
            serde_json::json!({
                "from_port": from,
                "to_port": to,
                "received": counts.received,
                "forwarded": counts.forwarded,
                "dropped": counts.dropped,
                "duplicated": counts.duplicated,
                "reordered": counts.reordered,
                "echoes": counts.echoes,
                "send_errors": counts.send_errors,
            })
        };
        println!(
            "{}",
            serde_json::json!([
                direction(from_port, to_port, &counts.a_to_b),
                direction(to_port, from_port, &counts.b_to_a),
            ])
        );
    } else {
        println!("{}", counts_text(from_port, to_port, &counts));
    }
    Ok(ExitCode::SUCCESS)
}

fn counts_text(from_port: u16, to_port: u16, counts: &RelayCounts) -> String {
    format!(
        "{LAN_GROUP}:{from_port} -> {to_port}: {}\n{LAN_GROUP}:{to_port} -> {from_port}: {}",
        counts.a_to_b, counts.b_to_a
    )
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
        println!("{}", nodes::to_json(&found));
    } else if found.is_empty() {
        println!("no node answered on the LAN at 230.0.0.1:{port}");
    } else {
        print!("{}", nodes::to_text(&found));
    }
    Ok(if found.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
