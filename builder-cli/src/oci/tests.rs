use super::*;
use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("amoeba-oci-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn write(dir: &Path) -> String {
    let annotations = BTreeMap::from([
        ("org.amoeba.profile".to_string(), "pool".to_string()),
        (
            "org.opencontainers.image.title".to_string(),
            "Amoeba node pool".to_string(),
        ),
    ]);
    write_layout(&OciRequest {
        disk_name: "pool.qcow2",
        disk: b"QFI\xfb not really a qcow2",
        annotations: &annotations,
        epoch: 946_684_800,
        output: dir,
    })
    .expect("layout written")
}

fn blob_path(dir: &Path, digest: &Digest) -> std::path::PathBuf {
    dir.join("blobs/sha256").join(digest.digest())
}

#[test]
fn the_layout_validates_and_names_its_image_by_tag() {
    let dir = scratch("valid");
    let digest = write(&dir);
    let layout = fs::read_to_string(dir.join("oci-layout")).expect("oci-layout");
    assert_eq!(layout, r#"{"imageLayoutVersion":"1.0.0"}"#);
    let index = ImageIndex::from_file(dir.join("index.json")).expect("index.json parses");
    let [entry] = index.manifests().as_slice() else {
        panic!("one manifest: {index:?}");
    };
    assert_eq!(entry.digest().to_string(), digest);
    let tag = entry
        .annotations()
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_REF_NAME).cloned());
    assert_eq!(tag.as_deref(), Some(REFERENCE));
    // Every blob is named by the digest of its bytes, and is as long as its descriptor says.
    let manifest_bytes = fs::read(blob_path(&dir, entry.digest())).expect("manifest blob");
    assert_eq!(format!("sha256:{}", sha256_hex(&manifest_bytes)), digest);
    let manifest = ImageManifest::from_reader(&manifest_bytes[..]).expect("a manifest");
    assert_eq!(manifest.media_type(), &Some(MediaType::ImageManifest));
    for descriptor in manifest.layers().iter().chain([manifest.config()]) {
        let bytes = fs::read(blob_path(&dir, descriptor.digest())).expect("blob");
        assert_eq!(bytes.len() as u64, descriptor.size());
        assert_eq!(sha256_hex(&bytes), descriptor.digest().digest());
    }
    let annotations = manifest.annotations().clone().unwrap_or_default();
    assert_eq!(
        annotations.get("org.amoeba.profile").map(String::as_str),
        Some("pool")
    );
    let config_path = blob_path(&dir, manifest.config().digest());
    let config = ImageConfiguration::from_file(config_path).expect("a config");
    assert_eq!(config.created().as_deref(), Some("2000-01-01T00:00:00Z"));
    assert_eq!(
        config.rootfs().diff_ids(),
        &[manifest.layers()[0].digest().to_string()]
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn two_writes_give_the_same_bytes() {
    let (a, b) = (scratch("a"), scratch("b"));
    assert_eq!(write(&a), write(&b));
    let digest = |dir: &Path| crate::digest::tree_digest(dir).expect("digest");
    assert_eq!(digest(&a), digest(&b));
    assert_eq!(digest(&a).files, 5);
    let index = fs::read_to_string(a.join("index.json")).expect("index");
    assert!(
        index.starts_with(r#"{"manifests":[{"annotations":"#),
        "{index}"
    );
    for dir in [a, b] {
        let _ = fs::remove_dir_all(dir);
    }
}
