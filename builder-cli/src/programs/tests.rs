use super::*;
use libamoeba::memory::PAGE_SIZE;
use libamoeba::priority::Level;
use libamoeba::process::image::{ImageError, ZERO_FILLED};
use libamoeba::process::layout::{
    MAIN_STACK_BASE, MAIN_STACK_BYTES, MAIN_STACK_TOP, USER_TEXT_BASE,
};
use libamoeba::process::{ArchMagic, SegmentType, decode_image};

use crate::node_spec::{ProgramSource, ProgramSpec};
use std::path::Path;

const BASE: u64 = USER_TEXT_BASE;
const R: u32 = 4;
const W: u32 = 2;
const X: u32 = 1;
const PT_LOAD: u32 = 1;
const TEXT: SegmentType = SegmentType(SegmentType::TEXT.0 | SegmentType::RO.0);
const RODATA: SegmentType = SegmentType(SegmentType::DATA.0 | SegmentType::RO.0);
const DATA: SegmentType = SegmentType(SegmentType::DATA.0 | SegmentType::RW.0);
const STACK: SegmentType =
    SegmentType(SegmentType::SYSTEM.0 | SegmentType::DATA.0 | SegmentType::RW.0);

/// One program header of a synthetic ELF.
struct Ph {
    p_type: u32,
    flags: u32,
    vaddr: u64,
    bytes: Vec<u8>,
    memsz: u64,
}

fn load(flags: u32, vaddr: u64, bytes: Vec<u8>, memsz: u64) -> Ph {
    Ph {
        p_type: PT_LOAD,
        flags,
        vaddr,
        bytes,
        memsz,
    }
}

/// A little-endian ELF64 file: header, program headers, then each header's bytes.
fn elf_with(e_type: u16, machine: u16, entry: u64, phs: &[Ph]) -> Vec<u8> {
    let mut file = Vec::new();
    file.extend_from_slice(&[0x7F, b'E', b'L', b'F', 2, 1, 1, 0]);
    file.extend_from_slice(&[0; 8]);
    file.extend_from_slice(&e_type.to_le_bytes());
    file.extend_from_slice(&machine.to_le_bytes());
    file.extend_from_slice(&1u32.to_le_bytes());
    file.extend_from_slice(&entry.to_le_bytes());
    file.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    file.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    file.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    file.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
    file.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
    file.extend_from_slice(&(phs.len() as u16).to_le_bytes());
    file.extend_from_slice(&64u16.to_le_bytes()); // e_shentsize
    file.extend_from_slice(&[0; 4]); // e_shnum, e_shstrndx
    assert_eq!(file.len(), 64);
    let mut offset = 64 + 56 * phs.len() as u64;
    for ph in phs {
        file.extend_from_slice(&ph.p_type.to_le_bytes());
        file.extend_from_slice(&ph.flags.to_le_bytes());
        file.extend_from_slice(&offset.to_le_bytes());
        file.extend_from_slice(&ph.vaddr.to_le_bytes());
        file.extend_from_slice(&ph.vaddr.to_le_bytes());
        file.extend_from_slice(&(ph.bytes.len() as u64).to_le_bytes());
        file.extend_from_slice(&ph.memsz.to_le_bytes());
        file.extend_from_slice(&PAGE_SIZE.to_le_bytes());
        offset += ph.bytes.len() as u64;
    }
    for ph in phs {
        file.extend_from_slice(&ph.bytes);
    }
    file
}

fn elf(entry: u64, phs: &[Ph]) -> Vec<u8> {
    elf_with(2, 62, entry, phs)
}

fn text_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 | 1).collect()
}

/// Text (1.5 pages), rodata, data with bss beyond its last page: the shape user.ld gives.
fn program() -> Vec<u8> {
    elf(
        BASE + 0x10,
        &[
            load(R | X, BASE, text_bytes(0x1800), 0x1800),
            load(R, BASE + 0x2000, vec![7; 0x100], 0x100),
            load(R | W, BASE + 0x3000, vec![9; 0x1100], 0x5000),
        ],
    )
}

