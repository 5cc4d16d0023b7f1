//! LOOKUP, SETLOOKUP and INSTALL: the requests that name directories by capability sets and
//! hand capabilities out restricted to the rights a path earned (5.3's `sp_dolookup`,
//! `sp_find`, `buf_gen_capset`, `sp_doinstall`).
//!
//! A path is followed through this server's own directories and stops at the first entry
//! whose capability set names another server: the reply carries the rest of the path, and
//! the client goes on there. Rights earned along the way narrow: at each step the columns
//! held are those of the capability reaching the directory, masked by what the previous
//! entry earned, and the next entry earns the OR of its masks over those columns.

use alloc::collections::btree_map::Entry;

use super::{Changed, MODIFY, Outside, SP_LOOKUP, SoapServer, Store};
use crate::capability::Capability;
use crate::random::Entropy;
use crate::rpc::codes::{Command, ErrorCode};
use crate::rpc::header::Header;
use crate::rpc::server::{Reply, Request};
use crate::servers::standard::{reply_limit, whole_data};
use crate::soap::buffer::Writer;
use crate::soap::capset::{CapSet, Suite};
use crate::soap::directory::is_valid_name;
use crate::soap::wire::{self, BUFFER_BYTES, Found};

impl<S: Store, O: Outside, E: Entropy> SoapServer<S, O, E> {
    /// The directory of ours `capset` names (its first current, genuine capability with our
    /// port), with the rights that capability holds.
    fn ours(&self, capset: &CapSet) -> Option<(u32, u8)> {
        capset
            .suite
            .iter()
            .filter(|s| s.current && s.cap.port == self.objects.port())
            .find_map(|s| {
                let header = Header::request(&s.cap, SP_LOOKUP);
                self.objects
                    .get(&header, 0)
                    .ok()
                    .map(|_| (s.cap.object, s.cap.rights))
            })
    }

    fn restrict_one(&mut self, cap: &Capability, mask: u8) -> Option<Capability> {
        if cap.rights & mask == cap.rights {
            return Some(*cap);
        }
        if cap.port == self.objects.port() {
            let header = Header::request(cap, Command::STD_RESTRICT);
            return self.objects.restrict(&header, mask).ok();
        }
        self.outside.restrict(cap, mask)
    }

    /// `capset` with each current capability restricted to `have`; one that cannot be is
    /// sent as a null capability with its port. SP_UNREACH if none could be.
    fn restricted(&mut self, capset: &CapSet, have: u8) -> Result<CapSet, ErrorCode> {
        let mut reached = capset.suite.is_empty();
        let mut out = CapSet {
            initial: capset.initial,
            suite: alloc::vec::Vec::new(),
        };
        for suite in &capset.suite {
            let restricted = suite
                .current
                .then(|| self.restrict_one(&suite.cap, have))
                .flatten();
            reached |= restricted.is_some();
            let cap = restricted.unwrap_or(Capability {
                port: suite.cap.port,
                ..Capability::NULL
            });
            out.suite.push(Suite {
                cap,
                current: suite.current,
            });
        }
        if reached {
            Ok(out)
        } else {
            Err(ErrorCode::SP_UNREACH)
        }
    }

