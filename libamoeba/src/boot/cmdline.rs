//! The kernel command line: `key=value` words separated by blanks.
//!
//! Known keys:
//! - `node=NAME`: the node's name (letters, digits, `-`, `_`; at most [`MAX_NODE_NAME`] bytes);
//! - `log=LEVEL`: the most verbose level printed (`error`, `warn`, `info`, `debug`, `trace`);
//! - `ready=idle|exit`: what the node does after its ready line (`exit` stops QEMU cleanly);
//! - `crash=KIND`: a deliberate kernel fault for testing the fault paths (see [`CrashKind`]);
//! - `selftest=sched`: kernel threads exercise timers and every synchronization primitive;
//!   `selftest=loader`: damaged copies of the first boot program's image must be refused;
//!   `selftest=describe`: running processes are described and their descriptors round-trip;
//!   `selftest=rpc`: a kernel thread calls every kernel server, with good and forged
//!   capabilities, and a server that ends mid-call; `selftest=halt` / `selftest=reboot`: a
//!   kernel thread stops the node by the sys server's BOOT command before the ready line;
//! - `ip=A.B.C.D/N`: the node's IPv4 address and prefix length on its network card (it then
//!   answers ARP and ping); `ip=dhcp`: the card asks a DHCP server for its address (and default
//!   route) and keeps renewing the lease;
//! - `flip-udp=PORT`: the node also carries FLIP inside UDP datagrams on this port (1 to 65535)
//!   of its IPv4 address, so it can be reached across IP;
//! - `ipc=fast|queued`: local RPC hands each message straight to the thread it wakes (`fast`,
//!   the default) or through the scheduler's ready queues (`queued`, the general path, for
//!   comparison).
//!
//! Parsing never fails as a whole: each word yields a [`BootArg`] or a [`CmdlineError`] the
//! kernel reports and skips, so a typo on the command line costs a warning, not the boot.

/// Longest node name accepted, in bytes.
pub const MAX_NODE_NAME: usize = 32;

/// Log verbosity, most severe first (the order of the `log` crate's levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub const NAMES: &'static str = "error, warn, info, debug, trace";

    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "error" => Self::Error,
            "warn" => Self::Warn,
            "info" => Self::Info,
            "debug" => Self::Debug,
            "trace" => Self::Trace,
            _ => return None,
        })
    }

    pub const fn name(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warn => "warn",
            Self::Info => "info",
            Self::Debug => "debug",
            Self::Trace => "trace",
        }
    }
}

/// What the node does once it has printed its ready line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnReady {
    /// Keep running, waiting for interrupts (the normal life of a node).
    #[default]
    Idle,
    /// Stop the machine with [`crate::boot::ExitCode::Success`] (tests and benchmarks).
    Exit,
}

/// Deliberate kernel faults, so tests can show that each fault path reports and stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashKind {
    /// `panic!` in the kernel.
    Panic,
    /// Integer division by zero (#DE).
    Divide,
    /// A read through a null pointer (#PF on the unmapped first page).
    PageFault,
    /// Unbounded recursion until the stack's guard page is hit.
    StackOverflow,
    /// Spin forever before the ready line, as a hung kernel would.
    Hang,
}

impl CrashKind {
    pub const NAMES: &'static str = "panic, divide, page-fault, stack-overflow, hang";

    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "panic" => Self::Panic,
            "divide" => Self::Divide,
            "page-fault" => Self::PageFault,
            "stack-overflow" => Self::StackOverflow,
            "hang" => Self::Hang,
            _ => return None,
        })
    }
}

/// Built-in checks the kernel runs at boot when asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelfTest {
    /// Timers and synchronization between kernel threads.
    Sched,
    /// The process loader refuses damaged images.
    Loader,
    /// Running processes turn into process descriptors that decode back to themselves.
    Describe,
    /// Kernel threads use RPC: every kernel server, forged capabilities, a dying server.
    Rpc,
    /// A kernel thread halts the node through the sys server's BOOT (owner capability).
    Halt,
    /// The same, rebooting.
    Reboot,
    /// `lan` or `lan:N`: find `peers` other nodes on the LAN (1 unless given) and run the RPC
    /// checks on each one's kernel servers over FLIP; then stay up to serve theirs.
    Lan { peers: u8 },
    /// Times null and 30000-byte echo calls to the first other node found on the LAN (remote
    /// RPC round trip, throughput, and the cycles each call costs this node); then stays up.
    LanBench,
}

impl SelfTest {
    /// Most peers `selftest=lan:N` may wait for.
    pub const MAX_LAN_PEERS: u8 = 32;

