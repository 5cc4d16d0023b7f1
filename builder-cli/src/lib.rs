//! amoeba-build as a library: turn a node profile into a bootable image, and boot it.
//!
//! The end-to-end tests use this small surface:
//! - [`Workspace::locate`] finds the checkout;
//! - [`build_profile`] builds `images/NAME/` and returns a [`BuiltImage`];
//! - [`load_profile`], [`validate()`] and [`check_profile`] check a profile without building;
//! - [`qemu::command`] turns a [`QemuSpec`] into a ready `std::process::Command`;
//! - [`build_null_kernel`] builds the do-nothing baseline kernel for benchmarks.
//!
//! The other modules are public for the `amoeba-build` binary and for reading.

pub mod catalog;
pub mod cluster;
pub mod digest;
pub mod elf_check;
pub mod features;
pub mod grub;
pub mod image;
pub mod kernel_build;
pub mod kvm;
pub mod manifest;
pub mod problem;
pub mod profile;
pub mod programs;
pub mod qemu;
pub mod source_date;
pub mod template;
pub mod validate;
pub mod workspace;

pub use catalog::Catalog;
pub use image::{BuildError, BuildOptions, BuiltImage, build_profile, check_profile};
pub use kernel_build::build_null_kernel;
pub use manifest::Manifest;
pub use profile::{Profile, ProfileError, load_profile};
pub use qemu::{Accel, Boot, Nic, QemuSpec, Serial};
pub use validate::{NodeSpec, validate};
pub use workspace::Workspace;

/// One line of progress on stderr, `amoeba-build: ...`, like the command's own messages.
pub fn progress(message: &str) {
    eprintln!("amoeba-build: {message}");
}

/// A command as one shell-like line for messages (arguments with other characters quoted).
pub fn describe_command(cmd: &std::process::Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        let plain = !arg.is_empty()
            && arg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_=,.:/+".contains(&b));
        line.push(' ');
        if plain {
            line.push_str(&arg);
        } else {
            line.push_str(&format!("'{arg}'"));
        }
    }
    line
}
