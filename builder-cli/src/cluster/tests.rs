use super::*;

#[test]
fn members_parse_with_and_without_counts() {
    assert_eq!(
        Member::parse("pool:2"),
        Ok(Member {
            profile: "pool".into(),
            count: 2
        })
    );
    assert_eq!(Member::parse("pool").map(|m| m.count), Ok(1));
    assert_eq!(
        Member::parse("tests/profiles/x.toml").map(|m| m.profile),
        Ok("tests/profiles/x.toml".into())
    );
    for bad in ["pool:0", "pool:x", "pool:", "pool:255"] {
        assert!(
            matches!(Member::parse(bad), Err(ClusterError::BadCount { .. })),
            "{bad}"
        );
    }
}

#[test]
fn nodes_multiply_a_single_profile_only() {
    let pool = vec!["pool".to_string()];
    assert_eq!(members(&pool, Some(3)).map(|m| m[0].count), Ok(3));
    let two = vec!["fileserver".to_string(), "pool:2".to_string()];
    assert_eq!(members(&two, None).map(|m| m.len()), Ok(2));
    assert_eq!(
        members(&two, Some(3)),
        Err(ClusterError::NodesWithSeveralProfiles)
    );
    assert_eq!(members(&[], None), Err(ClusterError::NoNodes));
    assert_eq!(
        members(&["a:200".into(), "b:100".into()], None),
        Err(ClusterError::TooManyNodes(300))
    );
    assert!(
        ClusterError::NodesWithSeveralProfiles
            .to_string()
            .contains("--profile pool:2")
    );
}

#[test]
fn names_too_long_with_their_number_are_refused() {
    let members = [Member {
        profile: "p".into(),
        count: 12,
    }];
    let long = "a".repeat(30);
    assert_eq!(check_names(&members, &["pool"]), Ok(()));
    assert_eq!(
        check_names(&members, &[long.as_str()]),
        Err(ClusterError::NodeName(format!("{long}-12")))
    );
}

/// A built image of profile `profile` as far as planning reads it; `disk_mib` as validation
/// gives it.
fn image(profile: &str, disk_mib: Option<u32>) -> BuiltImage {
    use crate::manifest::{
        ApplianceOutput, FORMAT, FileOutput, IsoOutput, Manifest, OciOutput, Outputs, PxeOutput,
        Qcow2Output,
    };
    let skipped = || "not requested".to_string();
    BuiltImage {
        dir: format!("images/{profile}").into(),
        kernel_elf: format!("images/{profile}/kernel.elf").into(),
        iso: None,
        pxe: None,
        disk: disk_mib.map(|_| format!("images/{profile}/disk.img").into()),
        appliance: None,
        qcow2: None,
        oci: None,
        manifest: Manifest {
            format: FORMAT,
            profile: profile.into(),
            profile_sha256: String::new(),
            node: profile.into(),
            cmdline: String::new(),
            servers: vec![],
            drivers: vec![],
            features: vec![],
            disk_mib,
            programs: vec![],
            toolchain: String::new(),
            outputs: Outputs {
                kernel_elf: FileOutput {
                    file: "kernel.elf".into(),
                    size: 0,
                    sha256: String::new(),
                },
                iso: IsoOutput::Skipped { reason: skipped() },
                pxe: PxeOutput::Skipped { reason: skipped() },
                disk: None,
                appliance: ApplianceOutput::Skipped { reason: skipped() },
                qcow2: Qcow2Output::Skipped { reason: skipped() },
                oci: OciOutput::Skipped { reason: skipped() },
            },
        },
        spec: crate::NodeSpec {
            profile: profile.into(),
            description: "d".into(),
            node: profile.into(),
            log: libamoeba::boot::LogLevel::Info,
            cmdline_extra: vec![],
            memory_mib: 128,
            servers: vec![],
            drivers: vec![],
            selftest: false,
            remote_exec: true,
            rebalance: false,
            disk_mib,
            disk_contents: Default::default(),
            programs: vec![],
        },
    }
}

#[test]
fn each_node_with_a_disk_gets_its_own() {
    let (pool, disk) = (image("pool", None), image("test-disk", Some(16)));
    let members = [
        Member {
            profile: "pool".into(),
            count: 1,
        },
        Member {
            profile: "tests/profiles/test-disk.toml".into(),
            count: 2,
        },
    ];
    let images = [&pool, &disk];
    let options = ClusterOptions {
        lan_port: 47474,
        nic: Nic::Virtio,
        log_dir: Path::new("images/cluster"),
        append: &[],
    };
    let specs = plan(&members, &images, &options);
    let disks: Vec<_> = specs
        .iter()
        .map(|s| (s.node.as_str(), s.disk.as_deref()))
        .collect();
    assert_eq!(
        disks,
        [
            ("pool-1", None),
            (
                "test-disk-1",
                Some(Path::new("images/cluster/test-disk-1.disk.img"))
            ),
            (
                "test-disk-2",
                Some(Path::new("images/cluster/test-disk-2.disk.img"))
            ),
        ]
    );
    // The sizes come from the images, in the same order.
    let sizes: Vec<_> = node_images(&members, &images)
        .map(|i| i.spec.disk_mib)
        .collect();
    assert_eq!(sizes, [None, Some(16), Some(16)]);
}
