//! User programs: the binaries of `programs/` (crate `amoeba-programs`), built once into
//! `target/programs/` for every profile, turned into process images and gathered into the boot
//! table (`libamoeba::process::boot_table`) that a node's kernel embeds. Every build of the
//! programs also writes all their images to `images/programs/` ([`write_program_images`]).
//!
//! The programs are built with their own target directory, like the kernel: built together
//! with host crates they would unify libamoeba's features with them (the programs need
//! `user`, nothing else may have it).

mod elf_image;
mod image_files;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use libamoeba::process::boot_table::{self, BootProgramSpec};
use thiserror::Error;

pub use elf_image::{ElfImageError, ProgramProcess, image_from_elf, process_from_elf};
pub use image_files::{
    IMAGE_EXTENSION, INDEX_FILE, INDEX_FORMAT, IndexEntry, ProgramIndex, WrittenProgram,
    image_file_name, write_images, write_program_images,
};

use crate::digest;
use crate::kernel_build::{self, KernelBuildError};
use crate::manifest::ProgramOutput;
use crate::node_spec::NodeSpec;
use crate::workspace::Workspace;

/// The package holding the programs.
pub const PACKAGE: &str = "amoeba-programs";
/// The boot table's file in a profile's kernel target directory.
pub const BOOT_TABLE_FILE: &str = "boot-programs.bin";

#[derive(Debug, Error)]
pub enum ProgramsError {
    #[error("building the programs: {0}")]
    Build(#[source] KernelBuildError),
    #[error("cannot read {file}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("program {name} ({file}) cannot become a process image")]
    Image {
        name: String,
        file: String,
        #[source]
        source: ElfImageError,
    },
    #[error("cannot write {file}")]
    Write {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot lock {file} (needed so writers of the program images take turns)")]
    Lock {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot remove {file}")]
    Remove {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// Validation keeps this from happening; kept for tables made otherwise.
    #[error("the boot table cannot hold these programs: {0}")]
    Table(String),
}

/// The programs there are: the `[[bin]]` names of `programs/Cargo.toml`, in file order. None
/// when the file is missing or unreadable (a profile naming a program then fails validation,
/// which lists the available ones).
pub fn available(ws: &Workspace) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(ws.programs_dir().join("Cargo.toml")) else {
        return Vec::new();
    };
    let Ok(table) = toml::from_str::<toml::Table>(&text) else {
        return Vec::new();
    };
    table
        .get("bin")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|bin| bin.get("name")?.as_str())
        .filter(|name| boot_table::is_valid_name(name))
        .map(str::to_string)
        .collect()
}

/// The cargo command that builds every program, run from the workspace root.
pub fn cargo_command(ws: &Workspace) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(ws.root())
        .args([
            "build",
            "--release",
            "-p",
            PACKAGE,
            "--bins",
            "--target-dir",
        ])
        .arg(Path::new("target").join("programs"))
        .env(
            "CARGO_ENCODED_RUSTFLAGS",
            kernel_build::reproducible_rustflags(ws.root()),
        )
        .stdin(Stdio::null())
        // Progress and warnings all go to stderr; stdout stays free for results.
        .stdout(Stdio::from(std::io::stderr()))
        .stderr(Stdio::inherit());
    cmd
}

/// The ELF file of program `name` once built.
pub fn binary(ws: &Workspace, name: &str) -> PathBuf {
    ws.programs_target_dir().join("release").join(name)
}

/// Builds every program (once per workspace in this process: all profiles share the build).
pub fn build(ws: &Workspace) -> Result<(), KernelBuildError> {
    static BUILT: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let built = built.get_or_insert_with(HashSet::new);
    if built.contains(ws.root()) {
        return Ok(());
    }
    crate::messages::progress("building the programs");
    kernel_build::run_cargo(&mut cargo_command(ws))?;
    built.insert(ws.root().to_path_buf());
    Ok(())
}

/// The boot table of `spec`'s programs and what the manifest says of each. When there are
/// any, the programs are built first and `images/programs/` is written. A spec without
/// programs gives the empty table without building.
pub fn boot_table(
    ws: &Workspace,
    spec: &NodeSpec,
) -> Result<(Vec<u8>, Vec<ProgramOutput>), ProgramsError> {
    if !spec.programs.is_empty() {
        write_program_images(ws)?;
    }
    let mut specs = Vec::new();
    let mut outputs = Vec::new();
    for program in &spec.programs {
        let path = binary(ws, &program.name);
        let file = ws.display(&path);
        let elf = std::fs::read(&path).map_err(|source| ProgramsError::Read {
            file: file.clone(),
            source,
        })?;
        let image = image_from_elf(&elf).map_err(|source| ProgramsError::Image {
            name: program.name.clone(),
            file,
            source,
        })?;
        outputs.push(ProgramOutput {
            name: program.name.clone(),
            args: program.args.clone(),
            priority: program.priority.name().to_string(),
            driver: program.driver,
            admin: program.admin,
            image_size: image.len() as u64,
            image_sha256: digest::sha256_hex(&image),
        });
        specs.push(BootProgramSpec {
            name: program.name.clone(),
            args: program.args.clone(),
            priority: program.priority,
            driver: program.driver,
            admin: program.admin,
            image,
        });
    }
    boot_table::check(&specs).map_err(|e| ProgramsError::Table(e.to_string()))?;
    Ok((boot_table::encode(&specs), outputs))
}

#[cfg(test)]
mod tests;
