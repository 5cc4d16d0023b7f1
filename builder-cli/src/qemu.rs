//! QEMU command lines for booting an image, and what QEMU's exit status means.
//!
//! The disk image boots (`Boot::Disk`, `Boot::Qcow2`) attach it as the node's virtio disk in
//! its own PCI slot, first in the firmware's boot order; it is both what SeaBIOS or OVMF boots
//! and the disk the kernel's virtio-blk driver serves (its Amoeba partition). Without a disk of
//! the caller's, the built file is attached with `snapshot=on`: the node's writes go to a
//! temporary file, and the build output stays as built.
//!
//! QEMU runs in the image directory and is given relative paths (`kernel.elf`, `pxe`): with
//! `-kernel`, QEMU puts the file name it was given in front of the Multiboot command line,
//! so a relative name keeps host paths out of the guest.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use libamoeba::boot::ExitCode;
use libamoeba::boot::exit::DEBUG_EXIT_DEVICE;
use libamoeba::ethernet::MacText;

use crate::grub::PXE_BOOTFILE;
use crate::image::{BuiltImage, KERNEL_FILE, PXE_DIR};

pub mod firmware;
pub use firmware::{Firmware, FirmwareError};
// The card type of `QemuSpec::nic`, offered here too: a boot is where one picks a card.
pub use crate::nic::Nic;

/// The QEMU binary, unless `AMOEBA_QEMU` names another.
pub const QEMU: &str = "qemu-system-x86_64";
/// The fw_cfg file whose contents the kernel appends to its command line.
pub const FW_CFG_CMDLINE: &str = "opt/amoeba/cmdline";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Boot {
    /// QEMU loads `kernel.elf` itself (Multiboot 1): the fastest path.
    #[default]
    Kernel,
    /// GRUB from the ISO, as a CD.
    Iso,
    /// GRUB over the network from the PXE tree, served by QEMU's own DHCP/TFTP.
    Pxe,
    /// GRUB from the appliance disk image `NAME.img`, as the virtio disk.
    Disk,
    /// The same from `NAME.qcow2`.
    Qcow2,
}

impl Boot {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Kernel => "kernel",
            Self::Iso => "iso",
            Self::Pxe => "pxe",
            Self::Disk => "disk",
            Self::Qcow2 => "qcow2",
        }
    }

    /// Whether the firmware boots the node's virtio disk.
    pub const fn from_disk(self) -> bool {
        matches!(self, Self::Disk | Self::Qcow2)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Accel {
    #[default]
    Tcg,
    Kvm,
}

impl Accel {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Tcg => "tcg",
            Self::Kvm => "kvm",
        }
    }

    /// The CPU the node gets: one with RDRAND, the kernel's source of unguessable ports and
    /// check fields (without it they come from a TSC-seeded generator). QEMU's default CPU
    /// lacks it; TCG emulates it on request, and KVM passes on the host's.
    pub const fn cpu_model(self) -> &'static str {
        match self {
            Self::Tcg => "qemu64,+rdrand",
            Self::Kvm => "host",
        }
    }
}

/// Where the node's serial console goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Serial {
    /// QEMU's own stdin/stdout (a terminal, for people).
    #[default]
    Stdio,
    /// Appended to a file.
    File(PathBuf),
    /// QEMU's stdout as a pipe the caller reads (`Child::stdout`); stdin is closed.
    Pipe,
}

