//! PS_SGETLOAD: the load, plus the process server's current exec capability, for a run server
//! that holds the server's capability with all rights and hands the exec capability out to
//! the clients it places (`docs/amoeba-protocol.md#kernel-servers`).
//!
//! 5.3's rule: the exec capability's check changes every second call, and the current and the
//! previous one are both accepted, so a client given one just before a change can still use
//! it. Each exec capability is an object of the server's table (kind [`ProcObject::ExecKey`])
//! with only [`EXEC`]: a new one is made at each change and the one before the previous is
//! removed, which makes its capabilities STD_CAPBAD.

use super::{EXEC, ProcObject, ProcServer, ProcessControl};
use crate::capability::ALL_RIGHTS;
use crate::random::Entropy;
use crate::rpc::codes::ErrorCode;
use crate::rpc::server::{Reply, Request};

/// The exec capabilities alive: objects of the server's table.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ExecKeys {
    current: Option<u32>,
    previous: Option<u32>,
    /// PS_SGETLOAD calls answered so far.
    calls: u64,
}

impl<P: ProcessControl, E: Entropy> ProcServer<P, E> {
    pub(super) fn sgetload(
        &mut self,
        request: &Request<'_>,
        reply: &mut Reply<'_>,
    ) -> Result<(), ErrorCode> {
        self.object(request, ALL_RIGHTS)?;
        let keys = self.exec_keys;
        let current = match keys.current {
            Some(current) if keys.calls % 2 == 1 => current,
            _ => self.rotate_exec_key()?,
        };
        self.exec_keys.calls += 1;
        let exec = self
            .objects
            .capability(current, EXEC)
            .ok_or(ErrorCode::STD_SYSERR)?;
        self.control.load().to_header(&mut reply.header);
        reply.header.set_capability(&exec);
        Ok(())
    }

    /// A new current exec capability; the previous one stays good, the one before goes.
    fn rotate_exec_key(&mut self) -> Result<u32, ErrorCode> {
        let made = self
            .objects
            .insert(&mut self.entropy, ProcObject::ExecKey)
            .map_err(|_| ErrorCode::STD_NOSPACE)?;
        if let Some(oldest) = self.exec_keys.previous {
            self.objects.remove(oldest);
        }
        self.exec_keys.previous = self.exec_keys.current;
        self.exec_keys.current = Some(made.object);
        Ok(made.object)
    }
}
