//! `amoeba-build cluster`: several nodes on one virtual LAN (QEMU socket multicast on loopback,
//! see [`Lan`]), each with its own name, card address and serial log file.
//!
//! Members are written `PROFILE` or `PROFILE:COUNT` (`--profile fileserver --profile pool:2`);
//! `--nodes N` is the shorthand for N nodes of a single profile. Nodes are named
//! `PROFILE-1`, `PROFILE-2`, ... per profile, and numbered across the cluster for their card
//! addresses (`52:54:00:a0:00:NN`). A node whose profile selects driver "virtio-blk" gets
//! a disk of its own, `NODE.disk.img` beside its log (see [`crate::disk`]).

use std::fmt;
use std::path::Path;

use crate::image::BuiltImage;
use crate::qemu::{Lan, Nic, QemuSpec, Serial};

/// Most nodes one cluster may have (card addresses number them in one byte, from 1).
pub const MAX_NODES: usize = 254;

/// One `--profile` argument: a profile and how many nodes of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub profile: String,
    pub count: usize,
}

/// Why a cluster cannot be planned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterError {
    BadCount { argument: String },
    NodesWithSeveralProfiles,
    NoNodes,
    TooManyNodes(usize),
    NodeName(String),
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadCount { argument } => write!(
                f,
                "--profile {argument}: the count after `:` must be a number from 1 to \
                 {MAX_NODES}, as in `pool:2`"
            ),
            Self::NodesWithSeveralProfiles => write!(
                f,
                "--nodes applies to a single --profile; with several, give counts as \
                 `--profile pool:2`"
            ),
            Self::NoNodes => write!(f, "a cluster needs at least one node: --profile NAME"),
            Self::NodeName(name) => write!(
                f,
                "node name {name} is not a valid node name (at most 32 letters, digits, `-`, `_`); \
                 shorten [node] name in the profile"
            ),
            Self::TooManyNodes(count) => {
                write!(
                    f,
                    "{count} nodes asked for; a cluster has at most {MAX_NODES}"
                )
            }
        }
    }
}

impl std::error::Error for ClusterError {}

impl Member {
    /// `PROFILE` or `PROFILE:COUNT` (a profile path may contain `:` only before its last one).
    pub fn parse(argument: &str) -> Result<Self, ClusterError> {
        let bad = || ClusterError::BadCount {
            argument: argument.to_string(),
        };
        match argument.rsplit_once(':') {
            Some((profile, count)) if !count.contains('/') => {
                let count = count.parse().ok().filter(|c| (1..=MAX_NODES).contains(c));
                Ok(Self {
                    profile: profile.to_string(),
                    count: count.ok_or_else(bad)?,
                })
            }
            _ => Ok(Self {
                profile: argument.to_string(),
                count: 1,
            }),
        }
    }
}

/// The members from the command line's `--profile` arguments and `--nodes`.
pub fn members(profiles: &[String], nodes: Option<usize>) -> Result<Vec<Member>, ClusterError> {
    let mut members = profiles
        .iter()
        .map(|p| Member::parse(p))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(nodes) = nodes {
        match members.as_mut_slice() {
            [single] => single.count = nodes,
            _ => return Err(ClusterError::NodesWithSeveralProfiles),
        }
    }
    let total: usize = members.iter().map(|m| m.count).sum();
    match total {
        0 => Err(ClusterError::NoNodes),
        n if n > MAX_NODES => Err(ClusterError::TooManyNodes(n)),
        _ => Ok(members),
    }
}

/// How every node of the cluster boots.
pub struct ClusterOptions<'a> {
    pub lan_port: u16,
    pub nic: Nic,
    /// Where `NAME.log` files and the disks (`NAME.disk.img`) go.
    pub log_dir: &'a Path,
    pub append: &'a [String],
}

/// The image of every node, in the order of [`plan`]'s boots: `images` holds each member's
/// built image, in member order.
pub fn node_images<'i>(
    members: &[Member],
    images: &[&'i BuiltImage],
) -> impl Iterator<Item = &'i BuiltImage> + use<'i> {
    let counts: Vec<usize> = members.iter().map(|m| m.count).collect();
    counts
        .into_iter()
        .zip(images.to_vec())
        .flat_map(|(count, image)| std::iter::repeat_n(image, count))
}

/// The boot of every node: `images` holds each member's built image, in member order. Node
/// names the kernel would refuse (see [`check_names`]) must be caught before. A node with a
/// disk is given its own disk file's path; making the file is the caller's (see
/// [`crate::disk::prepare`]), with the size of the node's image in [`node_images`].
pub fn plan(
    members: &[Member],
    images: &[&BuiltImage],
    options: &ClusterOptions<'_>,
) -> Vec<QemuSpec> {
    let mut specs = Vec::new();
    // Numbered per node name across members, so `--profile pool --profile pool` gives
    // pool-1 and pool-2, not two pool-1s.
    let mut numbers: std::collections::BTreeMap<&str, usize> = Default::default();
    for image in node_images(members, images) {
        let number = numbers.entry(image.spec.node.as_str()).or_default();
        *number += 1;
        let name = format!("{}-{number}", image.spec.node);
        let card_number = (specs.len() + 1) as u8;
        let mut spec = QemuSpec::for_image(image);
        spec.node = name.clone();
        spec.nic = Some(options.nic);
        spec.lan = Some(Lan::for_node(options.lan_port, card_number));
        spec.serial = Serial::File(options.log_dir.join(format!("{name}.log")));
        spec.append = options.append.to_vec();
        spec.append.push(format!("node={name}"));
        spec.disk = image
            .spec
            .disk_mib
            .map(|_| crate::disk::cluster_disk(options.log_dir, &name));
        specs.push(spec);
    }
    specs
}

/// Node names of the cluster that the kernel would refuse (too long with their `-N`), as an
/// error naming the first.
pub fn check_names(members: &[Member], node_names: &[&str]) -> Result<(), ClusterError> {
    for (member, name) in members.iter().zip(node_names) {
        let longest = format!("{name}-{}", member.count);
        if !libamoeba::boot::cmdline::is_valid_node_name(&longest) {
            return Err(ClusterError::NodeName(longest));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