/// Everything about one boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QemuSpec {
    /// `images/NAME/`: holds `kernel.elf`, `NAME.iso` and `pxe/`.
    pub image_dir: PathBuf,
    /// Names the ISO (`NAME.iso`).
    pub profile: String,
    /// Names the VM (`-name`).
    pub node: String,
    /// The image's command line, for `-kernel` boots (ISO and PXE have it in grub.cfg).
    pub cmdline: String,
    pub boot: Boot,
    /// SeaBIOS or OVMF; see [`firmware::check`] for what each boot may use.
    pub firmware: Firmware,
    /// None: no network card (the default for kernel and ISO boots; PXE needs one and takes
    /// virtio-net then).
    pub nic: Option<Nic>,
    /// Put the card on a virtual LAN instead of QEMU's user network (kernel and ISO boots).
    pub lan: Option<Lan>,
    /// More cards, each on its virtual LAN (with `lan`; a node may have several cards).
    pub more_cards: Vec<(Nic, Lan)>,
    /// On QEMU's user network (no `lan`): UDP datagrams to this host port reach the guest.
    pub udp_forward: Option<UdpForward>,
    pub accel: Accel,
    pub memory_mib: u32,
    /// Extra command-line words, for every boot path (through fw_cfg).
    pub append: Vec<String>,
    pub serial: Serial,
    /// `-icount shift=0,sleep=off`: guest time follows executed instructions, and an idle guest
    /// jumps to its next timer at once, so timings repeat whatever the host's load.
    pub icount: bool,
    /// With `icount`: an idle guest waits in real time (`sleep=on`) instead of jumping ahead.
    /// For nodes that talk to other machines: their answers take real time, and a guest whose
    /// clock jumps would time them out at once.
    pub icount_real_idle: bool,
    /// A person at a terminal: QEMU's monitor is reachable with Ctrl-A c on the console.
    pub interactive: bool,
    /// A raw disk image attached as the node's virtio disk (virtio-blk-pci), on every boot
    /// path; see [`crate::disk`] for where `run` and `cluster` keep theirs. For `Boot::Disk`
    /// and `Boot::Qcow2` the image booted (a qcow2 for the latter), or None for the built
    /// one, attached with `snapshot=on`.
    pub disk: Option<PathBuf>,
}

impl QemuSpec {
    /// A non-interactive kernel boot of `image` with its profile's memory, TCG, console on a
    /// pipe; change fields as needed.
    pub fn for_image(image: &BuiltImage) -> Self {
        Self {
            image_dir: image.dir.clone(),
            profile: image.spec.profile.clone(),
            node: image.spec.node.clone(),
            cmdline: image.cmdline(),
            boot: Boot::Kernel,
            firmware: Firmware::Bios,
            nic: None,
            lan: None,
            udp_forward: None,
            more_cards: Vec::new(),
            accel: Accel::Tcg,
            memory_mib: image.spec.memory_mib,
            append: Vec::new(),
            serial: Serial::Pipe,
            icount: false,
            icount_real_idle: false,
            interactive: false,
            disk: None,
        }
    }

    /// The same boot by `boot`.
    pub fn with_boot(self, boot: Boot) -> Self {
        Self { boot, ..self }
    }
}

/// A virtual LAN without root (QEMU's `-netdev socket,mcast=`): every frame of every
/// card on it goes to UDP multicast group [`LAN_GROUP`]:`port` on loopback, where other nodes
/// and host programs that join the group see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lan {
    pub port: u16,
    /// The card's address; nodes on one LAN need distinct ones (QEMU gives every card
    /// 52:54:00:12:34:56 unless told).
    pub mac: [u8; 6],
}

/// A UDP port of the host's loopback forwarded to a guest on QEMU's user network (`hostfwd`):
/// what the host sends to 127.0.0.1:`host` reaches the guest's `guest` port at the address
/// QEMU's DHCP server gives it (10.0.2.15), and the guest's answers come back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpForward {
    pub host: u16,
    pub guest: u16,
}

impl UdpForward {
    /// The `-netdev user` option.
    fn option(&self) -> String {
        format!("hostfwd=udp:127.0.0.1:{}-:{}", self.host, self.guest)
    }
}

/// The user network's `-netdev` value: `base` and the forwarded port, if any.
fn user_netdev(base: &str, forward: Option<UdpForward>) -> String {
    match forward {
        Some(forward) => format!("{base},{}", forward.option()),
        None => base.to_string(),
    }
}

/// The multicast group of every virtual LAN; the port tells LANs apart.
pub const LAN_GROUP: std::net::Ipv4Addr = std::net::Ipv4Addr::new(230, 0, 0, 1);

impl Lan {
    /// The QEMU locally administered address for node `index` on a LAN.
    pub fn for_node(port: u16, index: u8) -> Self {
        Self {
            port,
            mac: [0x52, 0x54, 0x00, 0xA0, 0x00, index],
        }
    }

    /// The `-netdev` and `-device` arguments of `card` on this LAN, as netdev `id`.
    fn card_args(&self, card: Nic, id: &str) -> [String; 4] {
        let netdev = format!(
            "socket,id={id},mcast={LAN_GROUP}:{},localaddr=127.0.0.1",
            self.port
        );
        let device = format!("{},netdev={id},mac={}", card.device(), MacText(&self.mac));
        ["-netdev".into(), netdev, "-device".into(), device]
    }
}

