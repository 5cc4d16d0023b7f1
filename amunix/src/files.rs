//! The file commands' work (`amoeba put/get/cat/ls/mkdir/rm/mv`), over any [`Rpc`]: files are
//! Bullet files, named in SOAP directories; a path is looked up from a directory (a node's
//! `soap` root, or a directory's capability) and may cross to directories on other nodes.
//! Every RPC error says what was being done, with the error's Amoeba name.

use crate::commands::rpc_context;
use anyhow::{Result, bail};
use libamoeba::capability::{ALL_RIGHTS, Capability};
use libamoeba::client;
use libamoeba::rpc::codes::ErrorCode;
use libamoeba::rpc::transport::Rpc;
use libamoeba::soap::CapSet;
use libamoeba::soap::directory::DEFAULT_COLUMNS;
use serde_json::{Value, json};
use std::io::Write;

/// The masks a new row gets: every right in each column. Restricting is the owner's
/// business, with a restricted capability of the directory (STD_RESTRICT).
const NEW_ROW_MASKS: [u32; 3] = [ALL_RIGHTS as u32; 3];

/// Where paths start, and the Bullet server new files go to.
pub struct Place {
    pub root: Capability,
    /// `None` when the start was a bare directory capability and no `--bullet` was given.
    pub bullet: Option<Capability>,
    /// The start as the user named it, for messages (`fileserver-1`).
    pub shown: String,
}

impl Place {
    fn at(&self, path: &str) -> String {
        format!("{}/{}", self.shown, path.trim_start_matches('/'))
    }

    /// The capability `path` names (the root for an empty path).
    pub fn find(&self, rpc: &impl Rpc, path: &str) -> Result<Capability> {
        if path.trim_matches('/').is_empty() {
            return Ok(self.root);
        }
        rpc_context(client::dir_lookup(rpc, &self.root, path), || {
            format!("looking up {}", self.at(path))
        })
    }

    /// The directory holding `path`'s last name, and that name.
    fn parent<'p>(&self, rpc: &impl Rpc, path: &'p str) -> Result<(Capability, &'p str)> {
        rpc_context(client::sp_traverse(rpc, &self.root, path), || {
            format!("looking up the directory of {}", self.at(path))
        })
    }
}

/// Stores `data` as a new committed file named `path`, replacing (and destroying) a file
/// already there; `progress` hears the bytes sent so far.
pub fn put(
    rpc: &impl Rpc,
    place: &Place,
    path: &str,
    data: &[u8],
    progress: &mut dyn FnMut(u64),
) -> Result<Capability> {
    let Some(bullet) = place.bullet else {
        bail!(
            "no Bullet server to store {} on: give --bullet CAP",
            place.at(path)
        );
    };
    let (dir, name) = place.parent(rpc, path)?;
    let file = rpc_context(client::write_file(rpc, &bullet, data, progress), || {
        format!("writing {} bytes for {}", data.len(), place.at(path))
    })?;
    let capset = CapSet::singleton(file);
    let old = match client::dir_lookup(rpc, &dir, name) {
        Ok(old) => Some(old),
        Err(ErrorCode::STD_NOTFOUND) => None,
        Err(error) => return rpc_context(Err(error), || format!("looking up {}", place.at(path))),
    };
    let named = match old {
        Some(_) => client::sp_replace(rpc, &dir, name, &capset),
        None => client::sp_append(rpc, &dir, name, &capset, &NEW_ROW_MASKS),
    };
    if let Err(error) = named {
        // The file is named nowhere: take it back rather than leave it behind.
        let _ = client::std_destroy(rpc, &file);
        return rpc_context(Err(error), || format!("naming {}", place.at(path)));
    }
    if let Some(old) = old {
        let _ = client::std_destroy(rpc, &old);
    }
    Ok(file)
}

