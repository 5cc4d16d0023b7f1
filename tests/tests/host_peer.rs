//! Tier 3: the host peer (amunix's `HostPeer`, what the `amoeba` command runs on) against real
//! nodes of the test-lan profile. On a virtual LAN it finds nodes by name with the link check
//! (their answers carry their root directories), lists each directory and calls every server
//! in it; a node that dies makes the next call fail within the protocol's own bound, and the
//! same node booted again is found again under a new directory capability. On QEMU's user
//! network it reaches a node by FLIP inside UDP (`ip=dhcp flip-udp=4146`, a forwarded host
//! port), by the owner capability the node printed on its console.
//!
//! The checks drive amunix as a library (`nodes::find_named`, `HostPeer`, `RoundTrips` for the
//! ping): the `amoeba` binary is built only for amunix's own tests (amunix/tests/peer.rs runs
//! it against a node of host servers), and building it from here would run cargo inside a
//! test.

use amoeba_build::qemu::{Lan, Nic, QemuSpec, UdpForward};
use amoeba_tests::Node;
use amoeba_tests::images::{built_test_profile, command, launch_lan_node, start_lan_node};
use amoeba_tests::lan::{LanSeat, port_for};
use amunix::commands::{self, RoundTrips};
use amunix::entropy::random_mac;
use amunix::medium::{LanMedium, UdpMedium};
use amunix::nodes;
use amunix::peer::HostPeer;
use libamoeba::capability::Capability;
use libamoeba::client;
use libamoeba::remote_rpc::timers::retransmit_window;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::transport::{DEFAULT_LOCATE_TIMEOUT_MS, Rpc};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// Hard limit of every node: boot under TCG beside the other tests' nodes, the checks, and
/// the dead-node wait.
const LIMIT: Duration = Duration::from_secs(120);
/// How long the link check looks for a node that already printed its ready line.
const FIND_WAIT: Duration = Duration::from_secs(10);
const FIND_INTERVAL: Duration = Duration::from_millis(250);
/// What the root directory of a test-lan node lists: every server of the profile but the
/// directory itself, and proc's `ps` directory.
const ROOT_NAMES: [&str; 7] = ["echo", "proc", "ps", "random", "sys", "tod", "tty"];
const BULK_BYTES: usize = 30_000;
/// The UDP port the node carries FLIP in (`flip-udp=`).
const GUEST_FLIP_UDP: u16 = 4146;
/// What QEMU's user network leases to its first guest, and its router.
const DHCP_LINE: &str = "got 10.0.2.15/24 from DHCP (router 10.0.2.2)";
/// Beyond the protocol's own timers, for the host's scheduling of this process.
const SCHEDULING_SLACK: Duration = Duration::from_millis(1500);

fn ready_line(name: &str) -> String {
    format!("amoeba: node {name} ready")
}

/// The consoles of `nodes`, for assertion messages.
fn logs(nodes: &[(&str, &Node)]) -> String {
    nodes
        .iter()
        .map(|(name, node)| format!("--- {name} ---\n{}", node.log()))
        .collect()
}

/// A peer on LAN `port` with a seat of its own.
fn lan_peer(port: u16) -> HostPeer {
    let seat = LanSeat::join(port, random_mac()).unwrap_or_else(|e| panic!("joining: {e}"));
    HostPeer::new(LanMedium::new(seat))
}

/// The node called `name` on LAN `port`, by the link check, and its root directory (it must
/// name one); `logs` on failure.
fn find(port: u16, name: &str, logs: impl Fn() -> String) -> (nodes::Node, Capability) {
    let seat = LanSeat::join(port, random_mac()).unwrap_or_else(|e| panic!("joining: {e}"));
    let found = nodes::find_named(&seat, name, FIND_WAIT, FIND_INTERVAL)
        .unwrap_or_else(|e| panic!("link check on LAN {port}: {e}"));
    let node = found.unwrap_or_else(|seen| {
        panic!(
            "no node {name} answered the link check within {FIND_WAIT:?} (seen: {seen:?})\n{}",
            logs()
        )
    });
    let directory = node
        .directory
        .unwrap_or_else(|| panic!("{name} answered without a directory: {node:?}\n{}", logs()));
    (node, directory)
}

/// A call's outcome with the error's Amoeba name.
fn shown(result: &Result<(), ErrorCode>) -> String {
    match result {
        Ok(()) => "answered".to_string(),
        Err(code) => code.to_string(),
    }
}

fn bulk(bytes: usize) -> Vec<u8> {
    (0..bytes).map(|i| (i * 7 % 251) as u8).collect()
}

