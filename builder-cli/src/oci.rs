//! `images/NAME/oci/`: an OCI image layout (OCI image spec 1.1, "Image Layout": `oci-layout`,
//! `index.json`, `blobs/sha256/DIGEST`) holding one image, a KubeVirt containerDisk: its one
//! layer puts the appliance qcow2 at `/disk/NAME.qcow2` ([`layer`]). Push it to a registry
//! with `skopeo copy oci:images/NAME/oci:latest docker://REGISTRY/NAME:TAG` and name that in a
//! VirtualMachine's `containerDisk.image`.
//!
//! The JSON documents are the `oci-spec` crate's types (image config, image manifest, image
//! index), serialized with every object's keys sorted and no spaces, so one set of inputs gives
//! one set of bytes: oci-spec keeps annotations and labels in `HashMap`s, whose order would
//! otherwise change from run to run. The config's `created`, the history's and the
//! annotations' dates are the source date; the layer's tar is dated the same way. The image's
//! facts (profile, node, servers, drivers, features, digests) are annotations ([`annotations`]).

pub mod annotations;
pub mod layer;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use oci_spec::image::{
    ANNOTATION_REF_NAME, Arch, ConfigBuilder, Descriptor, Digest, HistoryBuilder,
    ImageConfigurationBuilder, ImageIndexBuilder, ImageManifestBuilder, MediaType,
    OciLayoutBuilder, Os, RootFsBuilder,
};
use serde::Serialize;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::digest::sha256_hex;
use crate::source_date::DateTime;

/// The layout's directory in the image directory.
pub const OCI_DIR: &str = "oci";
/// The image's tag in `index.json`.
pub const REFERENCE: &str = "latest";
const LAYOUT_VERSION: &str = "1.0.0";

/// What goes into the layout.
#[derive(Clone, Copy, Debug)]
pub struct OciRequest<'a> {
    /// The qcow2's file name, kept in the layer (`/disk/NAME.qcow2`).
    pub disk_name: &'a str,
    pub disk: &'a [u8],
    pub annotations: &'a BTreeMap<String, String>,
    pub epoch: u64,
    /// The layout's directory (replaced whole).
    pub output: &'a Path,
}

#[derive(Debug, Error)]
pub enum OciError {
    #[error("cannot make the OCI {what}: {message}")]
    Spec { what: &'static str, message: String },
    #[error("cannot write {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// One blob: its bytes and descriptor.
struct Blob {
    bytes: Vec<u8>,
    descriptor: Descriptor,
}

/// Writes the layout; returns the image manifest's digest (`sha256:...`).
pub fn write_layout(request: &OciRequest<'_>) -> Result<String, OciError> {
    let tar = layer::layer_tar(request.disk_name, request.disk, request.epoch)
        .map_err(io_error(request.output))?;
    let layer = blob(MediaType::ImageLayer, tar, None)?;
    let config = blob(MediaType::ImageConfig, config_json(request, &layer)?, None)?;
    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(config.descriptor.clone())
        .layers(vec![layer.descriptor.clone()])
        .annotations(hash_map(request.annotations))
        .build()
        .map_err(spec_error("image manifest"))?;
    let reference = HashMap::from([(ANNOTATION_REF_NAME.to_string(), REFERENCE.to_string())]);
    let manifest = blob(
        MediaType::ImageManifest,
        canonical(&manifest)?,
        Some(reference),
    )?;
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(vec![manifest.descriptor.clone()])
        .build()
        .map_err(spec_error("image index"))?;
    let layout = OciLayoutBuilder::default()
        .image_layout_version(LAYOUT_VERSION)
        .build()
        .map_err(spec_error("oci-layout file"))?;
    let digest = manifest.descriptor.digest().to_string();
    let files = [
        ("oci-layout".to_string(), canonical(&layout)?),
        ("index.json".to_string(), canonical(&index)?),
    ];
    write_dir(request.output, &files, &[layer, config, manifest])?;
    Ok(digest)
}

/// The image config: amd64/linux (what a containerDisk's runtime expects of any image), the
/// layer's digest, the source date, and the annotations again as labels.
fn config_json(request: &OciRequest<'_>, layer: &Blob) -> Result<Vec<u8>, OciError> {
    let created = DateTime::from_unix(request.epoch).rfc3339();
    let rootfs = RootFsBuilder::default()
        .typ("layers")
        .diff_ids(vec![layer.descriptor.digest().to_string()])
        .build()
        .map_err(spec_error("image rootfs"))?;
    let history = HistoryBuilder::default()
        .created(created.clone())
        .created_by(format!(
            "amoeba-build: /disk/{} (KubeVirt containerDisk)",
            request.disk_name
        ))
        .build()
        .map_err(spec_error("image history"))?;
    let labels = ConfigBuilder::default()
        .labels(hash_map(request.annotations))
        .build()
        .map_err(spec_error("image config labels"))?;
    let config = ImageConfigurationBuilder::default()
        .created(created)
        .architecture(Arch::Amd64)
        .os(Os::Linux)
        .config(labels)
        .rootfs(rootfs)
        .history(vec![history])
        .build()
        .map_err(spec_error("image config"))?;
    canonical(&config)
}

fn blob(
    media_type: MediaType,
    bytes: Vec<u8>,
    annotations: Option<HashMap<String, String>>,
) -> Result<Blob, OciError> {
    let digest: Digest = format!("sha256:{}", sha256_hex(&bytes))
        .parse()
        .map_err(spec_error("digest"))?;
    let mut descriptor = Descriptor::new(media_type, bytes.len() as u64, digest);
    descriptor.set_annotations(annotations);
    Ok(Blob { bytes, descriptor })
}

fn hash_map(map: &BTreeMap<String, String>) -> HashMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Compact JSON with every object's keys in byte order.
fn canonical(value: &impl Serialize) -> Result<Vec<u8>, OciError> {
    let value = serde_json::to_value(value).map_err(spec_error("JSON"))?;
    serde_json::to_vec(&sorted(value)).map_err(spec_error("JSON"))
}

fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let map: Map<String, Value> =
                entries.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(map)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Writes the layout beside `output` and swaps it in, so a reader never sees half of one.
fn write_dir(output: &Path, files: &[(String, Vec<u8>)], blobs: &[Blob]) -> Result<(), OciError> {
    let partial = output.with_extension("partial");
    remove_dir(&partial)?;
    let blob_dir = partial.join("blobs/sha256");
    fs::create_dir_all(&blob_dir).map_err(io_error(&blob_dir))?;
    for blob in blobs {
        let path = blob_dir.join(blob.descriptor.digest().digest());
        fs::write(&path, &blob.bytes).map_err(io_error(&path))?;
    }
    for (name, bytes) in files {
        let path = partial.join(name);
        fs::write(&path, bytes).map_err(io_error(&path))?;
    }
    remove_dir(output)?;
    fs::rename(&partial, output).map_err(io_error(output))
}

/// Removes a directory tree, if there is one.
pub fn remove_dir(path: &Path) -> Result<(), OciError> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(path)(e)),
        _ => Ok(()),
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> OciError + '_ {
    move |source| OciError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn spec_error<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> OciError {
    move |error| OciError::Spec {
        what,
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests;