/// Writes the file `path` names to `out`; returns its size.
pub fn get(
    rpc: &impl Rpc,
    place: &Place,
    path: &str,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64> {
    let file = place.find(rpc, path)?;
    let size = rpc_context(client::bs_size(rpc, &file), || {
        format!("sizing {}", place.at(path))
    })?;
    let mut chunk = vec![0; client::CREATE_CHUNK];
    let mut done = 0u64;
    while done < size {
        let got = rpc_context(client::bs_read(rpc, &file, done, &mut chunk), || {
            format!("reading {} at byte {done}", place.at(path))
        })?;
        if got == 0 {
            bail!("{} ended at byte {done} of {size}", place.at(path));
        }
        out.write_all(&chunk[..got])?;
        done += got as u64;
        progress(done, size);
    }
    Ok(size)
}

/// A row of a listing.
pub struct Row {
    pub name: String,
    pub masks: Vec<u32>,
    pub capability: Option<Capability>,
}

/// The rows of the directory `path` names, in name order.
pub fn ls(rpc: &impl Rpc, place: &Place, path: &str) -> Result<(Vec<String>, Vec<Row>)> {
    let dir = place.find(rpc, path)?;
    let listing = rpc_context(client::sp_list(rpc, &dir), || {
        format!("listing {}", place.at(path))
    })?;
    let mut rows: Vec<Row> = listing
        .rows
        .into_iter()
        .map(|(name, masks)| {
            let capability = client::dir_lookup(rpc, &dir, &name).ok();
            Row {
                name,
                masks,
                capability,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((listing.columns, rows))
}

pub fn ls_json(columns: &[String], rows: &[Row]) -> Value {
    let rows: Vec<Value> = rows
        .iter()
        .map(|row| {
            let cap = row.capability.map(|c| c.to_string());
            json!({ "name": row.name, "masks": row.masks, "capability": cap })
        })
        .collect();
    json!({ "columns": columns, "rows": rows })
}

pub fn ls_text(columns: &[String], rows: &[Row]) -> String {
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let mut text = String::new();
    for row in rows {
        let masks: Vec<String> = row.masks.iter().map(|m| format!("{m:02x}")).collect();
        let cap = row
            .capability
            .map_or("(unreachable)".to_string(), |c| c.to_string());
        text.push_str(&format!(
            "{:<width$}  {}  {cap}\n",
            row.name,
            masks.join(":")
        ));
    }
    if rows.is_empty() {
        text.push_str(&format!("(empty; columns {})\n", columns.join(", ")));
    }
    text
}

/// Makes a directory `path` on the server of its parent.
pub fn mkdir(rpc: &impl Rpc, place: &Place, path: &str) -> Result<Capability> {
    let (parent, name) = place.parent(rpc, path)?;
    let dir = rpc_context(client::sp_create(rpc, &parent, &DEFAULT_COLUMNS), || {
        format!("making directory {}", place.at(path))
    })?;
    let capset = CapSet::singleton(dir);
    if let Err(error) = client::sp_append(rpc, &parent, name, &capset, &NEW_ROW_MASKS) {
        let _ = client::sp_discard(rpc, &dir);
        return rpc_context(Err(error), || format!("naming {}", place.at(path)));
    }
    Ok(dir)
}

/// What `rm` removed.
#[derive(Debug, PartialEq, Eq)]
pub enum Removed {
    File,
    Directory,
    /// Only the name: the object is not ours to destroy (another server's, or no rights).
    NameOnly,
}

/// Whether `object` is a SOAP directory: its STD_INFO starts with `/` (5.3's form).
fn is_directory(rpc: &impl Rpc, object: &Capability) -> bool {
    let mut info = [0u8; 64];
    client::std_info(rpc, object, &mut info).is_ok_and(|text| text.starts_with('/'))
}

/// Removes `path`: an empty directory is discarded, a file destroyed, and the name deleted.
pub fn rm(rpc: &impl Rpc, place: &Place, path: &str) -> Result<Removed> {
    let (parent, name) = place.parent(rpc, path)?;
    let object = place.find(rpc, path)?;
    let destroyed = if is_directory(rpc, &object) {
        match client::sp_discard(rpc, &object) {
            Err(ErrorCode::SP_NOTEMPTY) => {
                bail!("{} is a directory that is not empty", place.at(path))
            }
            other => other.map(|()| Removed::Directory),
        }
    } else {
        client::std_destroy(rpc, &object).map(|()| Removed::File)
    };
    rpc_context(client::dir_delete(rpc, &parent, name), || {
        format!("deleting {}", place.at(path))
    })?;
    Ok(destroyed.unwrap_or(Removed::NameOnly))
}

/// Renames `from` to `to` (into `to` if it is a directory), keeping the masks.
pub fn mv(rpc: &impl Rpc, place: &Place, from: &str, to: &str) -> Result<String> {
    let (from_dir, from_name) = place.parent(rpc, from)?;
    let capset = rpc_context(client::sp_lookup(rpc, &place.root, from), || {
        format!("looking up {}", place.at(from))
    })?;
    let masks = rpc_context(client::sp_getmasks(rpc, &from_dir, from_name), || {
        format!("reading the masks of {}", place.at(from))
    })?;
    let into_dir = place
        .find(rpc, to)
        .ok()
        .filter(|cap| is_directory(rpc, cap));
    let (to_dir, to_name, shown) = match into_dir {
        Some(dir) => (
            dir,
            from_name.to_string(),
            format!("{}/{from_name}", to.trim_end_matches('/')),
        ),
        None => {
            let (dir, name) = place.parent(rpc, to)?;
            (dir, name.to_string(), to.to_string())
        }
    };
    rpc_context(
        client::sp_append(rpc, &to_dir, &to_name, &capset, &masks),
        || format!("naming {}", place.at(&shown)),
    )?;
    rpc_context(client::dir_delete(rpc, &from_dir, from_name), || {
        format!("deleting the old name {}", place.at(from))
    })?;
    Ok(shown)
}
