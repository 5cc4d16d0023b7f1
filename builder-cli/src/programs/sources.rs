//! The real [`ProgramSources`]: packages looked at by `cargo metadata`, image files read and
//! checked as a node would check them (`libamoeba::process::image::decode_image`).

use std::io;
use std::path::Path;

use libamoeba::process::ArchMagic;
use libamoeba::process::image::{MAX_IMAGE_BYTES, decode_image};

use crate::node_spec::PackageProgram;
use crate::program_sources::ProgramSources;
use crate::program_sources::SourceProblem;

/// Looks at outside programs on this machine.
#[derive(Debug)]
pub struct CargoSources;

impl ProgramSources for CargoSources {
    fn package(&self, dir: &Path) -> Result<PackageProgram, SourceProblem> {
        super::cargo::inspect(dir)
    }

    fn image(&self, file: &Path) -> Result<(), SourceProblem> {
        let shown = file.display().to_string();
        let bytes = std::fs::read(file).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => SourceProblem::MissingImage {
                shown: shown.clone(),
            },
            _ => SourceProblem::BadImage {
                shown: shown.clone(),
                reason: e.to_string(),
            },
        })?;
        decode_image(&bytes, ArchMagic::X86_64, MAX_IMAGE_BYTES)
            .map(drop)
            .map_err(|e| SourceProblem::BadImage {
                shown,
                reason: e.to_string(),
            })
    }
}
