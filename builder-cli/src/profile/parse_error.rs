//! TOML and serde errors in a profile, reworded to name the line, the key (`[table] key`) and
//! the fix. The toml crate gives a message and a position only, so errors are recognised by their
//! text; anything not recognised keeps the parser's own words.

use super::line_of;
use crate::disk::{MAX_DISK_MIB, MIN_DISK_MIB};
use std::fmt;

/// Turns a TOML/serde error into the line, the key (`[table] key`) and a message that says
/// how to fix it; the parser's own words are kept where they are already clear.
pub(super) fn explain(text: &str, error: &toml::de::Error) -> (usize, Option<String>, String) {
    let span = error.span().unwrap_or(0..0);
    let line = line_of(text, span.start);
    let place = Place::at(text, line);
    let message = error.message().trim();
    let field = place.field();

    if let Some(missing) = between(message, "missing field `", "`") {
        // A top-level field is reported at the start of the file, whatever is written there.
        if span == (0..0) {
            let message = format!("{message}; add a `{missing} = …` line at the top of the file");
            return (1, None, message);
        }
        let fix = match &place.header {
            Some(header) => format!("add a `{missing} = …` line to this {header} table"),
            None => format!("add a `{missing} = …` line"),
        };
        return (line, place.key(), format!("{message}; {fix}"));
    }

    let message = if message == "duplicate key" {
        duplicate(text, &place, text.get(span).unwrap_or("").trim())
    } else if let Some(table) = message
        .split_once(", expected struct ")
        .and_then(|(_, name)| table_of_struct(name))
    {
        if table == "programs" {
            "each program must be a table: write `[[programs]]` and its keys below it, once per \
             program"
                .to_string()
        } else if table == "disk.files" {
            "each file must be a table: write `[[disk.files]]` and its keys below it, once per \
             file"
                .to_string()
        } else {
            format!("`{table}` must be a table: write `[{table}]` and its keys below it")
        }
    } else if let Some(header) = place.header.as_ref().filter(|h| {
        place.on_header
            && h.array
            && matches!(
                h.name.as_str(),
                "node" | "kernel" | "network" | "run" | "disk"
            )
    }) {
        format!(
            "`{header}` makes a list of tables, but there is one `{name}` table: write `[{name}]`",
            name = header.name
        )
    } else if message.ends_with("expected a sequence")
        && place.table().is_none_or(|t| t == "programs")
        && field.is_none_or(|f| f == "programs")
    {
        if place.on_header {
            "programs are a list of tables: write `[[programs]]` (double brackets) instead of \
             `[programs]`, once per program"
                .to_string()
        } else {
            "`programs` must be a list of tables: write `[[programs]]` and its keys below it, \
             once per program"
                .to_string()
        }
    } else {
        let example = |value: &str| match field {
            Some(field) => format!(", e.g. `{field} = {value}`"),
            None => String::new(),
        };
        let fix = if message.ends_with("expected a string") {
            format!("write text in double quotes{}", example("\"…\""))
        } else if message.ends_with("expected a sequence") {
            format!("write a list in brackets{}", example("[\"…\"]"))
        } else if message.ends_with("expected a boolean") {
            "write `true` or `false`".to_string()
        } else if message.ends_with("expected u32") {
            format!(
                "write a whole number from 0 to {}{}",
                u32::MAX,
                example("128")
            )
        } else if message.ends_with("expected i64") && field == Some("size_mib") {
            // Read as i64 so that validation can name the range of a number outside it.
            format!(
                "write a whole number from {MIN_DISK_MIB} to {MAX_DISK_MIB}{}",
                example("64")
            )
        } else if message.ends_with("expected i64") {
            // The other integer read as i64 is a UDP port, whose range validation checks.
            format!("write a whole number from 1 to 65535{}", example("4146"))
        } else if message.starts_with("unknown field `") {
            "remove it or correct its spelling".to_string()
        } else {
            String::new()
        };
        if fix.is_empty() {
            message.to_string()
        } else {
            format!("{message}; {fix}")
        }
    };
    (line, place.key(), message)
}

/// The message for a key or table written twice; `key` is the repeated key as written.
fn duplicate(text: &str, place: &Place, key: &str) -> String {
    let earlier = |same: &dyn Fn(usize, &str) -> bool| {
        text.lines()
            .enumerate()
            .take(place.line - 1)
            .find(|&(i, l)| same(i + 1, l))
            .map(|(i, _)| format!(" (first on line {})", i + 1))
            .unwrap_or_default()
    };
    match &place.header {
        Some(header) if place.on_header => {
            let first = earlier(&|number, l| {
                Header::parse(l, number)
                    .is_some_and(|h| h.name == header.name && h.array == header.array)
            });
            if first.is_empty() {
                format!(
                    "`{}` is already set above (by a dotted key or an inline table); \
                     put all its keys under this one `{header}` table",
                    header.name
                )
            } else {
                format!(
                    "`{header}` is written twice{first}; remove one of the two `{header}` \
                     tables, moving its keys into the other"
                )
            }
        }
        _ => {
            let from = place.header.as_ref().map_or(0, |h| h.line);
            let first = earlier(&|number, l| {
                number > from && !place.key.is_empty() && key_path(l) == Some(place.key.clone())
            });
            format!("`{key}` is set twice{first}; remove one of the two")
        }
    }
}

