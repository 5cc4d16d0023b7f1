//! The bytes of each file a profile puts on its disk: a host file as it is, a program as its
//! uncompressed process image (what `amoeba put --program` stores, so a pool processor execs
//! it in place from the file server).

use std::path::Path;

use libamoeba::process::ArchMagic;
use libamoeba::process::image::{ImageError, MAX_IMAGE_BYTES, inflate_image};
use thiserror::Error;

use super::tree::DiskPath;
use crate::node_spec::{DiskContent, DiskContents};
use crate::programs::{self, ProgramsError};
use crate::workspace::Workspace;

#[derive(Debug, Error)]
pub enum ContentsError {
    #[error("cannot read {file} for {path} on the disk")]
    Read {
        file: String,
        path: DiskPath,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Programs(#[from] ProgramsError),
    #[error("program {name}'s image ({file}) cannot be inflated for {path} on the disk: {reason}")]
    Inflate {
        name: String,
        file: String,
        path: DiskPath,
        reason: ImageError,
    },
    /// Validation keeps this from happening: every program of `programs/` is built.
    #[error("program {name} for {path} on the disk was not built")]
    NotBuilt { name: String, path: DiskPath },
}

/// Every file's path and bytes, in profile order. The programs are built (and
/// `images/programs/` written) first when a file is one.
pub fn gather(
    ws: &Workspace,
    contents: &DiskContents,
) -> Result<Vec<(DiskPath, Vec<u8>)>, ContentsError> {
    let wants_programs = contents
        .files
        .iter()
        .any(|file| matches!(file.content, DiskContent::Program(_)));
    let images = match wants_programs {
        true => programs::write_program_images(ws)?,
        false => Vec::new(),
    };
    let mut files = Vec::new();
    for file in &contents.files {
        let bytes = match &file.content {
            DiskContent::HostFile(source) => read(ws, source, &file.path)?,
            DiskContent::Program(name) => {
                let image = images
                    .iter()
                    .find(|image| &image.name == name)
                    .ok_or_else(|| ContentsError::NotBuilt {
                        name: name.clone(),
                        path: file.path.clone(),
                    })?;
                program(ws, name, &image.path, &file.path)?
            }
        };
        files.push((file.path.clone(), bytes));
    }
    Ok(files)
}

fn read(ws: &Workspace, source: &Path, path: &DiskPath) -> Result<Vec<u8>, ContentsError> {
    std::fs::read(source).map_err(|e| ContentsError::Read {
        file: ws.display(source),
        path: path.clone(),
        source: e,
    })
}

fn program(
    ws: &Workspace,
    name: &str,
    image: &Path,
    path: &DiskPath,
) -> Result<Vec<u8>, ContentsError> {
    let gzipped = read(ws, image, path)?;
    inflate_image(&gzipped, ArchMagic::X86_64, MAX_IMAGE_BYTES).map_err(|reason| {
        ContentsError::Inflate {
            name: name.to_string(),
            file: ws.display(image),
            path: path.clone(),
            reason,
        }
    })
}
