//! Checking what a profile puts on its disk (`[disk] dirs`, `[[disk.files]]`): valid paths,
//! each path once, no file where a directory must be, a known program or a host file for each
//! file, and a disk to put them on. The host files themselves are looked at by
//! [`missing_sources`], the one check here that reads the file system.

use std::collections::HashMap;
use std::fs;
use std::io;

use super::{Checker, DISK_DRIVER};
use crate::catalog::Catalog;
use crate::disk_image::tree::DiskPath;
use crate::node_spec::{DiskContent, DiskContents, DiskFileSpec};
use crate::problem::{Problem, ProfileProblem};
use crate::profile::{DiskFileEntry, Located, Profile};

const FILES_KEY: &str = "[[disk.files]]";
const DIRS_KEY: &str = "[disk] dirs";

/// A path seen so far: its line and whether it names a file.
type Seen = HashMap<DiskPath, (usize, bool)>;

impl Checker<'_> {
    /// The disk's files and directories; `has_disk` says whether the node has a disk driver.
    pub(super) fn disk_contents(
        &mut self,
        profile: &Profile,
        catalog: &Catalog<'_>,
        has_disk: bool,
    ) -> DiskContents {
        self.disk_content_needs_a_disk(profile, has_disk);
        let mut seen = Seen::new();
        // In file order: TOML puts `[disk] dirs` above every `[[disk.files]]`.
        let dirs = profile
            .disk_dirs
            .iter()
            .filter_map(|dir| self.disk_path(dir, DIRS_KEY, false, &mut seen))
            .collect();
        let files = profile
            .disk_files
            .iter()
            .filter_map(|entry| self.disk_file(entry, profile, catalog, &mut seen))
            .collect();
        self.nothing_inside_files(&seen);
        DiskContents { files, dirs }
    }

    fn disk_content_needs_a_disk(&mut self, profile: &Profile, has_disk: bool) {
        let first_file = profile.disk_files.first().map(|f| (f.path.line, FILES_KEY));
        let first_dir = profile.disk_dirs.first().map(|d| (d.line, DIRS_KEY));
        let first = first_file.into_iter().chain(first_dir).min();
        if let Some((line, key)) = first
            && !has_disk
        {
            let problem = Problem::DiskContentWithoutDriver {
                driver: DISK_DRIVER,
            };
            self.report(Some(line), Some(key), problem);
        }
    }

    fn disk_file(
        &mut self,
        entry: &DiskFileEntry,
        profile: &Profile,
        catalog: &Catalog<'_>,
        seen: &mut Seen,
    ) -> Option<DiskFileSpec> {
        let path = self.disk_path(&entry.path, "[[disk.files]] path", true, seen);
        let content = match (&entry.program, &entry.source) {
            (Some(program), None) => self.disk_program(program, catalog),
            (None, Some(source)) => Some(DiskContent::HostFile(profile.dir.join(&source.value))),
            (None, None) => {
                let problem = Problem::DiskFileWithoutContent;
                self.report(Some(entry.path.line), Some(FILES_KEY), problem);
                None
            }
            (Some(program), Some(source)) => {
                let problem = Problem::DiskFileWithTwoContents {
                    program_line: program.line,
                };
                self.report(Some(source.line), Some("[[disk.files]] source"), problem);
                None
            }
        };
        Some(DiskFileSpec {
            path: path?,
            content: content?,
        })
    }

    /// Any program of `programs/`: the build builds them all, so each has a process image.
    fn disk_program(
        &mut self,
        program: &Located<String>,
        catalog: &Catalog<'_>,
    ) -> Option<DiskContent> {
        if catalog.programs().contains(&program.value) {
            return Some(DiskContent::Program(program.value.clone()));
        }
        let valid = match catalog.programs() {
            [] => "none".to_string(),
            names => names.join(", "),
        };
        let problem = Problem::UnknownProgram {
            name: program.value.clone(),
            valid,
        };
        self.report(Some(program.line), Some("[[disk.files]] program"), problem);
        None
    }

    /// The path, valid and not seen before; remembered in `seen`.
    fn disk_path(
        &mut self,
        text: &Located<String>,
        key: &str,
        is_file: bool,
        seen: &mut Seen,
    ) -> Option<DiskPath> {
        let path = match DiskPath::parse(&text.value) {
            Ok(path) => path,
            Err(reason) => {
                let problem = Problem::BadDiskPath {
                    path: text.value.clone(),
                    reason,
                };
                self.report(Some(text.line), Some(key), problem);
                return None;
            }
        };
        if let Some(&(first_line, _)) = seen.get(&path) {
            let problem = Problem::DuplicateDiskPath {
                path: path.to_string(),
                first_line,
            };
            self.report(Some(text.line), Some(key), problem);
            return None;
        }
        seen.insert(path.clone(), (text.line, is_file));
        Some(path)
    }

    /// A path below a file would need that file to be a directory too.
    fn nothing_inside_files(&mut self, seen: &Seen) {
        let mut inside: Vec<(usize, String, String, usize)> = Vec::new();
        for (path, &(line, _)) in seen {
            for ancestor in path.ancestors() {
                if let Some(&(file_line, true)) = seen.get(&ancestor) {
                    inside.push((line, path.to_string(), ancestor.to_string(), file_line));
                }
            }
        }
        // The map's order is arbitrary: report in file order.
        inside.sort();
        for (line, path, file, file_line) in inside {
            let problem = Problem::DiskPathUnderFile {
                path,
                file,
                file_line,
            };
            self.report(Some(line), Some(FILES_KEY), problem);
        }
    }
}

