//! The work of the `amoeba` commands, over any [`Rpc`] (the host peer, or a test's transport),
//! and their output as text and as JSON. Every RPC error comes back with what was being done
//! and the error's Amoeba name ("looking up `sys` in pool-1: STD_NOTFOUND").

use anyhow::{Result, anyhow};
use libamoeba::capability::Capability;
use libamoeba::client;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::transport::Rpc;
use libamoeba::servers::sys::Kstat;
use serde_json::{Value, json};
use std::fmt::Write;
use std::time::{Duration, Instant};

/// Bytes of STD_INFO text asked for.
pub const INFO_BYTES: usize = 4096;

/// Turns an RPC error into one saying what was being done.
pub fn rpc_context<T>(result: Result<T, ErrorCode>, doing: impl FnOnce() -> String) -> Result<T> {
    result.map_err(|code| {
        let hint = match code {
            ErrorCode::RPC_NOTFOUND => {
                " (no server of that port answered within the locate timeout)"
            }
            ErrorCode::RPC_FAILURE => {
                " (the server went away; the request may or may not have run)"
            }
            _ => "",
        };
        anyhow!("{}: {code}{hint}", doing())
    })
}

/// Follows `path` from the directory `root` (called `shown` in messages) by lookups.
pub fn walk(rpc: &impl Rpc, root: Capability, shown: &str, path: &[String]) -> Result<Capability> {
    let mut here = shown.to_string();
    let mut cap = root;
    for name in path {
        cap = rpc_context(client::dir_lookup(rpc, &cap, name), || {
            format!("looking up `{name}` in {here}")
        })?;
        here = format!("{here}/{name}");
    }
    Ok(cap)
}

/// A row of a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub capability: Capability,
}

/// Every row of the directory `dir` (called `shown` in messages), in name order (numbers,
/// such as `ps`'s pids, in numeric order first): SOAP lists rows in the order they came.
pub fn list(rpc: &impl Rpc, dir: &Capability, shown: &str) -> Result<Vec<Entry>> {
    let rows = rpc_context(client::dir_list(rpc, dir), || format!("listing {shown}"))?;
    let mut entries: Vec<Entry> = rows
        .into_iter()
        .map(|(name, capability)| Entry { name, capability })
        .collect();
    entries.sort_by_key(|e| (e.name.parse::<u64>().map_err(|_| ()), e.name.clone()));
    Ok(entries)
}

/// `[{"name": ..., "capability": ...}, ...]`.
pub fn entries_json(entries: &[Entry]) -> Value {
    let rows = entries
        .iter()
        .map(|e| json!({ "name": e.name, "capability": e.capability.to_string() }));
    Value::Array(rows.collect())
}

/// One line a row: the name, padded, then the capability.
pub fn entries_text(entries: &[Entry]) -> String {
    let width = entries.iter().map(|e| e.name.len()).max().unwrap_or(0);
    let mut text = String::new();
    for entry in entries {
        let _ = writeln!(text, "{:<width$}  {}", entry.name, entry.capability);
    }
    text
}

/// What the object `cap` (called `shown`) says about itself.
pub fn info(rpc: &impl Rpc, cap: &Capability, shown: &str) -> Result<String> {
    let mut buffer = vec![0; INFO_BYTES];
    let text = rpc_context(client::std_info(rpc, cap, &mut buffer), || {
        format!("asking {shown} for STD_INFO")
    })?;
    Ok(text.to_string())
}

/// The statistics of the node whose directory is `root` (called `shown`), from its `sys`.
pub fn kstat(rpc: &impl Rpc, root: Capability, shown: &str) -> Result<Kstat> {
    let sys = walk(rpc, root, shown, &["sys".to_string()])?;
    rpc_context(client::kstat(rpc, &sys), || {
        format!("asking {shown}/sys for KSTAT")
    })
}

