//! The facts of the manifest as OCI annotations: on the image manifest (what `skopeo inspect
//! --raw` shows) and as the image config's labels (what `skopeo inspect` shows as `Labels`).
//!
//! The pre-defined keys of the OCI image spec 1.1 ("Annotations": `org.opencontainers.image.*`)
//! where one fits; the others under `org.amoeba.`, in reverse-domain form as the spec asks of
//! keys of one's own. Lists are comma-separated (annotation values are strings).

use std::collections::BTreeMap;

use oci_spec::image::{
    ANNOTATION_CREATED, ANNOTATION_DESCRIPTION, ANNOTATION_LICENSES, ANNOTATION_TITLE,
    ANNOTATION_VERSION,
};

use crate::manifest::{ApplianceOutput, Manifest};
use crate::source_date::DateTime;

/// Our keys' prefix.
pub const PREFIX: &str = "org.amoeba.";

/// The annotations of the image of `manifest` (its outputs but the OCI layout filled in),
/// whose profile says `description`.
pub fn annotations(manifest: &Manifest, description: &str, epoch: u64) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let mut put = |key: &str, value: String| {
        map.insert(key.to_string(), value);
    };
    put(ANNOTATION_TITLE, format!("Amoeba node {}", manifest.node));
    put(ANNOTATION_DESCRIPTION, description.to_string());
    put(ANNOTATION_CREATED, DateTime::from_unix(epoch).rfc3339());
    put(ANNOTATION_VERSION, env!("CARGO_PKG_VERSION").to_string());
    put(ANNOTATION_LICENSES, env!("CARGO_PKG_LICENSE").to_string());
    let ours = |key: &str| format!("{PREFIX}{key}");
    put(&ours("profile"), manifest.profile.clone());
    put(&ours("profile.sha256"), manifest.profile_sha256.clone());
    put(&ours("node"), manifest.node.clone());
    put(&ours("cmdline"), manifest.cmdline.clone());
    put(&ours("servers"), manifest.servers.join(","));
    put(&ours("drivers"), manifest.drivers.join(","));
    put(&ours("features"), manifest.features.join(","));
    put(&ours("toolchain"), manifest.toolchain.clone());
    put(
        &ours("kernel.sha256"),
        manifest.outputs.kernel_elf.sha256.clone(),
    );
    if let Some(disk) = &manifest.outputs.disk {
        put(&ours("disk.sha256"), disk.sha256.clone());
    }
    if let ApplianceOutput::Built {
        sha256, firmware, ..
    } = &manifest.outputs.appliance
    {
        put(&ours("image.sha256"), sha256.clone());
        put(&ours("firmware"), firmware.join(","));
    }
    map
}
