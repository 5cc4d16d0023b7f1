//! The node's settings, from the boot loader's command line plus any words QEMU passed through
//! fw_cfg; later words win, so a test can override what the image's boot entry says.
//! Read once the heap is up: the command line has no fixed bound.

use crate::arch::multiboot::BootInfo;
use crate::build_info;
use crate::drivers::fw_cfg;
use crate::logger;
use alloc::string::String;
use libamoeba::boot::cmdline::{self, BootArg, CrashKind, IpSetting, IpcPath, OnReady};

pub struct NodeConfig {
    cmdline: String,
    node_name: String,
    pub on_ready: OnReady,
    crash: Option<CrashKind>,
    /// The check a `selftest=` word asks for; only a kernel with self-tests keeps one.
    #[cfg(feature = "selftest")]
    pub selftest: Option<cmdline::SelfTest>,
    /// The IP side of the node's cards (`ip=`, `flip-udp=`).
    pub net: NetSettings,
}

/// How a card gets its IPv4 address and whether it carries FLIP inside UDP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetSettings {
    /// `ip=A.B.C.D/N` or `ip=dhcp`; none: the card has no IP side.
    pub ip: Option<IpSetting>,
    /// `flip-udp=PORT` (used only with an `ip=`).
    pub flip_udp: Option<u16>,
}

impl NodeConfig {
    pub fn from_boot(boot: &BootInfo) -> Self {
        let mut config = NodeConfig {
            cmdline: String::from(boot.cmdline.as_str()),
            node_name: String::new(),
            on_ready: OnReady::Idle,
            crash: None,
            #[cfg(feature = "selftest")]
            selftest: None,
            net: NetSettings::default(),
        };
        if boot.cmdline.truncated {
            log::warn!(
                "cmdline: longer than {} bytes; the rest is ignored",
                config.cmdline.len()
            );
        }
        let mut extra = [0; 512];
        if let Some(words) = fw_cfg::extra_cmdline(&mut extra) {
            config.cmdline.push(' ');
            config.cmdline.push_str(words);
        }
        config.apply_cmdline();
        config
    }

    fn apply_cmdline(&mut self) {
        let mut node = build_info::DEFAULT_NODE_NAME;
        for arg in cmdline::parse(&self.cmdline) {
            match arg {
                Ok(BootArg::Node(name)) => node = name,
                Ok(BootArg::Log(level)) => logger::set_level(level),
                Ok(BootArg::Ready(on_ready)) => self.on_ready = on_ready,
                Ok(BootArg::Crash(kind)) => self.crash = Some(kind),
                #[cfg(feature = "selftest")]
                Ok(BootArg::SelfTest(test)) => self.selftest = Some(test),
                // Typed at a boot prompt, say: the node boots as if the word were not there.
                #[cfg(not(feature = "selftest"))]
                Ok(BootArg::SelfTest(test)) => log::warn!(
                    "cmdline: `selftest={test}` ignored: this kernel has no self-tests (only \
                     profiles with `selftest = true` under [kernel] compile them in)"
                ),
                Ok(BootArg::Ip(ip)) => self.net.ip = Some(ip),
                Ok(BootArg::FlipUdp(port)) => self.net.flip_udp = Some(port),
                Ok(BootArg::Ipc(path)) => crate::ipc::set_fast_path(path == IpcPath::Fast),
                Err(problem) => log::warn!("cmdline: {problem}"),
            }
        }
        self.node_name.push_str(node);
        if let (None, Some(port)) = (self.net.ip, self.net.flip_udp) {
            log::warn!("cmdline: `flip-udp={port}` needs an address (`ip=`); no FLIP over UDP");
        }
    }

    pub fn cmdline(&self) -> &str {
        self.cmdline.trim()
    }

    pub fn node_name(&self) -> &str {
        &self.node_name
    }

    pub fn run_requested_crash(&self) {
        if let Some(kind) = self.crash {
            crate::arch::x86_64::crash::crash(kind);
        }
    }
}
