use super::*;

fn spec(boot: Boot) -> QemuSpec {
    QemuSpec {
        image_dir: PathBuf::from("images/pool"),
        profile: "pool".into(),
        node: "pool-1".into(),
        cmdline: "node=pool-1 log=info".into(),
        boot,
        firmware: Firmware::Bios,
        nic: None,
        lan: None,
        udp_forward: None,
        more_cards: Vec::new(),
        accel: Accel::Tcg,
        memory_mib: 128,
        append: Vec::new(),
        serial: Serial::Stdio,
        icount: false,
        icount_real_idle: false,
        interactive: false,
        disk: None,
    }
}

fn args(spec: &QemuSpec) -> Vec<String> {
    command(spec)
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

fn has(args: &[String], pair: [&str; 2]) -> bool {
    args.windows(2).any(|w| w[0] == pair[0] && w[1] == pair[1])
}

#[test]
fn kernel_boot() {
    let a = args(&spec(Boot::Kernel));
    assert_eq!(
        a,
        [
            "-name",
            "pool-1",
            "-accel",
            "tcg",
            "-cpu",
            "qemu64,+rdrand",
            "-m",
            "128",
            "-display",
            "none",
            "-no-reboot",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-serial",
            "stdio",
            "-monitor",
            "none",
            "-kernel",
            "kernel.elf",
            "-append",
            "node=pool-1 log=info",
            "-nic",
            "none",
        ]
    );
    assert_eq!(
        command(&spec(Boot::Kernel)).get_current_dir(),
        Some(Path::new("images/pool"))
    );
}

#[test]
fn iso_boot() {
    let a = args(&spec(Boot::Iso));
    assert!(
        has(&a, ["-cdrom", "pool.iso"]) && has(&a, ["-boot", "d"]),
        "{a:?}"
    );
    assert!(!a.contains(&"-kernel".to_string()) && !a.contains(&"-append".to_string()));
    assert!(has(&a, ["-nic", "none"]));
}

#[test]
fn pxe_boot_gets_a_virtio_nic_by_default() {
    let a = args(&spec(Boot::Pxe));
    assert!(
        has(
            &a,
            [
                "-netdev",
                "user,id=n0,tftp=pxe,bootfile=boot/grub/i386-pc/core.0"
            ]
        ),
        "{a:?}"
    );
    assert!(
        has(&a, ["-device", "virtio-net-pci,netdev=n0"]) && has(&a, ["-boot", "n"]),
        "{a:?}"
    );
    assert!(!has(&a, ["-nic", "none"]));
}

#[test]
fn pxe_boot_with_ne2000() {
    let a = args(&QemuSpec {
        nic: Some(Nic::Ne2000),
        ..spec(Boot::Pxe)
    });
    assert!(has(&a, ["-device", "ne2k_pci,netdev=n0"]), "{a:?}");
}

#[test]
fn a_nic_on_a_kernel_boot() {
    let a = args(&QemuSpec {
        nic: Some(Nic::Virtio),
        ..spec(Boot::Kernel)
    });
    assert!(
        has(&a, ["-netdev", "user,id=n0"]) && has(&a, ["-device", "virtio-net-pci,netdev=n0"]),
        "{a:?}"
    );
    assert!(!has(&a, ["-nic", "none"]));
}

#[test]
fn a_card_on_a_virtual_lan_has_its_own_address() {
    let a = args(&QemuSpec {
        nic: Some(Nic::Ne2000),
        lan: Some(Lan::for_node(47001, 2)),
        ..spec(Boot::Kernel)
    });
    assert!(
        has(
            &a,
            [
                "-netdev",
                "socket,id=n0,mcast=230.0.0.1:47001,localaddr=127.0.0.1"
            ]
        ) && has(&a, ["-device", "ne2k_pci,netdev=n0,mac=52:54:00:a0:00:02"]),
        "{a:?}"
    );
}

#[test]
fn extra_words_go_through_fw_cfg_on_every_path() {
    for boot in [Boot::Kernel, Boot::Iso, Boot::Pxe] {
        let a = args(&QemuSpec {
            append: vec!["ready=exit".into(), "x=a,b".into()],
            ..spec(boot)
        });
        assert!(
            has(
                &a,
                [
                    "-fw_cfg",
                    "name=opt/amoeba/cmdline,string=ready=exit x=a,,b"
                ]
            ),
            "{a:?}"
        );
    }
    assert!(!args(&spec(Boot::Kernel)).contains(&"-fw_cfg".to_string()));
}

#[test]
fn kvm_memory_and_icount() {
    let a = args(&QemuSpec {
        accel: Accel::Kvm,
        memory_mib: 64,
        icount: true,
        ..spec(Boot::Kernel)
    });
    assert!(
        has(&a, ["-accel", "kvm"])
            && has(&a, ["-cpu", "host"])
            && has(&a, ["-m", "64"])
            && has(&a, ["-icount", "shift=0,sleep=off"]),
        "{a:?}"
    );
}

#[test]
fn serial_to_a_file_is_absolute() {
    let a = args(&QemuSpec {
        serial: Serial::File("logs/serial.txt".into()),
        ..spec(Boot::Kernel)
    });
    let serial = a
        .iter()
        .skip_while(|a| *a != "-serial")
        .nth(1)
        .cloned()
        .unwrap_or_default();
    assert!(
        serial.starts_with("file:/") && serial.ends_with("logs/serial.txt"),
        "{serial}"
    );
    assert!(has(&a, ["-monitor", "none"]));
}

#[test]
fn serial_on_a_pipe() {
    let a = args(&QemuSpec {
        serial: Serial::Pipe,
        ..spec(Boot::Kernel)
    });
    assert!(has(&a, ["-serial", "stdio"]) && has(&a, ["-monitor", "none"]));
}

#[test]
fn interactive_console_multiplexes_the_monitor() {
    let a = args(&QemuSpec {
        interactive: true,
        ..spec(Boot::Kernel)
    });
    assert!(
        has(&a, ["-chardev", "stdio,id=console,mux=on,signal=on"]),
        "{a:?}"
    );
    assert!(has(&a, ["-serial", "chardev:console"]) && !a.contains(&"-monitor".to_string()));
}

#[test]
fn outcomes_read_qemu_statuses() {
    use std::os::unix::process::ExitStatusExt;
    let status = |code: i32| ExitStatus::from_raw(code << 8);
    assert_eq!(
        Outcome::from_status(status(33)),
        Outcome::Guest(ExitCode::Success)
    );
    assert_eq!(
        Outcome::from_status(status(35)),
        Outcome::Guest(ExitCode::Panic)
    );
    assert_eq!(Outcome::from_status(status(0)), Outcome::Stopped);
    assert_eq!(Outcome::from_status(status(1)), Outcome::Status(1));
    assert_eq!(
        Outcome::from_status(ExitStatus::from_raw(9)),
        Outcome::Signal(9)
    );
    assert!(Outcome::Stopped.is_clean() && !Outcome::Guest(ExitCode::Panic).is_clean());
    assert_eq!(
        Outcome::Guest(ExitCode::Panic).to_string(),
        "kernel panic (QEMU status 35)"
    );
}

#[test]
fn boot_files() {
    assert_eq!(
        boot_file(&spec(Boot::Iso)),
        Path::new("images/pool/pool.iso")
    );
    assert_eq!(
        boot_file(&spec(Boot::Pxe)),
        Path::new("images/pool/pxe/boot/grub/i386-pc/core.0")
    );
}

#[test]
fn a_udp_port_forwarded_to_a_guest_on_the_user_network() {
    let forward = Some(UdpForward {
        host: 41460,
        guest: 4146,
    });
    let a = args(&QemuSpec {
        nic: Some(Nic::Virtio),
        udp_forward: forward,
        ..spec(Boot::Kernel)
    });
    assert!(
        has(
            &a,
            ["-netdev", "user,id=n0,hostfwd=udp:127.0.0.1:41460-:4146"]
        ),
        "{a:?}"
    );
    let a = args(&QemuSpec {
        udp_forward: forward,
        ..spec(Boot::Pxe)
    });
    assert!(
        a.iter().any(|arg| arg.starts_with("user,id=n0,tftp=")
            && arg.ends_with(",hostfwd=udp:127.0.0.1:41460-:4146")),
        "{a:?}"
    );
}

#[test]
fn icount_may_let_an_idle_guest_wait_in_real_time() {
    let a = args(&QemuSpec {
        icount: true,
        icount_real_idle: true,
        ..spec(Boot::Kernel)
    });
    assert!(has(&a, ["-icount", "shift=0,sleep=on"]), "{a:?}");
}

#[test]
fn a_node_may_have_a_card_on_each_of_several_lans() {
    let a = args(&QemuSpec {
        nic: Some(Nic::Ne2000),
        lan: Some(Lan::for_node(5000, 1)),
        more_cards: vec![(Nic::Virtio, Lan::for_node(5001, 2))],
        ..spec(Boot::Kernel)
    });
    assert!(
        has(&a, ["-device", "ne2k_pci,netdev=n0,mac=52:54:00:a0:00:01"]),
        "{a:?}"
    );
    assert!(
        has(
            &a,
            [
                "-netdev",
                "socket,id=n1,mcast=230.0.0.1:5001,localaddr=127.0.0.1"
            ]
        ),
        "{a:?}"
    );
    assert!(
        has(
            &a,
            ["-device", "virtio-net-pci,netdev=n1,mac=52:54:00:a0:00:02"]
        ),
        "{a:?}"
    );
}

/// The value after `option`, if the arguments have it.
fn value_of<'a>(args: &'a [String], option: &str) -> Option<&'a str> {
    args.windows(2)
        .find(|w| w[0] == option)
        .map(|w| w[1].as_str())
}

