//! From a node's selection to the `amoeba-kernel` Cargo features that compile it in. The
//! features' names are made here alone; the catalog only says what each component is.

use crate::catalog::Kind;
use crate::node_spec::NodeSpec;

/// The feature that compiles in the kernel's self-tests (`[kernel] selftest = true`).
pub const SELFTEST: &str = "selftest";

/// The feature that keeps the process server's published capability to the right to look
/// (`[kernel] remote_exec = false`): no one else may start processes on the node.
pub const PROC_EXEC_WITHHELD: &str = "proc-exec-withheld";

/// The feature that makes the run server move processes from the busiest pool processor to
/// the idlest (`[run] rebalance = true`).
pub const RUN_REBALANCE: &str = "run-rebalance";

/// The Cargo feature of one component: `server-NAME` or `driver-NAME`.
pub fn feature(kind: Kind, name: &str) -> String {
    format!("{}-{name}", kind.word())
}

/// The sorted, duplicate-free feature list for a node; sorted so the cargo command line and
/// the manifest do not depend on the order a profile lists things in.
pub fn features(spec: &NodeSpec) -> Vec<String> {
    let servers = spec.servers.iter().map(|s| feature(Kind::Server, s));
    let drivers = spec.drivers.iter().map(|d| feature(Kind::Driver, d));
    let selftest = spec.selftest.then(|| SELFTEST.to_string());
    let withheld = (!spec.remote_exec).then(|| PROC_EXEC_WITHHELD.to_string());
    let rebalance = spec.rebalance.then(|| RUN_REBALANCE.to_string());
    let mut features: Vec<String> = servers
        .chain(drivers)
        .chain(selftest)
        .chain(withheld)
        .chain(rebalance)
        .collect();
    features.sort();
    features.dedup();
    features
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, Status};
    use libamoeba::boot::LogLevel;

    fn spec(servers: &[&str], drivers: &[&str]) -> NodeSpec {
        NodeSpec {
            profile: "p".into(),
            description: "d".into(),
            node: "n".into(),
            log: LogLevel::Info,
            cmdline_extra: Vec::new(),
            memory_mib: 128,
            servers: servers.iter().map(|s| s.to_string()).collect(),
            drivers: drivers.iter().map(|s| s.to_string()).collect(),
            selftest: false,
            remote_exec: true,
            rebalance: false,
            disk_mib: None,
            disk_contents: Default::default(),
            programs: Vec::new(),
        }
    }

    /// The `[features]` table of amoeba-kernel/Cargo.toml.
    fn kernel_features() -> toml::Table {
        let manifest = include_str!("../../amoeba-kernel/Cargo.toml");
        let mut table: toml::Table = toml::from_str(manifest).expect("kernel manifest parses");
        match table.remove("features") {
            Some(toml::Value::Table(features)) => features,
            _ => panic!("kernel has [features]"),
        }
    }

    #[test]
    fn nothing_selected_means_no_features() {
        assert!(features(&spec(&[], &[])).is_empty());
    }

    #[test]
    fn features_are_prefixed_by_kind_and_sorted() {
        assert_eq!(
            features(&spec(&["tod", "dir"], &["rtc", "pci"])),
            ["driver-pci", "driver-rtc", "server-dir", "server-tod"]
        );
    }

    #[test]
    fn the_self_tests_are_a_feature_only_when_the_profile_asks() {
        let shipped = spec(&["dir"], &["pci"]);
        assert!(!features(&shipped).iter().any(|f| f == SELFTEST));
        let test = NodeSpec {
            selftest: true,
            ..spec(&["dir"], &["pci"])
        };
        assert_eq!(features(&test), ["driver-pci", "selftest", "server-dir"]);
        assert!(
            kernel_features().contains_key(SELFTEST),
            "kernel lacks {SELFTEST}"
        );
    }

    #[test]
    fn remote_exec_is_withheld_by_a_feature_only_when_the_profile_says_so() {
        let pool = spec(&["proc"], &["pci"]);
        assert_eq!(features(&pool), ["driver-pci", "server-proc"]);
        let refusing = NodeSpec {
            remote_exec: false,
            ..spec(&["proc"], &["pci"])
        };
        assert_eq!(
            features(&refusing),
            ["driver-pci", "proc-exec-withheld", "server-proc"]
        );
        assert!(
            kernel_features().contains_key(PROC_EXEC_WITHHELD),
            "kernel lacks {PROC_EXEC_WITHHELD}"
        );
    }

    #[test]
    fn rebalancing_is_a_feature_only_when_the_profile_asks() {
        let placing = spec(&["dir", "run"], &["virtio-net"]);
        assert_eq!(
            features(&placing),
            ["driver-virtio-net", "server-dir", "server-run"]
        );
        let balancing = NodeSpec {
            rebalance: true,
            ..spec(&["dir", "run"], &["virtio-net"])
        };
        assert_eq!(
            features(&balancing),
            [
                "driver-virtio-net",
                "run-rebalance",
                "server-dir",
                "server-run"
            ]
        );
        assert!(
            kernel_features().contains_key(RUN_REBALANCE),
            "kernel lacks {RUN_REBALANCE}"
        );
    }

    #[test]
    fn features_are_named_by_kind() {
        let catalog = Catalog::builtin();
        let feature_of = |name| catalog.get(name).map(|c| feature(c.kind, c.name));
        assert_eq!(feature_of("pci").as_deref(), Some("driver-pci"));
        assert_eq!(feature_of("tod").as_deref(), Some("server-tod"));
    }

    #[test]
    fn implemented_components_have_kernel_features() {
        let kernel = kernel_features();
        for c in Catalog::builtin().components() {
            if c.status == Status::Implemented {
                let feature = feature(c.kind, c.name);
                assert!(kernel.contains_key(&feature), "kernel lacks {feature}");
            }
        }
    }
}