    fn parse_lan(value: &str) -> Option<Self> {
        let peers = match value.strip_prefix("lan") {
            Some("") => 1,
            Some(count) => count.strip_prefix(':')?.parse().ok()?,
            None => return None,
        };
        (1..=Self::MAX_LAN_PEERS)
            .contains(&peers)
            .then_some(Self::Lan { peers })
    }
}

impl core::fmt::Display for SelfTest {
    /// The value of the `selftest=` word that asks for it: `sched`, `lan:2`, ...
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Sched => f.write_str("sched"),
            Self::Loader => f.write_str("loader"),
            Self::Describe => f.write_str("describe"),
            Self::Rpc => f.write_str("rpc"),
            Self::Halt => f.write_str("halt"),
            Self::Reboot => f.write_str("reboot"),
            Self::Lan { peers } => write!(f, "lan:{peers}"),
            Self::LanBench => f.write_str("lanbench"),
        }
    }
}

/// How local RPC passes the CPU with a message (`ipc=`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IpcPath {
    /// Straight to the thread the message wakes.
    #[default]
    Fast,
    /// Through the ready queues, like any wakeup.
    Queued,
}

/// One understood word of the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootArg<'a> {
    Node(&'a str),
    Log(LogLevel),
    Ready(OnReady),
    Crash(CrashKind),
    SelfTest(SelfTest),
    Ipc(IpcPath),
    Ip(IpSetting),
    FlipUdp(u16),
}

/// How a node's card gets its IPv4 address (`ip=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpSetting {
    /// `ip=A.B.C.D/N`: this address, for good.
    Static(Ipv4Config),
    /// `ip=dhcp`: whatever a DHCP server leases.
    Dhcp,
}

impl IpSetting {
    /// What `ip=` accepts, for messages.
    pub const EXPECTED: &'static str =
        "`dhcp` or an IPv4 address with a prefix length, e.g. 10.0.2.15/24";

    /// The value of an `ip=` word: `dhcp` or `A.B.C.D/N`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "dhcp" => Some(Self::Dhcp),
            _ => Ipv4Config::parse(text).map(Self::Static),
        }
    }
}

impl core::fmt::Display for IpSetting {
    /// As written on the command line: `dhcp` or `A.B.C.D/N`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Static(config) => write!(f, "{}/{}", config.address, config.prefix),
            Self::Dhcp => f.write_str("dhcp"),
        }
    }
}

/// The value of a `flip-udp=` word: a UDP port from 1 to 65535.
pub fn parse_udp_port(text: &str) -> Option<u16> {
    // Only digits: `u16::from_str` would also take a leading `+`.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|&port| port != 0)
}

/// An IPv4 address with its prefix length (`ip=10.0.2.15/24`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Config {
    pub address: core::net::Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Config {
    pub fn parse(text: &str) -> Option<Self> {
        let (address, prefix) = text.split_once('/')?;
        let prefix = prefix.parse().ok().filter(|p| (1..=32).contains(p))?;
        Some(Self {
            address: address.parse().ok()?,
            prefix,
        })
    }
}

/// A word the kernel could not use; it is reported and skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmdlineError<'a> {
    UnknownKey(&'a str),
    MissingValue(&'a str),
    BadValue {
        key: &'a str,
        value: &'a str,
        expected: &'static str,
    },
}

impl core::fmt::Display for CmdlineError<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::UnknownKey(word) => write!(f, "unknown key in `{word}` (ignored)"),
            Self::MissingValue(key) => write!(f, "`{key}` needs a value: `{key}=...` (ignored)"),
            Self::BadValue {
                key,
                value,
                expected,
            } => {
                write!(
                    f,
                    "bad value `{value}` for `{key}`; expected {expected} (ignored)"
                )
            }
        }
    }
}

/// Parses the command line word by word.
pub fn parse(cmdline: &str) -> impl Iterator<Item = Result<BootArg<'_>, CmdlineError<'_>>> {
    cmdline.split_ascii_whitespace().map(parse_word)
}

