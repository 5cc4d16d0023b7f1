//! The host tools and data files amoeba-build runs or reads, and the Debian package that gives
//! each: an output that needs a missing one is skipped, and its warning (and the manifest's
//! `reason`) names the package to install, which is what `scripts/setup` installs.

use std::path::{Path, PathBuf};
use std::process::Command;

/// GRUB's BIOS platform files: modules, boot.img, El Torito and hybrid boot images.
pub const GRUB_PC_DIR: &str = "/usr/lib/grub/i386-pc";
/// GRUB's UEFI (x86-64) platform files: the modules grub-mkimage links into an EFI image.
pub const GRUB_EFI_DIR: &str = "/usr/lib/grub/x86_64-efi";
/// OVMF, UEFI firmware for QEMU: the code (read-only) and the variable store template, in
/// the 4 MiB layout Debian's `ovmf` package ships.
pub const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
pub const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";

/// The Debian package that gives `tool` (a program name or one of the paths above).
pub fn debian_package(tool: &str) -> &'static str {
    match tool {
        "grub-mkimage" | "grub-mknetdir" | "grub-file" => "grub-common",
        GRUB_PC_DIR => "grub-pc-bin",
        GRUB_EFI_DIR => "grub-efi-amd64-bin",
        "xorriso" => "xorriso",
        "qemu-img" => "qemu-utils",
        OVMF_CODE | OVMF_VARS => "ovmf",
        "skopeo" => "skopeo",
        _ => "qemu-system-x86",
    }
}

/// The reason recorded (and warned) when an output cannot be made: what is missing and the
/// packages that give it, each named once, in the order first needed.
pub fn missing_reason(missing: &[&str]) -> String {
    let mut packages: Vec<&str> = Vec::new();
    for tool in missing {
        let package = debian_package(tool);
        if !packages.contains(&package) {
            packages.push(package);
        }
    }
    let plural = if packages.len() == 1 { "" } else { "s" };
    format!(
        "{} not found; install the Debian package{plural} {} (scripts/setup)",
        missing.join(", "),
        packages.join(" ")
    )
}

/// `program` in a directory of `PATH`.
pub fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The first line of `program ARG`, minus xorriso's " : description" tail, and with the
/// program named without its directory (GRUB tools print their argv[0]: a host path).
pub fn tool_version(program: &Path, arg: &str) -> Option<String> {
    let output = Command::new(program).arg(arg).output().ok()?;
    version_line(&String::from_utf8_lossy(&output.stdout))
}

fn version_line(text: &str) -> Option<String> {
    let line = text.lines().next()?.split(" : ").next()?.trim();
    let (first, rest) = line.split_once(' ').unwrap_or((line, ""));
    let name = Path::new(first).file_name()?.to_string_lossy();
    let version = format!("{name} {rest}");
    let version = version.trim();
    (!version.is_empty()).then(|| version.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_carry_no_paths() {
        let grub = version_line("/usr/bin/grub-mkimage (GRUB) 2.06-13+deb12u2\n");
        assert_eq!(grub.as_deref(), Some("grub-mkimage (GRUB) 2.06-13+deb12u2"));
        let xorriso =
            version_line("xorriso 1.5.4 : RockRidge filesystem manipulator, libburnia project.\n");
        assert_eq!(xorriso.as_deref(), Some("xorriso 1.5.4"));
        assert_eq!(version_line(""), None);
    }

    #[test]
    fn reasons_name_each_package_once() {
        assert_eq!(
            missing_reason(&["grub-mknetdir", GRUB_PC_DIR, "grub-mkimage"]),
            "grub-mknetdir, /usr/lib/grub/i386-pc, grub-mkimage not found; install the Debian \
             packages grub-common grub-pc-bin (scripts/setup)"
        );
        assert_eq!(
            missing_reason(&["qemu-img"]),
            "qemu-img not found; install the Debian package qemu-utils (scripts/setup)"
        );
        assert_eq!(debian_package(GRUB_EFI_DIR), "grub-efi-amd64-bin");
        assert_eq!(debian_package(OVMF_VARS), "ovmf");
    }
}
