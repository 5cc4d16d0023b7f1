//! The VX-Kernel's two-level priorities: a process priority (PPRIO) and a thread priority
//! (TPRIO), each HIGH, NORM or LOW. The process priority weighs more: every thread of a HIGH
//! process comes before any thread of a NORM process; within one process priority the thread
//! priority decides.

/// One of the three levels, used for both halves of a [`Priority`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Level {
    High = 0,
    #[default]
    Norm = 1,
    Low = 2,
}

impl Level {
    pub const NAMES: &'static str = "high, norm, low";

    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "high" => Self::High,
            "norm" => Self::Norm,
            "low" => Self::Low,
            _ => return None,
        })
    }

    pub fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            0 => Self::High,
            1 => Self::Norm,
            2 => Self::Low,
            _ => return None,
        })
    }

    pub const fn name(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Norm => "norm",
            Self::Low => "low",
        }
    }
}

/// A thread's effective priority.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Priority {
    pub process: Level,
    pub thread: Level,
}

impl Priority {
    /// Number of distinct ranks.
    pub const RANKS: usize = 9;

    /// 0 is the most urgent; the process level is the major key.
    pub const fn rank(self) -> usize {
        self.process as usize * 3 + self.thread as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_priority_weighs_more_than_thread_priority() {
        let high_low = Priority {
            process: Level::High,
            thread: Level::Low,
        };
        let norm_high = Priority {
            process: Level::Norm,
            thread: Level::High,
        };
        assert!(high_low.rank() < norm_high.rank());
        let ranks: Vec<usize> = [Level::High, Level::Norm, Level::Low]
            .into_iter()
            .flat_map(|p| {
                [Level::High, Level::Norm, Level::Low].map(move |t| {
                    Priority {
                        process: p,
                        thread: t,
                    }
                    .rank()
                })
            })
            .collect();
        assert_eq!(ranks, (0..Priority::RANKS).collect::<Vec<_>>());
    }

    #[test]
    fn levels_parse_and_name_back() {
        for level in [Level::High, Level::Norm, Level::Low] {
            assert_eq!(Level::parse(level.name()), Some(level));
            assert_eq!(Level::from_u8(level as u8), Some(level));
        }
        assert_eq!(Level::parse("urgent"), None);
        assert_eq!(Level::from_u8(3), None);
    }
}
