//! amoeba-build as a library: turn a node profile into a bootable image, and boot it.
//!
//! The end-to-end tests use this small surface:
//! - [`Workspace::locate`] finds the checkout;
//! - [`build_profile`] builds `images/NAME/` and returns a [`BuiltImage`];
//! - [`load_profile`], [`validate()`] and [`check_profile`] check a profile without building;
//! - [`qemu::command`] turns a [`QemuSpec`] into a ready `std::process::Command`;
//! - [`build_null_kernel`] builds the do-nothing baseline kernel for benchmarks;
//! - [`programs::write_program_images`] builds the user programs and writes their process
//!   images to `images/programs/`.
//!
//! The other modules are public for the `amoeba-build` binary and for reading.

pub mod appliance;
pub mod catalog;
pub mod cluster;
pub mod digest;
pub mod disk;
pub mod disk_image;
pub mod elf_check;
pub mod features;
pub mod grub;
pub mod host_tools;
pub mod image;
pub mod kernel_build;
pub mod kvm;
pub mod manifest;
pub mod messages;
pub mod new_program;
pub mod nic;
pub mod node_spec;
pub mod oci;
pub mod problem;
pub mod profile;
pub mod program_sources;
pub mod programs;
pub mod qcow2;
pub mod qemu;
pub mod source_date;
pub mod template;
pub mod validate;
pub mod workspace;

pub use catalog::Catalog;
pub use image::{BuildError, BuildOptions, BuiltImage, build_profile, check_profile};
pub use kernel_build::build_null_kernel;
pub use manifest::Manifest;
pub use messages::{describe_command, progress};
pub use nic::Nic;
pub use node_spec::{NodeSpec, ProgramSpec};
pub use profile::{Profile, ProfileError, load_profile};
pub use qemu::{Accel, Boot, Firmware, QemuSpec, Serial};
pub use validate::{AppendError, validate, validate_append};
pub use workspace::Workspace;