/// Every `[[disk.files]] source` that is not a readable file, as problems of `profile`.
pub fn missing_sources(profile: &Profile) -> Vec<ProfileProblem> {
    profile
        .disk_files
        .iter()
        .filter_map(|entry| entry.source.as_ref())
        .filter_map(|source| {
            let path = profile.dir.join(&source.value);
            let shown = path.display().to_string();
            let problem = match fs::metadata(&path) {
                Ok(meta) if meta.is_file() => return None,
                Ok(_) => Problem::UnreadableDiskSource {
                    shown,
                    reason: "a directory or a special file".into(),
                },
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    Problem::MissingDiskSource { shown }
                }
                Err(e) => Problem::UnreadableDiskSource {
                    shown,
                    reason: e.to_string(),
                },
            };
            Some(ProfileProblem {
                file: profile.file.clone(),
                line: Some(source.line),
                key: Some("[[disk.files]] source".into()),
                problem,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::validate;
    use super::*;
    use crate::problem::ProfileProblems;
    use crate::profile::Profile;

    const FILE: &str = "node-profiles/x.toml";
    const DISK_NODE: &str =
        "description = \"d\"\n[kernel]\ndrivers = [\"pci\", \"virtio-blk\"]\n[disk]\n";

    fn programs() -> Vec<String> {
        vec!["hello".into(), "counter".into()]
    }

    fn profile(text: &str) -> Profile {
        Profile::parse("x", FILE, text.as_bytes().to_vec()).expect("the test profile parses")
    }

    fn check(text: &str) -> Result<crate::NodeSpec, ProfileProblems> {
        let programs = programs();
        validate(&profile(text), &Catalog::builtin().with_programs(&programs))
    }

    fn problems(text: &str) -> Vec<String> {
        match check(text) {
            Ok(spec) => panic!("should not validate: {spec:?}"),
            Err(problems) => problems.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn files_and_directories_become_the_disk_contents() {
        let text = format!(
            "{DISK_NODE}size_mib = 8\ndirs = [\"/home\", \"/bin\"]\n[[disk.files]]\n\
             path = \"/bin/hello\"\nprogram = \"hello\"\n[[disk.files]]\npath = \"/etc/motd\"\n\
             source = \"motd.txt\"\n"
        );
        let spec = check(&text).expect("valid");
        let contents = spec.disk_contents;
        let paths: Vec<String> = contents.files.iter().map(|f| f.path.to_string()).collect();
        assert_eq!(paths, ["/bin/hello", "/etc/motd"]);
        assert_eq!(
            contents.files[0].content,
            DiskContent::Program("hello".into())
        );
        assert_eq!(
            contents.files[1].content,
            DiskContent::HostFile("node-profiles/motd.txt".into())
        );
        let dirs: Vec<String> = contents.dirs.iter().map(ToString::to_string).collect();
        assert_eq!(dirs, ["/home", "/bin"]);
        assert_eq!(
            check(DISK_NODE).expect("valid").disk_contents,
            DiskContents::default()
        );
    }

    #[test]
    fn bad_paths_are_refused_with_the_reason() {
        let cases = [
            ("bin/hello", "it does not start with `/`"),
            ("/", "it is the root, which names no file"),
            (
                "/bin//hello",
                "it has an empty name (`//`, or `/` at the end)",
            ),
            ("/bin/", "it has an empty name (`//`, or `/` at the end)"),
            ("/bin/../etc", "`..` is not a name here"),
            ("/./x", "`.` is not a name here"),
            ("/a\\u0000b", "it holds a NUL character"),
            ("/my file", "name `my file` holds a space"),
        ];
        for (path, reason) in cases {
            let text =
                format!("{DISK_NODE}[[disk.files]]\npath = \"{path}\"\nprogram = \"hello\"\n");
            let found = problems(&text);
            assert_eq!(found.len(), 1, "{found:?}");
            assert!(
                found[0].starts_with("node-profiles/x.toml:6: [[disk.files]] path: ")
                    && found[0].contains(reason)
                    && found[0].ends_with("write an absolute path of names, e.g. \"/bin/hello\""),
                "{path}: {found:?}"
            );
        }
        let long = format!("/{}", "n".repeat(256));
        let text = format!("{DISK_NODE}dirs = [\"{long}\"]\n");
        assert!(
            problems(&text)[0].contains("[disk] dirs: ")
                && problems(&text)[0].contains("a name is 256 bytes long; at most 255"),
            "{:?}",
            problems(&text)
        );
    }

    #[test]
    fn a_path_twice_or_inside_a_file_is_refused() {
        let text = format!(
            "{DISK_NODE}dirs = [\"/etc\"]\n[[disk.files]]\npath = \"/etc\"\nprogram = \"hello\"\n\
             [[disk.files]]\npath = \"/bin/x\"\nprogram = \"hello\"\n[[disk.files]]\n\
             path = \"/bin/x\"\nsource = \"a\"\n[[disk.files]]\npath = \"/bin/x/y\"\n\
             program = \"hello\"\n"
        );
        assert_eq!(
            problems(&text),
            [
                "node-profiles/x.toml:7: [[disk.files]] path: /etc is on the disk twice (first \
                 on line 5); remove one",
                "node-profiles/x.toml:13: [[disk.files]] path: /bin/x is on the disk twice \
                 (first on line 10); remove one",
                "node-profiles/x.toml:16: [[disk.files]]: /bin/x/y would be inside /bin/x, \
                 which is a file (line 10); move one of them",
            ]
        );
    }

    #[test]
    fn each_file_holds_a_known_program_or_a_host_file() {
        let text = format!(
            "{DISK_NODE}[[disk.files]]\npath = \"/a\"\n[[disk.files]]\npath = \"/b\"\n\
             program = \"hello\"\nsource = \"b.txt\"\n[[disk.files]]\npath = \"/c\"\n\
             program = \"nope\"\n"
        );
        assert_eq!(
            problems(&text),
            [
                "node-profiles/x.toml:6: [[disk.files]]: says nothing of what the file holds; \
                 add `program = \"NAME\"` (a program of programs/) or `source = \"FILE\"` (a host \
                 file)",
                "node-profiles/x.toml:10: [[disk.files]] source: gives both `program` (line 9) \
                 and `source`; keep one of them",
                "node-profiles/x.toml:13: [[disk.files]] program: unknown program \"nope\"; \
                 available programs: hello, counter (the [[bin]]s of programs/Cargo.toml)",
            ]
        );
    }

    #[test]
    fn contents_need_a_disk() {
        let text = "description = \"d\"\n[disk]\ndirs = [\"/home\"]\n[[disk.files]]\n\
                    path = \"/a\"\nprogram = \"hello\"\n";
        assert_eq!(
            problems(text),
            [
                "node-profiles/x.toml:3: [disk] dirs: puts something on the node's virtio disk, \
                 but this profile has no disk driver; add \"virtio-blk\" to [kernel] drivers, \
                 or remove it"
            ]
        );
    }

    #[test]
    fn host_files_must_be_there() {
        let dir = std::env::temp_dir().join(format!("amoeba-sources-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).expect("temp dir");
        std::fs::write(dir.join("motd.txt"), "hi").expect("host file");
        let text = format!(
            "{DISK_NODE}[[disk.files]]\npath = \"/a\"\nsource = \"motd.txt\"\n[[disk.files]]\n\
             path = \"/b\"\nsource = \"gone.txt\"\n[[disk.files]]\npath = \"/c\"\n\
             source = \"sub\"\n"
        );
        let mut profile = profile(&text);
        profile.dir = dir.clone();
        let found: Vec<String> = missing_sources(&profile)
            .iter()
            .map(ToString::to_string)
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        let shown = dir.display();
        assert_eq!(
            found,
            [
                format!(
                    "node-profiles/x.toml:10: [[disk.files]] source: no file {shown}/gone.txt; \
                     `source` is relative to the profile's directory: correct the path or \
                     create the file"
                ),
                format!(
                    "node-profiles/x.toml:13: [[disk.files]] source: {shown}/sub is not a file \
                     (a directory or a special file); name a file"
                ),
            ]
        );
    }
}
