//! Capability sets (5.3's `capset`, `buf_put_capset`): the capabilities of one object
//! replicated on several servers, as a directory entry holds them.
//!
//! In a buffer: int16 initial, int16 final, then `final` entries of (capability, int16
//! current flag), at most [`MAX_CAPSET`] entries (reference, "Conventions in buffers").

use alloc::vec::Vec;

use super::buffer::{Full, Reader, Writer};
use crate::capability::Capability;

/// The most capabilities in a set (5.3's MAXCAPSET).
pub const MAX_CAPSET: usize = 8;

/// One capability of a set, and whether it is current (an up-to-date replica).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    pub cap: Capability,
    pub current: bool,
}

/// A capability set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CapSet {
    /// 5.3's `cs_initial`: how many entries the set was made with; carried, not interpreted.
    pub initial: i16,
    pub suite: Vec<Suite>,
}

impl CapSet {
    /// The set of one current capability.
    pub fn singleton(cap: Capability) -> Self {
        Self {
            initial: 1,
            suite: alloc::vec![Suite { cap, current: true }],
        }
    }

    /// The first current capability (5.3's `cs_goodcap` without its RPC probe).
    pub fn first(&self) -> Option<Capability> {
        self.suite.iter().find(|s| s.current).map(|s| s.cap)
    }

    /// Whether `cap` is one of the set's current capabilities.
    pub fn holds(&self, cap: &Capability) -> bool {
        self.suite.iter().any(|s| s.current && s.cap == *cap)
    }

    pub fn write(&self, writer: &mut Writer) -> Result<(), Full> {
        writer.i16(self.initial)?;
        writer.i16(self.suite.len() as i16)?;
        for suite in &self.suite {
            writer.capability(&suite.cap)?;
            writer.i16(i16::from(suite.current))?;
        }
        Ok(())
    }

    /// A set from `reader`; `None` if it is cut short or holds more than [`MAX_CAPSET`]
    /// (5.3's reader checks only that; `initial` is carried as it came).
    pub fn read(reader: &mut Reader<'_>) -> Option<Self> {
        let initial = reader.i16()?;
        let count = usize::try_from(reader.i16()?).ok()?;
        if count > MAX_CAPSET {
            return None;
        }
        let mut suite = Vec::with_capacity(count);
        for _ in 0..count {
            let cap = reader.capability()?;
            let current = reader.i16()? != 0;
            suite.push(Suite { cap, current });
        }
        Some(Self { initial, suite })
    }

    /// Its bytes in a buffer.
    pub fn encoded_len(&self) -> usize {
        4 + self.suite.len() * 18
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Port;

    fn cap(n: u8) -> Capability {
        Capability::new(Port([n; 6]), u32::from(n), 0xFF, [n; 6]).unwrap()
    }

    #[test]
    fn a_set_round_trips_in_5_3_layout() {
        let set = CapSet {
            initial: 2,
            suite: alloc::vec![
                Suite {
                    cap: cap(1),
                    current: true
                },
                Suite {
                    cap: cap(2),
                    current: false
                },
            ],
        };
        let mut writer = Writer::new(100);
        set.write(&mut writer).unwrap();
        let bytes = writer.into_bytes();
        assert_eq!(bytes.len(), set.encoded_len());
        assert_eq!(&bytes[..4], &[2, 0, 2, 0]);
        assert_eq!(&bytes[4..20], &cap(1).to_bytes());
        assert_eq!(&bytes[20..22], &[1, 0]);
        assert_eq!(CapSet::read(&mut Reader::new(&bytes)), Some(set));
    }

    #[test]
    fn sets_out_of_bounds_are_refused() {
        for (initial, count) in [(0i16, 9i16), (0, -1)] {
            let mut writer = Writer::new(400);
            writer.i16(initial).unwrap();
            writer.i16(count).unwrap();
            for _ in 0..count.max(0) {
                writer.capability(&cap(1)).unwrap();
                writer.i16(1).unwrap();
            }
            let bytes = writer.into_bytes();
            assert_eq!(
                CapSet::read(&mut Reader::new(&bytes)),
                None,
                "{initial} {count}"
            );
        }
        assert_eq!(CapSet::read(&mut Reader::new(&[1, 0, 1, 0, 9])), None);
    }

    #[test]
    fn the_first_current_capability_is_the_one_used() {
        let set = CapSet {
            initial: 2,
            suite: alloc::vec![
                Suite {
                    cap: cap(1),
                    current: false
                },
                Suite {
                    cap: cap(2),
                    current: true
                },
            ],
        };
        assert_eq!(set.first(), Some(cap(2)));
        assert!(set.holds(&cap(2)) && !set.holds(&cap(1)));
    }
}
