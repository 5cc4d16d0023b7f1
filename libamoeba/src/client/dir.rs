//! Directory stubs: for the kernel directory and the process server's `ps` alike (their
//! formats are in `servers/dir/row.rs` and `servers/dir/listing.rs`).

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::{GARBLED, size_field, transact, transact_bare};
use crate::capability::{CAPABILITY_LEN, Capability};
use crate::rpc::codes::ErrorCode;
use crate::rpc::header::Header;
use crate::rpc::transport::Rpc;
use crate::servers::dir::row::{decode_rows, encode_row, is_valid_name};
use crate::servers::dir::{APPEND, DELETE, LIST, LOOKUP};

/// Bytes of the page buffer [`dir_list`] uses.
pub const LIST_PAGE_BYTES: usize = 4096;

/// One LIST reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListPage {
    pub rows: Vec<(String, Capability)>,
    /// The index to ask from for the next page.
    pub next: usize,
    /// Rows in the directory when the page was made.
    pub total: usize,
}

/// What `name` maps to in `dir`.
pub fn dir_lookup(rpc: &impl Rpc, dir: &Capability, name: &str) -> Result<Capability, ErrorCode> {
    let name = valid_name(name)?;
    let mut found = [0; CAPABILITY_LEN];
    let answer = transact(
        rpc,
        &Header::request(dir, LOOKUP),
        name.as_bytes(),
        &mut found,
    )?;
    if answer.truncated || answer.data.len() != CAPABILITY_LEN {
        return Err(GARBLED);
    }
    Ok(Capability::from_array(&found))
}

/// Every row of `dir`, asking page after page of [`LIST_PAGE_BYTES`].
pub fn dir_list(rpc: &impl Rpc, dir: &Capability) -> Result<Vec<(String, Capability)>, ErrorCode> {
    dir_list_in_pages(rpc, dir, &mut vec![0; LIST_PAGE_BYTES])
}

/// Every row of `dir`, one `page` buffer's worth a request.
pub fn dir_list_in_pages(
    rpc: &impl Rpc,
    dir: &Capability,
    page: &mut [u8],
) -> Result<Vec<(String, Capability)>, ErrorCode> {
    let mut rows = Vec::new();
    let mut start = 0;
    loop {
        let mut listed = dir_list_page(rpc, dir, start, page)?;
        rows.append(&mut listed.rows);
        if listed.next >= listed.total {
            return Ok(rows);
        }
        // The server owes a row or STD_OVERFLOW; asking the same page again would never end.
        if listed.next <= start {
            return Err(GARBLED);
        }
        start = listed.next;
    }
}

/// The rows of `dir` from index `start` that fit `page`.
pub fn dir_list_page(
    rpc: &impl Rpc,
    dir: &Capability,
    start: usize,
    page: &mut [u8],
) -> Result<ListPage, ErrorCode> {
    if page.is_empty() {
        return Err(ErrorCode::STD_ARGBAD);
    }
    let request = Header {
        offset: i32::try_from(start).map_err(|_| ErrorCode::STD_ARGBAD)?,
        size: size_field(page.len()),
        ..Header::request(dir, LIST)
    };
    let answer = transact(rpc, &request, &[], page)?;
    let rows = decode_rows(answer.data).map_err(|_| GARBLED)?;
    let next = usize::try_from(answer.header.offset).map_err(|_| GARBLED)?;
    let consistent = rows.len() == usize::from(answer.header.extra)
        && (rows.is_empty() || next == start + rows.len());
    if answer.truncated || !consistent {
        return Err(GARBLED);
    }
    let rows = rows.into_iter().map(|(name, cap)| (name.to_string(), cap));
    Ok(ListPage {
        rows: rows.collect(),
        next,
        total: usize::from(answer.header.size),
    })
}

/// Adds `name` → `cap` to `dir` (needs the directory's MODIFY right).
pub fn dir_append(
    rpc: &impl Rpc,
    dir: &Capability,
    name: &str,
    cap: &Capability,
) -> Result<(), ErrorCode> {
    let row = encode_row(name, cap).map_err(|_| ErrorCode::STD_ARGBAD)?;
    transact_bare(rpc, &Header::request(dir, APPEND), &row).map(drop)
}

/// Removes `name` from `dir` (needs the directory's MODIFY right).
pub fn dir_delete(rpc: &impl Rpc, dir: &Capability, name: &str) -> Result<(), ErrorCode> {
    let name = valid_name(name)?;
    transact_bare(rpc, &Header::request(dir, DELETE), name.as_bytes()).map(drop)
}

