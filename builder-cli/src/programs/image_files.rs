//! `images/programs/`: every program's process image as a file, `NAME.process` (the gzip'd
//! process image a node execs, the same bytes a boot table embeds), and `index.json` listing
//! each one's name, file, size and sha256.
//!
//! Written by `amoeba-build programs` and by every profile build that builds the programs, so
//! the directory always holds the images of the programs last built. Files are written beside
//! their target and renamed into place, unchanged images are not rewritten, and images of
//! programs that no longer exist are removed. Writers take turns on `.programs.lock`.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ProgramsError, available, binary, build, image_from_elf};
use crate::digest;
use crate::messages::progress;
use crate::workspace::Workspace;

/// The index's file in `images/programs/`.
pub const INDEX_FILE: &str = "index.json";
/// The extension of a program's image file: `NAME.process`.
pub const IMAGE_EXTENSION: &str = "process";
/// Bumped when the index's shape changes incompatibly.
pub const INDEX_FORMAT: u32 = 1;
/// Not `.lock`: a profile may be called `programs`, and its build holds `images/programs/.lock`
/// while it writes these files.
const LOCK_FILE: &str = ".programs.lock";

/// `images/programs/index.json`. Like a manifest it holds no timestamps and no absolute paths:
/// the same programs give the same bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramIndex {
    pub format: u32,
    /// In the order of `programs/Cargo.toml`.
    pub programs: Vec<IndexEntry>,
}

/// One program in the index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexEntry {
    pub name: String,
    /// The image file, relative to `images/programs/`.
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

impl ProgramIndex {
    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        // Serializing plain structs of strings and numbers to a String cannot fail.
        let mut json = serde_json::to_string_pretty(self).unwrap_or_default();
        json.push('\n');
        json
    }

    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        serde_json::from_str(text)
    }
}

/// One program's image file as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenProgram {
    pub name: String,
    /// `images/programs/NAME.process`.
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

/// The image file's name of program `name`.
pub fn image_file_name(name: &str) -> String {
    format!("{name}.{IMAGE_EXTENSION}")
}

/// Builds every program (once per workspace in this process) and writes `images/programs/`:
/// each program's process image and the index; see the module documentation. Returns the
/// programs in the order of `programs/Cargo.toml`.
pub fn write_program_images(ws: &Workspace) -> Result<Vec<WrittenProgram>, ProgramsError> {
    build(ws).map_err(ProgramsError::Build)?;
    let mut images = Vec::new();
    for name in available(ws) {
        let path = binary(ws, &name);
        let file = ws.display(&path);
        let elf = fs::read(&path).map_err(|source| ProgramsError::Read {
            file: file.clone(),
            source,
        })?;
        let image = image_from_elf(&elf).map_err(|source| ProgramsError::Image {
            name: name.clone(),
            file,
            source,
        })?;
        images.push((name, image));
    }
    let dir = ws.program_images_dir();
    let written = write_images(ws, &dir, &images)?;
    progress(&format!(
        "wrote {}/ ({} program images)",
        ws.display(&dir),
        written.len()
    ));
    Ok(written)
}

/// Writes `images` (name, process image) into `dir` as `NAME.process` plus the index, and
/// removes the `.process` files of other names. `ws` only shows paths in errors.
pub fn write_images(
    ws: &Workspace,
    dir: &Path,
    images: &[(String, Vec<u8>)],
) -> Result<Vec<WrittenProgram>, ProgramsError> {
    let _lock = lock(ws, dir)?;
    let mut written = Vec::new();
    let mut entries = Vec::new();
    for (name, image) in images {
        let file = image_file_name(name);
        let path = dir.join(&file);
        write_if_changed(ws, &path, image)?;
        let sha256 = digest::sha256_hex(image);
        let bytes = image.len() as u64;
        entries.push(IndexEntry {
            name: name.clone(),
            file,
            bytes,
            sha256: sha256.clone(),
        });
        written.push(WrittenProgram {
            name: name.clone(),
            path,
            bytes,
            sha256,
        });
    }
    remove_stale_images(ws, dir, images)?;
    let index = ProgramIndex {
        format: INDEX_FORMAT,
        programs: entries,
    };
    write_if_changed(ws, &dir.join(INDEX_FILE), index.to_json().as_bytes())?;
    Ok(written)
}

/// Held until dropped (`workspace::lock_in`).
fn lock(ws: &Workspace, dir: &Path) -> Result<File, ProgramsError> {
    crate::workspace::lock_in(dir, LOCK_FILE).map_err(|source| ProgramsError::Lock {
        file: ws.display(&dir.join(LOCK_FILE)),
        source,
    })
}

