// The link arguments of every freestanding static ELF64 executable for the host target: the
// kernel (its build.rs, `include!`) and the programs (amoeba-build, builder-cli/src/programs/
// cargo.rs, `include!`). Each adds `-Wl,-T,SCRIPT` with its own linker script.
//
// No C runtime, no dynamic linking, no build id, 4 KiB segment alignment, unused sections
// dropped. They must reach only the final binaries: given as global rustflags on a build
// without `--target` they would break every build script and proc-macro (host = target).

/// The arguments, in order, before the linker script.
const FREESTANDING_LINK_ARGS: &[&str] = &[
    "-nostartfiles",
    "-nostdlib",
    "-static",
    "-no-pie",
    "-Wl,--build-id=none",
    "-Wl,-z,max-page-size=0x1000",
    "-Wl,--gc-sections",
];