fn valid_name(name: &str) -> Result<&str, ErrorCode> {
    if is_valid_name(name) {
        Ok(name)
    } else {
        Err(ErrorCode::STD_ARGBAD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::{ALL_RIGHTS, Port};
    use crate::client::scripted::scripted;
    use crate::client::std_restrict;
    use crate::random::SeededGenerator;
    use crate::servers::dir::{Directory, MODIFY, READ};
    use crate::servers::loopback::Loopback;
    use alloc::format;

    const PORT: Port = Port([0xd1; 6]);

    fn entry(n: u8) -> Capability {
        Capability::new(Port([n; 6]), u32::from(n), ALL_RIGHTS, [n; 6]).unwrap()
    }

    /// A directory with `count` names "name00", "name01", ...
    fn directory(count: u8) -> (Loopback, Capability) {
        let (mut dir, owner) = Directory::new(PORT, &mut SeededGenerator::new(7));
        for n in 0..count {
            dir.publish(&format!("name{n:02}"), entry(n)).unwrap();
        }
        let mut loopback = Loopback::new();
        loopback.add(PORT, dir);
        (loopback, owner)
    }

    #[test]
    fn lookup_append_delete_end_to_end() {
        let (rpc, owner) = directory(2);
        assert_eq!(dir_lookup(&rpc, &owner, "name01"), Ok(entry(1)));
        assert_eq!(
            dir_lookup(&rpc, &owner, "none"),
            Err(ErrorCode::STD_NOTFOUND)
        );
        assert_eq!(dir_append(&rpc, &owner, "tod", &entry(9)), Ok(()));
        assert_eq!(
            dir_append(&rpc, &owner, "tod", &entry(9)),
            Err(ErrorCode::STD_EXISTS)
        );
        assert_eq!(dir_lookup(&rpc, &owner, "tod"), Ok(entry(9)));
        let read = std_restrict(&rpc, &owner, READ).unwrap();
        assert_eq!(dir_delete(&rpc, &read, "tod"), Err(ErrorCode::STD_DENIED));
        let modify = std_restrict(&rpc, &owner, MODIFY).unwrap();
        assert_eq!(dir_delete(&rpc, &modify, "tod"), Ok(()));
        assert_eq!(dir_lookup(&rpc, &read, "tod"), Err(ErrorCode::STD_NOTFOUND));
    }

    #[test]
    fn bad_names_are_refused_before_sending() {
        let nowhere = Loopback::new();
        let dir = Capability {
            port: PORT,
            ..Capability::NULL
        };
        let long = "x".repeat(256);
        for name in ["", "a/b", "bell\u{7}", long.as_str()] {
            assert_eq!(dir_lookup(&nowhere, &dir, name), Err(ErrorCode::STD_ARGBAD));
            assert_eq!(dir_delete(&nowhere, &dir, name), Err(ErrorCode::STD_ARGBAD));
            let appended = dir_append(&nowhere, &dir, name, &entry(1));
            assert_eq!(appended, Err(ErrorCode::STD_ARGBAD));
        }
    }

    #[test]
    fn list_loops_over_pages_of_a_small_buffer() {
        let (rpc, owner) = directory(10);
        let expected: Vec<(String, Capability)> =
            (0..10).map(|n| (format!("name{n:02}"), entry(n))).collect();
        assert_eq!(dir_list(&rpc, &owner), Ok(expected.clone()));
        // Rows are 1 + 6 + 16 = 23 bytes: 50 bytes hold two, 23 exactly one.
        for page_bytes in [23, 50, 69] {
            let mut page = vec![0; page_bytes];
            assert_eq!(
                dir_list_in_pages(&rpc, &owner, &mut page),
                Ok(expected.clone())
            );
        }
        let mut page = [0; 50];
        let second = dir_list_page(&rpc, &owner, 2, &mut page).unwrap();
        assert_eq!((second.rows.len(), second.next, second.total), (2, 4, 10));
        let (empty, _) = directory(0);
        assert_eq!(dir_list(&empty, &owner), Ok(Vec::new()));
    }

    #[test]
    fn a_row_larger_than_the_page_is_overflow_not_an_endless_loop() {
        let (rpc, owner) = directory(3);
        let mut page = [0; 22];
        let listed = dir_list_in_pages(&rpc, &owner, &mut page);
        assert_eq!(listed, Err(ErrorCode::STD_OVERFLOW));
        assert_eq!(
            dir_list_in_pages(&rpc, &owner, &mut []),
            Err(ErrorCode::STD_ARGBAD)
        );
    }

    #[test]
    fn garbled_replies_are_garbled() {
        let row = encode_row("a", &entry(1)).unwrap();
        let page = |offset, extra, size| Header {
            offset,
            extra,
            size,
            ..Header::default()
        };
        let cases: [(Header, &[u8]); 6] = [
            // The same page for ever: no progress.
            (page(0, 0, 5), b""),
            // Row count or next index disagreeing with the rows.
            (page(1, 2, 5), &row),
            (page(3, 1, 5), &row),
            (page(-1, 1, 5), &row),
            // A cut row.
            (page(1, 1, 5), &row[..row.len() - 1]),
            (page(1, 1, 1), &[row.as_slice(), b"\x01"].concat()),
        ];
        for (header, data) in cases {
            let (rpc, cap) = scripted(header, data);
            assert_eq!(dir_list(&rpc, &cap), Err(GARBLED), "{header:?}");
        }
        for found in [&[0; 15][..], &[0; 17]] {
            let (rpc, cap) = scripted(Header::default(), found);
            assert_eq!(dir_lookup(&rpc, &cap, "a"), Err(GARBLED));
        }
    }
}
