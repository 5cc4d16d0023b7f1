//! Rights in capabilities: making owner capabilities, restricting them, and the server's check.
//!
//! From `docs/amoeba-protocol.md#restricting-rights`: per object the server
//! keeps a random 48-bit value C. The owner capability carries rights 0xFF and check = C; a
//! capability restricted to rights r carries check = F(C with its first byte XOR r), F being
//! [`one_way`]. The server verifies a capability by recomputing its check from C and the
//! claimed rights. Whoever holds the owner capability (and so C) can restrict it without asking
//! the server ([`restrict_owner`]); anyone else sends STD_RESTRICT, which the server answers
//! with [`server_restrict`].
//!
//! No random numbers are made here: the caller supplies C (from the random server or the
//! kernel's generator).
//!
//! Rules of this module (the sources leave them open):
//! * Rights 0xFF ([`ALL_RIGHTS`]) always mean the owner form, check = C; a check
//!   F(C ^ 0xFF) is not accepted. Restricting to 0xFF yields the owner capability again.
//! * Restricting by a mask keeps only rights already held: new rights = held & mask.

use core::fmt;

use crate::capability::{ALL_RIGHTS, CHECK_LEN, Capability, CapabilityError, Port};
use crate::oneway::one_way;
use crate::rpc::codes::ErrorCode;

/// The check of a capability restricted to `rights`, from the object's secret check C:
/// F(C with its first byte XOR `rights`).
///
/// This is the reference's formula for every `rights` value; note that a capability with
/// [`ALL_RIGHTS`] carries C itself instead (see [`check_for`]).
pub fn restrict(owner_check: [u8; CHECK_LEN], rights: u8) -> [u8; CHECK_LEN] {
    let mut input = owner_check;
    input[0] ^= rights;
    one_way(&input)
}

/// The check a valid capability with `rights` carries: C for [`ALL_RIGHTS`], otherwise
/// [`restrict`]`(C, rights)`.
pub fn check_for(owner_check: [u8; CHECK_LEN], rights: u8) -> [u8; CHECK_LEN] {
    if rights == ALL_RIGHTS {
        owner_check
    } else {
        restrict(owner_check, rights)
    }
}

/// The owner capability of `object` at `port`: all rights, check = the random `owner_check`
/// (the C the server stores for the object).
pub fn owner_capability(
    port: Port,
    object: u32,
    owner_check: [u8; CHECK_LEN],
) -> Result<Capability, CapabilityError> {
    Capability::new(port, object, ALL_RIGHTS, owner_check)
}

/// A server's check of `cap` against the C it stores for `cap.object`: the rights the
/// capability grants, or [`CapError::Bad`] (STD_CAPBAD) if its check does not match its rights
/// (forged, tampered with, or made for another object or C).
pub fn verify(cap: &Capability, stored_check: [u8; CHECK_LEN]) -> Result<u8, CapError> {
    if cap.check == check_for(stored_check, cap.rights) {
        Ok(cap.rights)
    } else {
        Err(CapError::Bad)
    }
}

/// Whether `rights_held` include every bit of `rights_needed`; [`CapError::Denied`]
/// (STD_DENIED) if not.
pub fn require(rights_held: u8, rights_needed: u8) -> Result<(), CapError> {
    if rights_held & rights_needed == rights_needed {
        Ok(())
    } else {
        Err(CapError::Denied)
    }
}

/// What the holder of an owner capability can do alone: the same capability restricted to
/// `rights`. `None` if `owner` is not an owner capability (rights 0xFF): then only the server,
/// which knows C, can restrict it (STD_RESTRICT, see [`server_restrict`]).
///
/// The owner's check is taken on trust: a forged one yields a capability the server refuses.
pub fn restrict_owner(owner: &Capability, rights: u8) -> Option<Capability> {
    (owner.rights == ALL_RIGHTS).then(|| Capability {
        rights,
        check: check_for(owner.check, rights),
        ..*owner
    })
}

/// A server's answer to STD_RESTRICT (mask in h_offset): `cap` verified against the stored C,
/// then restricted to the rights it holds that are also in `mask`.
pub fn server_restrict(
    cap: &Capability,
    stored_check: [u8; CHECK_LEN],
    mask: u8,
) -> Result<Capability, CapError> {
    let rights = verify(cap, stored_check)? & mask;
    Ok(Capability {
        rights,
        check: check_for(stored_check, rights),
        ..*cap
    })
}

/// Why a server refuses a capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapError {
    /// The check does not match the rights: STD_CAPBAD.
    Bad,
    /// The capability is genuine but lacks a right the operation needs: STD_DENIED.
    Denied,
}

impl CapError {
    /// The status a server puts in its reply header.
    pub const fn code(self) -> ErrorCode {
        match self {
            Self::Bad => ErrorCode::STD_CAPBAD,
            Self::Denied => ErrorCode::STD_DENIED,
        }
    }
}

impl From<CapError> for ErrorCode {
    fn from(error: CapError) -> Self {
        error.code()
    }
}

