//! The `[disk]` table as written: the disk's size and what the builder puts on it.
//!
//! ```toml
//! [disk]
//! size_mib = 64
//! dirs = ["/home"]          # directories made even when no file is in them
//! [[disk.files]]
//! path = "/bin/hello"       # where the file goes
//! program = "hello"         # a program of programs/, as its uncompressed process image
//! [[disk.files]]
//! path = "/etc/motd"
//! source = "motd.txt"       # or a host file, relative to the profile file
//! ```
//!
//! Only the shape is checked here; `validate` checks paths, names and sources.

use serde::Deserialize;
use toml::Spanned;

use super::{Lines, Located};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDisk {
    pub(super) size_mib: Option<Spanned<i64>>,
    #[serde(default)]
    dirs: Vec<Spanned<String>>,
    #[serde(default)]
    files: Vec<RawDiskFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDiskFile {
    path: Spanned<String>,
    program: Option<Spanned<String>>,
    source: Option<Spanned<String>>,
}

/// One `[[disk.files]]` entry as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskFileEntry {
    /// Where the file goes on the disk; its line is the entry's line.
    pub path: Located<String>,
    /// A program of `programs/` whose process image the file holds.
    pub program: Option<Located<String>>,
    /// A host file, relative to the profile file's directory.
    pub source: Option<Located<String>>,
}

/// `[disk] dirs` and the `[[disk.files]]` entries, located.
pub(super) fn entries(
    disk: Option<&mut RawDisk>,
    lines: &Lines<'_>,
) -> (Vec<Located<String>>, Vec<DiskFileEntry>) {
    let Some(disk) = disk else {
        return (Vec::new(), Vec::new());
    };
    let dirs = std::mem::take(&mut disk.dirs)
        .into_iter()
        .map(|dir| lines.locate(dir))
        .collect();
    let files = std::mem::take(&mut disk.files)
        .into_iter()
        .map(|file| DiskFileEntry {
            path: lines.locate(file.path),
            program: file.program.map(|v| lines.locate(v)),
            source: file.source.map(|v| lines.locate(v)),
        })
        .collect();
    (dirs, files)
}

#[cfg(test)]
mod tests {
    use crate::profile::{Located, Profile};

    fn parse(text: &str) -> Result<Profile, String> {
        Profile::parse("x", "node-profiles/x.toml", text.as_bytes().to_vec())
            .map_err(|problems| problems.to_string())
    }

    #[test]
    fn files_and_dirs_keep_their_values_and_lines() {
        let text = "description = \"d\"\n[disk]\nsize_mib = 8\ndirs = [\n  \"/home\",\n]\n\
                    [[disk.files]]\npath = \"/bin/hello\"\nprogram = \"hello\"\n\
                    [[disk.files]]\npath = \"/etc/motd\"\nsource = \"motd.txt\"\n";
        let profile = parse(text).expect("parses");
        assert_eq!(
            profile.disk_dirs,
            [Located {
                value: "/home".to_string(),
                line: 5
            }]
        );
        let files: Vec<_> = profile
            .disk_files
            .iter()
            .map(|f| {
                let program = f.program.as_ref().map(|p| (p.value.as_str(), p.line));
                let source = f.source.as_ref().map(|s| (s.value.as_str(), s.line));
                (f.path.value.as_str(), f.path.line, program, source)
            })
            .collect();
        assert_eq!(
            files,
            [
                ("/bin/hello", 8, Some(("hello", 9)), None),
                ("/etc/motd", 11, None, Some(("motd.txt", 12))),
            ]
        );
        assert_eq!(profile.dir, std::path::Path::new("node-profiles"));
    }

    #[test]
    fn file_shape_errors_say_the_fix() {
        let message =
            parse("description = \"d\"\n[[disk.files]]\nname = \"/a\"\n").expect_err("unknown key");
        assert!(
            message.starts_with(
                "node-profiles/x.toml:3: [[disk.files]] name: unknown field `name`, expected one \
                 of `path`, `program`, `source`"
            ) && message.ends_with("; remove it or correct its spelling"),
            "{message}"
        );
        let message = parse("description = \"d\"\n[[disk.files]]\nprogram = \"hello\"\n")
            .expect_err("no path");
        assert!(
            message.contains("missing field `path`")
                && message.contains("add a `path = …` line to this [[disk.files]] table"),
            "{message}"
        );
        let message =
            parse("description = \"d\"\n[disk]\nfiles = [\"/a\"]\n").expect_err("strings");
        assert!(
            message.contains("each file must be a table: write `[[disk.files]]`"),
            "{message}"
        );
        let message = parse("description = \"d\"\n[disk]\ndirs = \"/a\"\n").expect_err("a string");
        assert!(
            message.contains("[disk] dirs") && message.contains("write a list in brackets"),
            "{message}"
        );
    }
}
