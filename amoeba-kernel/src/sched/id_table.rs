//! Threads and processes by id, found by one index and one compare: the hot paths of a context
//! switch look threads and processes up a dozen times, which a `BTreeMap` made the largest cost.
//!
//! Ids still only grow (a thread id or pid is never reused, so a stale id finds nothing); an id
//! lives in slot `id % capacity`. A new id is the next one whose slot is free, so ids may skip
//! some numbers; the table doubles before it is half full, and doubling keeps every live id in
//! a slot of its own (ids that differ modulo N also differ modulo 2N).

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

    #[cfg(any(feature = "server-sys", feature = "server-proc"))]
    pub fn len(&self) -> usize {
        self.len
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
