//! Answering LIST and LOOKUP on a directory, for every server that serves one (the kernel
//! directory, the process server's `ps`), so both speak the same format.
//!
//! Command numbers are SOAP's, from `docs/amoeba-protocol.md#kernel-servers`; the paging is
//! ours, not SOAP's:
//!
//! - LIST request: h_offset = index of the first row wanted (rows in name order for the
//!   kernel directory, pid order for `ps`), h_size = the most reply bytes the client takes
//!   (0: no limit of its own). Reply: as many whole rows ([`super::row`]) as fit from there,
//!   h_offset = the index after the last row sent, h_extra = rows in this reply, h_size = rows
//!   in the directory (at most 65535). A client asks again from the new h_offset until it
//!   reaches h_size. A first row that does not fit on its own is STD_OVERFLOW: an empty page
//!   would send the client round for ever. Starting at or past the end gives an empty page.
//! - LOOKUP request: data = the name. Reply: data = the 16-byte capability, or STD_NOTFOUND.

use crate::capability::Capability;
use crate::rpc::codes::ErrorCode;
use crate::rpc::server::{Reply, Request};
use crate::servers::dir::row::{encode_row, parse_name};
use crate::servers::standard::{reply_limit, whole_data};

/// Answers LIST from `rows`, the directory's rows in order.
pub fn answer_list<N: AsRef<str>>(
    rows: impl ExactSizeIterator<Item = (N, Capability)>,
    request: &Request<'_>,
    reply: &mut Reply<'_>,
) -> Result<(), ErrorCode> {
    let start = usize::try_from(request.header.offset).map_err(|_| ErrorCode::STD_ARGBAD)?;
    let total = rows.len();
    let limit = reply_limit(request, reply);
    let mut used = 0;
    let mut sent: u16 = 0;
    for (name, cap) in rows.skip(start) {
        // A name the server itself stored that breaks the rules is the server's fault.
        let row = encode_row(name.as_ref(), &cap).map_err(|_| ErrorCode::STD_SYSERR)?;
        if used + row.len() > limit || sent == u16::MAX {
            break;
        }
        reply.push(&row)?;
        used += row.len();
        sent += 1;
    }
    if sent == 0 && start < total {
        return Err(ErrorCode::STD_OVERFLOW);
    }
    let next = start.min(total) + usize::from(sent);
    reply.header.offset = i32::try_from(next).map_err(|_| ErrorCode::STD_OVERFLOW)?;
    reply.header.extra = sent;
    reply.header.size = u16::try_from(total).unwrap_or(u16::MAX);
    Ok(())
}

/// The name a LOOKUP, DELETE (or any request naming one entry) carries: STD_ARGBAD unless it
/// is a valid name.
pub fn requested_name<'a>(request: &Request<'a>) -> Result<&'a str, ErrorCode> {
    parse_name(whole_data(request)?).ok_or(ErrorCode::STD_ARGBAD)
}

/// Answers LOOKUP with what the name maps to.
pub fn answer_lookup(found: Option<Capability>, reply: &mut Reply<'_>) -> Result<(), ErrorCode> {
    let cap = found.ok_or(ErrorCode::STD_NOTFOUND)?;
    reply.push(&cap.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::{CAPABILITY_LEN, Port};
    use crate::rpc::header::Header;
    use crate::servers::dir::row::decode_rows;
    use alloc::vec::Vec;

    fn rows(count: usize) -> Vec<(alloc::string::String, Capability)> {
        (0..count)
            .map(|i| {
                (
                    alloc::format!("n{i}"),
                    Capability::new(Port([1; 6]), i as u32, 1, [2; 6]).unwrap(),
                )
            })
            .collect()
    }

    fn list(
        rows: &[(alloc::string::String, Capability)],
        start: i32,
        limit: u16,
    ) -> Result<(Header, Vec<u8>), ErrorCode> {
        let mut buffer = [0; 1024];
        let mut reply = Reply::new(&mut buffer);
        let request = Request {
            header: Header {
                offset: start,
                size: limit,
                ..Header::default()
            },
            data: &[],
            truncated: false,
        };
        answer_list(
            rows.iter().map(|(name, cap)| (name, *cap)),
            &request,
            &mut reply,
        )?;
        Ok((reply.header, reply.data().to_vec()))
    }

    #[test]
    fn pages_hold_whole_rows_and_say_where_to_go_on() {
        let all = rows(5);
        // A row is 1 + 2 + 16 = 19 bytes: 40 bytes hold two.
        let (header, data) = list(&all, 0, 40).unwrap();
        assert_eq!((header.offset, header.extra, header.size), (2, 2, 5));
        let page = decode_rows(&data).unwrap();
        assert_eq!(page, [("n0", all[0].1), ("n1", all[1].1)]);
        let (header, data) = list(&all, 4, 40).unwrap();
        assert_eq!((header.offset, header.extra, data.len()), (5, 1, 19));
        let (header, data) = list(&all, 0, 0).unwrap();
        assert_eq!((header.offset, header.extra, data.len()), (5, 5, 95));
    }

    #[test]
    fn the_end_is_an_empty_page_and_a_row_too_big_an_overflow() {
        let all = rows(3);
        for start in [3, 7] {
            let (header, data) = list(&all, start, 0).unwrap();
            assert_eq!(
                (header.offset, header.extra, header.size, data.len()),
                (3, 0, 3, 0)
            );
        }
        assert_eq!(list(&all, 0, 18), Err(ErrorCode::STD_OVERFLOW));
        assert_eq!(list(&all, -1, 0), Err(ErrorCode::STD_ARGBAD));
        let (header, _) = list(&[], 0, 1).unwrap();
        assert_eq!((header.offset, header.extra, header.size), (0, 0, 0));
    }

    #[test]
    fn lookup_answers_the_capability_or_not_found() {
        let mut buffer = [0; 32];
        let mut reply = Reply::new(&mut buffer);
        assert_eq!(
            answer_lookup(None, &mut reply),
            Err(ErrorCode::STD_NOTFOUND)
        );
        let cap = rows(1)[0].1;
        assert_eq!(answer_lookup(Some(cap), &mut reply), Ok(()));
        assert_eq!(reply.data().len(), CAPABILITY_LEN);
        let request = |data| Request {
            header: Header::default(),
            data,
            truncated: false,
        };
        assert_eq!(requested_name(&request(b"tod")), Ok("tod"));
        assert_eq!(requested_name(&request(b"a/b")), Err(ErrorCode::STD_ARGBAD));
        assert_eq!(requested_name(&request(b"")), Err(ErrorCode::STD_ARGBAD));
    }
}