#[test]
fn loads_become_page_aligned_segments_with_a_stack_and_a_thread() {
    let process = process_from_elf(&program()).expect("converts");
    let layout: Vec<(u64, u64, SegmentType, usize)> = process
        .descriptor
        .segments
        .iter()
        .zip(&process.contents)
        .map(|(s, c)| (s.address, s.length, s.kind, c.len()))
        .collect();
    assert_eq!(
        layout,
        [
            (BASE, 0x2000, TEXT, 0x2000),
            (BASE + 0x2000, 0x1000, RODATA, 0x1000),
            (BASE + 0x3000, 0x2000, DATA, 0x2000),
            (BASE + 0x5000, 0x3000, DATA, 0), // the bss beyond the data's last page
            (MAIN_STACK_BASE, MAIN_STACK_BYTES, STACK, 0),
        ]
    );
    let text = &process.contents[0];
    assert_eq!(&text[..0x1800], text_bytes(0x1800).as_slice());
    assert!(text[0x1800..].iter().all(|&b| b == 0), "padded with zeros");
    let data = &process.contents[2];
    assert!(data[..0x1100].iter().all(|&b| b == 9));
    assert!(
        data[0x1100..].iter().all(|&b| b == 0),
        "bss in the data's page is zero"
    );
    let thread = &process.descriptor.threads[..];
    assert_eq!(thread.len(), 1);
    assert_eq!((thread[0].pc, thread[0].sp), (BASE + 0x10, MAIN_STACK_TOP));
    assert_eq!(thread[0].registers, None);
    assert_eq!(process.descriptor.arch, ArchMagic::X86_64);
}

#[test]
fn the_image_decodes_and_is_reproducible() {
    let file = image_from_elf(&program()).expect("converts");
    assert_eq!(file, image_from_elf(&program()).expect("again"));
    let image = decode_image(&file, ArchMagic::X86_64, 1 << 20).expect("decodes");
    let segments: Vec<_> = image.segments().collect();
    assert_eq!(segments.len(), 5);
    assert_eq!(&segments[0].1[..0x1800], text_bytes(0x1800).as_slice());
    assert_eq!(segments[3].0.offset, ZERO_FILLED);
    assert_eq!(segments[4].0.offset, ZERO_FILLED);
    assert_eq!(segments[4].0.end(), Some(MAIN_STACK_TOP));
}

#[test]
fn unaligned_and_bss_only_loads() {
    let process = process_from_elf(&elf(
        BASE,
        &[
            load(R | X, BASE, vec![0xC3], 1),
            load(R | W, BASE + 0x1010, vec![5; 0x10], 0x10),
            load(R | W, BASE + 0x3000, vec![], 0x2001),
        ],
    ))
    .expect("converts");
    let s = &process.descriptor.segments;
    assert_eq!((s[0].address, s[0].length), (BASE, 0x1000));
    assert_eq!((s[1].address, s[1].length), (BASE + 0x1000, 0x1000));
    assert_eq!(&process.contents[1][..0x10], &[0; 0x10]);
    assert_eq!(&process.contents[1][0x10..0x20], &[5; 0x10]);
    // No file bytes: one zero-filled segment over every page of it.
    assert_eq!((s[2].address, s[2].length), (BASE + 0x3000, 0x3000));
    assert!(process.contents[2].is_empty());
    assert_eq!(s.len(), 4);
    process.encode().expect("a valid image");
}

#[test]
fn non_programs_are_refused() {
    let text = || vec![load(R | X, BASE, vec![0xC3], 1)];
    assert!(matches!(
        process_from_elf(b"not an elf at all"),
        Err(ElfImageError::NotElf64(_))
    ));
    let mut big_endian = elf(BASE, &text());
    big_endian[5] = 2;
    assert!(process_from_elf(&big_endian).is_err());
    assert_eq!(
        process_from_elf(&elf_with(2, 183, BASE, &text())),
        Err(ElfImageError::NotX86_64(183))
    );
    assert_eq!(
        process_from_elf(&elf_with(3, 62, BASE, &text())),
        Err(ElfImageError::NotExecutable(3))
    );
    for (p_type, expected) in [
        (2, ElfImageError::Dynamic { kind: "PT_DYNAMIC" }),
        (3, ElfImageError::Dynamic { kind: "PT_INTERP" }),
        (7, ElfImageError::ThreadLocal),
    ] {
        let mut phs = text();
        phs.push(Ph {
            p_type,
            flags: R,
            vaddr: BASE + 0x1000,
            bytes: vec![0; 8],
            memsz: 8,
        });
        assert_eq!(process_from_elf(&elf(BASE, &phs)), Err(expected));
    }
    assert_eq!(
        process_from_elf(&elf(BASE, &[])),
        Err(ElfImageError::NoLoadSegment)
    );
}

