//! User programs: the binaries of `programs/` (crate `amoeba-programs`), built once into
//! `target/programs/` for every profile, and programs from outside the repository (a Cargo
//! package, built into its own `target/amoeba/`, or a process image file), turned into process
//! images and gathered into the boot table (`libamoeba::process::boot_table`) that a node's
//! kernel embeds. Every build of `programs/` also writes all their images to
//! `images/programs/` ([`write_program_images`]). Both kinds of package are built alike
//! ([`cargo`]): `programs/` is built as an outside program is.

pub mod cargo;
mod elf_image;
mod image_files;
mod sources;

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

use libamoeba::process::boot_table::{self, BootProgramSpec};
use thiserror::Error;

pub use elf_image::{ElfImageError, ProgramProcess, image_from_elf, process_from_elf};
pub use image_files::{
    IMAGE_EXTENSION, INDEX_FILE, INDEX_FORMAT, IndexEntry, ProgramIndex, WrittenProgram,
    image_file_name, write_images, write_program_images,
};
pub use sources::CargoSources;

use crate::digest;
use crate::kernel_build::{self, KernelBuildError};
use crate::manifest::ProgramOutput;
use crate::node_spec::{NodeSpec, ProgramSource, ProgramSpec};
use crate::problem::{Problem, ProfileProblem, ProfileProblems};
use crate::workspace::Workspace;
use cargo::PackageBuild;

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
    /// An outside program built but not a program a node can run: told as a problem of the
    /// profile line that names it.
    #[error("{0}")]
    Profile(ProfileProblems),
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

/// The build of `programs/`, which links with this workspace's `amoeba-user`.
fn workspace_build(ws: &Workspace) -> PackageBuild {
    PackageBuild {
        manifest: ws.programs_dir().join("Cargo.toml"),
        remap_to: "programs".into(),
        runtime_dir: ws.root().join(cargo::RUNTIME_PACKAGE),
        target_dir: ws.programs_target_dir(),
    }
}

/// The cargo command that builds every program of `programs/`.
pub fn cargo_command(ws: &Workspace) -> Command {
    workspace_build(ws).command(ws)
}

/// The ELF file of program `name` of `programs/` once built.
pub fn binary(ws: &Workspace, name: &str) -> PathBuf {
    workspace_build(ws).binary(name)
}

/// Runs `build` once per package directory in this process: all profiles share a build.
fn build_once(ws: &Workspace, build: &PackageBuild) -> Result<(), KernelBuildError> {
    static BUILT: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let built = built.get_or_insert_with(HashSet::new);
    if built.contains(&build.manifest) {
        return Ok(());
    }
    crate::messages::progress(&format!("building {}", ws.display(&build.manifest)));
    kernel_build::run_cargo(&mut build.command(ws))?;
    built.insert(build.manifest.clone());
    Ok(())
}

/// Builds every program of `programs/`.
pub fn build(ws: &Workspace) -> Result<(), KernelBuildError> {
    build_once(ws, &workspace_build(ws))
}

/// An outside package's ELF that cannot become a process image, as the problem of the
/// profile's `[[programs]] path` line (the ELF is the user's, so the profile is what to fix).
fn located(error: ProgramsError, program: &ProgramSpec, profile_file: &str) -> ProgramsError {
    match (error, &program.source) {
        (ProgramsError::Image { name, source, .. }, ProgramSource::Package(_)) => {
            ProgramsError::Profile(ProfileProblems(vec![ProfileProblem {
                file: profile_file.to_string(),
                line: Some(program.line),
                key: Some("[[programs]] path".into()),
                problem: Problem::ProgramElf {
                    name,
                    reason: source.to_string(),
                },
            }]))
        }
        (error, _) => error,
    }
}

/// The process image of one boot program, from wherever it comes.
fn program_image(ws: &Workspace, program: &ProgramSpec) -> Result<Vec<u8>, ProgramsError> {
    let elf_path = match &program.source {
        ProgramSource::Builtin => binary(ws, &program.name),
        ProgramSource::Package(package) => {
            let build = PackageBuild {
                manifest: package.dir.join("Cargo.toml"),
                remap_to: package.package.clone(),
                runtime_dir: package.runtime_dir.clone(),
                target_dir: package.dir.join("target").join("amoeba"),
            };
            build_once(ws, &build).map_err(ProgramsError::Build)?;
            let elf = build.binary(&package.bin);
            let image = image_of(ws, program, &elf)?;
            // Beside the build, for `amoeba exec` and disks: what the boot table gets.
            let file = build.target_dir.join(image_file_name(&package.bin));
            std::fs::write(&file, &image).map_err(|source| ProgramsError::Write {
                file: ws.display(&file),
                source,
            })?;
            return Ok(image);
        }
        ProgramSource::Image(file) => {
            return std::fs::read(file).map_err(|source| ProgramsError::Read {
                file: ws.display(file),
                source,
            });
        }
    };
    image_of(ws, program, &elf_path)
}

/// The process image of the ELF file at `elf_path`, built for `program`.
fn image_of(
    ws: &Workspace,
    program: &ProgramSpec,
    elf_path: &std::path::Path,
) -> Result<Vec<u8>, ProgramsError> {
    let file = ws.display(elf_path);
    let elf = std::fs::read(elf_path).map_err(|source| ProgramsError::Read {
        file: file.clone(),
        source,
    })?;
    image_from_elf(&elf).map_err(|source| ProgramsError::Image {
        name: program.name.clone(),
        file,
        source,
    })
}

/// The boot table of `spec`'s programs and what the manifest says of each. When there are
/// any, the programs are built first and `images/programs/` is written. A spec without
/// programs gives the empty table without building.
pub fn boot_table(
    ws: &Workspace,
    spec: &NodeSpec,
    profile_file: &str,
) -> Result<(Vec<u8>, Vec<ProgramOutput>), ProgramsError> {
    if spec
        .programs
        .iter()
        .any(|p| p.source == ProgramSource::Builtin)
    {
        write_program_images(ws)?;
    }
    let mut specs = Vec::new();
    let mut outputs = Vec::new();
    for program in &spec.programs {
        let image = program_image(ws, program).map_err(|e| located(e, program, profile_file))?;
        outputs.push(ProgramOutput {
            name: program.name.clone(),
            source: program.origin.clone(),
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
