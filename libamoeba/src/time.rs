//! Calendar arithmetic for clocks that report a civil date (the CMOS RTC, later the TOD server).

/// A UTC date and time as a real-time clock reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CivilTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl CivilTime {
    /// Whether every field is in range (a clock read mid-update or never set can give nonsense).
    pub fn is_valid(&self) -> bool {
        (1970..=9999).contains(&self.year)
            && (1..=12).contains(&self.month)
            && (1..=days_in_month(self.year, self.month)).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
    }

    /// Seconds since 1970-01-01 00:00:00 UTC, or `None` for an invalid time.
    pub fn unix_seconds(&self) -> Option<u64> {
        if !self.is_valid() {
            return None;
        }
        let days = days_from_civil(i64::from(self.year), self.month, self.day);
        let seconds = days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second);
        u64::try_from(seconds).ok()
    }
}

impl CivilTime {
    /// The UTC date and time of a Unix time (years beyond 9999 are refused).
    pub fn from_unix_seconds(seconds: u64) -> Option<Self> {
        let days = i64::try_from(seconds / 86_400).ok()?;
        let in_day = seconds % 86_400;
        let (year, month, day) = civil_from_days(days);
        let time = CivilTime {
            year: u16::try_from(year).ok()?,
            month,
            day,
            hour: (in_day / 3600) as u8,
            minute: (in_day / 60 % 60) as u8,
            second: (in_day % 60) as u8,
        };
        time.is_valid().then_some(time)
    }
}

impl core::fmt::Display for CivilTime {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given date (Howard Hinnant's `days_from_civil` algorithm).
fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Date of a day counted from 1970-01-01 (Howard Hinnant's `civil_from_days` algorithm).
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u8;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u8;
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> CivilTime {
        CivilTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        }
    }

    #[test]
    fn known_unix_times() {
        assert_eq!(at(1970, 1, 1, 0, 0, 0).unix_seconds(), Some(0));
        assert_eq!(at(2000, 3, 1, 0, 0, 0).unix_seconds(), Some(951_868_800));
        assert_eq!(
            at(2026, 11, 22, 3, 4, 5).unix_seconds(),
            Some(1_795_316_645)
        );
    }

    #[test]
    fn unix_times_convert_back_to_dates() {
        for time in [
            at(1970, 1, 1, 0, 0, 0),
            at(2000, 2, 29, 12, 30, 1),
            at(2026, 11, 22, 3, 4, 5),
        ] {
            let seconds = time.unix_seconds().expect("valid");
            assert_eq!(CivilTime::from_unix_seconds(seconds), Some(time));
        }
        assert_eq!(CivilTime::from_unix_seconds(u64::MAX), None);
    }

    #[test]
    fn nonsense_from_a_clock_is_refused() {
        assert_eq!(at(2023, 2, 29, 0, 0, 0).unix_seconds(), None);
        assert_eq!(at(2024, 13, 1, 0, 0, 0).unix_seconds(), None);
        assert_eq!(at(2024, 1, 1, 24, 0, 0).unix_seconds(), None);
        assert!(at(2024, 2, 29, 23, 59, 59).is_valid());
    }

    #[test]
    fn displays_as_iso_like_text() {
        assert_eq!(
            at(2026, 1, 2, 3, 4, 5).to_string(),
            "2026-01-02 03:04:05 UTC"
        );
    }
}