/// Leaves a file that already holds `bytes` alone (its time stays); otherwise writes beside it
/// and renames, so a reader never sees a half-written file.
fn write_if_changed(ws: &Workspace, path: &Path, bytes: &[u8]) -> Result<(), ProgramsError> {
    if fs::read(path).ok().as_deref() == Some(bytes) {
        return Ok(());
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let write_error = |path: &Path| {
        let file = ws.display(path);
        move |source| ProgramsError::Write { file, source }
    };
    fs::write(&partial, bytes).map_err(write_error(&partial))?;
    fs::rename(&partial, path).map_err(write_error(path))
}

/// Removes `NAME.process` files of programs not in `images`.
fn remove_stale_images(
    ws: &Workspace,
    dir: &Path,
    images: &[(String, Vec<u8>)],
) -> Result<(), ProgramsError> {
    let read_error = |source| ProgramsError::Read {
        file: ws.display(dir),
        source,
    };
    for entry in fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        let stale = path.extension().is_some_and(|e| e == IMAGE_EXTENSION)
            && path.file_stem().is_none_or(|stem| {
                !images
                    .iter()
                    .any(|(name, _)| stem == std::ffi::OsStr::new(name))
            });
        if stale && path.is_file() {
            fs::remove_file(&path).map_err(|source| ProgramsError::Remove {
                file: ws.display(&path),
                source,
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws() -> Workspace {
        Workspace::at(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))).expect("workspace")
    }

    fn index(dir: &Path) -> (String, ProgramIndex) {
        let text = fs::read_to_string(dir.join(INDEX_FILE)).expect("index.json");
        let index = ProgramIndex::from_json(&text).expect("index.json parses");
        (text, index)
    }

    #[test]
    fn images_and_their_index_are_written_and_rewritten_only_when_changed() {
        let dir =
            std::env::temp_dir().join(format!("amoeba-program-images-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        fs::write(dir.join("gone.process"), b"old").expect("a stale image");
        fs::write(dir.join("notes.txt"), b"kept").expect("another file");
        let images = vec![
            ("hello".to_string(), b"hello image".to_vec()),
            ("rpc-check".to_string(), vec![0x1f, 0x8b, 0, 1, 2]),
        ];

        let written = write_images(&ws(), &dir, &images).expect("written");
        let names: Vec<&str> = written.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["hello", "rpc-check"]);
        assert_eq!(written[1].path, dir.join("rpc-check.process"));
        assert_eq!(
            fs::read(&written[0].path).expect("hello.process"),
            b"hello image"
        );
        let (text, listed) = index(&dir);
        assert!(text.ends_with("}\n"), "{text}");
        assert_eq!(
            listed,
            ProgramIndex {
                format: INDEX_FORMAT,
                programs: vec![
                    IndexEntry {
                        name: "hello".into(),
                        file: "hello.process".into(),
                        bytes: 11,
                        sha256: digest::sha256_hex(b"hello image"),
                    },
                    IndexEntry {
                        name: "rpc-check".into(),
                        file: "rpc-check.process".into(),
                        bytes: 5,
                        sha256: digest::sha256_hex(&[0x1f, 0x8b, 0, 1, 2]),
                    },
                ],
            }
        );
        for (program, entry) in written.iter().zip(&listed.programs) {
            assert_eq!(
                (program.bytes, &program.sha256),
                (entry.bytes, &entry.sha256)
            );
        }
        assert!(!dir.join("gone.process").exists(), "stale image removed");
        assert!(dir.join("notes.txt").exists(), "other files are left alone");

        // The same images again: nothing changes, not even the files' times.
        let modified = |path: &Path| {
            fs::metadata(path)
                .and_then(|m| m.modified())
                .expect("mtime")
        };
        let before = modified(&dir.join(INDEX_FILE));
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(
            write_images(&ws(), &dir, &images).expect("written again"),
            written
        );
        assert_eq!(index(&dir).0, text);
        assert_eq!(modified(&dir.join(INDEX_FILE)), before);

        // One image changes, one program goes away.
        let changed = vec![("hello".to_string(), b"hello, again".to_vec())];
        write_images(&ws(), &dir, &changed).expect("written a third time");
        assert_eq!(
            fs::read(dir.join("hello.process")).expect("read"),
            b"hello, again"
        );
        assert!(!dir.join("rpc-check.process").exists());
        let (_, listed) = index(&dir);
        assert_eq!(listed.programs.len(), 1);
        assert_eq!(listed.programs[0].bytes, 12);

        let mut left: Vec<String> = fs::read_dir(&dir)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [LOCK_FILE, "hello.process", INDEX_FILE, "notes.txt"],
            "no partial files are left"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_directory_that_cannot_be_made_is_named() {
        let dir = std::env::temp_dir().join(format!("amoeba-program-file-{}", std::process::id()));
        fs::write(&dir, b"a file, not a directory").expect("temp file");
        let error = write_images(&ws(), &dir.join("programs"), &[]).expect_err("cannot lock");
        let _ = fs::remove_file(&dir);
        assert!(matches!(error, ProgramsError::Lock { .. }), "{error:?}");
        assert!(
            error.to_string().contains("amoeba-program-file-"),
            "the file is named: {error}"
        );
    }
}