#[test]
fn bad_loads_are_refused() {
    assert_eq!(
        process_from_elf(&elf(BASE, &[load(R | W | X, BASE, vec![0xC3], 1)])),
        Err(ElfImageError::WritableText {
            index: 0,
            vaddr: BASE
        })
    );
    assert_eq!(
        process_from_elf(&elf(BASE, &[load(R | X, BASE, vec![0xC3; 16], 8)])),
        Err(ElfImageError::FileLargerThanMemory {
            index: 0,
            filesz: 16,
            memsz: 8
        })
    );
    let mut truncated = elf(BASE, &[load(R | X, BASE, vec![0xC3; 64], 64)]);
    truncated.truncate(truncated.len() - 1);
    assert_eq!(
        process_from_elf(&truncated),
        Err(ElfImageError::OutsideFile { index: 0 })
    );
    let vaddr = u64::MAX - 0xFFF;
    assert_eq!(
        process_from_elf(&elf(BASE, &[load(R | X, vaddr, vec![0xC3], 2)])),
        Err(ElfImageError::AddressOverflow {
            index: 0,
            vaddr,
            memsz: 2
        })
    );
}

#[test]
fn the_image_checks_apply() {
    let encode = |entry, phs: &[Ph]| process_from_elf(&elf(entry, phs)).and_then(|p| p.encode());
    assert_eq!(
        encode(BASE + 0x1000, &[load(R | X, BASE, vec![0xC3], 1)]),
        Err(ElfImageError::Image(ImageError::PcOutsideText {
            thread: 0,
            pc: BASE + 0x1000
        }))
    );
    // Two loads sharing a page: user.ld starts every part on a page of its own.
    assert_eq!(
        encode(
            BASE,
            &[
                load(R | X, BASE, vec![0xC3], 1),
                load(R, BASE + 0x800, vec![1], 1)
            ]
        ),
        Err(ElfImageError::Image(ImageError::SegmentsOverlap {
            first: 0,
            second: 1
        }))
    );
    // Below user space: refused before the image's own check, with the fix.
    assert!(matches!(
        encode(0x10, &[load(R | X, 0, vec![0xC3; 32], 32)]),
        Err(ElfImageError::WrongAddress { index: 0, vaddr: 0 })
    ));
    // Linked over the main stack.
    assert!(matches!(
        encode(
            BASE,
            &[
                load(R | X, BASE, vec![0xC3], 1),
                load(R | W, MAIN_STACK_BASE, vec![], 8)
            ]
        ),
        Err(ElfImageError::Image(ImageError::SegmentsOverlap { .. }))
    ));
}

fn ws() -> Workspace {
    Workspace::at(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))).expect("workspace")
}

#[test]
fn the_available_programs_are_the_bins_of_the_programs_crate() {
    assert_eq!(
        available(&ws()),
        [
            "hello",
            "ballast",
            "fetch",
            "caller",
            "lines",
            "status",
            "threads",
            "faults",
            "counter",
            "idle-check",
            "memory",
            "rtc-driver",
            "chaos",
            "bench",
            "echo-server",
            "stall-server",
            "rpc-check",
            "rpc-bench",
            "ps",
            "kstat"
        ]
    );
    let bins = std::fs::read_dir(ws().programs_dir().join("src/bin"))
        .expect("programs/src/bin")
        .count();
    assert_eq!(
        bins,
        available(&ws()).len(),
        "every source is a listed program"
    );
}

#[test]
fn the_linker_script_links_at_the_user_text_base() {
    let script = std::fs::read_to_string(ws().root().join("amoeba-user/user.ld")).expect("user.ld");
    assert!(
        script.contains(&format!(". = {USER_TEXT_BASE:#018x};")),
        "amoeba-user/user.ld must place text at USER_TEXT_BASE ({USER_TEXT_BASE:#x})"
    );
    assert!(script.contains("ENTRY(_start)"));
}

#[test]
fn the_build_command() {
    let ws = ws();
    let cmd = cargo_command(&ws);
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let manifest = ws.root().join("programs/Cargo.toml");
    let target_dir = ws.root().join("target/programs");
    assert_eq!(
        args,
        [
            "build",
            "--release",
            "--bins",
            "--target",
            "x86_64-unknown-linux-gnu",
            "--manifest-path",
            &manifest.to_string_lossy(),
            "--target-dir",
            &target_dir.to_string_lossy(),
        ]
    );
    assert_eq!(cmd.get_current_dir(), Some(ws.root()));
    let flags = cmd
        .get_envs()
        .find(|(k, _)| *k == "CARGO_ENCODED_RUSTFLAGS")
        .and_then(|(_, v)| v)
        .map(|v| v.to_string_lossy().into_owned())
        .expect("rustflags");
    let flags: Vec<&str> = flags.split('\x1f').collect();
    assert!(flags.contains(&"-Clink-arg=-nostartfiles"), "{flags:?}");
    let script = format!(
        "-Clink-arg=-Wl,-T,{}",
        ws.root().join("amoeba-user/user.ld").display()
    );
    assert_eq!(flags.last(), Some(&script.as_str()));
}

