//! Held segments: PS_SEG_CREATE on the server, and PS_SEG_WRITE, BS_READ, BS_SIZE and
//! STD_DESTROY on a segment (formats in the parent module's table).

use super::{
    BS_READ, BS_SIZE, CREATE, DELETE, PS_SEG_WRITE, ProcObject, ProcServer, ProcessControl, READ,
    SEGMENT_CHUNK, SegmentId, WRITE,
};
use crate::capability::Capability;
use crate::random::Entropy;
use crate::rpc::codes::{Command, ErrorCode};
use crate::rpc::server::{Reply, Request};
use crate::servers::standard::whole_data;

/// The largest segment one request may create: far beyond any program, small enough that a
/// mistaken size is refused rather than tried.
pub const MAX_SEGMENT_BYTES: u64 = 256 << 20;

impl<P: ProcessControl, E: Entropy> ProcServer<P, E> {
    /// A new held segment and its capability (all rights); the segment is released if no
    /// object is left for it.
    pub(super) fn hold_segment(
        &mut self,
        bytes: u64,
    ) -> Result<(SegmentId, Capability), ErrorCode> {
        if bytes == 0 || bytes > MAX_SEGMENT_BYTES {
            return Err(ErrorCode::STD_ARGBAD);
        }
        let id = self.control.segment_create(bytes)?;
        match self
            .objects
            .insert(&mut self.entropy, ProcObject::Segment(id))
        {
            Ok(cap) => Ok((id, cap)),
            Err(error) => {
                self.control.segment_destroy(id);
                Err(error)
            }
        }
    }

    pub(super) fn seg_create(
        &mut self,
        request: &Request<'_>,
        reply: &mut Reply<'_>,
    ) -> Result<(), ErrorCode> {
        self.object(request, CREATE)?;
        let bytes = u64::try_from(request.header.offset).map_err(|_| ErrorCode::STD_ARGBAD)?;
        let source = match whole_data(request)? {
            [] => None,
            data => Some(Capability::from_bytes(data).map_err(|_| ErrorCode::STD_ARGBAD)?),
        };
        let (id, cap) = self.hold_segment(bytes)?;
        if let Some(source) = source.filter(|s| !s.is_null())
            && let Err(error) = self.fill_from(id, &source, 0, bytes)
        {
            self.drop_segment(cap.object, id);
            return Err(error);
        }
        reply.header.set_capability(&cap);
        Ok(())
    }

    /// Copies `length` bytes from `offset` of what `source` names into held segment `id`:
    /// from a segment held here directly, from anyone else by BS_READ. A source shorter than
    /// `length` leaves the rest zero.
    pub(super) fn fill_from(
        &mut self,
        id: SegmentId,
        source: &Capability,
        offset: u64,
        length: u64,
    ) -> Result<(), ErrorCode> {
        let local = self.local_segment(source, READ)?;
        let mut chunk = alloc::vec![0u8; SEGMENT_CHUNK];
        let mut done = 0u64;
        while done < length {
            let want = (length - done).min(SEGMENT_CHUNK as u64) as usize;
            let buffer = &mut chunk[..want];
            let at = offset.checked_add(done).ok_or(ErrorCode::STD_ARGBAD)?;
            let got = match local {
                Some(held) => self.control.segment_read(held, at, buffer)?,
                None => self.control.remote_read(source, at, buffer)?,
            };
            if got == 0 {
                break;
            }
            let got = got.min(want);
            self.control.segment_write(id, done, &buffer[..got])?;
            done += got as u64;
        }
        Ok(())
    }

    /// The held segment `cap` names if it is one of this server's (checked for `needed`);
    /// `None` if another server serves it.
    pub(super) fn local_segment(
        &self,
        cap: &Capability,
        needed: u8,
    ) -> Result<Option<SegmentId>, ErrorCode> {
        if cap.port != self.objects.port() {
            return Ok(None);
        }
        let header = crate::rpc::header::Header::request(cap, Command::STD_INFO);
        match self.objects.get(&header, needed)? {
            (_, ProcObject::Segment(id)) => Ok(Some(*id)),
            _ => Err(ErrorCode::STD_COMBAD),
        }
    }

    /// Forgets segment object `object` and releases what it holds.
    pub(super) fn drop_segment(&mut self, object: u32, id: SegmentId) {
        self.objects.remove(object);
        self.control.segment_destroy(id);
    }

    /// Forgets the object of held segment `id` without releasing it (a process took it).
    pub(super) fn forget_segment(&mut self, id: SegmentId) {
        let object = self
            .objects
            .iter()
            .find(|(_, kind)| **kind == ProcObject::Segment(id))
            .map(|(object, _)| object);
        if let Some(object) = object {
            self.objects.remove(object);
        }
    }

    pub(super) fn on_segment(
        &mut self,
        object: u32,
        id: SegmentId,
        request: &Request<'_>,
        reply: &mut Reply<'_>,
    ) -> Result<(), ErrorCode> {
        let header = &request.header;
        let rights = header.private.rights;
        let need = |right: u8| {
            if rights & right == right {
                Ok(())
            } else {
                Err(ErrorCode::STD_DENIED)
            }
        };
        let offset = u64::try_from(header.offset).map_err(|_| ErrorCode::STD_ARGBAD);
        match header.command() {
            PS_SEG_WRITE => {
                need(WRITE)?;
                let data = whole_data(request)?;
                if data.len() > SEGMENT_CHUNK {
                    return Err(ErrorCode::STD_ARGBAD);
                }
                self.control.segment_write(id, offset?, data)?;
                reply.header.size = data.len() as u16;
                Ok(())
            }
            BS_READ => {
                need(READ)?;
                let want = usize::from(header.size).min(reply.room());
                let mut buffer = alloc::vec![0u8; want];
                let got = self.control.segment_read(id, offset?, &mut buffer)?;
                reply.push(&buffer[..got.min(want)])
            }
            BS_SIZE => {
                need(READ)?;
                let bytes = self
                    .control
                    .segment_size(id)
                    .ok_or(ErrorCode::STD_NOTFOUND)?;
                reply.header.offset = i32::try_from(bytes).unwrap_or(i32::MAX);
                Ok(())
            }
            Command::STD_DESTROY => {
                need(DELETE)?;
                self.drop_segment(object, id);
                Ok(())
            }
            _ => Err(ErrorCode::STD_COMBAD),
        }
    }
}
