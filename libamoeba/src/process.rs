//! Processes as data: the process descriptor and the process image file built from it.
//!
//! Both are pure byte formats shared by the kernel's process server (exec, checkpoint,
//! migration), the builder (which makes images from program ELFs) and host tools.

pub mod descriptor;
pub mod image;

pub use descriptor::{
    ArchMagic, DescriptorError, ProcessDescriptor, SegmentDescriptor, SegmentType,
    ThreadDescriptor, X86_64Registers,
};
#[cfg(any(feature = "encode", test))]
pub use image::encode_image;
pub use image::{ImageError, ProcessImage, decode_image};