/// Builds the real programs (a few seconds) and checks each one's image and a boot table.
#[test]
fn every_real_program_becomes_a_bootable_image() {
    let ws = ws();
    build(&ws).unwrap_or_else(|e| panic!("{e}"));
    for name in available(&ws) {
        let elf = std::fs::read(binary(&ws, &name)).expect("built");
        let file = image_from_elf(&elf).unwrap_or_else(|e| panic!("{name}: {e}"));
        let image = decode_image(&file, ArchMagic::X86_64, 16 << 20)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let d = image.descriptor();
        assert_eq!(d.segments[0].address, USER_TEXT_BASE, "{name}: text first");
        assert!(d.segments[0].kind.is_text(), "{name}");
        assert_eq!(
            d.threads[0].pc, USER_TEXT_BASE,
            "{name}: _start first in the text"
        );
        assert_eq!(d.threads[0].sp, MAIN_STACK_TOP, "{name}");
        let stack = d.segments.last().expect("segments");
        assert_eq!(
            (stack.address, stack.length, stack.kind),
            (MAIN_STACK_BASE, MAIN_STACK_BYTES, STACK),
            "{name}"
        );
        for segment in &d.segments[..d.segments.len() - 1] {
            assert!(
                segment.address >= USER_TEXT_BASE && segment.end() < Some(1 << 40),
                "{name}: {segment:?} near the text base"
            );
            assert!(
                !segment.kind.is_text() || !segment.kind.is_writable(),
                "{name}"
            );
        }
        assert!(
            d.segments.iter().any(|s| s.kind == DATA),
            "{name}: has writable data"
        );
    }
    let spec = NodeSpec {
        profile: "p".into(),
        description: "d".into(),
        node: "n".into(),
        log: libamoeba::boot::LogLevel::Info,
        cmdline_extra: vec![],
        memory_mib: 64,
        servers: vec![],
        drivers: vec![],
        selftest: false,
        remote_exec: true,
        rebalance: false,
        disk_mib: None,
        disk_contents: Default::default(),
        programs: vec![
            ProgramSpec {
                driver: false,
                admin: false,
                name: "hello".into(),
                source: ProgramSource::Builtin,
                origin: "programs/hello".into(),
                line: 0,
                args: vec!["from".into(), "a".into(), "test".into()],
                priority: Level::Norm,
            },
            ProgramSpec {
                driver: false,
                admin: false,
                name: "counter".into(),
                source: ProgramSource::Builtin,
                origin: "programs/counter".into(),
                line: 0,
                args: vec!["low".into(), "3".into()],
                priority: Level::Low,
            },
        ],
    };
    let (table, outputs) = boot_table(&ws, &spec, "test.toml").unwrap_or_else(|e| panic!("{e}"));
    let decoded = boot_table::decode(&table).expect("the table decodes");
    assert_eq!(decoded.len(), 2);
    assert_eq!(decoded[0].name, "hello");
    assert_eq!(decoded[0].args, ["from", "a", "test"]);
    assert_eq!(decoded[1].priority, Level::Low);
    for (program, output) in decoded.iter().zip(&outputs) {
        assert_eq!(output.name, program.name);
        assert_eq!(output.image_size, program.image.len() as u64);
        assert_eq!(output.image_sha256, digest::sha256_hex(program.image));
        decode_image(program.image, ArchMagic::X86_64, 16 << 20).expect("the image decodes");
    }
    assert_eq!(outputs[1].priority, "low");
    let none = NodeSpec {
        programs: vec![],
        ..spec
    };
    assert_eq!(
        boot_table(&ws, &none, "test.toml").expect("empty").0,
        boot_table::encode(&[])
    );
}

#[test]
fn an_elf_linked_for_linux_or_another_machine_is_refused_with_the_fix() {
    let linux = elf(
        0x40_1000,
        &[load(R | X, 0x40_0000, text_bytes(0x100), 0x100)],
    );
    let error = image_from_elf(&linux).expect_err("linked below user space");
    assert_eq!(
        error,
        ElfImageError::WrongAddress {
            index: 0,
            vaddr: 0x40_0000
        }
    );
    let message = error.to_string();
    assert!(message.contains("[[programs]] path"), "{message}");
    let arm = elf_with(2, 183, BASE, &[load(R | X, BASE, text_bytes(0x100), 0x100)]);
    assert_eq!(image_from_elf(&arm), Err(ElfImageError::NotX86_64(183)));
}
