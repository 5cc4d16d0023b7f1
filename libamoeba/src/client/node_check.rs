//! A check of a node's kernel servers through the stubs, written once so that a process
//! (`programs/src/bin/rpc_check.rs`) and a kernel thread (`selftest=rpc`) run the same
//! requests: every server answers its commands, forged capabilities get STD_CAPBAD, and genuine
//! ones lacking a right get STD_DENIED. Each check goes to a [`Report`] with a one-line detail.

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::capability::Capability;
use crate::client;
use crate::rpc::codes::ErrorCode;
use crate::rpc::transport::Rpc;
use crate::servers::{random, sys};
use crate::soap::server::COLUMNS;

/// Where check results go: `what` passed or not, and what was seen.
pub trait Report {
    fn check(&mut self, what: &str, ok: bool, detail: fmt::Arguments<'_>);
}

impl<F: FnMut(&str, bool, fmt::Arguments<'_>)> Report for F {
    fn check(&mut self, what: &str, ok: bool, detail: fmt::Arguments<'_>) {
        self(what, ok, detail)
    }
}

/// The capabilities of the kernel servers, from the directory.
#[derive(Clone, Copy, Debug)]
pub struct KernelServers {
    pub sys: Capability,
    pub tod: Capability,
    pub random: Capability,
    pub proc: Capability,
    pub tty: Capability,
    pub ps: Capability,
}

/// A result for a detail line: the value, or the error by its 5.3 name.
pub struct Shown<'a, T>(pub &'a Result<T, ErrorCode>);

impl<T: fmt::Debug> fmt::Display for Shown<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(value) => write!(f, "{value:?}"),
            Err(code) => write!(f, "{code}"),
        }
    }
}

/// Lists `root`, asks every entry but `skip` for STD_INFO, and finds the kernel servers.
pub fn directory(
    rpc: &impl Rpc,
    root: &Capability,
    skip: &[&str],
    report: &mut impl Report,
) -> Option<KernelServers> {
    let names = client::dir_list(rpc, root);
    let listed: Vec<&str> = names.iter().flatten().map(|(n, _)| n.as_str()).collect();
    report.check("dir list", names.is_ok(), format_args!("{listed:?}"));
    let names = names.ok()?;
    for (name, cap) in names
        .iter()
        .filter(|(name, _)| !skip.contains(&name.as_str()))
    {
        let mut buffer = [0u8; 128];
        let info = client::std_info(rpc, cap, &mut buffer);
        report.check(
            "std_info",
            info.is_ok(),
            format_args!("{name}: {}", Shown(&info)),
        );
    }
    let find = |name: &str| names.iter().find(|(n, _)| n == name).map(|(_, c)| *c);
    Some(KernelServers {
        sys: find("sys")?,
        tod: find("tod")?,
        random: find("random")?,
        proc: find("proc")?,
        tty: find("tty")?,
        ps: find("ps")?,
    })
}

/// Each kernel server's own commands. The line written through tty must then be in the kernel
/// log PRINTBUF returns.
pub fn commands(rpc: &impl Rpc, servers: &KernelServers, report: &mut impl Report) {
    let kstat = client::kstat(rpc, &servers.sys);
    let ok = kstat
        .as_ref()
        .is_ok_and(|k| k.threads >= 1 && k.rpc.trans > 0 && k.memory_free > 0);
    report.check("sys kstat", ok, format_args!("{}", Shown(&kstat)));
    let line = b"node check: written through the tty server\n";
    let written = client::tty_write(rpc, &servers.tty, line);
    report.check(
        "tty write",
        written == Ok(line.len()),
        format_args!("{}", Shown(&written)),
    );
    let mut log = vec![0u8; 4096];
    let text = client::printbuf(rpc, &servers.sys, &mut log)
        .map(|n| String::from_utf8_lossy(&log[..n]).into_owned());
    report.check(
        "sys printbuf",
        text.as_ref()
            .is_ok_and(|t| t.contains("node check: written through the tty server")),
        format_args!(
            "{} bytes of kernel log",
            text.as_ref().map_or(0, String::len)
        ),
    );
    let time = client::gettime(rpc, &servers.tod);
    let ok = time.as_ref().is_ok_and(|t| t.secs > 1_600_000_000);
    report.check("tod gettime", ok, format_args!("{}", Shown(&time)));
    let mut bytes = [0u8; 1024];
    let got = client::getrandom(rpc, &servers.random, &mut bytes);
    let distinct = bytes.iter().collect::<BTreeSet<_>>().len();
    report.check(
        "random getrandom",
        got.is_ok() && distinct > 100,
        format_args!("1024 bytes, {distinct} distinct values"),
    );
    let load = client::ps_getload(rpc, &servers.proc);
    let ok = load
        .as_ref()
        .is_ok_and(|l| l.free_memory > 0 && l.speed_mhz > 0);
    report.check("proc getload", ok, format_args!("{}", Shown(&load)));
    let processes = client::dir_list(rpc, &servers.ps).map(|rows| rows.len());
    report.check(
        "proc ps directory",
        processes.is_ok(),
        format_args!("{} processes", Shown(&processes)),
    );
}

/// Forged capabilities and missing rights are refused.
pub fn refusals(
    rpc: &impl Rpc,
    root: &Capability,
    servers: &KernelServers,
    report: &mut impl Report,
) {
    for (name, cap) in [("sys", servers.sys), ("tod", servers.tod), ("dir", *root)] {
        let mut forged = cap;
        forged.check[0] ^= 1;
        let mut buffer = [0u8; 64];
        let answer = client::std_info(rpc, &forged, &mut buffer).map(|_| ());
        report.check(
            "forged capability refused",
            answer == Err(ErrorCode::STD_CAPBAD),
            format_args!("{name}: {}", Shown(&answer)),
        );
    }
    let boot = client::boot(rpc, &servers.sys, sys::BootAction::Halt);
    report.check(
        "boot without the admin right",
        boot == Err(ErrorCode::STD_DENIED),
        format_args!("{}", Shown(&boot)),
    );
    let append = client::std_restrict(rpc, root, COLUMNS)
        .and_then(|dir| client::dir_append(rpc, &dir, "intruder", &servers.tod));
    report.check(
        "append with a read-only directory",
        append == Err(ErrorCode::STD_DENIED),
        format_args!("{}", Shown(&append)),
    );
    let mut bytes = [0u8; 8];
    let denied = client::std_restrict(rpc, &servers.random, !random::READ)
        .and_then(|cap| client::getrandom(rpc, &cap, &mut bytes));
    report.check(
        "getrandom without the read right",
        denied == Err(ErrorCode::STD_DENIED),
        format_args!("{}", Shown(&denied)),
    );
}
