//! Test-only: small process descriptors for the tests of the process and run servers' clients.

use crate::capability::Capability;
use crate::process::layout::{MAIN_STACK_BASE, MAIN_STACK_BYTES, USER_TEXT_BASE};
use crate::process::{
    ArchMagic, ProcessDescriptor, SegmentDescriptor, SegmentType, ThreadDescriptor,
};

/// A one-text-page, one-stack process whose text is the segment `text`, owned by `owner`.
pub(crate) fn small_descriptor(text: Capability, owner: Capability) -> ProcessDescriptor {
    let segment = |cap, address, length, kind| SegmentDescriptor {
        cap,
        offset: 0,
        address,
        length,
        kind,
    };
    ProcessDescriptor {
        arch: ArchMagic::X86_64,
        self_cap: Capability::NULL,
        owner_cap: owner,
        segments: alloc::vec![
            segment(
                text,
                USER_TEXT_BASE,
                8192,
                SegmentType::TEXT | SegmentType::RO | SegmentType::AND_DESTROY
            ),
            segment(
                Capability::NULL,
                MAIN_STACK_BASE,
                MAIN_STACK_BYTES,
                SegmentType::DATA | SegmentType::RW
            ),
        ],
        threads: alloc::vec![ThreadDescriptor {
            idle: true,
            pc: USER_TEXT_BASE,
            sp: MAIN_STACK_BASE + MAIN_STACK_BYTES - 8,
            ..ThreadDescriptor::default()
        }],
    }
}