/// The QEMU command for `spec`, with its working directory, stdin and stdout set; stderr
/// is inherited (QEMU's own complaints).
pub fn command(spec: &QemuSpec) -> Command {
    let qemu = std::env::var_os("AMOEBA_QEMU").unwrap_or_else(|| QEMU.into());
    let mut cmd = Command::new(qemu);
    cmd.current_dir(&spec.image_dir);
    cmd.args([
        "-name",
        &spec.node,
        "-accel",
        spec.accel.name(),
        "-cpu",
        spec.accel.cpu_model(),
        "-m",
        &spec.memory_mib.to_string(),
    ]);
    cmd.args([
        "-display",
        "none",
        "-no-reboot",
        "-device",
        DEBUG_EXIT_DEVICE,
    ]);
    cmd.args(firmware::args(spec.firmware));
    serial_args(&mut cmd, spec);
    // Before the cards: the disk's fixed slot is then taken when QEMU gives the cards theirs.
    disk_args(&mut cmd, spec);
    boot_args(&mut cmd, spec);
    if !spec.append.is_empty() {
        // QEMU option values escape a comma by doubling it.
        let words = spec.append.join(" ").replace(',', ",,");
        cmd.arg("-fw_cfg")
            .arg(format!("name={FW_CFG_CMDLINE},string={words}"));
    }
    if spec.icount {
        let sleep = if spec.icount_real_idle { "on" } else { "off" };
        cmd.args(["-icount", &format!("shift=0,sleep={sleep}")]);
    }
    cmd
}

fn serial_args(cmd: &mut Command, spec: &QemuSpec) {
    match (&spec.serial, spec.interactive) {
        // One stdio backend shared by console and monitor; signal=on keeps Ctrl-C a signal
        // that stops QEMU rather than a byte for the guest.
        (Serial::Stdio, true) => {
            cmd.args(["-chardev", "stdio,id=console,mux=on,signal=on"]);
            cmd.args([
                "-serial",
                "chardev:console",
                "-mon",
                "chardev=console,mode=readline",
            ]);
        }
        (Serial::Stdio, false) => {
            cmd.args(["-serial", "stdio", "-monitor", "none"]);
        }
        (Serial::File(path), _) => {
            let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            let mut arg = OsString::from("file:");
            arg.push(path);
            cmd.arg("-serial")
                .arg(arg)
                .args(["-monitor", "none"])
                .stdin(Stdio::null());
        }
        (Serial::Pipe, _) => {
            cmd.args(["-serial", "stdio", "-monitor", "none"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped());
        }
    }
}

/// The PCI slot of the disk. On QEMU's i440fx machine SeaBIOS routes the INTx of slots 3, 4
/// and 7 to legacy line 11 and of slots 5 and 6 to line 10 (slots 0 to 2 hold the host bridge,
/// the PIIX3 and the VGA card). The first network card takes slot 3 and a second slot 4 (the
/// first free ones), so in slot 5 the disk has a line of its own: its driver waits for its
/// interrupts on it instead of polling, as it does when another driver waits on its line.
pub const DISK_PCI_SLOT: u8 = 5;

/// `-drive` and `-device` of the disk, if any. The path is made absolute, since QEMU runs in
/// the image directory, and a comma in it doubled, as QEMU option values escape it.
fn disk_args(cmd: &mut Command, spec: &QemuSpec) {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let (path, snapshot) = match (&spec.disk, spec.boot.from_disk()) {
        (Some(path), _) => (path.clone(), false),
        (None, true) => (boot_file(spec), true),
        (None, false) => return,
    };
    let path = std::path::absolute(&path).unwrap_or(path);
    let mut drive = b"file=".to_vec();
    for &byte in path.as_os_str().as_bytes() {
        drive.push(byte);
        if byte == b',' {
            drive.push(b',');
        }
    }
    let format = if spec.boot == Boot::Qcow2 {
        "qcow2"
    } else {
        "raw"
    };
    drive.extend_from_slice(format!(",if=none,format={format},id=disk0").as_bytes());
    if snapshot {
        drive.extend_from_slice(b",snapshot=on");
    }
    let mut device = format!("virtio-blk-pci,drive=disk0,addr={DISK_PCI_SLOT:#x}");
    if spec.boot.from_disk() {
        device.push_str(",bootindex=0");
    }
    cmd.arg("-drive")
        .arg(OsString::from_vec(drive))
        .arg("-device")
        .arg(device);
}

fn boot_args(cmd: &mut Command, spec: &QemuSpec) {
    match spec.boot {
        Boot::Kernel => {
            cmd.args(["-kernel", KERNEL_FILE, "-append", &spec.cmdline]);
            local_nic_args(cmd, spec);
        }
        Boot::Iso => {
            cmd.args(["-cdrom", &format!("{}.iso", spec.profile), "-boot", "d"]);
            local_nic_args(cmd, spec);
        }
        // The disk itself is `disk_args`'s, with its boot index.
        Boot::Disk | Boot::Qcow2 => local_nic_args(cmd, spec),
        Boot::Pxe => {
            let netdev = user_netdev(
                &format!("user,id=n0,tftp={PXE_DIR},bootfile={PXE_BOOTFILE}"),
                spec.udp_forward,
            );
            nic_args(cmd, Some(spec.nic.unwrap_or(Nic::Virtio)), &netdev);
            cmd.args(["-boot", "n"]);
        }
    }
}

/// The card of a kernel, ISO or disk boot: on the virtual LAN if there is one, else on QEMU's user
/// network.
fn local_nic_args(cmd: &mut Command, spec: &QemuSpec) {
    match spec.lan {
        Some(lan) => {
            cmd.args(lan.card_args(spec.nic.unwrap_or(Nic::Virtio), "n0"));
            for (number, (card, lan)) in (1..).zip(&spec.more_cards) {
                cmd.args(lan.card_args(*card, &format!("n{number}")));
            }
        }
        None => nic_args(cmd, spec.nic, &user_netdev("user,id=n0", spec.udp_forward)),
    }
}

/// QEMU adds an e1000 when told nothing, so "no NIC" must be said.
fn nic_args(cmd: &mut Command, nic: Option<Nic>, netdev: &str) {
    match nic {
        None => {
            cmd.args(["-nic", "none"]);
        }
        Some(nic) => {
            cmd.args([
                "-netdev",
                netdev,
                "-device",
                &format!("{},netdev=n0", nic.device()),
            ]);
        }
    }
}

/// How a QEMU run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The kernel reported through isa-debug-exit.
    Guest(ExitCode),
    /// QEMU exited 0: stopped by Ctrl-C, SIGTERM or `quit` in the monitor, or the guest reset
    /// or powered off (`-no-reboot` turns a reset into an exit).
    Stopped,
    /// Any other status: a QEMU error (its message is on stderr) or an unknown guest value.
    Status(i32),
    /// QEMU was killed by this signal.
    Signal(i32),
}

