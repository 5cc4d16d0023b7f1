//! Link settings for the programs: freestanding static ELF64 executables linked at
//! `libamoeba::process::layout::USER_TEXT_BASE` by `user.ld`.
//!
//! The link arguments are shared with the kernel: `build-support/freestanding_link.rs`.

include!("../build-support/freestanding_link.rs");

fn main() {
    link_freestanding_with("user.ld");
}