/// Lists the root directory `root` of node `name`, asks every entry for STD_INFO, `sys` for
/// KSTAT, and sends an echo of `bulk_bytes`; returns the echo server's capability.
fn check_node(
    peer: &impl Rpc,
    root: &Capability,
    name: &str,
    bulk_bytes: usize,
    logs: &dyn Fn() -> String,
) -> Capability {
    let started = Instant::now();
    let entries =
        client::dir_list(peer, root).unwrap_or_else(|e| panic!("listing {name}: {e}\n{}", logs()));
    let mut names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ROOT_NAMES,
        "the root directory of {name}\n{}",
        logs()
    );
    let mut buffer = vec![0; commands::INFO_BYTES];
    for (entry, cap) in &entries {
        let info = client::std_info(peer, cap, &mut buffer)
            .unwrap_or_else(|e| panic!("STD_INFO of {name}/{entry}: {e}\n{}", logs()));
        assert!(!info.is_empty(), "{name}/{entry} says nothing\n{}", logs());
    }
    let capability = |wanted: &str| {
        entries
            .iter()
            .find(|(entry, _)| entry == wanted)
            .map(|(_, cap)| *cap)
            .unwrap_or_else(|| panic!("{name} has no {wanted}\n{}", logs()))
    };
    let stats = client::kstat(peer, &capability("sys"))
        .unwrap_or_else(|e| panic!("KSTAT of {name}/sys: {e}\n{}", logs()));
    assert!(stats.threads > 0, "{name}: {stats:?}\n{}", logs());
    let echo = capability("echo");
    let started_echo = Instant::now();
    let result = commands::echo_once(peer, &echo, &bulk(bulk_bytes));
    let echo_time = started_echo.elapsed();
    assert_eq!(
        result,
        Ok(()),
        "{bulk_bytes}-byte echo through {name} (after {echo_time:?})\n{}",
        logs()
    );
    println!(
        "{name}: {} entries, STD_INFO of each, KSTAT ({} threads), {bulk_bytes}-byte echo in \
         {echo_time:?}; all in {:?}",
        entries.len(),
        stats.threads,
        started.elapsed()
    );
    echo
}

#[test]
fn host_peer_lists_and_calls_every_node() {
    let image = built_test_profile("test-lan");
    let port = port_for(0);
    let named = [("peer-ne2000", Nic::Ne2000), ("peer-virtio", Nic::Virtio)];
    // Both boot at once; then each must be ready.
    let mut nodes: Vec<Node> = (1..)
        .zip(named)
        .map(|(index, (name, card))| {
            let words = [format!("node={name}")];
            launch_lan_node(&image, card, port, index, &words, false, LIMIT)
        })
        .collect();
    for ((name, _), node) in named.iter().zip(&mut nodes) {
        if let Err(failure) = node.wait_for(&ready_line(name)) {
            panic!("{name}: {failure}");
        }
    }
    let all = || logs(&[(named[0].0, &nodes[0]), (named[1].0, &nodes[1])]);
    let peer = lan_peer(port);
    for (index, (name, _)) in (1..).zip(named) {
        let (found, root) = find(port, name, all);
        assert_eq!(
            found.mac,
            Lan::for_node(port, index).mac,
            "{found:?}\n{}",
            all()
        );
        check_node(&peer, &root, name, BULK_BYTES, &all);
        // What `amoeba ping NODE -c 5` does: STD_INFO round trips to the root directory.
        let mut buffer = vec![0; commands::INFO_BYTES];
        let trips = RoundTrips::measure(5, Duration::ZERO, || {
            client::std_info(&peer, &root, &mut buffer).map(drop)
        });
        assert!(trips.all_answered(), "ping {name}: {trips:?}\n{}", all());
        print!("ping {name}: {}", trips.to_text());
    }
}

