//! PS_EXEC: checks the descriptor, gathers its segments into segments held here, and has the
//! kernel create the process from them (rules in the parent module's header).

use alloc::vec::Vec;

use super::{EXEC, ExecRequest, ProcServer, ProcessControl, READ, SegmentId};
use crate::capability::ALL_RIGHTS;
use crate::process::image::check_address_layout;
use crate::process::{ArchMagic, ProcessDescriptor, SegmentDescriptor, SegmentType};
use crate::random::Entropy;
use crate::rpc::codes::ErrorCode;
use crate::rpc::server::{Reply, Request};
use crate::servers::standard::whole_data;

impl<P: ProcessControl, E: Entropy> ProcServer<P, E> {
    pub(super) fn exec(
        &mut self,
        request: &Request<'_>,
        reply: &mut Reply<'_>,
    ) -> Result<(), ErrorCode> {
        self.object(request, EXEC)?;
        let descriptor = checked_descriptor(whole_data(request)?)?;
        let mut gathered = Vec::with_capacity(descriptor.segments.len());
        for segment in &descriptor.segments {
            match self.gather(segment) {
                Ok(held) => gathered.push(held),
                Err(error) => {
                    self.release(gathered.into_iter().flatten());
                    return Err(error);
                }
            }
        }
        for id in gathered.iter().flatten() {
            self.forget_segment(*id);
        }
        let pid = self.control.exec(ExecRequest {
            descriptor,
            segments: gathered,
        })?;
        self.sync();
        let live = self.live.get(&pid).ok_or(ErrorCode::STD_SYSERR)?;
        let cap = self
            .objects
            .capability(live.object, ALL_RIGHTS)
            .ok_or(ErrorCode::STD_SYSERR)?;
        self.control.created(pid, cap);
        reply.header.set_capability(&cap);
        Ok(())
    }

    /// The held segment that will become `segment`'s memory: none for a zero-filled one, the
    /// creator's own when it gave it up (AND_DESTROY, whole), else a copy read from its source.
    fn gather(&mut self, segment: &SegmentDescriptor) -> Result<Option<SegmentId>, ErrorCode> {
        if segment.cap.is_null() {
            return Ok(None);
        }
        if let Some(id) = self.local_segment(&segment.cap, READ)? {
            let whole = segment.offset == 0
                && self.control.segment_size(id) == Some(segment.length)
                && segment.kind.contains(SegmentType::AND_DESTROY);
            if whole {
                return Ok(Some(id));
            }
        }
        let (id, cap) = self.hold_segment(segment.length)?;
        if let Err(error) = self.fill_from(id, &segment.cap, segment.offset, segment.length) {
            self.drop_segment(cap.object, id);
            return Err(error);
        }
        Ok(Some(id))
    }

    fn release(&mut self, held: impl Iterator<Item = SegmentId>) {
        for id in held {
            self.forget_segment(id);
            self.control.segment_destroy(id);
        }
    }
}

/// The descriptor PS_EXEC carries, if a process can be made of it: this architecture, nothing
/// after it, a segment and a thread at least, and the address-space rules.
fn checked_descriptor(data: &[u8]) -> Result<ProcessDescriptor, ErrorCode> {
    let (descriptor, used) =
        ProcessDescriptor::decode(data, ArchMagic::X86_64).map_err(|_| ErrorCode::STD_ARGBAD)?;
    if used != data.len() || descriptor.segments.is_empty() || descriptor.threads.is_empty() {
        return Err(ErrorCode::STD_ARGBAD);
    }
    check_address_layout(&descriptor).map_err(|_| ErrorCode::STD_ARGBAD)?;
    Ok(descriptor)
}
