//! `amoeba-build new-program NAME [--dir PATH]`: a Cargo project of an Amoeba program, from
//! `templates/program/`, that builds as it is: its package (depending on this checkout's
//! `amoeba-user` and `libamoeba` by path), `src/main.rs`, a node profile `NAME.toml` that
//! starts it at boot, and a README of three lines (build, boot, exec).

use std::fs;
use std::path::{Path, PathBuf};

use libamoeba::process::boot_table;
use thiserror::Error;

use crate::template::{self, TemplateError};
use crate::workspace::Workspace;

/// The template's files, each with the name it gets in the project (`NAME` is replaced).
const FILES: &[(&str, &str)] = &[
    ("Cargo.toml", "Cargo.toml"),
    ("src/main.rs", "src/main.rs"),
    ("README.md", "README.md"),
    ("node.toml", "NAME.toml"),
];
/// The template's directory under `templates/`.
const TEMPLATE_DIR: &str = "program";

#[derive(Debug, Error)]
pub enum NewProgramError {
    #[error(
        "bad program name {0:?}: use 1 to 32 letters, digits, `-` or `_`, starting with a \
         letter (it names the package, the binary, the process and the node)"
    )]
    BadName(String),
    #[error("{0} exists and is not empty; choose another --dir or remove it")]
    NotEmpty(String),
    #[error("cannot read template {file}")]
    ReadTemplate {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("cannot write {file}")]
    Write {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

/// Writes the project for program `name` into `dir` (default: `./NAME`); returns the directory.
pub fn new_program(
    ws: &Workspace,
    name: &str,
    dir: Option<&Path>,
) -> Result<PathBuf, NewProgramError> {
    let starts_with_letter = name.starts_with(|c: char| c.is_ascii_alphabetic());
    if !starts_with_letter || !boot_table::is_valid_name(name) || name.len() > 32 {
        return Err(NewProgramError::BadName(name.to_string()));
    }
    let dir = dir.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
    if fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(NewProgramError::NotEmpty(dir.display().to_string()));
    }
    let amoeba = ws.root().to_string_lossy().into_owned();
    let values = [("name", name), ("amoeba", amoeba.as_str())];
    let templates = ws.templates_dir().join(TEMPLATE_DIR);
    for (from, to) in FILES {
        let source = templates.join(from);
        let shown = ws.display(&source);
        let text = fs::read_to_string(&source).map_err(|source| NewProgramError::ReadTemplate {
            file: shown.clone(),
            source,
        })?;
        let rendered = template::render(&shown, &text, &values)?;
        let target = dir.join(to.replace("NAME", name));
        let write_error = |source| NewProgramError::Write {
            file: target.display().to_string(),
            source,
        };
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(write_error)?;
        }
        fs::write(&target, rendered).map_err(write_error)?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws() -> Workspace {
        Workspace::at(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))).expect("workspace")
    }

    #[test]
    fn writes_a_project_that_names_this_checkout() {
        let dir = std::env::temp_dir().join(format!("amoeba-new-program-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let made = new_program(&ws(), "greeter", Some(&dir)).unwrap_or_else(|e| panic!("{e}"));
        let manifest = fs::read_to_string(made.join("Cargo.toml")).expect("Cargo.toml");
        assert!(manifest.contains("name = \"greeter\""));
        let runtime = format!("{}/amoeba-user", ws().root().display());
        assert!(manifest.contains(&runtime), "{manifest}");
        let profile = fs::read_to_string(made.join("greeter.toml")).expect("profile");
        assert!(profile.contains("path = \".\""));
        let readme = fs::read_to_string(made.join("README.md")).expect("README");
        assert_eq!(readme.lines().count(), 3, "{readme}");
        assert!(matches!(
            new_program(&ws(), "greeter", Some(&dir)),
            Err(NewProgramError::NotEmpty(_))
        ));
        fs::remove_dir_all(&dir).expect("cleaned up");
    }

    #[test]
    fn names_that_cannot_name_a_package_and_a_node_are_refused() {
        for name in ["", "1st", "a b", "a/b", &"x".repeat(33)] {
            assert!(
                matches!(
                    new_program(&ws(), name, Some(Path::new("/nonexistent"))),
                    Err(NewProgramError::BadName(_))
                ),
                "{name:?}"
            );
        }
    }
}
