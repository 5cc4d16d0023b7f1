//! What every server of the node does the same way: its object table with the server as
//! object 0, the standard commands STD_INFO and STD_RESTRICT, and the checks on request and
//! reply sizes.
//!
//! From `docs/amoeba-protocol.md#restricting-rights` (STD_RESTRICT carries its mask in
//! h_offset) and `#rpc-header`. Ours, where the sources are silent:
//!
//! - STD_INFO needs no right (any genuine capability); the reply data is a short UTF-8 text
//!   and h_size its length in bytes. A text longer than the reply buffer is cut at a
//!   character boundary.
//! - STD_RESTRICT's mask must be 0..=255 (a rights byte), else STD_ARGBAD. The restricted
//!   capability comes back in the reply header's h_port and h_priv, and no data.
//! - A request whose data did not fit the server's buffer is refused with STD_OVERFLOW
//!   rather than served from a truncated copy.
//! - Commands whose reply has a variable length (dir LIST, sys PRINTBUF) read the request's
//!   h_size as the most reply bytes the client takes (0: no limit of its own), because a
//!   server cannot see the client's buffer.

use alloc::string::String;

use crate::capability::{Capability, Port};
use crate::random::Entropy;
use crate::rpc::codes::{Command, ErrorCode};
use crate::rpc::objects::ObjectTable;
use crate::rpc::server::{Reply, Request};

/// The object number of the server itself.
pub const SERVER_OBJECT: u32 = 0;

/// A server's object table at `put_port` holding `value` as object 0, with that object's
/// owner capability.
pub fn server_table<V>(
    put_port: Port,
    entropy: &mut impl Entropy,
    value: V,
) -> (ObjectTable<V>, Capability) {
    let mut objects = ObjectTable::new(put_port);
    // An empty table always has room for object 0, which fits 24 bits: this cannot fail.
    let owner = objects
        .insert_at(SERVER_OBJECT, entropy, value)
        .expect("object 0 of an empty table is free");
    (objects, owner)
}

/// Answers STD_INFO and STD_RESTRICT on any object of `objects`, STD_INFO with the text
/// `describe` gives for the object. `None` for every other command: the server's own.
pub fn answer_standard<V>(
    objects: &ObjectTable<V>,
    request: &Request<'_>,
    reply: &mut Reply<'_>,
    describe: impl FnOnce(u32, &V) -> String,
) -> Option<Result<(), ErrorCode>> {
    match request.header.command() {
        Command::STD_INFO => Some(
            objects
                .get(&request.header, 0)
                .map(|(object, value)| answer_info(reply, &describe(object, value))),
        ),
        Command::STD_RESTRICT => Some(answer_restrict(objects, request, reply)),
        _ => None,
    }
}

/// STD_INFO's reply: `text` as data (as much as fits), its length in h_size.
pub fn answer_info(reply: &mut Reply<'_>, text: &str) {
    let limit = reply.room().min(usize::from(u16::MAX));
    let sent = prefix_within(text, limit);
    reply.push_truncated(sent.as_bytes());
    reply.header.size = sent.len() as u16;
}

/// STD_RESTRICT's reply: the request's capability restricted to the mask in h_offset.
pub fn answer_restrict<V>(
    objects: &ObjectTable<V>,
    request: &Request<'_>,
    reply: &mut Reply<'_>,
) -> Result<(), ErrorCode> {
    let mask = u8::try_from(request.header.offset).map_err(|_| ErrorCode::STD_ARGBAD)?;
    let restricted = objects.restrict(&request.header, mask)?;
    reply.header.set_capability(&restricted);
    Ok(())
}

/// The request's data, all of it: STD_OVERFLOW if the server's buffer cut it short.
pub fn whole_data<'a>(request: &Request<'a>) -> Result<&'a [u8], ErrorCode> {
    if request.truncated {
        return Err(ErrorCode::STD_OVERFLOW);
    }
    Ok(request.data)
}

/// The most bytes a variable-length reply may carry: what the reply buffer holds, and no more
/// than the client asked for in h_size (0 = no limit of the client's own).
pub fn reply_limit(request: &Request<'_>, reply: &Reply<'_>) -> usize {
    match request.header.size {
        0 => reply.room(),
        wanted => reply.room().min(usize::from(wanted)),
    }
}

