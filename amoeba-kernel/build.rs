//! Link settings for the kernel's binaries and the constants a profile bakes into the image.
//!
//! The link arguments are shared with the programs: `build-support/freestanding_link.rs`.
//! They go to this crate's binaries only (`rustc-link-arg-bins`).

include!("../build-support/freestanding_link.rs");

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

fn main() {
    for arg in FREESTANDING_LINK_ARGS {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let script = manifest_dir.join("linker.ld");
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
    println!("cargo:rerun-if-changed=linker.ld");
    println!("cargo:rerun-if-changed=../build-support/freestanding_link.rs");
    println!("cargo:rerun-if-changed=src/arch/x86_64/multiboot_header.s");
    write_build_constants();
    write_boot_programs();
}

/// The table of programs the node starts at boot (`libamoeba::process::boot_table`), which
/// amoeba-build writes for the profile and names in `AMOEBA_BOOT_PROGRAMS`; none without it.
fn write_boot_programs() {
    println!("cargo:rerun-if-env-changed=AMOEBA_BOOT_PROGRAMS");
    let source = match env::var("AMOEBA_BOOT_PROGRAMS") {
        Ok(path) if !path.is_empty() => {
            println!("cargo:rerun-if-changed={path}");
            format!("pub static BOOT_PROGRAMS: &[u8] = include_bytes!({path:?});\n")
        }
        _ => "pub static BOOT_PROGRAMS: &[u8] = &[];\n".to_string(),
    };
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    fs::write(out_dir.join("boot_programs.rs"), source).expect("OUT_DIR is writable");
}

/// The profile and node name amoeba-build passes, and the components compiled in, derived from
/// the very Cargo features that select their code, so the banner cannot disagree with the image.
fn write_build_constants() {
    println!("cargo:rerun-if-env-changed=AMOEBA_PROFILE");
    println!("cargo:rerun-if-env-changed=AMOEBA_NODE");
    let profile = env::var("AMOEBA_PROFILE").unwrap_or_else(|_| "none".into());
    let node = env::var("AMOEBA_NODE").unwrap_or_else(|_| "amoeba".into());
    let mut servers = Vec::new();
    let mut drivers = Vec::new();
    for (key, _) in env::vars() {
        let Some(feature) = key.strip_prefix("CARGO_FEATURE_") else {
            continue;
        };
        let name = feature.to_ascii_lowercase().replace('_', "-");
        if let Some(server) = name.strip_prefix("server-") {
            servers.push(server.to_string());
        } else if let Some(driver) = name.strip_prefix("driver-") {
            drivers.push(driver.to_string());
        }
    }
    servers.sort();
    drivers.sort();
    let mut out = String::new();
    writeln!(out, "pub const PROFILE: &str = {profile:?};").unwrap();
    writeln!(out, "pub const DEFAULT_NODE_NAME: &str = {node:?};").unwrap();
    writeln!(out, "pub const SERVERS: &[&str] = &{servers:?};").unwrap();
    writeln!(out, "pub const DRIVERS: &[&str] = &{drivers:?};").unwrap();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    fs::write(out_dir.join("build_constants.rs"), out).expect("OUT_DIR is writable");
}
