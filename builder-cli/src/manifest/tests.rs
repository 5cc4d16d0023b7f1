use super::*;

fn sample(iso: IsoOutput, pxe: PxeOutput) -> Manifest {
    Manifest {
        format: FORMAT,
        profile: "pool".into(),
        profile_sha256: "ab".repeat(32),
        node: "pool".into(),
        cmdline: "node=pool log=info".into(),
        servers: vec![],
        drivers: vec!["pci".into(), "rtc".into()],
        features: vec!["driver-pci".into(), "driver-rtc".into()],
        disk_mib: None,
        programs: vec![ProgramOutput {
            driver: false,
            admin: false,
            name: "hello".into(),
            source: "programs/hello".into(),
            args: vec!["from".into(), "a".into(), "test".into()],
            priority: "norm".into(),
            image_size: 5000,
            image_sha256: "9a".repeat(32),
        }],
        toolchain: "rustc 1.95.0 (59807616e 2026-04-14)".into(),
        outputs: Outputs {
            kernel_elf: FileOutput {
                file: "kernel.elf".into(),
                size: 4096,
                sha256: "cd".repeat(32),
            },
            iso,
            pxe,
            disk: None,
            appliance: ApplianceOutput::Built {
                file: "pool.img".into(),
                size: 34 << 20,
                sha256: "23".repeat(32),
                firmware: vec!["bios".into(), "uefi".into()],
                partitions: vec![PartitionOutput {
                    mbr_type: "0xef".into(),
                    first_sector: 2048,
                    sectors: 67584,
                }],
                tools: vec!["grub-mkimage (GRUB) 2.06".into()],
            },
            qcow2: Qcow2Output::Skipped {
                reason: "qemu-img not found".into(),
            },
            oci: OciOutput::Built {
                dir: "oci".into(),
                reference: "latest".into(),
                manifest_digest: format!("sha256:{}", "45".repeat(32)),
                files: 5,
                size: 6 << 20,
                sha256: "67".repeat(32),
            },
        },
    }
}

fn built() -> Manifest {
    sample(
        IsoOutput::Built {
            file: "pool.iso".into(),
            reproducible: true,
            size: Some(2048),
            sha256: Some("ef".repeat(32)),
            tools: vec!["grub-mkimage (GRUB) 2.06".into(), "xorriso 1.5.4".into()],
            firmware: vec!["bios".into(), "uefi".into()],
        },
        PxeOutput::Built {
            dir: "pxe".into(),
            files: 330,
            size: 1 << 20,
            sha256: "01".repeat(32),
        },
    )
}

#[test]
fn serialization_is_deterministic_and_round_trips() {
    let json = built().to_json();
    assert_eq!(json, built().to_json());
    assert!(json.ends_with("}\n"));
    assert_eq!(Manifest::from_json(&json).expect("reads back"), built());
}

#[test]
fn keys_come_in_a_fixed_order() {
    let json = built().to_json();
    let keys = [
        "\"format\"",
        "\"profile\"",
        "\"profile_sha256\"",
        "\"node\"",
        "\"cmdline\"",
        "\"servers\"",
        "\"drivers\"",
        "\"features\"",
        "\"programs\"",
        "\"toolchain\"",
        "\"outputs\"",
        "\"kernel_elf\"",
        "\"iso\"",
        "\"pxe\"",
        "\"appliance\"",
        "\"qcow2\"",
        "\"oci\"",
    ];
    let positions: Vec<usize> = keys
        .iter()
        .map(|k| json.find(k).unwrap_or(usize::MAX))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{json}");
}

#[test]
fn shape_of_built_outputs() {
    let value: serde_json::Value = serde_json::from_str(&built().to_json()).expect("json");
    assert_eq!(value["outputs"]["iso"]["status"], "built");
    assert_eq!(value["outputs"]["iso"]["reproducible"], true);
    assert_eq!(value["outputs"]["iso"]["size"], 2048);
    assert_eq!(value["outputs"]["pxe"]["files"], 330);
    assert_eq!(
        value["outputs"]["iso"]["firmware"],
        serde_json::json!(["bios", "uefi"])
    );
    assert_eq!(
        value["outputs"]["appliance"]["partitions"][0],
        serde_json::json!({"mbr_type": "0xef", "first_sector": 2048, "sectors": 67584})
    );
    assert_eq!(value["outputs"]["qcow2"]["status"], "skipped");
    assert_eq!(value["outputs"]["oci"]["reference"], "latest");
    assert_eq!(value["outputs"]["kernel_elf"]["file"], "kernel.elf");
    assert_eq!(value["drivers"], serde_json::json!(["pci", "rtc"]));
    assert_eq!(
        value["programs"][0],
        serde_json::json!({
            "name": "hello",
            "source": "programs/hello",
            "args": ["from", "a", "test"],
            "priority": "norm",
            "driver": false,
            "admin": false,
            "image_size": 5000,
            "image_sha256": "9a".repeat(32),
        })
    );
}

#[test]
fn a_manifest_without_programs_still_reads() {
    let mut value: serde_json::Value = serde_json::from_str(&built().to_json()).expect("json");
    value.as_object_mut().expect("an object").remove("programs");
    let manifest = Manifest::from_json(&value.to_string()).expect("programs default to none");
    assert!(manifest.programs.is_empty());
}

#[test]
fn an_unreproducible_iso_has_no_bytes_recorded() {
    let iso = IsoOutput::Built {
        file: "x.iso".into(),
        reproducible: false,
        size: None,
        sha256: None,
        tools: vec![],
        firmware: vec![],
    };
    let json = sample(iso, PxeOutput::Skipped { reason: "r".into() }).to_json();
    assert!(
        json.contains("\"reproducible\": false") && !json.contains("\"size\": 2048"),
        "{json}"
    );
    let value: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert!(value["outputs"]["iso"].get("sha256").is_none());
    assert_eq!(
        value["outputs"]["pxe"],
        serde_json::json!({"status": "skipped", "reason": "r"})
    );
}

#[test]
fn no_absolute_paths_or_times() {
    let json = built().to_json();
    assert!(!json.contains(": \"/"), "{json}");
    for word in ["time", "date", "host"] {
        assert!(!json.contains(word), "{word} in {json}");
    }
}

#[test]
fn a_disk_size_is_recorded_only_for_a_node_with_a_disk() {
    assert!(!built().to_json().contains("disk_mib"));
    let disk = Manifest {
        disk_mib: Some(16),
        ..built()
    };
    let json = disk.to_json();
    assert!(json.contains("\"disk_mib\": 16"), "{json}");
    assert_eq!(Manifest::from_json(&json).expect("reads back"), disk);
}
