//! A server's table of objects: for each object number the secret check C its capabilities are
//! made from (see [`crate::rights`]) and the server's own state for it.
//!
//! Every request names its object by h_priv; [`ObjectTable::get`] verifies it and the rights the
//! command needs in one step, so a forged or tampered capability gets STD_CAPBAD and a genuine
//! one lacking a right STD_DENIED before any work is done. An object number the table does not
//! hold also gets STD_CAPBAD: a client cannot tell a deleted object from a forged capability.

use alloc::collections::BTreeMap;

use super::codes::ErrorCode;
use super::header::Header;
use crate::capability::{CHECK_LEN, Capability, MAX_OBJECT, Port};
use crate::random::Entropy;
use crate::rights;

struct Entry<V> {
    check: [u8; CHECK_LEN],
    value: V,
}

/// Objects of one service (one put-port).
pub struct ObjectTable<V> {
    port: Port,
    entries: BTreeMap<u32, Entry<V>>,
    next_object: u32,
}

impl<V> ObjectTable<V> {
    /// An empty table for the service at put-port `port`.
    pub fn new(port: Port) -> Self {
        Self {
            port,
            entries: BTreeMap::new(),
            next_object: 1,
        }
    }

    /// The service's put-port.
    pub fn port(&self) -> Port {
        self.port
    }

    /// Adds `value` under a fresh object number with a random check; returns its owner
    /// capability. STD_NOSPACE when every 24-bit number is taken.
    pub fn insert(
        &mut self,
        entropy: &mut impl Entropy,
        value: V,
    ) -> Result<Capability, ErrorCode> {
        let object = (0..=MAX_OBJECT)
            .map(|i| (self.next_object.wrapping_add(i)) & MAX_OBJECT)
            .find(|object| *object != 0 && !self.entries.contains_key(object))
            .ok_or(ErrorCode::STD_NOSPACE)?;
        self.next_object = (object + 1) & MAX_OBJECT;
        self.insert_at(object, entropy, value)
    }

    /// Adds `value` as object `object` (e.g. 0 for the server itself); STD_EXISTS if taken,
    /// STD_ARGBAD if the number does not fit 24 bits.
    pub fn insert_at(
        &mut self,
        object: u32,
        entropy: &mut impl Entropy,
        value: V,
    ) -> Result<Capability, ErrorCode> {
        if object > MAX_OBJECT {
            return Err(ErrorCode::STD_ARGBAD);
        }
        if self.entries.contains_key(&object) {
            return Err(ErrorCode::STD_EXISTS);
        }
        let check = entropy.nonzero48();
        self.entries.insert(object, Entry { check, value });
        rights::owner_capability(self.port, object, check).map_err(|_| ErrorCode::STD_ARGBAD)
    }

    /// Adds `value` as object `object` with a check kept from before (a server that keeps its
    /// objects on a disk restores them so): STD_EXISTS if taken, STD_ARGBAD if the number
    /// does not fit 24 bits or the check is zero.
    pub fn restore(
        &mut self,
        object: u32,
        check: [u8; CHECK_LEN],
        value: V,
    ) -> Result<(), ErrorCode> {
        if object > MAX_OBJECT || check == [0; CHECK_LEN] {
            return Err(ErrorCode::STD_ARGBAD);
        }
        if self.entries.contains_key(&object) {
            return Err(ErrorCode::STD_EXISTS);
        }
        self.entries.insert(object, Entry { check, value });
        Ok(())
    }

    /// The secret check of `object`, for a server that keeps it on a disk.
    pub fn check(&self, object: u32) -> Option<[u8; CHECK_LEN]> {
        self.entries.get(&object).map(|entry| entry.check)
    }

    /// The capability for `object` with `rights` (the owner capability for all rights).
    pub fn capability(&self, object: u32, rights: u8) -> Option<Capability> {
        let entry = self.entries.get(&object)?;
        Some(Capability {
            port: self.port,
            object,
            rights,
            check: rights::check_for(entry.check, rights),
        })
    }

    /// The object `header`'s capability names, if the capability is genuine and holds every
    /// right in `needed`: its number and state.
    pub fn get(&self, header: &Header, needed: u8) -> Result<(u32, &V), ErrorCode> {
        let cap = header.capability();
        let entry = self.verified(&cap, needed)?;
        Ok((cap.object, &entry.value))
    }

    /// As [`get`](Self::get), for changing the object's state.
    pub fn get_mut(&mut self, header: &Header, needed: u8) -> Result<(u32, &mut V), ErrorCode> {
        let cap = header.capability();
        self.verified(&cap, needed)?;
        let entry = self
            .entries
            .get_mut(&cap.object)
            .ok_or(ErrorCode::STD_CAPBAD)?;
        Ok((cap.object, &mut entry.value))
    }