/// The profile table a `Raw…` type of this module is read from.
fn table_of_struct(name: &str) -> Option<&'static str> {
    match name {
        "RawNode" => Some("node"),
        "RawKernel" => Some("kernel"),
        "RawNetwork" => Some("network"),
        "RawRun" => Some("run"),
        "RawDisk" => Some("disk"),
        "RawProgram" => Some("programs"),
        "RawDiskFile" => Some("disk.files"),
        _ => None,
    }
}

/// The text between `start` (at the beginning of `s`) and the next `end`.
fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    s.strip_prefix(start)?
        .split_once(end)
        .map(|(inner, _)| inner)
}

/// A `[table]` or `[[table]]` header line.
struct Header {
    name: String,
    /// `[[table]]`: one table of a list.
    array: bool,
    /// Its 1-based line.
    line: usize,
}

impl Header {
    fn parse(text: &str, line: usize) -> Option<Self> {
        let text = text.trim();
        let (name, array) = match text.strip_prefix("[[") {
            Some(rest) => (rest.split_once("]]")?.0, true),
            None => (text.strip_prefix('[')?.split_once(']')?.0, false),
        };
        Some(Self {
            name: name.trim().to_string(),
            array,
            line,
        })
    }
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.array {
            write!(f, "[[{}]]", self.name)
        } else {
            write!(f, "[{}]", self.name)
        }
    }
}

/// Where a parse error is, from the text around its line: the last `[header]` above (or on)
/// the line and the key on it.
/// Profiles are flat tables of plain keys, so these say it; where they don't (a value inside
/// a multi-line array), naming only the table is still right.
struct Place {
    line: usize,
    header: Option<Header>,
    /// The line is the header itself.
    on_header: bool,
    /// The key on the line, split at its dots: `node.name = 5` gives `["node", "name"]`.
    key: Vec<String>,
}

impl Place {
    fn at(text: &str, line: usize) -> Self {
        let lines: Vec<&str> = text.lines().take(line).collect();
        let header = lines
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, l)| Header::parse(l, i + 1));
        let on_header = header.as_ref().is_some_and(|h| h.line == lines.len());
        let key = match lines.last() {
            Some(l) if !on_header => key_path(l).unwrap_or_default(),
            _ => Vec::new(),
        };
        Self {
            line,
            header,
            on_header,
            key,
        }
    }

    /// The key as shown in messages: `[node] name` for `name` under `[node]` and for
    /// `node.name` at the top level; `description` for a top-level key.
    fn key(&self) -> Option<String> {
        match (&self.header, self.key.as_slice()) {
            (Some(header), []) => Some(header.to_string()),
            (Some(header), key) => Some(format!("{header} {}", key.join("."))),
            (None, []) => None,
            (None, [key]) => Some(key.clone()),
            (None, [table, rest @ ..]) => Some(format!("[{table}] {}", rest.join("."))),
        }
    }

    /// The table the line is in: `node` under `[node]` and for `node.name = …`.
    fn table(&self) -> Option<&str> {
        match (&self.header, self.key.as_slice()) {
            (Some(header), _) => Some(&header.name),
            (None, [table, _, ..]) => Some(table),
            (None, _) => None,
        }
    }

    /// The key of [`Place::table`] (or the top-level key) that the line sets: `name` for
    /// `name = …` under `[node]`, for `node.name = …` and for `name.x = …` under `[node]`.
    fn field(&self) -> Option<&str> {
        match (&self.header, self.key.as_slice()) {
            (Some(_), [field, ..]) | (None, [_, field, ..]) | (None, [field]) => Some(field),
            _ => None,
        }
    }
}

/// The key of a `key = value` line, split at its dots (quotes around parts removed); `None`
/// when the line is not one.
fn key_path(line: &str) -> Option<Vec<String>> {
    let (key, _) = line.split_once('=')?;
    key.split('.')
        .map(|part| {
            let part = part.trim();
            let unquoted = ['"', '\'']
                .iter()
                .find_map(|&q| part.strip_prefix(q)?.strip_suffix(q))
                .unwrap_or(part);
            (!unquoted.is_empty()
                && unquoted
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
            .then(|| unquoted.to_string())
        })
        .collect()
}