#[test]
fn a_disk_is_a_raw_virtio_drive_in_its_own_slot() {
    let a = args(&QemuSpec {
        disk: Some("images/pool/disk.img".into()),
        ..spec(Boot::Kernel)
    });
    let drive = value_of(&a, "-drive").unwrap_or_default();
    assert!(
        drive.starts_with("file=/")
            && drive.ends_with("images/pool/disk.img,if=none,format=raw,id=disk0"),
        "absolute, since QEMU runs in the image directory: {drive}"
    );
    assert!(
        has(&a, ["-device", "virtio-blk-pci,drive=disk0,addr=0x5"]),
        "{a:?}"
    );
    assert_eq!(DISK_PCI_SLOT, 5);
    let none = args(&spec(Boot::Kernel));
    assert!(
        !none
            .iter()
            .any(|arg| arg == "-drive" || arg.starts_with("virtio-blk"))
    );
}

#[test]
fn a_disk_is_attached_on_every_boot_path_before_the_cards() {
    for boot in [Boot::Kernel, Boot::Iso, Boot::Pxe] {
        let a = args(&QemuSpec {
            disk: Some("/d/disk.img".into()),
            nic: Some(Nic::Virtio),
            lan: (boot != Boot::Pxe).then(|| Lan::for_node(5000, 1)),
            more_cards: vec![(Nic::Ne2000, Lan::for_node(5001, 1))],
            ..spec(boot)
        });
        assert!(
            has(
                &a,
                ["-drive", "file=/d/disk.img,if=none,format=raw,id=disk0"]
            ),
            "{boot:?}: {a:?}"
        );
        // QEMU places the cards in the first free slots, so the disk's must be taken first.
        let disk = a.iter().position(|arg| arg.starts_with("virtio-blk-pci"));
        let card = a.iter().position(|arg| arg.starts_with("virtio-net-pci"));
        assert!(disk.is_some() && disk < card, "{boot:?}: {a:?}");
    }
}

