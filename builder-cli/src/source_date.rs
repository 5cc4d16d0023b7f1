//! The one timestamp a reproducible output may carry: `SOURCE_DATE_EPOCH` when the
//! environment sets it (the reproducible-builds.org convention), else a fixed date, so
//! file dates inside the ISO, the FAT volumes and the OCI layout never depend on when it was
//! built.

use libamoeba::time::CivilTime;

/// 2000-01-01 00:00:00 UTC: used when `SOURCE_DATE_EPOCH` is unset or unusable.
pub const DEFAULT_EPOCH: u64 = 946_684_800;

pub fn source_date_epoch() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_EPOCH)
}

/// Calendar date and time (UTC) of a Unix time, formatted for the ISO tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime(CivilTime);

impl DateTime {
    /// Times past the year 9999 are clamped to the default epoch (they are not dates a
    /// reproducible build would ask for).
    pub fn from_unix(seconds: u64) -> Self {
        let fallback = CivilTime::from_unix_seconds(DEFAULT_EPOCH);
        match CivilTime::from_unix_seconds(seconds).or(fallback) {
            Some(time) => Self(time),
            None => unreachable!("the default epoch is a valid date"),
        }
    }

    /// The calendar fields (for FAT's dates and the OCI `created` date).
    pub fn civil(&self) -> CivilTime {
        self.0
    }

    /// `YYYY-MM-DDThh:mm:ssZ`: RFC 3339, as OCI's `created` fields take it.
    pub fn rfc3339(&self) -> String {
        let t = self.0;
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        )
    }

    /// `YYYYMMDDhhmmss00`: ISO 9660 volume date, as xorriso's `--modification-date` takes it.
    pub fn iso9660(&self) -> String {
        let t = self.0;
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}00",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        )
    }

    /// `YYYY-MM-DD-hh-mm-ss-00`: the same date as GRUB's iso9660 driver shows a volume UUID.
    pub fn grub_uuid(&self) -> String {
        let t = self.0;
        format!(
            "{:04}-{:02}-{:02}-{:02}-{:02}-{:02}-00",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        )
    }
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
        assert_eq!(
            DateTime::from_unix(1_709_210_096).rfc3339(),
            "2024-02-29T12:34:56Z"
        );
    }
}
