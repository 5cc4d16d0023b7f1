//! Each profile is built once per test process and shared by every test that boots it; the
//! builder's lock on `images/NAME/` serializes builds across test processes, and Cargo's own
//! freshness check makes the second process's build a quick no-op.

use amoeba_build::image::{BuildOptions, BuiltImage, build_profile};
use amoeba_build::qemu::{self, Boot, QemuSpec};
use amoeba_build::workspace::Workspace;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The shipped profiles every boot test covers.
pub const PROFILES: [&str; 3] = ["minimal", "pool", "fileserver"];

pub type BuiltProfile = Arc<BuiltImage>;

type Cache = Mutex<HashMap<String, Arc<OnceLock<Result<BuiltProfile, String>>>>>;

pub fn workspace() -> Workspace {
    Workspace::locate().unwrap_or_else(|e| panic!("tests run inside the workspace: {e}"))
}

/// The built image of `profile` (building it on first use); panics with the builder's full
/// error when the build fails, which fails the calling test.
pub fn built(profile: &str) -> BuiltProfile {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let slot = {
        let mut cache = CACHE
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        Arc::clone(cache.entry(profile.to_string()).or_default())
    };
    let result = slot.get_or_init(|| {
        build_profile(&workspace(), profile, &BuildOptions::default())
            .map(Arc::new)
            .map_err(|e| format!("{:#}", anyhow::Error::new(e)))
    });
    match result {
        Ok(image) => Arc::clone(image),
        Err(message) => panic!("building profile {profile} failed: {message}"),
    }
}

/// A boot of `image` by `boot`, the node told to stop cleanly after its ready line.
pub fn boot_spec(image: &BuiltImage, boot: Boot) -> QemuSpec {
    let mut spec = QemuSpec::for_image(image);
    spec.boot = boot;
    spec.append.push("ready=exit".into());
    spec
}

pub fn command(spec: &QemuSpec) -> std::process::Command {
    qemu::command(spec)
}

/// Copies the sources of the workspace at `from` (what git tracks or would track; not target/
/// or images/) to `to`, for builds that must start from nothing.
pub fn copy_sources(from: &std::path::Path, to: &std::path::Path) {
    let listing = std::process::Command::new("git")
        .arg("-C")
        .arg(from)
        .args(["ls-files", "-co", "--exclude-standard"])
        .output()
        .unwrap_or_else(|e| panic!("git lists the sources: {e}"));
    for name in String::from_utf8_lossy(&listing.stdout).lines() {
        let (source, target) = (from.join(name), to.join(name));
        if !source.is_file() {
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
        }
        std::fs::copy(&source, &target).unwrap_or_else(|e| panic!("copy {name}: {e}"));
    }
}

/// A test-only profile from `tests/profiles/NAME.toml`, built once like the shipped ones.
pub fn built_test_profile(name: &str) -> BuiltProfile {
    let path = workspace()
        .root()
        .join("tests/profiles")
        .join(format!("{name}.toml"));
    built(&path.to_string_lossy())
}

/// Boots `image` by `-kernel` with extra words until QEMU ends by itself (a `ready=exit` node
/// stops once every boot program ended), within `limit`; its exit code and console log.
pub fn run_until_stopped(
    image: &BuiltImage,
    words: &[&str],
    icount: bool,
    limit: std::time::Duration,
) -> (Option<i32>, String) {
    let mut spec = boot_spec(image, Boot::Kernel);
    spec.append.extend(words.iter().map(|w| w.to_string()));
    spec.icount = icount;
    let mut node =
        crate::node::Node::start(&command(&spec), limit).unwrap_or_else(|e| panic!("{e}"));
    let status = node.wait_for_exit().unwrap_or_else(|e| panic!("{e}"));
    (status.code(), node.log())
}

/// As [`run_until_stopped`], for a node that must stop cleanly (exit status 33); its log.
pub fn run_to_exit(
    image: &BuiltImage,
    words: &[&str],
    icount: bool,
    limit: std::time::Duration,
) -> String {
    let (code, log) = run_until_stopped(image, words, icount, limit);
    assert_eq!(
        code,
        Some(libamoeba::boot::ExitCode::Success.qemu_status()),
        "clean stop expected:\n{log}"
    );
    log
}

/// Boots one node of `image` with card `card` as node `index` on the virtual LAN at `port`,
/// with extra command-line `words`, and waits for its ready line (within `limit`).
pub fn start_lan_node(
    image: &BuiltImage,
    card: amoeba_build::qemu::Nic,
    port: u16,
    index: u8,
    words: &[String],
    limit: std::time::Duration,
) -> crate::node::Node {
    let options = LanNodeOptions::default();
    start_lan_node_with(image, card, port, index, words, options, limit)
}

/// [`start_lan_node`] with `options`: a disk, `-icount`.
pub fn start_lan_node_with(
    image: &BuiltImage,
    card: amoeba_build::qemu::Nic,
    port: u16,
    index: u8,
    words: &[String],
    options: LanNodeOptions<'_>,
    limit: std::time::Duration,
) -> crate::node::Node {
    let mut node = launch_lan_node_with(image, card, port, index, words, options, limit);
    node.wait_for("amoeba: node")
        .unwrap_or_else(|e| panic!("{e}"));
    node
}

/// [`start_lan_node`] without waiting for the ready line: for nodes that only get ready once
/// their peers are up (`selftest=lan`); `icount` runs the guest under `-icount`.
pub fn launch_lan_node(
    image: &BuiltImage,
    card: amoeba_build::qemu::Nic,
    port: u16,
    index: u8,
    words: &[String],
    icount: bool,
    limit: std::time::Duration,
) -> crate::node::Node {
    let options = LanNodeOptions { icount, disk: None };
    launch_lan_node_with(image, card, port, index, words, options, limit)
}

/// What a LAN node may have besides its card: see [`launch_lan_node_with`].
#[derive(Clone, Copy, Debug, Default)]
pub struct LanNodeOptions<'a> {
    /// Run the guest under `-icount` (an idle guest still waits in real time).
    pub icount: bool,
    /// A raw disk image attached as its virtio disk (see [`disk_image`]).
    pub disk: Option<&'a Path>,
}

/// [`launch_lan_node`] with `options`: a disk, `-icount`.
pub fn launch_lan_node_with(
    image: &BuiltImage,
    card: amoeba_build::qemu::Nic,
    port: u16,
    index: u8,
    words: &[String],
    options: LanNodeOptions<'_>,
    limit: std::time::Duration,
) -> crate::node::Node {
    let mut spec = amoeba_build::qemu::QemuSpec::for_image(image);
    spec.icount = options.icount;
    // Nodes of a LAN answer each other in real time (see `QemuSpec::icount_real_idle`).
    spec.icount_real_idle = true;
    spec.nic = Some(card);
    spec.lan = Some(amoeba_build::qemu::Lan::for_node(port, index));
    spec.disk = options.disk.map(Path::to_path_buf);
    spec.append.extend_from_slice(words);
    crate::node::Node::start(&command(&spec), limit).unwrap_or_else(|e| panic!("{e}"))
}

/// A new, empty (sparse) disk image of `mib` MiB for one test, `target/test-disks/NAME.img`
/// (made anew on every call, so a test never reads what an earlier run wrote); its path.
pub fn disk_image(name: &str, mib: u32) -> PathBuf {
    let ws = workspace();
    let path = ws
        .root()
        .join("target/test-disks")
        .join(format!("{name}.img"));
    amoeba_build::disk::prepare(&ws, &path, mib, true)
        .unwrap_or_else(|e| panic!("{:#}", anyhow::Error::new(e)))
        .path
}
