//! Paths on a built disk, and the tree of them the builder hands to the directory writer:
//! every file's path with the capability of the committed Bullet file holding it, and the
//! directories the profile asks for.
//!
//! A path is absolute and made of names a SOAP directory row can hold
//! (`libamoeba::soap::directory::is_valid_name`: 1 to 255 printable ASCII characters, no space,
//! no `/`); `.` and `..` are refused, since SOAP keeps no such rows and a path that climbs
//! would name another place than it reads.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use libamoeba::capability::Capability;
use libamoeba::soap::directory::{MAX_NAME_LEN, is_valid_name};
use thiserror::Error;

/// An absolute path below the root: `/bin/hello` is the names `bin`, `hello`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DiskPath(Vec<String>);

/// Why a text is not a [`DiskPath`].
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PathError {
    #[error("it does not start with `/`")]
    NotAbsolute,
    #[error("it is the root, which names no file")]
    Root,
    #[error("it has an empty name (`//`, or `/` at the end)")]
    EmptyName,
    #[error("`{0}` is not a name here (no `.` or `..`: directories keep no such rows)")]
    Dot(String),
    #[error("it holds a NUL character")]
    Nul,
    #[error("a name is {len} bytes long; at most {MAX_NAME_LEN}")]
    TooLong { len: usize },
    #[error("name `{0}` holds a space or a character that is not printable ASCII")]
    BadCharacter(String),
}

impl DiskPath {
    pub fn parse(text: &str) -> Result<Self, PathError> {
        if text.contains('\0') {
            return Err(PathError::Nul);
        }
        let rest = text.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
        if rest.is_empty() {
            return Err(PathError::Root);
        }
        let names = rest
            .split('/')
            .map(|name| match name {
                "" => Err(PathError::EmptyName),
                "." | ".." => Err(PathError::Dot(name.to_string())),
                _ if name.len() > MAX_NAME_LEN => Err(PathError::TooLong { len: name.len() }),
                _ if !is_valid_name(name) => Err(PathError::BadCharacter(name.to_string())),
                _ => Ok(name.to_string()),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self(names))
    }

    /// Its names, from the root down.
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// The paths of the directories above it, the root left out: `/a/b/c` gives `/a`, `/a/b`.
    pub fn ancestors(&self) -> impl Iterator<Item = DiskPath> + '_ {
        (1..self.0.len()).map(|len| Self(self.0[..len].to_vec()))
    }
}

impl fmt::Display for DiskPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for name in &self.0 {
            write!(f, "/{name}")?;
        }
        Ok(())
    }
}

/// What the builder put on the Bullet volume and where the profile wants it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskTree {
    /// Every file: its path and the owner capability of its committed Bullet file.
    pub files: BTreeMap<DiskPath, Capability>,
    /// The directories the profile names itself (`[disk] dirs`).
    pub dirs: BTreeSet<DiskPath>,
}

impl DiskTree {
    /// Whether there is nothing to put in directories.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.dirs.is_empty()
    }

    /// Every directory below the root: those named, and those above each file and directory.
    pub fn directories(&self) -> BTreeSet<DiskPath> {
        let above_files = self.files.keys().flat_map(DiskPath::ancestors);
        let above_dirs = self.dirs.iter().flat_map(DiskPath::ancestors);
        above_files
            .chain(above_dirs)
            .chain(self.dirs.iter().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_paths_split_into_names() {
        let path = DiskPath::parse("/bin/hello").expect("valid");
        assert_eq!(path.names(), ["bin", "hello"]);
        assert_eq!(path.to_string(), "/bin/hello");
        let ancestors: Vec<String> = DiskPath::parse("/a/b/c")
            .expect("valid")
            .ancestors()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(ancestors, ["/a", "/a/b"]);
        assert!(DiskPath::parse(&format!("/{}", "n".repeat(255))).is_ok());
    }

    #[test]
    fn invalid_paths_say_why() {
        let cases = [
            ("bin/hello", PathError::NotAbsolute),
            ("", PathError::NotAbsolute),
            ("/", PathError::Root),
            ("/bin//hello", PathError::EmptyName),
            ("/bin/", PathError::EmptyName),
            ("/bin/./hello", PathError::Dot(".".into())),
            ("/../etc", PathError::Dot("..".into())),
            ("/a\0b", PathError::Nul),
            ("/my file", PathError::BadCharacter("my file".into())),
            ("/caf\u{e9}", PathError::BadCharacter("caf\u{e9}".into())),
        ];
        for (text, error) in cases {
            assert_eq!(DiskPath::parse(text), Err(error), "{text:?}");
        }
        let long = format!("/{}", "n".repeat(256));
        assert_eq!(DiskPath::parse(&long), Err(PathError::TooLong { len: 256 }));
    }

    #[test]
    fn directories_are_named_and_implied() {
        let path = |text| DiskPath::parse(text).expect("valid");
        let mut tree = DiskTree::default();
        assert!(tree.is_empty());
        tree.files.insert(path("/bin/sys/hello"), Capability::NULL);
        tree.dirs.insert(path("/home/guest"));
        let dirs: Vec<String> = tree.directories().iter().map(|p| p.to_string()).collect();
        assert_eq!(dirs, ["/bin", "/bin/sys", "/home", "/home/guest"]);
    }
}
