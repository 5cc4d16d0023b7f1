//! Processes as data: the process descriptor and the process image file built from it, the
//! address-space layout of a user process, the table of programs a node starts at boot and the
//! environment a process starts with.
//!
//! All are pure byte formats shared by the kernel's process server (exec, checkpoint,
//! migration), the builder (which makes images from program ELFs) and host tools.

pub mod boot_table;
pub mod descriptor;
pub mod environment;
pub mod exec_plan;
pub mod image;
pub mod kernel_state;
pub mod layout;
#[cfg(test)]
pub(crate) mod sample;

pub use descriptor::{
    ArchMagic, DescriptorError, ProcessDescriptor, SegmentDescriptor, SegmentType,
    ThreadDescriptor, X86_64Registers,
};
pub use environment::{EnvError, Environment};
pub use exec_plan::{ExecPlan, PlanError, SegmentStart, plan_exec, plan_exec_in_place};
#[cfg(any(feature = "encode", test))]
pub use image::encode_image;
pub use image::{ImageError, ProcessImage, decode_image, decode_inflated_head, inflate_image};
