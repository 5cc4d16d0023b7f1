//! What the `amoeba` commands are pointed at: `NODE[/name/...]`, NODE being a node's name (found
//! on the LAN by the link check, whose answer carries the node's root directory) or the text of
//! a capability (`port:object:rights:check`, taken as a directory when a path follows), and the
//! names looked up one after the other from there.

use libamoeba::capability::Capability;
use std::fmt;
use std::str::FromStr;

/// Where a target starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeRef {
    /// A node by the name it gives in the link check.
    Name(String),
    /// An object (a directory if a path follows) by its capability.
    Capability(Capability),
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::Capability(cap) => write!(f, "{cap}"),
        }
    }
}

/// `NODE[/name/...]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub node: NodeRef,
    /// Names to look up from the node's directory, in order; empty or repeated slashes add
    /// none.
    pub path: Vec<String>,
}

/// Why text is not a target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetError {
    /// Nothing before the first slash.
    NoNode,
    /// A first part with colons that is not a capability.
    BadCapability { text: String, why: String },
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoNode => {
                f.write_str("no node: give NODE[/path], NODE being a node's name or a capability")
            }
            Self::BadCapability { text, why } => write!(
                f,
                "`{text}` is not a capability (port:object:rights:check in hex): {why}"
            ),
        }
    }
}

impl std::error::Error for TargetError {}

impl FromStr for Target {
    type Err = TargetError;

    /// Surrounding white space (a capability pasted from a console line) is ignored.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parts = text.trim().split('/');
        let first = parts.next().unwrap_or_default();
        if first.is_empty() {
            return Err(TargetError::NoNode);
        }
        let node = if first.contains(':') {
            let cap = first.parse().map_err(|e| TargetError::BadCapability {
                text: first.to_string(),
                why: format!("{e}"),
            })?;
            NodeRef::Capability(cap)
        } else {
            NodeRef::Name(first.to_string())
        };
        let path = parts
            .filter(|part| !part.is_empty())
            .map(str::to_string)
            .collect();
        Ok(Self { node, path })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.node)?;
        for name in &self.path {
            write!(f, "/{name}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: &str = "0102030405f6:000001:01:0a0b0c0d0e0f";

    fn parsed(text: &str) -> Target {
        text.parse()
            .unwrap_or_else(|e| panic!("{text} does not parse: {e}"))
    }

    #[test]
    fn a_node_name_with_or_without_a_path() {
        let target = parsed("pool-1");
        assert_eq!(target.node, NodeRef::Name("pool-1".into()));
        assert!(target.path.is_empty());
        let target = parsed("pool-1/ps/12");
        assert_eq!(target.node, NodeRef::Name("pool-1".into()));
        assert_eq!(target.path, ["ps", "12"]);
        assert_eq!(target.to_string(), "pool-1/ps/12");
    }

    #[test]
    fn empty_path_parts_are_ignored() {
        assert_eq!(parsed("pool-1//ps/").path, ["ps"]);
        assert_eq!(parsed("pool-1/").to_string(), "pool-1");
    }

    #[test]
    fn a_capability_as_the_start() {
        let target = parsed(&format!("{CAP}/sys"));
        let cap: Capability = CAP.parse().unwrap();
        assert_eq!(target.node, NodeRef::Capability(cap));
        assert_eq!(target.path, ["sys"]);
        assert_eq!(target.to_string(), format!("{CAP}/sys"));
        assert_eq!(
            parsed(&format!(" {CAP}\r\n")).node,
            NodeRef::Capability(cap)
        );
    }

    #[test]
    fn bad_targets_say_why() {
        assert_eq!("".parse::<Target>(), Err(TargetError::NoNode));
        assert_eq!("/ps".parse::<Target>(), Err(TargetError::NoNode));
        let error = "0102:03:04".parse::<Target>().unwrap_err();
        assert!(
            matches!(error, TargetError::BadCapability { .. }),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains("`0102:03:04` is not a capability")
        );
    }
}