/// The KSTAT fields by name, nanoseconds and bytes as they came.
pub fn kstat_json(k: &Kstat) -> Value {
    json!({
        "uptime_ns": k.uptime_ns,
        "memory_total": k.memory_total,
        "memory_free": k.memory_free,
        "heap_bytes": k.heap_bytes,
        "threads": k.threads,
        "processes": k.processes,
        "interrupts": k.interrupts,
        "context_switches": k.context_switches,
        "rpc": {
            "trans": k.rpc.trans,
            "getreq": k.rpc.getreq,
            "putrep": k.rpc.putrep,
            "failures": k.rpc.failures,
        },
        "flip": {
            "frames_in": k.flip.frames_in,
            "frames_out": k.flip.frames_out,
            "malformed": k.flip.malformed,
            "completed": k.flip.completed,
            "failed": k.flip.failed,
            "executed": k.flip.executed,
            "retransmissions": k.flip.retransmissions,
        },
    })
}

/// One line a field.
pub fn kstat_text(k: &Kstat) -> String {
    let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
    let r = &k.rpc;
    let f = &k.flip;
    [
        format!("uptime            {:.3} s", k.uptime_ns as f64 / 1e9),
        format!(
            "memory total      {} bytes ({:.1} MiB)",
            k.memory_total,
            mib(k.memory_total)
        ),
        format!(
            "memory free       {} bytes ({:.1} MiB)",
            k.memory_free,
            mib(k.memory_free)
        ),
        format!(
            "kernel heap       {} bytes ({:.1} MiB)",
            k.heap_bytes,
            mib(k.heap_bytes)
        ),
        format!("threads           {}", k.threads),
        format!("processes         {}", k.processes),
        format!("interrupts        {}", k.interrupts),
        format!("context switches  {}", k.context_switches),
        format!(
            "rpc               trans {}, getreq {}, putrep {}, failures {}",
            r.trans, r.getreq, r.putrep, r.failures
        ),
        format!(
            "flip frames       {} in, {} out, {} malformed",
            f.frames_in, f.frames_out, f.malformed
        ),
        format!(
            "remote rpc        {} answered, {} failed, {} served here, {} retransmissions",
            f.completed, f.failed, f.executed, f.retransmissions
        ),
    ]
    .map(|line| line + "\n")
    .concat()
}

/// A process of a node's `ps` directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    pub pid: String,
    pub capability: Capability,
    /// What the process server says of it.
    pub info: Result<String, ErrorCode>,
}

/// The processes of the node whose directory is `root` (called `shown`): the rows of its
/// `ps` directory, each with its STD_INFO (as the node's own `ps` program prints them).
pub fn ps(rpc: &impl Rpc, root: Capability, shown: &str) -> Result<Vec<Process>> {
    let ps = walk(rpc, root, shown, &["ps".to_string()])?;
    let rows = list(rpc, &ps, &format!("{shown}/ps"))?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut buffer = vec![0; INFO_BYTES];
            let info = client::std_info(rpc, &row.capability, &mut buffer).map(str::to_string);
            Process {
                pid: row.name,
                capability: row.capability,
                info,
            }
        })
        .collect())
}

/// `[{"pid": ..., "capability": ..., "info": ...}, ...]`, `"error"` instead of `"info"` where
/// STD_INFO failed.
pub fn processes_json(processes: &[Process]) -> Value {
    let rows = processes.iter().map(|p| {
        let mut row = json!({ "pid": p.pid, "capability": p.capability.to_string() });
        match &p.info {
            Ok(info) => row["info"] = json!(info),
            Err(code) => row["error"] = json!(code.to_string()),
        }
        row
    });
    Value::Array(rows.collect())
}

/// A count line, then one line a process: pid, info (or the error), capability.
pub fn processes_text(processes: &[Process]) -> String {
    let mut text = format!("{} processes\n", processes.len());
    for p in processes {
        let info = match &p.info {
            Ok(info) => info.clone(),
            Err(code) => format!("({code})"),
        };
        let _ = writeln!(text, "{:>5}  {info}  {}", p.pid, p.capability);
    }
    text
}

/// Timed calls, in order: how long each took, or its error.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoundTrips {
    pub results: Vec<Result<Duration, ErrorCode>>,
}

/// The fastest, middle and slowest of the calls that were answered.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub answered: usize,
    pub min: Duration,
    pub median: Duration,
    pub max: Duration,
    /// Their sum.
    pub total: Duration,
}

