//! Link settings for the programs: freestanding static ELF64 executables linked at
//! `libamoeba::process::layout::USER_TEXT_BASE` by `user.ld`.
//!
//! Link arguments go to this crate's binaries only (`rustc-link-arg-bins`): given globally they
//! would break every build script and proc-macro of the workspace (host = target here).

use std::env;
use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let script = manifest_dir.join("user.ld");
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
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
    println!("cargo:rerun-if-changed=user.ld");
}
