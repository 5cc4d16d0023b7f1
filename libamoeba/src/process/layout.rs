//! Where a user process lives in its address space: constants shared by the kernel (which maps
//! and starts processes), the builder (which links programs and makes their images) and the
//! user runtime.
//!
//! ```text
//! 0x0000_0000_0000_0000 .. 0x0000_0080_0000_0000   PML4 entry 0: the kernel's (never user)
//! 0x0000_0080_0000_0000                            USER_TEXT_BASE: programs are linked here
//!                                                   (text, then rodata, data, bss)
//! ...                                              data segments, thread stacks (kernel's choice)
//! MAIN_STACK_TOP - MAIN_STACK_BYTES .. MAIN_STACK_TOP   the main thread's stack; the kernel
//!                                                   writes the process environment at its top
//! ```

/// Where user programs are linked (`amoeba-user/user.ld`): the start of PML4 entry 1, since the
/// kernel owns entry 0 (its identity-mapped first 512 GiB) in every address space.
pub const USER_TEXT_BASE: u64 = 0x0000_0080_0000_0000;

/// One past the highest byte of the main thread's stack: its initial `sp` in every image.
pub const MAIN_STACK_TOP: u64 = 0x0000_7FF0_0000_0000;

/// Size of the main thread's stack segment (zero-filled, `SYSTEM | DATA | RW`).
pub const MAIN_STACK_BYTES: u64 = 64 * 1024;

/// Most of the main stack the environment block (name, arguments, capabilities, strings) may
/// take, so that the program keeps most of its stack to run on.
pub const MAX_ENVIRONMENT_BYTES: usize = 16 * 1024;

/// The lowest address of the main stack segment.
pub const MAIN_STACK_BASE: u64 = MAIN_STACK_TOP - MAIN_STACK_BYTES;

const _: () = {
    use super::image::{USER_SPACE_END, USER_SPACE_START};
    use crate::memory::PAGE_SIZE;
    assert!(
        USER_TEXT_BASE.is_multiple_of(1 << 39),
        "a PML4 entry of its own"
    );
    assert!(USER_TEXT_BASE >= USER_SPACE_START && MAIN_STACK_TOP <= USER_SPACE_END);
    assert!(MAIN_STACK_TOP.is_multiple_of(PAGE_SIZE) && MAIN_STACK_BYTES.is_multiple_of(PAGE_SIZE));
    assert!(USER_TEXT_BASE < MAIN_STACK_BASE);
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Capability;
    use crate::process::descriptor::{
        ArchMagic, ProcessDescriptor, SegmentDescriptor, SegmentType, ThreadDescriptor,
    };
    use crate::process::image::{ZERO_FILLED, decode_image, encode_image};
    use alloc::vec;

    /// A program laid out as the builder lays it out passes the image checks, and its main
    /// stack is the segment that ends at the main thread's sp.
    #[test]
    fn the_builder_layout_is_a_valid_image() {
        let segment = |address, length, kind| SegmentDescriptor {
            cap: Capability::NULL,
            offset: 0,
            address,
            length,
            kind,
        };
        let descriptor = ProcessDescriptor {
            arch: ArchMagic::X86_64,
            self_cap: Capability::NULL,
            owner_cap: Capability::NULL,
            segments: vec![
                segment(USER_TEXT_BASE, 4096, SegmentType::TEXT | SegmentType::RO),
                segment(
                    MAIN_STACK_BASE,
                    MAIN_STACK_BYTES,
                    SegmentType::SYSTEM | SegmentType::DATA | SegmentType::RW,
                ),
            ],
            threads: vec![ThreadDescriptor {
                state: 0,
                idle: false,
                pc: USER_TEXT_BASE + 0x10,
                sp: MAIN_STACK_TOP,
                registers: None,
                kernel: None,
            }],
        };
        let text = [0xC3u8; 4096];
        let file = encode_image(&descriptor, &[&text, &[]]).expect("the layout is accepted");
        let image = decode_image(&file, ArchMagic::X86_64, 1 << 20).expect("decodes");
        let stack = &image.descriptor().segments[1];
        assert_eq!(stack.offset, ZERO_FILLED);
        assert_eq!(stack.end(), Some(image.descriptor().threads[0].sp));
    }
}
