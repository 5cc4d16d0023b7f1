//! How validation looks at the programs a profile names outside `programs/`
//! (`[[programs]] path` and `image`), and what it can find wrong with them. The real sources
//! (`crate::programs::CargoSources`) run cargo and read files; validation sees only this seam.

use std::fmt;
use std::path::Path;

use thiserror::Error;

use crate::node_spec::PackageProgram;

/// What is wrong with an outside program, each with its fix.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SourceProblem {
    #[error(
        "{shown} is not a Cargo package (no Cargo.toml there); point `path` at the directory of your program's Cargo.toml (`amoeba-build new-program NAME` makes one)"
    )]
    NotAPackage { shown: String },
    #[error("cargo cannot read the package {shown}:\n{reason}")]
    UnreadablePackage { shown: String, reason: String },
    #[error(
        "package `{package}` has no binary; add src/main.rs or a [[bin]] (see `amoeba-build new-program`)"
    )]
    NoBinary { package: String },
    #[error("package `{package}` has {} binaries ({}); a program is one binary: keep one, or move each into a package of its own", .bins.len(), .bins.join(", "))]
    SeveralBinaries { package: String, bins: Vec<String> },
    #[error(
        "package `{package}` does not depend on amoeba-user, the runtime of Amoeba programs; add `amoeba-user = {{ path = \"AMOEBA/amoeba-user\" }}` under [dependencies] (AMOEBA: this checkout)"
    )]
    NoRuntime { package: String },
    #[error(
        "{shown} does not exist; `image` names a process image file relative to the profile (make one with `amoeba-build image ELF -o FILE`)"
    )]
    MissingImage { shown: String },
    #[error(
        "{shown} is not a process image a node can run: {reason}; make it with `amoeba-build image ELF -o FILE`"
    )]
    BadImage { shown: String, reason: String },
    #[error("{shown}: programs outside programs/ are not looked at by this check")]
    OutsideProgramsUnchecked { shown: String },
}

/// How validation looks at the programs a profile names outside `programs/`
/// (`[[programs]] path` and `image`): the one part of the catalog that reads the file system and
/// runs cargo, behind a seam so that validation stays testable with a fake.
pub trait ProgramSources: fmt::Debug {
    /// The program the Cargo package in `dir` builds, or what is wrong with it.
    fn package(&self, dir: &Path) -> Result<PackageProgram, SourceProblem>;
    /// Whether `file` is a process image a node can run.
    fn image(&self, file: &Path) -> Result<(), SourceProblem>;
}

/// A catalog without outside programs: each is refused with a message saying so.
#[derive(Debug)]
pub struct NoProgramSources;

impl ProgramSources for NoProgramSources {
    fn package(&self, dir: &Path) -> Result<PackageProgram, SourceProblem> {
        Err(SourceProblem::OutsideProgramsUnchecked {
            shown: dir.display().to_string(),
        })
    }

    fn image(&self, file: &Path) -> Result<(), SourceProblem> {
        Err(SourceProblem::OutsideProgramsUnchecked {
            shown: file.display().to_string(),
        })
    }
}
