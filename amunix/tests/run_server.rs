//! Tier 3: run servers with three pool processors (`amoeba-build cluster --profile run
//! --profile pool:3` in miniature, with a second run node that never moves processes). `amoeba
//! exec --run` of the placing run server puts each new process on the least loaded pool
//! processor; processes handed to the rebalancing one that all started on one node are
//! spread two, two, two by migration, and none of them restarts.

mod common;

use amoeba_build::qemu::Nic;
use amoeba_tests::Node;
use amoeba_tests::lan::port_for;
use amunix::peer::HostPeer;
use common::{
    Foreground, assert_counted_once, peer_and_root, pool_node, process_names, report, run_node,
};
use libamoeba::capability::Capability;
use std::time::{Duration, Instant};

const POOL: [&str; 3] = ["runp-a", "runp-b", "runp-c"];

/// The rebalancing run server's node.
const BALANCING: &str = "runs-1";
/// The node of the run server that only places processes.
const PLACING: &str = "runf-1";

/// The run nodes and the three pool processors on LAN `port`.
struct Cluster {
    port: u16,
    run: Node,
    fixed: Node,
    pool: Vec<Node>,
}

impl Cluster {
    fn start(port: u16) -> Self {
        let run = run_node(BALANCING, port, 1, Nic::Virtio, false);
        let fixed = run_node(PLACING, port, 5, Nic::Ne2000, true);
        let nics = [Nic::Ne2000, Nic::Virtio, Nic::Ne2000];
        let pool = POOL
            .iter()
            .zip(nics)
            .zip(2u8..)
            .map(|((name, nic), index)| pool_node(name, port, index, nic))
            .collect();
        Self {
            port,
            run,
            fixed,
            pool,
        }
    }

    fn logs(&self) -> String {
        let mut all = format!(
            "--- {BALANCING} ---\n{}\n--- {PLACING} ---\n{}",
            self.run.log(),
            self.fixed.log()
        );
        for (name, node) in POOL.iter().zip(&self.pool) {
            all.push_str(&format!("\n--- {name} ---\n{}", node.log()));
        }
        all
    }

    /// A peer and each pool processor's root directory.
    fn roots(&self) -> (HostPeer, Vec<Capability>) {
        let (peer, first) = peer_and_root(self.port, POOL[0], &self.pool[0]);
        let mut roots = vec![first];
        for (name, node) in POOL.iter().zip(&self.pool).skip(1) {
            roots.push(peer_and_root(self.port, name, node).1);
        }
        (peer, roots)
    }

    /// How many counters each pool processor runs.
    fn counters(&self, peer: &HostPeer, roots: &[Capability]) -> Vec<usize> {
        let count = |root| {
            let names = process_names(peer, root);
            names.iter().filter(|n| *n == "counter").count()
        };
        roots.iter().map(count).collect()
    }

    /// Waits (at most `limit`) until the pool processors run `wanted` counters each.
    fn wait_for_spread(&self, wanted: &[usize], limit: Duration) {
        let (peer, roots) = self.roots();
        let deadline = Instant::now() + limit;
        loop {
            let now = self.counters(&peer, &roots);
            if now == wanted {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "counters per pool processor: {now:?}, wanted {wanted:?}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Both run servers have found every pool processor, and polled it.
    fn wait_for_pool(&self) {
        for (name, run) in POOL.iter().flat_map(|n| [(n, &self.run), (n, &self.fixed)]) {
            let line = format!("run: pool processor {name}");
            let deadline = Instant::now() + Duration::from_secs(60);
            while !run.log().contains(&line) {
                assert!(Instant::now() < deadline, "{line} missing\n{}", self.logs());
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        // Its first polls follow the discovery within a tick.
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Ends every counter by Ctrl-C (the command's exit status says the process was ended).
fn end_all(counters: Vec<Foreground>, logs: &dyn Fn() -> String) {
    for mut counter in counters {
        counter.interrupt();
        assert_eq!(
            counter.wait(Duration::from_secs(60)),
            Some(130),
            "{}",
            logs()
        );
    }
}

#[test]
fn the_run_server_places_new_processes_and_spreads_a_busy_node_two_two_two() {
    let cluster = Cluster::start(port_for(63));
    let port = cluster.port;
    let logs = || cluster.logs();
    cluster.wait_for_pool();

    // Two counters started on runp-a without a run server: new processes placed by the run
    // server that never moves any avoid that node, one going to each idle one.
    let mut counters: Vec<Foreground> = ["b1", "b2"]
        .iter()
        .map(|name| Foreground::start(port, POOL[0], "counter", &[name], &cluster.pool[0]))
        .collect();
    // The run server polls each host every 5 s: let it see runp-a's load.
    std::thread::sleep(Duration::from_secs(6));
    for name in ["p1", "p2"] {
        let placed = Foreground::exec(
            port,
            &["--run", PLACING, "counter"],
            &[name],
            &cluster.fixed,
        );
        counters.push(placed);
        // It polls a host again 0.5 s after giving it a process.
        std::thread::sleep(Duration::from_secs(2));
    }
    cluster.wait_for_spread(&[2, 1, 1], Duration::from_secs(20));
    for (counter, name) in counters.iter().zip(["b1", "b2", "p1", "p2"]) {
        assert_counted_once(counter, name, &logs());
    }
    end_all(counters, &logs);
    cluster.wait_for_spread(&[0, 0, 0], Duration::from_secs(20));

    // Six counters started on runp-a and handed to the rebalancing run server, which moves
    // them.
    let names = ["s1", "s2", "s3", "s4", "s5", "s6"];
    let spread: Vec<Foreground> = names
        .iter()
        .map(|name| {
            let exec = [POOL[0], "counter", "--run", BALANCING];
            Foreground::exec(port, &exec, &[name], &cluster.pool[0])
        })
        .collect();
    cluster.wait_for_spread(&[2, 2, 2], Duration::from_secs(120));
    // Settled: no more moves, and every counter counts on from where it was.
    std::thread::sleep(Duration::from_secs(8));
    cluster.wait_for_spread(&[2, 2, 2], Duration::from_secs(1));
    for (counter, name) in spread.iter().zip(names) {
        let last = counter.lines().len() as u64;
        let more = counter.wait_for(Duration::from_secs(60), |line| {
            report(line, name).filter(|&n| n > last + 10)
        });
        assert!(more.is_some(), "counter {name} stopped\n{}", logs());
        assert_counted_once(counter, name, &logs());
    }
    let moves = cluster.run.log().matches("run: moved process").count();
    assert!(
        moves >= 4,
        "{moves} moves made 2/2/2 out of 6/0/0\n{}",
        logs()
    );
    assert!(
        !cluster.fixed.log().contains("run: moved"),
        "the placing run server moved a process\n{}",
        logs()
    );
    eprintln!("six counters spread 2/2/2 by {moves} moves");
    end_all(spread, &logs);
}