    fn verified(&self, cap: &Capability, needed: u8) -> Result<&Entry<V>, ErrorCode> {
        let entry = self.entries.get(&cap.object).ok_or(ErrorCode::STD_CAPBAD)?;
        let held = rights::verify(cap, entry.check)?;
        rights::require(held, needed)?;
        Ok(entry)
    }

    /// STD_RESTRICT: `header`'s capability verified and restricted to the rights it holds that
    /// are also in `mask`.
    pub fn restrict(&self, header: &Header, mask: u8) -> Result<Capability, ErrorCode> {
        let cap = header.capability();
        let entry = self.entries.get(&cap.object).ok_or(ErrorCode::STD_CAPBAD)?;
        Ok(rights::server_restrict(&cap, entry.check, mask)?)
    }

    /// Forgets `object`: every capability for it becomes invalid.
    pub fn remove(&mut self, object: u32) -> Option<V> {
        self.entries.remove(&object).map(|entry| entry.value)
    }

    pub fn contains(&self, object: u32) -> bool {
        self.entries.contains_key(&object)
    }

    /// Every object number with its state, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &V)> {
        self.entries
            .iter()
            .map(|(object, entry)| (*object, &entry.value))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::ALL_RIGHTS;
    use crate::random::SeededGenerator;
    use crate::rpc::codes::Command;

    const PORT: Port = Port([1, 2, 3, 4, 5, 6]);

    fn request(cap: &Capability) -> Header {
        Header::request(cap, Command::STD_INFO)
    }

    #[test]
    fn owner_and_restricted_capabilities_are_accepted_with_their_rights() {
        let mut rng = SeededGenerator::new(1);
        let mut table = ObjectTable::new(PORT);
        let owner = table.insert(&mut rng, "a").unwrap();
        assert_eq!(
            (owner.port, owner.object, owner.rights),
            (PORT, 1, ALL_RIGHTS)
        );
        assert_eq!(table.get(&request(&owner), 0x81), Ok((1, &"a")));
        let read = table.capability(1, 0x02).unwrap();
        assert_eq!(table.get(&request(&read), 0x02), Ok((1, &"a")));
        assert_eq!(table.get(&request(&read), 0x04), Err(ErrorCode::STD_DENIED));
        assert_eq!(table.restrict(&request(&owner), 0x02), Ok(read));
        assert_eq!(table.restrict(&request(&read), 0xff), Ok(read));
    }

    #[test]
    fn forged_unknown_and_removed_objects_are_capbad() {
        let mut rng = SeededGenerator::new(2);
        let mut table = ObjectTable::new(PORT);
        let owner = table.insert(&mut rng, 10u32).unwrap();
        let forged = Capability {
            check: [9; 6],
            ..owner
        };
        assert_eq!(table.get(&request(&forged), 0), Err(ErrorCode::STD_CAPBAD));
        let raised = Capability {
            rights: 0x03,
            ..table.capability(owner.object, 0x01).unwrap()
        };
        assert_eq!(table.get(&request(&raised), 0), Err(ErrorCode::STD_CAPBAD));
        let other = Capability {
            object: 77,
            ..owner
        };
        assert_eq!(table.get(&request(&other), 0), Err(ErrorCode::STD_CAPBAD));
        assert_eq!(table.remove(owner.object), Some(10));
        assert_eq!(table.get(&request(&owner), 0), Err(ErrorCode::STD_CAPBAD));
        assert!(table.is_empty());
    }

    #[test]
    fn numbers_are_fresh_fixed_ones_can_be_claimed_once() {
        let mut rng = SeededGenerator::new(3);
        let mut table = ObjectTable::new(PORT);
        let zero = table.insert_at(0, &mut rng, ()).unwrap();
        assert_eq!(zero.object, 0);
        assert_eq!(table.insert_at(0, &mut rng, ()), Err(ErrorCode::STD_EXISTS));
        assert_eq!(
            table.insert_at(MAX_OBJECT + 1, &mut rng, ()),
            Err(ErrorCode::STD_ARGBAD)
        );
        let a = table.insert(&mut rng, ()).unwrap();
        let b = table.insert(&mut rng, ()).unwrap();
        assert_eq!((a.object, b.object), (1, 2));
        assert_ne!(a.check, b.check);
        assert_eq!(
            table.get_mut(&request(&a), 0).map(|(object, _)| object),
            Ok(1)
        );
        assert_eq!(table.iter().count(), 3);
    }
}
