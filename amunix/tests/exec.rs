//! Tier 3: `amoeba exec` against real pool nodes. The `amoeba` command sends a program's
//! segments to the node's process server, starts it with PS_EXEC, prints its output (it serves
//! the process's TTY) and exits with its status (it is the owner, told by PS_CHECKPOINT);
//! Ctrl-C ends the remote process. Bad input to the process server is refused with the Amoeba
//! error and starts nothing, and the node's memory comes back.

mod common;

use amoeba_build::qemu::Nic;
use amoeba_tests::lan::port_for;
use common::{amoeba, memory_and_processes, memory_returns, peer_and_root, pool_node, run, text};
use libamoeba::capability::{Capability, Port};
use libamoeba::client;
use libamoeba::process::{ArchMagic, ProcessDescriptor, SegmentDescriptor, SegmentType};
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::servers::proc::READ;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn exec_prints_on_the_host_and_exits_with_the_programs_status() {
    let port = port_for(41);
    let node = pool_node("exec-1", port, 1, Nic::Virtio);
    let (peer, root) = peer_and_root(port, "exec-1", &node);
    let (before, _) = memory_and_processes(&peer, &root);

    let mut hello = amoeba(port);
    hello.args(["exec", "exec-1", "hello", "--", "from", "the", "host"]);
    let output = run(hello, &node);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{stderr}\n{}",
        node.log()
    );
    assert_eq!(stdout, "hello from hello from the host\n", "{stderr}");

    let mut status = amoeba(port);
    status.args(["exec", "exec-1", "status", "--", "7", "bye"]);
    let output = run(status, &node);
    assert_eq!(output.status.code(), Some(7), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "status: bye\n");
    memory_returns(&peer, &root, before, &node);
}