/// The longest prefix of `text` of at most `limit` bytes that ends on a character boundary.
pub fn prefix_within(text: &str, limit: usize) -> &str {
    let end = (0..=limit.min(text.len()))
        .rev()
        .find(|&end| text.is_char_boundary(end))
        .unwrap_or(0);
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::ALL_RIGHTS;
    use crate::random::SeededGenerator;
    use crate::rpc::header::Header;

    const PORT: Port = Port([0x51, 0x52, 0x53, 0x54, 0x55, 0x56]);

    fn table() -> (ObjectTable<&'static str>, Capability) {
        server_table(PORT, &mut SeededGenerator::new(9), "value")
    }

    fn request(cap: &Capability, command: Command, offset: i32) -> Header {
        Header {
            offset,
            ..Header::request(cap, command)
        }
    }

    fn standard(objects: &ObjectTable<&str>, header: Header) -> Option<Result<Header, ErrorCode>> {
        let mut buffer = [0; 64];
        let mut reply = Reply::new(&mut buffer);
        let request = Request {
            header,
            data: &[],
            truncated: false,
        };
        let result = answer_standard(objects, &request, &mut reply, |object, value| {
            alloc::format!("object {object} is {value}")
        });
        result.map(|result| result.map(|()| reply.header))
    }

    #[test]
    fn the_server_is_object_zero_with_an_owner_capability() {
        let (objects, owner) = table();
        assert_eq!(
            (owner.port, owner.object, owner.rights),
            (PORT, 0, ALL_RIGHTS)
        );
        assert_eq!(objects.capability(0, ALL_RIGHTS), Some(owner));
    }

    #[test]
    fn info_needs_no_right_and_restrict_masks_the_rights_held() {
        let (objects, owner) = table();
        let none = objects.capability(0, 0).unwrap();
        let info = standard(&objects, request(&none, Command::STD_INFO, 0));
        assert_eq!(
            info.map(|reply| reply.map(|header| header.size)),
            Some(Ok(17))
        );
        let restricted = standard(&objects, request(&owner, Command::STD_RESTRICT, 0x03));
        let expected = objects.capability(0, 0x03).unwrap();
        assert_eq!(
            restricted.map(|reply| reply.map(|header| header.capability())),
            Some(Ok(expected))
        );
        assert_eq!(standard(&objects, request(&owner, Command(2400), 0)), None);
    }

    #[test]
    fn restrict_refuses_a_mask_beyond_a_byte_and_forged_capabilities() {
        let (objects, owner) = table();
        for mask in [-1, 256, i32::MAX] {
            let result = standard(&objects, request(&owner, Command::STD_RESTRICT, mask));
            assert_eq!(result, Some(Err(ErrorCode::STD_ARGBAD)));
        }
        let forged = Capability {
            check: [1; 6],
            ..owner
        };
        for command in [Command::STD_RESTRICT, Command::STD_INFO] {
            let result = standard(&objects, request(&forged, command, 1));
            assert_eq!(result, Some(Err(ErrorCode::STD_CAPBAD)));
        }
    }

    #[test]
    fn info_text_is_cut_at_a_character_boundary() {
        assert_eq!(prefix_within("aé", 2), "a");
        assert_eq!(prefix_within("aé", 3), "aé");
        assert_eq!(prefix_within("aé", 99), "aé");
        assert_eq!(prefix_within("é", 0), "");
        let mut buffer = [0; 2];
        let mut reply = Reply::new(&mut buffer);
        answer_info(&mut reply, "aé");
        assert_eq!((reply.data(), reply.header.size), (&b"a"[..], 1));
    }

    #[test]
    fn sizes_truncation_is_overflow_and_h_size_limits_replies() {
        let truncated = Request {
            header: Header::default(),
            data: b"abc",
            truncated: true,
        };
        assert_eq!(whole_data(&truncated), Err(ErrorCode::STD_OVERFLOW));
        let whole = Request {
            truncated: false,
            ..truncated
        };
        assert_eq!(whole_data(&whole), Ok(&b"abc"[..]));
        let mut buffer = [0; 100];
        let reply = Reply::new(&mut buffer);
        assert_eq!(reply_limit(&whole, &reply), 100);
        let small = Request {
            header: Header {
                size: 10,
                ..Header::default()
            },
            ..whole
        };
        assert_eq!(reply_limit(&small, &reply), 10);
    }
}