impl fmt::Display for CapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Self::Bad => "capability check failed",
            Self::Denied => "capability lacks a needed right",
        };
        write!(f, "{what} ({})", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORT: Port = Port([0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);
    const C: [u8; 6] = [0x80, 0, 0, 0, 0, 0];
    const C2: [u8; 6] = [0x3c, 0x9a, 0x01, 0xee, 0x72, 0x5d];
    const READ: u8 = 0x02;
    const MODIFY: u8 = 0x04;

    fn owner() -> Capability {
        owner_capability(PORT, 7, C).unwrap()
    }

    #[test]
    fn restrict_is_f_of_the_check_with_rights_in_its_first_byte() {
        // 0x82 ^ 0x02 = 0x80: F(80 00 00 00 00 00) is the known answer of `oneway`.
        assert_eq!(
            restrict([0x82, 0, 0, 0, 0, 0], READ),
            [0x95, 0xa8, 0xd7, 0x28, 0x13, 0xda]
        );
        assert_eq!(restrict(C, 0x84), one_way(&[0x04, 0, 0, 0, 0, 0]));
        assert_eq!(check_for(C, ALL_RIGHTS), C);
        assert_eq!(check_for(C, READ), restrict(C, READ));
    }

    #[test]
    fn owner_capability_verifies_with_all_rights() {
        let cap = owner();
        assert_eq!((cap.rights, cap.check, cap.object), (ALL_RIGHTS, C, 7));
        assert_eq!(verify(&cap, C), Ok(ALL_RIGHTS));
        assert!(owner_capability(PORT, 1 << 24, C).is_err());
    }

    #[test]
    fn restricted_capability_verifies_with_its_rights() {
        for rights in [0, READ, READ | MODIFY, 0x7f, 0xfe] {
            let cap = restrict_owner(&owner(), rights).unwrap();
            assert_eq!((cap.port, cap.object, cap.rights), (PORT, 7, rights));
            assert_ne!(cap.check, C);
            assert_eq!(verify(&cap, C), Ok(rights));
        }
        // Restricting to all rights gives the owner capability back.
        assert_eq!(restrict_owner(&owner(), ALL_RIGHTS), Some(owner()));
        // A restricted capability cannot be restricted further without the server.
        let read = restrict_owner(&owner(), READ).unwrap();
        assert_eq!(restrict_owner(&read, 0), None);
    }

    #[test]
    fn tampering_is_refused() {
        let read = restrict_owner(&owner(), READ).unwrap();
        // More rights than granted: the check no longer matches.
        let more = Capability {
            rights: READ | MODIFY,
            ..read
        };
        assert_eq!(verify(&more, C), Err(CapError::Bad));
        // Claiming all rights with a restricted check.
        let all = Capability {
            rights: ALL_RIGHTS,
            ..read
        };
        assert_eq!(verify(&all, C), Err(CapError::Bad));
        // A flipped check bit, in the owner and in the restricted capability.
        for cap in [owner(), read] {
            for bit in 0..48 {
                let mut check = cap.check;
                check[bit / 8] ^= 1 << (bit % 8);
                assert_eq!(verify(&Capability { check, ..cap }, C), Err(CapError::Bad));
            }
        }
        // Another object: the server looks up that object's C, which differs.
        let other = Capability { object: 8, ..read };
        assert_eq!(verify(&other, C2), Err(CapError::Bad));
        assert_eq!(
            verify(
                &Capability {
                    object: 8,
                    ..owner()
                },
                C2
            ),
            Err(CapError::Bad)
        );
        // The old owner form with F(C ^ 0xFF) is not the owner capability.
        let f_form = Capability {
            check: restrict(C, ALL_RIGHTS),
            ..owner()
        };
        assert_eq!(verify(&f_form, C), Err(CapError::Bad));
    }

    #[test]
    fn lacking_rights_are_denied() {
        assert_eq!(require(ALL_RIGHTS, READ | MODIFY), Ok(()));
        assert_eq!(require(READ, READ), Ok(()));
        assert_eq!(require(READ, 0), Ok(()));
        assert_eq!(require(READ, MODIFY), Err(CapError::Denied));
        assert_eq!(require(READ, READ | MODIFY), Err(CapError::Denied));
        let read = restrict_owner(&owner(), READ).unwrap();
        let held = verify(&read, C).unwrap();
        assert_eq!(require(held, MODIFY), Err(CapError::Denied));
    }

    #[test]
    fn server_restrict_masks_held_rights() {
        let read_modify = restrict_owner(&owner(), READ | MODIFY).unwrap();
        let read = server_restrict(&read_modify, C, READ | 0x80).unwrap();
        assert_eq!(read, restrict_owner(&owner(), READ).unwrap());
        assert_eq!(verify(&read, C), Ok(READ));
        // The mask cannot add rights.
        let still_read = server_restrict(&read, C, ALL_RIGHTS).unwrap();
        assert_eq!(still_read, read);
        assert_eq!(server_restrict(&owner(), C, ALL_RIGHTS), Ok(owner()));
        // A bad capability is refused before restricting.
        let forged = Capability {
            rights: ALL_RIGHTS,
            ..read
        };
        assert_eq!(server_restrict(&forged, C, READ), Err(CapError::Bad));
    }

    #[test]
    fn errors_carry_the_standard_codes() {
        assert_eq!(CapError::Bad.code().get(), -1000);
        assert_eq!(CapError::Denied.code().get(), -1005);
        assert_eq!(ErrorCode::from(CapError::Denied), ErrorCode::STD_DENIED);
        assert_eq!(
            CapError::Bad.to_string(),
            "capability check failed (STD_CAPBAD)"
        );
    }
}