fn parse_word(word: &str) -> Result<BootArg<'_>, CmdlineError<'_>> {
    let Some((key, value)) = word.split_once('=') else {
        return Err(if is_known_key(word) {
            CmdlineError::MissingValue(word)
        } else {
            CmdlineError::UnknownKey(word)
        });
    };
    let bad = |expected| CmdlineError::BadValue {
        key,
        value,
        expected,
    };
    match key {
        "node" if is_valid_node_name(value) => Ok(BootArg::Node(value)),
        "node" => Err(bad("1 to 32 letters, digits, `-` or `_`")),
        "log" => LogLevel::parse(value)
            .map(BootArg::Log)
            .ok_or(bad(LogLevel::NAMES)),
        "ready" => match value {
            "idle" => Ok(BootArg::Ready(OnReady::Idle)),
            "exit" => Ok(BootArg::Ready(OnReady::Exit)),
            _ => Err(bad("idle, exit")),
        },
        "crash" => CrashKind::parse(value)
            .map(BootArg::Crash)
            .ok_or(bad(CrashKind::NAMES)),
        "selftest" => match value {
            "sched" => Ok(BootArg::SelfTest(SelfTest::Sched)),
            "loader" => Ok(BootArg::SelfTest(SelfTest::Loader)),
            "describe" => Ok(BootArg::SelfTest(SelfTest::Describe)),
            "rpc" => Ok(BootArg::SelfTest(SelfTest::Rpc)),
            "halt" => Ok(BootArg::SelfTest(SelfTest::Halt)),
            "reboot" => Ok(BootArg::SelfTest(SelfTest::Reboot)),
            "lanbench" => Ok(BootArg::SelfTest(SelfTest::LanBench)),
            _ => SelfTest::parse_lan(value).map(BootArg::SelfTest).ok_or(bad(
                "sched, loader, describe, rpc, halt, reboot, lan, lan:N (N 1..=32), lanbench",
            )),
        },
        "ip" => IpSetting::parse(value)
            .map(BootArg::Ip)
            .ok_or(bad(IpSetting::EXPECTED)),
        "flip-udp" => parse_udp_port(value)
            .map(BootArg::FlipUdp)
            .ok_or(bad("a UDP port from 1 to 65535, e.g. 4146")),
        "ipc" => match value {
            "fast" => Ok(BootArg::Ipc(IpcPath::Fast)),
            "queued" => Ok(BootArg::Ipc(IpcPath::Queued)),
            _ => Err(bad("fast, queued")),
        },
        _ => Err(CmdlineError::UnknownKey(word)),
    }
}

fn is_known_key(word: &str) -> bool {
    matches!(
        word,
        "node" | "log" | "ready" | "crash" | "selftest" | "ipc" | "ip" | "flip-udp"
    )
}

