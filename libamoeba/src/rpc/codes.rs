//! Commands and error codes of Amoeba RPC, with their 5.3 names.
//!
//! From `docs/amoeba-protocol.md#commands-and-error-codes`. A request carries a
//! [`Command`] in `h_command`; the reply carries a status in the same two bytes: 0
//! ([`STD_OK`]) or a negative [`ErrorCode`].

use core::fmt;

/// The status of a successful reply.
pub const STD_OK: i16 = 0;

/// Defines named associated constants and a name table for them, so each number and name is
/// written once.
macro_rules! named_values {
    ($ty:ident($raw:ty) { $($(#[$doc:meta])* $name:ident = $value:expr,)* }) => {
        impl $ty {
            $($(#[$doc])* pub const $name: $ty = $ty($value);)*

            /// Every named value, in the order of the reference.
            pub const ALL: &'static [$ty] = &[$($ty::$name),*];

            /// The 5.3 name (e.g. `STD_CAPBAD`), if this value has one.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

/// A negative status: why a transaction or a request failed.
///
/// Any `i16` can arrive in a reply; [`ErrorCode::name`] knows the ones of the reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ErrorCode(i16);

named_values!(ErrorCode(i16) {
    /// The request may or may not have been executed (at-most-once).
    RPC_FAILURE = -1,
    RPC_NOTFOUND = -2,
    RPC_BADADDRESS = -3,
    RPC_ABORTED = -4,
    RPC_TRYAGAIN = -5,
    RPC_COMBAD = -6,
    RPC_BADPORT = -8,
    RPC_UNSAFE = -9,
    /// The capability's check does not match its rights.
    STD_CAPBAD = -1000,
    STD_COMBAD = -1001,
    STD_ARGBAD = -1002,
    STD_NOTNOW = -1003,
    STD_NOSPACE = -1004,
    /// The capability lacks a right the operation needs.
    STD_DENIED = -1005,
    STD_NOMEM = -1006,
    STD_EXISTS = -1007,
    STD_NOTFOUND = -1008,
    STD_SYSERR = -1009,
    STD_INTR = -1010,
    STD_OVERFLOW = -1011,
    STD_WRITEPROT = -1012,
    STD_NOMEDIUM = -1013,
    /// SOAP: the directory service cannot answer now.
    SP_UNAVAIL = -2101,
    /// SOAP: a directory to discard still has rows.
    SP_NOTEMPTY = -2102,
    /// SOAP: no capability of an entry's set could be reached (or restricted).
    SP_UNREACH = -2103,
    /// SOAP: an entry did not hold the capability an INSTALL expected.
    SP_CLASH = -2104,
});

impl ErrorCode {
    /// An error code from a status; `None` for 0 and positive values, which are not errors.
    pub const fn new(status: i16) -> Option<Self> {
        if status < 0 { Some(Self(status)) } else { None }
    }

    /// The status value (negative).
    pub const fn get(self) -> i16 {
        self.0
    }
}

impl fmt::Display for ErrorCode {
    /// The 5.3 name, or `error <n>` for a code the reference does not list.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "error {}", self.0),
        }
    }
}

/// A request's command number (`h_command`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Command(pub u16);

named_values!(Command(u16) {
    STD_MONITOR = 1000,
    STD_AGE = 1001,
    STD_COPY = 1002,
    STD_DESTROY = 1003,
    STD_INFO = 1004,
    /// Restrict a capability; the rights mask travels in `h_offset`.
    STD_RESTRICT = 1005,
    STD_STATUS = 1006,
    STD_TOUCH = 1007,
    STD_GETPARAMS = 1008,
    STD_SETPARAMS = 1009,
    STD_NTOUCH = 1010,
});

/// The first command number of each server's own commands, with the server's name.
///
/// The reference gives only the bases; we take each server's range to be the 100 numbers from
/// its base (the listed commands all fit), which is what [`Command::server`] reports.
pub const SERVER_BASES: &[(u16, &str)] = &[
    (BULLET_FIRST_COM, "bullet"),
    (SOAP_FIRST_COM, "soap"),
    (DISK_FIRST_COM, "disk"),
    (PS_FIRST_COM, "process"),
    (TOD_FIRST_COM, "tod"),
    (SYS_FIRST_COM, "sys"),
    (RND_FIRST_COM, "random"),
    (RUN_FIRST_COM, "run"),
    (BOOT_FIRST_COM, "boot"),
];

/// First command of the Bullet file server.
pub const BULLET_FIRST_COM: u16 = 2000;
/// First command of the SOAP directory server.
pub const SOAP_FIRST_COM: u16 = 2100;
/// First command of the (virtual) disk server.
pub const DISK_FIRST_COM: u16 = 2200;
/// First command of the process server.
pub const PS_FIRST_COM: u16 = 2300;
/// First command of the time-of-day server.
pub const TOD_FIRST_COM: u16 = 2400;
/// First command of the kernel's sys server.
pub const SYS_FIRST_COM: u16 = 2500;
/// First command of the random server.
pub const RND_FIRST_COM: u16 = 2600;
/// First command of the run server.
pub const RUN_FIRST_COM: u16 = 3000;
/// First command of the boot server.
pub const BOOT_FIRST_COM: u16 = 3600;

/// First command of the node's console (tty) server. Ours, not 5.3's, whose registry gives 2800
/// to its session server (see `docs/amoeba-protocol.md#commands-and-error-codes`). Not in
/// [`SERVER_BASES`], which holds 5.3's bases only.
pub const TTY_FIRST_COM: u16 = 2800;
/// First command of the echo server (RPC benchmarks and tests). Ours, not 5.3's, which
/// registers 2900 to another server; not in [`SERVER_BASES`].
pub const ECHO_FIRST_COM: u16 = 2900;

/// Commands per server range (our assumption, see [`SERVER_BASES`]).
pub const SERVER_RANGE: u16 = 100;

impl Command {
    /// Whether this is one of the standard commands every server may implement.
    pub const fn is_standard(self) -> bool {
        self.name().is_some()
    }

    /// The server whose range holds this command, with the command's offset from the base.
    pub fn server(self) -> Option<(&'static str, u16)> {
        SERVER_BASES.iter().find_map(|&(base, name)| {
            let offset = self.0.checked_sub(base)?;
            (offset < SERVER_RANGE).then_some((name, offset))
        })
    }
}

impl fmt::Display for Command {
    /// `STD_INFO`, `bullet+6 (2006)` or `command 42`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = self.name() {
            f.write_str(name)
        } else if let Some((server, offset)) = self.server() {
            write!(f, "{server}+{offset} ({})", self.0)
        } else {
            write!(f, "command {}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_match_the_reference() {
        let rpc = [-1, -2, -3, -4, -5, -6, -8, -9];
        let std = -1013..=-1000;
        let mut expected: Vec<i16> = rpc.to_vec();
        expected.extend(std.rev());
        expected.extend(-2104..=-2101);
        expected[22..].reverse();
        let got: Vec<i16> = ErrorCode::ALL.iter().map(|code| code.get()).collect();
        assert_eq!(got, expected);
        assert_eq!(ErrorCode::STD_CAPBAD.get(), -1000);
        assert_eq!(ErrorCode::STD_DENIED.get(), -1005);
        assert_eq!(ErrorCode::STD_NOMEDIUM.get(), -1013);
        assert_eq!(ErrorCode::RPC_UNSAFE.get(), -9);
    }

    #[test]
    fn error_codes_have_names() {
        assert_eq!(ErrorCode::RPC_FAILURE.to_string(), "RPC_FAILURE");
        assert_eq!(ErrorCode::STD_WRITEPROT.to_string(), "STD_WRITEPROT");
        assert_eq!(ErrorCode::new(-7).unwrap().to_string(), "error -7");
        assert_eq!(ErrorCode::new(-7).unwrap().name(), None);
        assert_eq!(ErrorCode::new(STD_OK), None);
        assert_eq!(ErrorCode::new(5), None);
        assert_eq!(ErrorCode::new(-1005), Some(ErrorCode::STD_DENIED));
        for code in ErrorCode::ALL {
            assert!(
                code.name().is_some_and(|name| ["RPC_", "STD_", "SP_"]
                    .iter()
                    .any(|p| name.starts_with(p)))
            );
        }
    }

    #[test]
    fn commands_match_the_reference() {
        let got: Vec<u16> = Command::ALL.iter().map(|command| command.0).collect();
        assert_eq!(got, (1000..=1010).collect::<Vec<_>>());
        assert_eq!(Command::STD_RESTRICT.to_string(), "STD_RESTRICT");
        assert!(Command::STD_NTOUCH.is_standard() && !Command(2006).is_standard());
        let bases: Vec<u16> = SERVER_BASES.iter().map(|&(base, _)| base).collect();
        assert_eq!(
            bases,
            [2000, 2100, 2200, 2300, 2400, 2500, 2600, 3000, 3600]
        );
    }

    #[test]
    fn commands_name_their_server() {
        assert_eq!(Command(2006).server(), Some(("bullet", 6)));
        assert_eq!(Command(2106).server(), Some(("soap", 6)));
        assert_eq!(Command(2400).server(), Some(("tod", 0)));
        assert_eq!(Command(3699).server(), Some(("boot", 99)));
        assert_eq!(Command(2700).server(), None);
        assert_eq!(Command(1004).server(), None);
        assert_eq!(Command(2006).to_string(), "bullet+6 (2006)");
        assert_eq!(Command(2600).to_string(), "random+0 (2600)");
        assert_eq!(Command(42).to_string(), "command 42");
    }
}