impl Outcome {
    pub fn from_status(status: ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(0), _) => Self::Stopped,
            (Some(code), _) => {
                ExitCode::from_qemu_status(code).map_or(Self::Status(code), Self::Guest)
            }
            (None, Some(signal)) => Self::Signal(signal),
            (None, None) => Self::Status(-1),
        }
    }

    /// Whether this is a normal end: a clean guest stop or a stop asked for by the user.
    pub fn is_clean(self) -> bool {
        matches!(self, Self::Guest(ExitCode::Success) | Self::Stopped)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Guest(code) => write!(
                f,
                "{} (QEMU status {})",
                code.describe(),
                code.qemu_status()
            ),
            Self::Stopped => f.write_str(
                "QEMU stopped (Ctrl-C, monitor quit, or the guest reset or powered off)",
            ),
            Self::Status(code) => {
                write!(f, "QEMU exited with status {code} (not a kernel exit code)")
            }
            Self::Signal(signal) => write!(f, "QEMU was killed by signal {signal}"),
        }
    }
}

/// `image_dir` relative paths the spec refers to, for checking they exist before a boot.
pub fn boot_file(spec: &QemuSpec) -> PathBuf {
    let name = match spec.boot {
        Boot::Kernel => KERNEL_FILE.to_string(),
        Boot::Iso => format!("{}.iso", spec.profile),
        Boot::Pxe => Path::new(PXE_DIR).join(PXE_BOOTFILE).display().to_string(),
        Boot::Disk => format!("{}.img", spec.profile),
        Boot::Qcow2 => format!("{}.qcow2", spec.profile),
    };
    spec.image_dir.join(name)
}

#[cfg(test)]
mod tests;