impl RoundTrips {
    /// `count` calls, `interval` apart (from one's end to the next one's start).
    pub fn measure(
        count: usize,
        interval: Duration,
        mut call: impl FnMut() -> Result<(), ErrorCode>,
    ) -> Self {
        let mut results = Vec::with_capacity(count);
        for seq in 0..count {
            if seq > 0 && !interval.is_zero() {
                std::thread::sleep(interval);
            }
            let start = Instant::now();
            results.push(call().map(|()| start.elapsed()));
        }
        Self { results }
    }

    pub fn summary(&self) -> Option<Summary> {
        let mut times: Vec<Duration> = self.results.iter().flatten().copied().collect();
        times.sort();
        let (&min, &max) = (times.first()?, times.last()?);
        let middle = times.len() / 2;
        let median = if times.len().is_multiple_of(2) {
            (times[middle - 1] + times[middle]) / 2
        } else {
            times[middle]
        };
        Some(Summary {
            answered: times.len(),
            min,
            median,
            max,
            total: times.iter().sum(),
        })
    }

    /// `{"calls": [{"seq", "rtt_ms" or "error"}...], "answered", "min_ms", "median_ms",
    /// "max_ms"}` (the last three null when nothing was answered).
    pub fn to_json(&self) -> Value {
        let calls = self
            .results
            .iter()
            .enumerate()
            .map(|(i, result)| match result {
                Ok(time) => json!({ "seq": i + 1, "rtt_ms": json_millis(*time) }),
                Err(code) => json!({ "seq": i + 1, "error": code.to_string() }),
            });
        let summary = self.summary();
        let pick = |f: fn(&Summary) -> Duration| summary.as_ref().map(|s| json_millis(f(s)));
        json!({
            "calls": calls.collect::<Vec<_>>(),
            "answered": summary.map_or(0, |s| s.answered),
            "min_ms": pick(|s| s.min),
            "median_ms": pick(|s| s.median),
            "max_ms": pick(|s| s.max),
        })
    }

    /// One line a call, then the summary line.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for (i, result) in self.results.iter().enumerate() {
            let _ = match result {
                Ok(time) => writeln!(text, "seq {}: {:.3} ms", i + 1, millis(*time)),
                Err(code) => writeln!(text, "seq {}: {code}", i + 1),
            };
        }
        let calls = self.results.len();
        let _ = match self.summary() {
            Some(s) => writeln!(
                text,
                "{} of {calls} answered; round trip min {:.3} / median {:.3} / max {:.3} ms",
                s.answered,
                millis(s.min),
                millis(s.median),
                millis(s.max)
            ),
            None => writeln!(text, "0 of {calls} answered"),
        };
        text
    }

    /// Whether every call was answered.
    pub fn all_answered(&self) -> bool {
        self.results.iter().all(Result::is_ok)
    }
}

/// Milliseconds with microseconds as decimals.
pub fn millis(time: Duration) -> f64 {
    time.as_secs_f64() * 1e3
}

/// Milliseconds to the microsecond, for JSON (no long binary fractions).
fn json_millis(time: Duration) -> f64 {
    (millis(time) * 1e3).round() / 1e3
}

/// One echo of `data` through the echo server `cap`: the data must come back unchanged
/// (anything else is [`client::GARBLED`]).
pub fn echo_once(rpc: &impl Rpc, cap: &Capability, data: &[u8]) -> Result<(), ErrorCode> {
    let mut back = vec![0; data.len()];
    let len = client::echo(rpc, cap, data, &mut back)?;
    if back.get(..len) == Some(data) {
        Ok(())
    } else {
        Err(client::GARBLED)
    }
}

/// Bytes of request data carried per second by the answered calls, one way.
pub fn throughput(bytes_per_call: usize, summary: &Summary) -> f64 {
    let seconds = summary.total.as_secs_f64();
    if seconds == 0.0 {
        return 0.0;
    }
    (bytes_per_call * summary.answered) as f64 / seconds
}

#[cfg(test)]
mod tests;