#[test]
fn ctrl_c_ends_the_remote_process_and_detach_leaves_it_running() {
    let port = port_for(42);
    let node = pool_node("exec-2", port, 1, Nic::Ne2000);
    let (peer, root) = peer_and_root(port, "exec-2", &node);
    let (before, _) = memory_and_processes(&peer, &root);

    let mut counter = amoeba(port);
    counter.args(["exec", "exec-2", "counter", "--", "c"]);
    let mut child = counter
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running amoeba: {e}"));
    let _watchdog = common::watchdog(&child);
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let third = lines.find(|line| line.as_ref().is_ok_and(|l| l == "counter c: 3"));
    assert!(third.is_some(), "no third report\n{}", node.log());
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    assert!(interrupted.is_ok_and(|s| s.success()));
    let status = child.wait().unwrap_or_else(|e| panic!("waiting: {e}"));
    assert_eq!(status.code(), Some(130), "{}", node.log());
    memory_returns(&peer, &root, before, &node);

    // Detached: the capability comes back at once, the output goes to the node's console.
    let mut detached = amoeba(port);
    detached.args(["exec", "exec-2", "--detach", "hello", "--", "alone"]);
    let output = run(detached, &node);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(stdout.trim().parse::<Capability>().is_ok(), "{stdout}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !node.log().contains("hello from hello alone") {
        assert!(
            Instant::now() < deadline,
            "no output on the node\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    memory_returns(&peer, &root, before, &node);
}

#[test]
fn lines_typed_to_amoeba_exec_reach_a_program_that_reads_its_tty() {
    use std::io::Write;
    let port = port_for(44);
    let node = pool_node("exec-4", port, 1, Nic::Virtio);
    let mut lines = amoeba(port);
    lines
        .args(["exec", "exec-4", "lines"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = lines
        .spawn()
        .unwrap_or_else(|e| panic!("running amoeba: {e}"));
    let _watchdog = common::watchdog(&child);
    let mut stdin = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut answers = BufReader::new(stdout).lines().map_while(Result::ok);
    let _ = stdin.write_all(b"one\ntwo words\n");
    let _ = stdin.flush();
    assert_eq!(
        answers.next().as_deref(),
        Some("lines: 1: one"),
        "{}",
        node.log()
    );
    assert_eq!(answers.next().as_deref(), Some("lines: 2: two words"));
    let _ = stdin.write_all(b"quit\n");
    drop(stdin);
    assert_eq!(answers.next().as_deref(), Some("lines: 2 lines"));
    let status = child.wait().unwrap_or_else(|e| panic!("waiting: {e}"));
    assert_eq!(status.code(), Some(2), "{}", node.log());
}

/// A one-page-text process whose text is read from `text`.
fn descriptor(text: Capability) -> ProcessDescriptor {
    use libamoeba::process::ThreadDescriptor;
    use libamoeba::process::layout::{MAIN_STACK_BASE, MAIN_STACK_BYTES, USER_TEXT_BASE};
    let segment = |cap, address, length, kind| SegmentDescriptor {
        cap,
        offset: 0,
        address,
        length,
        kind,
    };
    ProcessDescriptor {
        arch: ArchMagic::X86_64,
        self_cap: Capability::NULL,
        owner_cap: Capability::NULL,
        segments: vec![
            segment(
                text,
                USER_TEXT_BASE,
                4096,
                SegmentType::TEXT | SegmentType::RO,
            ),
            segment(
                Capability::NULL,
                MAIN_STACK_BASE,
                MAIN_STACK_BYTES,
                SegmentType::DATA | SegmentType::RW,
            ),
        ],
        threads: vec![ThreadDescriptor {
            idle: true,
            pc: USER_TEXT_BASE,
            sp: MAIN_STACK_BASE + MAIN_STACK_BYTES - 8,
            ..ThreadDescriptor::default()
        }],
    }
}

#[test]
fn bad_exec_requests_are_refused_and_start_nothing() {
    let port = port_for(43);
    let node = pool_node("exec-3", port, 1, Nic::Virtio);
    let (peer, root) = peer_and_root(port, "exec-3", &node);
    let (before, _) = memory_and_processes(&peer, &root);
    let proc = client::dir_lookup(&peer, &root, "proc").unwrap_or_else(|e| panic!("proc: {e}"));

    // A corrupt image never leaves the host.
    let junk = std::env::temp_dir().join(format!("amoeba-junk-{}.process", std::process::id()));
    std::fs::write(&junk, b"\x1f\x8b not really gzip").unwrap_or_else(|e| panic!("{e}"));
    let mut corrupt = amoeba(port);
    corrupt.arg("exec").arg("exec-3").arg(&junk);
    let output = run(corrupt, &node);
    let _ = std::fs::remove_file(&junk);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("is not a process image"),
        "{}",
        text(&output.stderr)
    );

    // Segments that cannot be read, a descriptor the layout rules refuse, too much memory, no
    // right to exec: each refused with its Amoeba error.
    let nowhere = Capability {
        port: Port([0x5A; 6]),
        object: 1,
        rights: 0xff,
        check: [1; 6],
    };
    peer.set_locate_timeout_ms(1500);
    assert_eq!(
        client::ps_exec(&peer, &proc, &descriptor(nowhere)),
        Err(ErrorCode::RPC_NOTFOUND),
        "unreadable segment\n{}",
        node.log()
    );
    let segment = client::ps_seg_create(&peer, &proc, 4096).unwrap_or_else(|e| panic!("{e}"));
    let mut overlapping = descriptor(segment);
    overlapping.segments[1].address = overlapping.segments[0].address;
    assert_eq!(
        client::ps_exec(&peer, &proc, &overlapping),
        Err(ErrorCode::STD_ARGBAD)
    );
    assert_eq!(
        client::ps_seg_create(&peer, &proc, 200 << 20),
        Err(ErrorCode::STD_NOMEM)
    );
    let look_only = client::std_restrict(&peer, &proc, READ).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        client::ps_exec(&peer, &look_only, &descriptor(segment)),
        Err(ErrorCode::STD_DENIED)
    );
    assert_eq!(client::std_destroy(&peer, &segment), Ok(()));
    memory_returns(&peer, &root, before, &node);
    // The node still runs programs.
    let mut hello = amoeba(port);
    hello.args(["exec", "exec-3", "hello"]);
    assert_eq!(run(hello, &node).status.code(), Some(0), "{}", node.log());
}
