// Included by the build scripts of `amoeba-kernel` and `programs` (`include!`): both link
// freestanding static ELF64 executables for the host target, each with its own linker script.
//
// Link arguments go to the including crate's binaries only (`rustc-link-arg-bins`): given
// globally they would break every build script and proc-macro of the workspace (host = target
// here).

/// Tells Cargo to link this crate's binaries with `script` (a file of the crate's directory)
/// and no C runtime, no dynamic linking, no build id, 4 KiB segment alignment and unused
/// sections dropped.
fn link_freestanding_with(script: &str) {
    let manifest_dir = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"),
    );
    for arg in [
        "-nostartfiles",
        "-nostdlib",
        "-static",
        "-no-pie",
        "-Wl,--build-id=none",
        "-Wl,-z,max-page-size=0x1000",
        "-Wl,--gc-sections",
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    let script_path = manifest_dir.join(script);
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script_path.display());
    println!("cargo:rerun-if-changed={script}");
    println!("cargo:rerun-if-changed=../build-support/freestanding_link.rs");
}
