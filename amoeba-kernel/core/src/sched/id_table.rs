//! Threads and processes by id, found by one index and one compare: the hot paths of a context
//! switch look threads and processes up a dozen times, which a `BTreeMap` made the largest cost.
//!
//! Ids only grow (a thread id or pid is never reused, so a stale id finds nothing); an id lives
//! in slot `id % capacity`. A new id is the next one whose slot is free, so ids may skip some
//! numbers; the table doubles before it is half full, and doubling keeps every live id in a slot
//! of its own (ids that differ modulo N also differ modulo 2N).

use alloc::vec::Vec;
use core::ops::Index;

const FIRST_CAPACITY: usize = 16;

pub struct IdTable<T> {
    slots: Vec<Option<(u64, T)>>,
    next_id: u64,
    len: usize,
}

impl<T> IdTable<T> {
    /// An empty table whose first id will be `first_id`.
    pub fn new(first_id: u64) -> Self {
        let mut slots = Vec::new();
        slots.resize_with(FIRST_CAPACITY, || None);
        Self {
            slots,
            next_id: first_id,
            len: 0,
        }
    }

    fn slot(&self, id: u64) -> usize {
        (id % self.slots.len() as u64) as usize
    }

    /// The id the next [`insert`](Self::insert) should use (growing the table if needed).
    pub fn vacant_id(&mut self) -> u64 {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        loop {
            let id = self.next_id;
            self.next_id += 1;
            if self.slots[self.slot(id)].is_none() {
                return id;
            }
        }
    }

    fn grow(&mut self) {
        let mut bigger = Vec::new();
        bigger.resize_with(self.slots.len() * 2, || None);
        let old = core::mem::replace(&mut self.slots, bigger);
        for (id, value) in old.into_iter().flatten() {
            let slot = self.slot(id);
            self.slots[slot] = Some((id, value));
        }
    }

    /// Stores `value` under `id`, which [`vacant_id`](Self::vacant_id) just gave.
    pub fn insert(&mut self, id: u64, value: T) {
        let slot = self.slot(id);
        match &self.slots[slot] {
            None => {
                self.slots[slot] = Some((id, value));
                self.len += 1;
            }
            Some((other, _)) => panic!("id {id} given for slot {slot}, which id {other} holds"),
        }
    }

    pub fn get(&self, id: &u64) -> Option<&T> {
        match &self.slots[self.slot(*id)] {
            Some((held, value)) if held == id => Some(value),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, id: &u64) -> Option<&mut T> {
        let slot = self.slot(*id);
        match &mut self.slots[slot] {
            Some((held, value)) if held == id => Some(value),
            _ => None,
        }
    }

    pub fn contains_key(&self, id: &u64) -> bool {
        self.get(id).is_some()
    }

    pub fn remove(&mut self, id: &u64) -> Option<T> {
        let slot = self.slot(*id);
        if !matches!(&self.slots[slot], Some((held, _)) if held == id) {
            return None;
        }
        self.len -= 1;
        self.slots[slot].take().map(|(_, value)| value)
    }

    /// Every value, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten().map(|(_, value)| value)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T> Index<&u64> for IdTable<T> {
    type Output = T;

    fn index(&self, id: &u64) -> &T {
        match self.get(id) {
            Some(value) => value,
            None => panic!("no entry for id {id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes a fresh id and stores `value` under it, as the scheduler does.
    fn add<T>(table: &mut IdTable<T>, value: T) -> u64 {
        let id = table.vacant_id();
        table.insert(id, value);
        id
    }

    #[test]
    fn ids_start_at_the_first_id_and_count_up() {
        let mut table = IdTable::new(1);
        let ids: Vec<u64> = (0..5).map(|n| add(&mut table, n)).collect();
        assert_eq!(ids, [1, 2, 3, 4, 5]);
        assert_eq!(table.len(), 5);
        assert_eq!(table[&3], 2);
    }

    #[test]
    fn get_get_mut_contains_and_remove_find_only_their_id() {
        let mut table = IdTable::new(0);
        let a = add(&mut table, "a");
        let b = add(&mut table, "b");
        assert_eq!(table.get(&a), Some(&"a"));
        assert!(table.contains_key(&b));
        assert!(!table.contains_key(&99));
        if let Some(value) = table.get_mut(&b) {
            *value = "B";
        }
        assert_eq!(table.remove(&b), Some("B"));
        assert_eq!(table.remove(&b), None);
        assert!(!table.contains_key(&b));
        assert_eq!(table.len(), 1);
        assert!(!table.is_empty());
    }

    #[test]
    fn a_removed_id_is_never_given_again() {
        let mut table = IdTable::new(0);
        let first = add(&mut table, ());
        table.remove(&first);
        let later: Vec<u64> = (0..40).map(|_| add(&mut table, ())).collect();
        assert!(!later.contains(&first));
        assert!(later.windows(2).all(|pair| pair[0] < pair[1]));
    }

    /// Takes fresh ids `count` times, dropping each entry at once (the table stays small).
    fn churn(table: &mut IdTable<&'static str>, count: usize) -> Vec<u64> {
        (0..count)
            .map(|_| {
                let id = add(table, "passing");
                table.remove(&id);
                id
            })
            .collect()
    }

    #[test]
    fn a_stale_id_finds_nothing_when_its_slot_holds_a_newer_one() {
        let mut table = IdTable::new(0);
        let stale = add(&mut table, "old");
        table.remove(&stale);
        churn(&mut table, 15);
        // Sixteen slots: id 16 lives where id 0 did.
        let fresh = add(&mut table, "new");
        assert_eq!(fresh, 16);
        assert_eq!(table.get(&stale), None);
        assert_eq!(table.get(&fresh), Some(&"new"));
    }

    #[test]
    fn a_new_id_skips_numbers_whose_slot_a_live_id_holds() {
        let mut table = IdTable::new(0);
        let kept = add(&mut table, "kept");
        let passed = churn(&mut table, 16);
        // Id 16 would share slot 0 with the live id 0.
        assert_eq!(passed, (1..=15).chain([17]).collect::<Vec<u64>>());
        assert_eq!(table.get(&kept), Some(&"kept"));
        assert_eq!(table.get(&16), None);
    }

    #[test]
    fn growing_keeps_every_live_entry_under_its_id() {
        let mut table = IdTable::new(5);
        let ids: Vec<u64> = (0..200u64).map(|n| add(&mut table, n * 10)).collect();
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(table.get(id), Some(&(n as u64 * 10)));
        }
        assert_eq!(table.len(), 200);
        let mut values: Vec<u64> = table.values().copied().collect();
        values.sort_unstable();
        assert_eq!(values, (0..200u64).map(|n| n * 10).collect::<Vec<_>>());
    }

    #[test]
    #[should_panic(expected = "no entry for id 3")]
    fn indexing_a_missing_id_panics() {
        let table: IdTable<u8> = IdTable::new(0);
        let _ = table[&3];
    }

    #[test]
    #[should_panic(expected = "which id 0 holds")]
    fn inserting_into_a_held_slot_panics() {
        let mut table = IdTable::new(0);
        add(&mut table, 'a');
        table.insert(16, 'b');
    }
}
