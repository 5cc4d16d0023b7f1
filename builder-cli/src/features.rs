//! From a node's selection to the `amoeba-kernel` Cargo features that compile it in.

use crate::catalog::Kind;
use crate::validate::NodeSpec;

/// The Cargo feature of one component: `server-NAME` or `driver-NAME`.
pub fn feature(kind: Kind, name: &str) -> String {
    format!("{}-{name}", kind.word())
}

/// The sorted, duplicate-free feature list for a node; sorted so the cargo command line and
/// the manifest do not depend on the order a profile lists things in.
pub fn features(spec: &NodeSpec) -> Vec<String> {
    let servers = spec.servers.iter().map(|s| feature(Kind::Server, s));
    let drivers = spec.drivers.iter().map(|d| feature(Kind::Driver, d));
    let mut features: Vec<String> = servers.chain(drivers).collect();
    features.sort();
    features.dedup();
    features
}

#[cfg(test)]
mod tests {
    use super::*;
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
            programs: Vec::new(),
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
}