#[test]
fn a_dead_node_fails_its_clients_in_bounded_time_and_a_rebooted_node_is_found_again() {
    const NAME: &str = "phoenix";
    let image = built_test_profile("test-lan");
    let port = port_for(0);
    let words = [format!("node={NAME}")];
    let mut first = start_lan_node(&image, Nic::Virtio, port, 1, &words, LIMIT);
    let (_, old_root) = find(port, NAME, || first.log());
    let peer = lan_peer(port);
    let echo = client::dir_lookup(&peer, &old_root, "echo")
        .unwrap_or_else(|e| panic!("looking up echo: {e}\n{}", first.log()));
    let answered = commands::echo_once(&peer, &echo, b"before");
    assert_eq!(answered, Ok(()), "echo before the kill\n{}", first.log());

    first.kill();
    // The port's server is cached: the REQUEST is retransmitted for the whole window, then
    // RPC_FAILURE. Had the cache forgotten it, the locate would end in RPC_NOTFOUND after the
    // locate timeout. Whichever comes last bounds the call.
    assert_eq!(peer.locate_timeout_ms(), DEFAULT_LOCATE_TIMEOUT_MS);
    let protocol_bound = Duration::from_millis(retransmit_window().max(DEFAULT_LOCATE_TIMEOUT_MS));
    let started = Instant::now();
    let result = commands::echo_once(&peer, &echo, b"after");
    let took = started.elapsed();
    println!(
        "echo to the dead node: {} after {took:?} (bound {protocol_bound:?} + \
         {SCHEDULING_SLACK:?}: retransmit window {} ms, locate timeout {DEFAULT_LOCATE_TIMEOUT_MS} \
         ms)",
        shown(&result),
        retransmit_window(),
    );
    assert!(
        matches!(
            result,
            Err(ErrorCode::RPC_FAILURE | ErrorCode::RPC_NOTFOUND)
        ),
        "echo to a dead node: {}\n{}",
        shown(&result),
        first.log()
    );
    assert!(
        took <= protocol_bound + SCHEDULING_SLACK,
        "echo to a dead node took {took:?}, beyond {protocol_bound:?} + {SCHEDULING_SLACK:?}\n{}",
        first.log()
    );

    // The same machine (card address) boots again under the same name.
    let second = start_lan_node(&image, Nic::Virtio, port, 1, &words, LIMIT);
    let both = || logs(&[("first boot", &first), ("second boot", &second)]);
    let (found, new_root) = find(port, NAME, both);
    assert_eq!(
        found.mac,
        Lan::for_node(port, 1).mac,
        "{found:?}\n{}",
        both()
    );
    assert_ne!(new_root, old_root, "ports are random per boot\n{}", both());
    let new_echo = check_node(&peer, &new_root, NAME, BULK_BYTES, &both);
    assert_ne!(new_echo, echo, "{}", both());
    // The old boot's capabilities name ports nobody serves any more.
    peer.set_locate_timeout_ms(600);
    let stale = commands::echo_once(&peer, &echo, b"stale");
    assert_eq!(
        stale,
        Err(ErrorCode::RPC_NOTFOUND),
        "{} from the old echo capability\n{}",
        shown(&stale),
        both()
    );
}

/// A UDP port on loopback that was free a moment ago.
fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap_or_else(|e| panic!("no free UDP port on loopback: {e}"));
    socket
        .local_addr()
        .unwrap_or_else(|e| panic!("no local address: {e}"))
        .port()
}

/// Waits until the console shows every one of `texts`, in any order.
fn wait_for_all(node: &mut Node, texts: &[&str]) {
    while !texts.iter().all(|text| node.log().contains(text)) {
        // Any line: the log is looked at again after each one.
        node.wait_for("")
            .unwrap_or_else(|e| panic!("waiting for {texts:?}: {e}"));
    }
}

/// The owner capability `server NAME: CAP` the node printed.
fn owner_capability(log: &str, server: &str) -> Capability {
    let prefix = format!("server {server}: ");
    log.lines()
        .find_map(|line| line.trim().strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line:\n{log}"))
        .parse()
        .unwrap_or_else(|e| panic!("the {server} capability: {e:?}\n{log}"))
}

#[test]
fn a_node_is_reached_by_flip_inside_udp() {
    const NAME: &str = "over-udp";
    let image = built_test_profile("test-lan");
    let host_port = free_udp_port();
    let mut spec = QemuSpec::for_image(&image);
    spec.nic = Some(Nic::Virtio);
    spec.udp_forward = Some(UdpForward {
        host: host_port,
        guest: GUEST_FLIP_UDP,
    });
    spec.append.extend([
        format!("node={NAME}"),
        "ip=dhcp".to_string(),
        format!("flip-udp={GUEST_FLIP_UDP}"),
    ]);
    let mut node = Node::start(&command(&spec), LIMIT).unwrap_or_else(|e| panic!("{e}"));
    wait_for_all(&mut node, &[&ready_line(NAME), DHCP_LINE, "server dir: "]);
    let root = owner_capability(&node.log(), "dir");

    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, host_port));
    let medium = UdpMedium::connect(address).unwrap_or_else(|e| panic!("UDP to {address}: {e}"));
    let peer = HostPeer::new(medium);
    check_node(&peer, &root, NAME, BULK_BYTES, &|| node.log());
    let mut buffer = vec![0; commands::INFO_BYTES];
    let trips = RoundTrips::measure(5, Duration::ZERO, || {
        client::std_info(&peer, &root, &mut buffer).map(drop)
    });
    assert!(
        trips.all_answered(),
        "ping over UDP: {trips:?}\n{}",
        node.log()
    );
    print!("ping {NAME} over UDP: {}", trips.to_text());
}
