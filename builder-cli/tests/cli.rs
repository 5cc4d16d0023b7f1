//! The `amoeba-build` command on profiles that need no build: what `check` says, and what
//! `run` and `cluster` refuse before building anything; and `programs`, which builds the user
//! programs (not the kernel) into `images/programs/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn amoeba_build(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_amoeba-build"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("amoeba-build runs: {e}"))
}

/// Its exit status must be failure; its stderr.
fn refused(args: &[&str]) -> String {
    let output = amoeba_build(args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{args:?}:\n{stderr}");
    assert!(
        !stderr.contains("building the kernel") && !stderr.contains("booting"),
        "{args:?} refused before building:\n{stderr}"
    );
    stderr
}

#[test]
fn check_refuses_a_selftest_word_of_a_profile_without_self_tests() {
    let dir = std::env::temp_dir().join(format!("amoeba-build-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("no-tests.toml");
    let text = "description = \"d\"\n[node]\ncmdline = \"selftest=sched\"\n";
    std::fs::write(&file, text).expect("profile written");
    let path = file.to_str().expect("temp paths are UTF-8 here");
    let stderr = refused(&["check", "--profile", path]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        stderr.starts_with(&format!(
            "{path}:3: [node] cmdline: `selftest=sched` runs a kernel self-test, but this \
             profile compiles none in; add `selftest = true` under [kernel]"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("1 problem; nothing was built"), "{stderr}");
}

#[test]
fn run_and_cluster_refuse_selftest_words_for_a_profile_without_self_tests() {
    let expected = "--append `selftest=sched`: node-profiles/minimal.toml compiles no kernel \
                    self-tests in; boot a test profile (one with `selftest = true` under \
                    [kernel]), or leave the word out";
    let run = [
        "run",
        "--profile",
        "minimal",
        "--append",
        "ready=exit selftest=sched",
    ];
    let stderr = refused(&run);
    assert!(stderr.contains(expected), "{stderr}");
    let cluster = [
        "cluster",
        "--profile",
        "minimal",
        "--nodes",
        "2",
        "--append",
        "selftest=sched",
    ];
    let stderr = refused(&cluster);
    assert!(stderr.contains(expected), "{stderr}");
}

#[test]
fn run_refuses_uefi_for_kernel_and_pxe_boots_before_building() {
    let kernel = refused(&[
        "run",
        "--profile",
        "minimal",
        "--boot",
        "kernel",
        "--firmware",
        "uefi",
    ]);
    assert!(
        kernel.contains(
            "--boot kernel cannot use --firmware uefi: QEMU's -kernel loads a Multiboot kernel \
             with its BIOS only; boot by disk, qcow2 or iso on UEFI"
        ),
        "{kernel}"
    );
    let pxe = refused(&[
        "run",
        "--profile",
        "minimal",
        "--boot",
        "pxe",
        "--firmware",
        "uefi",
    ]);
    assert!(
        pxe.contains("the PXE tree holds GRUB for BIOS only"),
        "{pxe}"
    );
}

#[test]
fn check_shows_the_selftest_feature_of_a_test_profile() {
    let output = amoeba_build(&["check", "--profile", "tests/profiles/test-kernel.toml"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains("features: selftest,"), "{stdout}");
}

#[test]
fn check_shows_the_withheld_exec_feature_of_a_node_that_refuses_it() {
    let output = amoeba_build(&["check", "--profile", "tests/profiles/test-no-exec.toml"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains(" proc-exec-withheld, "), "{stdout}");
    let output = amoeba_build(&["check", "--profile", "pool"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(!stdout.contains("proc-exec-withheld"), "{stdout}");
}

#[test]
fn check_shows_the_disk_of_a_node_with_one() {
    let output = amoeba_build(&["check", "--profile", "tests/profiles/test-disk.toml"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout.contains(" driver-virtio-blk, ") && stdout.contains(" server-vdisk"),
        "{stdout}"
    );
    assert!(stdout.contains(", disk: 16 MiB, cmdline: "), "{stdout}");
    let output = amoeba_build(&["check", "--profile", "pool"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("disk:"), "{stdout}");
}

#[test]
fn programs_writes_every_program_image_and_the_index() {
    let output = amoeba_build(&["programs"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("amoeba-build: wrote images/programs/"),
        "{stderr}"
    );
    let dir = root().join("images").join("programs");
    let text = std::fs::read_to_string(dir.join("index.json")).expect("index.json written");
    let index: serde_json::Value = serde_json::from_str(&text).expect("index.json is JSON");
    assert_eq!(index["format"], 1);
    let programs = index["programs"].as_array().expect("a list of programs");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        programs.len(),
        "one line per program:\n{stdout}"
    );
    assert!(programs.iter().any(|p| p["name"] == "hello"), "{text}");
    for (line, program) in lines.iter().zip(programs) {
        let name = program["name"].as_str().expect("name");
        let bytes = program["bytes"].as_u64().expect("bytes");
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words, [name, &bytes.to_string()], "{line}");
        assert_eq!(program["file"], format!("{name}.process"));
        let image = std::fs::read(dir.join(format!("{name}.process"))).expect("image written");
        assert_eq!(image.len() as u64, bytes, "{name}");
        assert_eq!(image[..2], [0x1f, 0x8b], "{name}: a gzip file");
        assert_eq!(
            program["sha256"],
            amoeba_build::digest::sha256_hex(&image),
            "{name}"
        );
    }
}

/// `amoeba-build fsck FILE`: its exit code and stdout, stderr.
fn fsck(file: &Path) -> (Option<i32>, String, String) {
    let path = file.to_str().expect("temp paths are UTF-8 here");
    let output = amoeba_build(&["fsck", path]);
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr),
    )
}

#[test]
fn fsck_tells_a_clean_image_a_damaged_one_and_no_image_apart() {
    use amoeba_build::disk_image::{DiskRequest, make};
    let dir = std::env::temp_dir().join(format!("amoeba-build-fsck-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("disk.img");
    let request = DiskRequest {
        mib: 2,
        files: &[],
        dirs: &[],
        seed: [3; 32],
    };
    make(&request).expect("made").write(&file).expect("written");
    let (code, stdout, stderr) = fsck(&file);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("vdisk:00: Bullet volume, generation 1: 0 files, 0 bytes")
            && stdout.ends_with("clean\n"),
        "{stdout}"
    );
    // The superblock (sector 1, the Bullet piece's first) overwritten: refused as the
    // Bullet server would refuse it.
    let mut bytes = std::fs::read(&file).expect("read");
    bytes[512..1024].fill(0xA5);
    std::fs::write(&file, &bytes).expect("written");
    let (code, stdout, _) = fsck(&file);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("vdisk:00: not a usable Bullet volume: "),
        "{stdout}"
    );
    // The label damaged: ours, but nothing can be checked.
    bytes[40] ^= 1;
    std::fs::write(&file, &bytes).expect("written");
    let (code, _, stderr) = fsck(&file);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("the disk label (sector 0) is damaged"),
        "{stderr}"
    );
    // Not a disk image at all.
    std::fs::write(&file, "description = \"d\"\n").expect("written");
    let (code, _, stderr) = fsck(&file);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.starts_with("amoeba-build: error: ") && stderr.contains("is not a disk image: "),
        "{stderr}"
    );
}

#[test]
fn image_turns_a_program_elf_into_the_image_programs_makes_and_refuses_other_files() {
    let output = amoeba_build(&["programs"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ws = amoeba_build::workspace::Workspace::at(&root()).expect("the workspace");
    let elf = amoeba_build::programs::binary(&ws, "hello");
    let out = std::env::temp_dir().join(format!("amoeba-image-{}.process", std::process::id()));
    let made = amoeba_build(&[
        "image",
        &elf.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
    ]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let image = std::fs::read(&out).expect("written");
    let _ = std::fs::remove_file(&out);
    let built = std::fs::read(root().join("images/programs/hello.process")).expect("built");
    assert!(image == built, "not the image `programs` makes");
    let not_elf = root().join("Cargo.toml");
    let message = refused(&[
        "image",
        &not_elf.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
    ]);
    assert!(
        message.contains("cannot be a process image") && message.contains("not a 64-bit ELF"),
        "{message}"
    );
    assert!(!out.exists(), "nothing is written for a refused file");
}