#[test]
fn a_comma_in_the_disk_path_is_doubled() {
    let a = args(&QemuSpec {
        disk: Some("/d/a,b/disk.img".into()),
        ..spec(Boot::Kernel)
    });
    assert!(
        has(
            &a,
            [
                "-drive",
                "file=/d/a,,b/disk.img,if=none,format=raw,id=disk0"
            ]
        ),
        "{a:?}"
    );
}

#[test]
fn a_disk_boot_attaches_the_built_image_as_a_snapshot_first_in_the_boot_order() {
    let a = args(&spec(Boot::Disk));
    let drive = value_of(&a, "-drive").unwrap_or_default();
    assert!(
        drive.starts_with("file=/")
            && drive.ends_with("images/pool/pool.img,if=none,format=raw,id=disk0,snapshot=on"),
        "{a:?}"
    );
    assert!(
        has(
            &a,
            ["-device", "virtio-blk-pci,drive=disk0,addr=0x5,bootindex=0"]
        ),
        "{a:?}"
    );
    assert!(
        !a.iter().any(|arg| arg == "-kernel" || arg == "-cdrom"),
        "{a:?}"
    );
    let q = args(&QemuSpec {
        disk: Some("/d/run.qcow2".into()),
        ..spec(Boot::Qcow2)
    });
    assert!(
        has(
            &q,
            ["-drive", "file=/d/run.qcow2,if=none,format=qcow2,id=disk0"]
        ),
        "a disk of the caller's is written to: {q:?}"
    );
    assert_eq!(
        boot_file(&spec(Boot::Qcow2)),
        PathBuf::from("images/pool/pool.qcow2")
    );
}

#[test]
fn uefi_adds_ovmf_flash_with_a_throwaway_variable_store() {
    let a = args(&QemuSpec {
        firmware: Firmware::Uefi,
        ..spec(Boot::Iso)
    });
    assert!(has(
        &a,
        [
            "-drive",
            "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd"
        ]
    ));
    assert!(has(
        &a,
        [
            "-drive",
            "if=pflash,format=raw,unit=1,snapshot=on,file=/usr/share/OVMF/OVMF_VARS_4M.fd"
        ]
    ));
    assert!(has(
        &a,
        ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    ));
    assert!(
        !args(&spec(Boot::Iso))
            .iter()
            .any(|arg| arg.contains("pflash"))
    );
}

#[test]
fn uefi_refuses_kernel_and_pxe_boots() {
    let kernel = firmware::check(Boot::Kernel, Firmware::Uefi).expect_err("refused");
    assert_eq!(
        kernel.to_string(),
        "--boot kernel cannot use --firmware uefi: QEMU's -kernel loads a Multiboot kernel \
         with its BIOS only; boot by disk, qcow2 or iso on UEFI"
    );
    assert!(matches!(
        firmware::check(Boot::Pxe, Firmware::Uefi),
        Err(FirmwareError::Unsupported {
            boot: Boot::Pxe,
            ..
        })
    ));
    for boot in [Boot::Kernel, Boot::Pxe, Boot::Disk] {
        assert_eq!(firmware::check(boot, Firmware::Bios), Ok(()));
    }
}