/// Node names travel on command lines and in file names: keep them to a safe alphabet.
pub fn is_valid_node_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NODE_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(cmdline: &str) -> Vec<Result<BootArg<'_>, CmdlineError<'_>>> {
        parse(cmdline).collect()
    }

    #[test]
    fn known_keys_are_understood() {
        assert_eq!(
            all(
                "node=pool-1 log=debug ready=exit crash=divide selftest=sched ipc=queued selftest=rpc"
            ),
            [
                Ok(BootArg::Node("pool-1")),
                Ok(BootArg::Log(LogLevel::Debug)),
                Ok(BootArg::Ready(OnReady::Exit)),
                Ok(BootArg::Crash(CrashKind::Divide)),
                Ok(BootArg::SelfTest(SelfTest::Sched)),
                Ok(BootArg::Ipc(IpcPath::Queued)),
                Ok(BootArg::SelfTest(SelfTest::Rpc)),
            ]
        );
    }

    #[test]
    fn the_lan_selftest_takes_a_peer_count() {
        let parse = |word| parse_word(word).ok();
        let lan = |peers| Some(BootArg::SelfTest(SelfTest::Lan { peers }));
        assert_eq!(parse("selftest=lan"), lan(1));
        assert_eq!(parse("selftest=lan:3"), lan(3));
        for bad in [
            "selftest=lan:0",
            "selftest=lan:33",
            "selftest=lan3",
            "selftest=lan:x",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_selftest_shows_as_the_word_that_asks_for_it() {
        let tests = [
            SelfTest::Sched,
            SelfTest::Loader,
            SelfTest::Describe,
            SelfTest::Rpc,
            SelfTest::Halt,
            SelfTest::Reboot,
            SelfTest::Lan { peers: 1 },
            SelfTest::Lan { peers: 32 },
            SelfTest::LanBench,
        ];
        for test in tests {
            let word = alloc::format!("selftest={test}");
            assert_eq!(parse_word(&word), Ok(BootArg::SelfTest(test)), "{word}");
        }
        assert_eq!(alloc::format!("{}", SelfTest::Lan { peers: 2 }), "lan:2");
    }

    #[test]
    fn empty_and_blank_lines_give_nothing() {
        assert!(all("").is_empty());
        assert!(all("  \t ").is_empty());
    }

    #[test]
    fn unknown_and_malformed_words_are_reported_not_fatal() {
        assert_eq!(
            all("quiet colour=red node log=loud node= node=a/b log=info"),
            [
                Err(CmdlineError::UnknownKey("quiet")),
                Err(CmdlineError::UnknownKey("colour=red")),
                Err(CmdlineError::MissingValue("node")),
                Err(CmdlineError::BadValue {
                    key: "log",
                    value: "loud",
                    expected: LogLevel::NAMES
                }),
                Err(CmdlineError::BadValue {
                    key: "node",
                    value: "",
                    expected: "1 to 32 letters, digits, `-` or `_`"
                }),
                Err(CmdlineError::BadValue {
                    key: "node",
                    value: "a/b",
                    expected: "1 to 32 letters, digits, `-` or `_`"
                }),
                Ok(BootArg::Log(LogLevel::Info)),
            ]
        );
    }

    #[test]
    fn errors_explain_themselves() {
        let text = CmdlineError::BadValue {
            key: "ready",
            value: "now",
            expected: "idle, exit",
        };
        assert_eq!(
            text.to_string(),
            "bad value `now` for `ready`; expected idle, exit (ignored)"
        );
    }

    #[test]
    fn node_names_are_bounded() {
        assert!(is_valid_node_name(&"a".repeat(MAX_NODE_NAME)));
        assert!(!is_valid_node_name(&"a".repeat(MAX_NODE_NAME + 1)));
        assert!(!is_valid_node_name("pool 1"));
    }

    #[test]
    fn ip_addresses_need_a_prefix() {
        assert_eq!(
            all("ip=10.0.2.15/24"),
            [Ok(BootArg::Ip(IpSetting::Static(Ipv4Config {
                address: core::net::Ipv4Addr::new(10, 0, 2, 15),
                prefix: 24
            })))]
        );
        for bad in [
            "ip=10.0.2.15",
            "ip=10.0.2/24",
            "ip=10.0.2.15/33",
            "ip=10.0.2.15/0",
        ] {
            assert!(
                matches!(
                    all(bad)[..],
                    [Err(CmdlineError::BadValue { key: "ip", .. })]
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn ip_dhcp_asks_a_server() {
        assert_eq!(all("ip=dhcp"), [Ok(BootArg::Ip(IpSetting::Dhcp))]);
        for bad in ["ip=DHCP", "ip=dhcp/24", "ip=dhcp4", "ip=auto"] {
            assert_eq!(
                all(bad),
                [Err(CmdlineError::BadValue {
                    key: "ip",
                    value: &bad[3..],
                    expected: IpSetting::EXPECTED
                })],
                "{bad}"
            );
        }
        assert_eq!(all("ip"), [Err(CmdlineError::MissingValue("ip"))]);
    }

    #[test]
    fn ip_settings_print_as_written() {
        for text in ["dhcp", "10.0.2.15/24", "192.168.1.200/32"] {
            let setting = IpSetting::parse(text).expect(text);
            assert_eq!(setting.to_string(), text);
        }
    }

    #[test]
    fn the_later_ip_word_is_also_reported() {
        // The kernel applies words in order, so the last `ip=` wins; the parser reports both.
        assert_eq!(
            all("ip=10.0.9.2/24 ip=dhcp"),
            [
                Ok(BootArg::Ip(IpSetting::Static(Ipv4Config {
                    address: core::net::Ipv4Addr::new(10, 0, 9, 2),
                    prefix: 24
                }))),
                Ok(BootArg::Ip(IpSetting::Dhcp)),
            ]
        );
    }

    #[test]
    fn flip_udp_takes_a_port() {
        assert_eq!(
            all("flip-udp=4146 flip-udp=1 flip-udp=65535"),
            [
                Ok(BootArg::FlipUdp(4146)),
                Ok(BootArg::FlipUdp(1)),
                Ok(BootArg::FlipUdp(65535)),
            ]
        );
        for bad in [
            "flip-udp=0",
            "flip-udp=65536",
            "flip-udp=-1",
            "flip-udp=+80",
            "flip-udp=",
            "flip-udp=0x1032",
        ] {
            let first = all(bad).into_iter().next();
            assert!(
                matches!(
                    first,
                    Some(Err(CmdlineError::BadValue {
                        key: "flip-udp",
                        ..
                    }))
                ),
                "{bad}: {first:?}"
            );
        }
        assert_eq!(
            all("flip-udp"),
            [Err(CmdlineError::MissingValue("flip-udp"))]
        );
        assert_eq!(
            CmdlineError::BadValue {
                key: "flip-udp",
                value: "0",
                expected: "a UDP port from 1 to 65535, e.g. 4146"
            }
            .to_string(),
            "bad value `0` for `flip-udp`; expected a UDP port from 1 to 65535, e.g. 4146 (ignored)"
        );
    }
}