    /// Follows `path` from directory `object` held with `rights` (module docs): the rest of
    /// the path and the capability set it reached, with the rights earned; `None` for an
    /// empty path.
    fn walk<'p>(
        &self,
        mut object: u32,
        rights: u8,
        path: &'p str,
    ) -> Result<Option<(&'p str, CapSet, u8)>, ErrorCode> {
        let (mut colmask, mut have) = (rights, u8::MAX);
        let mut rest = path;
        let mut reached = None;
        loop {
            rest = rest.trim_start_matches('/');
            if rest.is_empty() {
                break;
            }
            let (component, after) = rest.split_once('/').unwrap_or((rest, ""));
            let more = rest.len() > component.len();
            let dir = &self.kept(object)?.dir;
            colmask &= have & dir.column_bits();
            if colmask == 0 {
                return Err(ErrorCode::STD_DENIED);
            }
            let row = dir.find(component).ok_or(ErrorCode::STD_NOTFOUND)?;
            have = dir.earned(row, colmask);
            reached = Some(row.capset.clone());
            rest = after;
            match self.ours(&row.capset).filter(|_| more) {
                Some((next, next_rights)) => (object, colmask) = (next, next_rights),
                None => break,
            }
        }
        Ok(reached.map(|capset| (rest, capset, have)))
    }

    pub(super) fn lookup_path(
        &mut self,
        request: &Request<'_>,
        reply: &mut Reply<'_>,
    ) -> Result<(), ErrorCode> {
        let path = wire::decode_path(whole_data(request)?).ok_or(ErrorCode::STD_ARGBAD)?;
        let (object, _) = self.acquire(&request.header, 0)?;
        let rights = request.header.private.rights;
        let (rest, capset) = match self.walk(object, rights, path)? {
            Some((rest, capset, have)) => (rest, self.restricted(&capset, have)?),
            None => ("", CapSet::singleton(request.header.capability())),
        };
        let limit = reply_limit(request, reply).min(BUFFER_BYTES);
        let bytes =
            wire::encode_lookup_reply(rest, &capset, limit).map_err(|_| ErrorCode::STD_OVERFLOW)?;
        reply.push(&bytes)?;
        reply.header.size = bytes.len() as u16;
        Ok(())
    }

    fn find_entry(&mut self, capset: &CapSet, name: &str) -> Found {
        let Some((object, colmask)) = self.ours(capset) else {
            return Found::Failed(ErrorCode::STD_CAPBAD.get());
        };
        if !is_valid_name(name) {
            return Found::Failed(ErrorCode::STD_ARGBAD.get());
        }
        let Some((row, have)) = self.kept(object).ok().and_then(|kept| {
            let row = kept.dir.find(name)?;
            Some((row.clone(), kept.dir.earned(row, colmask)))
        }) else {
            return Found::Failed(ErrorCode::STD_NOTFOUND.get());
        };
        match self.restricted(&row.capset, have) {
            Ok(capset) => Found::Found {
                type_cap: Capability::NULL,
                time: row.time,
                capset,
            },
            Err(error) => Found::Failed(error.get()),
        }
    }

    pub(super) fn setlookup(
        &mut self,
        request: &Request<'_>,
        reply: &mut Reply<'_>,
    ) -> Result<(), ErrorCode> {
        let entries = wire::decode_setlookup(whole_data(request)?).ok_or(ErrorCode::STD_ARGBAD)?;
        let mut writer = Writer::new(reply_limit(request, reply).min(BUFFER_BYTES));
        for (capset, name) in &entries {
            let found = self.find_entry(capset, name);
            wire::write_found(&mut writer, &found).map_err(|_| ErrorCode::STD_OVERFLOW)?;
        }
        let bytes = writer.into_bytes();
        reply.push(&bytes)?;
        reply.header.size = bytes.len() as u16;
        Ok(())
    }

    /// INSTALL: every entry replaced or none (the directories are kept one after the other).
    pub(super) fn install(&mut self, request: &Request<'_>) -> Result<(), ErrorCode> {
        let entries = wire::decode_install(whole_data(request)?).ok_or(ErrorCode::STD_ARGBAD)?;
        let now = self.outside.now();
        let mut changed = Changed::new();
        for entry in entries {
            let (object, rights) = self.ours(&entry.dir).ok_or(ErrorCode::STD_CAPBAD)?;
            self.refuse_pinned(object, &entry.name)?;
            let dir = match changed.entry(object) {
                Entry::Vacant(vacant) => vacant.insert(self.kept(object)?.dir.clone()),
                Entry::Occupied(occupied) => occupied.into_mut(),
            };
            if rights & MODIFY == 0 || rights & dir.column_bits() == 0 {
                return Err(ErrorCode::STD_DENIED);
            }
            let row = dir.find_mut(&entry.name).ok_or(ErrorCode::STD_NOTFOUND)?;
            let expected = match entry.old.is_null() {
                true => row.capset.suite.is_empty(),
                false => row.capset.holds(&entry.old),
            };
            if !expected {
                return Err(ErrorCode::SP_CLASH);
            }
            row.capset = entry.capset;
            row.time = now;
        }
        for (object, dir) in changed {
            self.change(object, |kept| {
                *kept = dir;
                Ok(())
            })?;
        }
        Ok(())
    }
}
