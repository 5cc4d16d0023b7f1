//! Whether KVM really works here. `/dev/kvm` existing proves little: on some hosts it opens
//! but the CPU has no virtualization extensions exposed and the first SSE instruction of the
//! guest ends in "KVM internal error". So KVM is chosen only when the device opens read-write,
//! the CPU flags show vmx or svm, and a probe boot (the caller's kernel, told `ready=exit`)
//! stops cleanly; otherwise TCG, with the reason.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use libamoeba::boot::ExitCode;
use libamoeba::boot::exit::DEBUG_EXIT_DEVICE;

use crate::qemu::{Accel, QEMU};

/// Longest a probe boot may take before KVM is judged broken.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// KVM if every check passes, else TCG and why not.
pub fn choose_accel(probe_kernel: &Path) -> (Accel, Option<String>) {
    match kvm_unusable_because(probe_kernel) {
        None => (Accel::Kvm, None),
        Some(reason) => (Accel::Tcg, Some(reason)),
    }
}

/// `None` when KVM works; otherwise the first check that failed.
pub fn kvm_unusable_because(probe_kernel: &Path) -> Option<String> {
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        return Some(format!("cannot open /dev/kvm read-write: {e}"));
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    if !cpu_has_virtualization(&cpuinfo) {
        return Some("/proc/cpuinfo shows no vmx or svm flag".into());
    }
    if !probe_boot(probe_kernel) {
        return Some(format!(
            "a probe boot of {} under KVM did not stop cleanly",
            probe_kernel.display()
        ));
    }
    None
}

/// Whether any `flags` line lists `vmx` (Intel VT-x) or `svm` (AMD-V).
pub fn cpu_has_virtualization(cpuinfo: &str) -> bool {
    cpuinfo
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(key, _)| key.trim() == "flags")
        .any(|(_, flags)| flags.split_whitespace().any(|f| f == "vmx" || f == "svm"))
}

/// Boots `kernel` under KVM with `ready=exit`; true when it reports a clean stop in time.
pub fn probe_boot(kernel: &Path) -> bool {
    let qemu = std::env::var_os("AMOEBA_QEMU").unwrap_or_else(|| QEMU.into());
    let (Some(dir), Some(file)) = (kernel.parent(), kernel.file_name()) else {
        return false;
    };
    let child = Command::new(qemu)
        .current_dir(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })
        .args([
            "-accel",
            "kvm",
            "-m",
            "64",
            "-display",
            "none",
            "-no-reboot",
            "-nic",
            "none",
        ])
        .args([
            "-serial",
            "none",
            "-monitor",
            "none",
            "-device",
            DEBUG_EXIT_DEVICE,
            "-kernel",
        ])
        .arg(file)
        .args(["-append", "ready=exit"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else { return false };
    let deadline = Instant::now() + PROBE_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.code() == Some(ExitCode::Success.qemu_status()),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_flags_are_read_word_by_word() {
        assert!(cpu_has_virtualization(
            "processor\t: 0\nflags\t\t: fpu sse2 vmx ssse3\n"
        ));
        assert!(cpu_has_virtualization("flags : fpu svm\n"));
        assert!(!cpu_has_virtualization(
            "flags\t\t: fpu sse2 vmxnope\nbugs : vmx\n"
        ));
        assert!(!cpu_has_virtualization(""));
    }

    #[test]
    fn this_machine_gets_tcg() {
        // The development machines have a /dev/kvm that does not work (see the notes); this
        // also holds wherever there is no KVM at all.
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        if !cpu_has_virtualization(&cpuinfo) {
            let (accel, reason) = choose_accel(Path::new("/nonexistent/kernel.elf"));
            assert_eq!(accel, Accel::Tcg);
            assert!(reason.is_some());
        }
    }
}
