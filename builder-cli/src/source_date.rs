//! The one timestamp a reproducible output may carry: `SOURCE_DATE_EPOCH` when the
//! environment sets it (the reproducible-builds.org convention), else a fixed date, so
//! file dates inside the ISO never depend on when it was built.

/// 2000-01-01 00:00:00 UTC: used when `SOURCE_DATE_EPOCH` is unset or unusable.
pub const DEFAULT_EPOCH: u64 = 946_684_800;

pub fn source_date_epoch() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_EPOCH)
}

/// Calendar date and time (UTC) of a Unix time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl DateTime {
    pub fn from_unix(seconds: u64) -> Self {
        let days = (seconds / 86_400) as i64;
        let rem = (seconds % 86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Self {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
        }
    }

    /// `YYYYMMDDhhmmss00`: ISO 9660 volume date, as xorriso's `--modification-date` takes it.
    pub fn iso9660(&self) -> String {
        let Self {
            year,
            month,
            day,
            hour,
            minute,
            second,
        } = *self;
        format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}00")
    }

    /// `YYYY-MM-DD-hh-mm-ss-00`: the same date as GRUB's iso9660 driver shows a volume UUID.
    pub fn grub_uuid(&self) -> String {
        let Self {
            year,
            month,
            day,
            hour,
            minute,
            second,
        } = *self;
        format!("{year:04}-{month:02}-{day:02}-{hour:02}-{minute:02}-{second:02}-00")
    }
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(DateTime::from_unix(0).iso9660(), "1970010100000000");
        assert_eq!(
            DateTime::from_unix(DEFAULT_EPOCH).grub_uuid(),
            "2000-01-01-00-00-00-00"
        );
        // 2024-02-29 12:34:56 UTC: a leap day.
        assert_eq!(
            DateTime::from_unix(1_709_210_096).iso9660(),
            "2024022912345600"
        );
        assert_eq!(
            DateTime::from_unix(1_709_210_096).grub_uuid(),
            "2024-02-29-12-34-56-00"
        );
    }
}
