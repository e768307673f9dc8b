//! Dates and times in JSON, byte for byte what chrono's own `Serialize`
//! writes: times as RFC 3339 in UTC with `Z` and the shortest of none, 3,
//! 6 or 9 fraction digits that is exact (`2026-12-02T15:29:33.191086Z`),
//! dates as `YYYY-MM-DD`.
//!
//! chrono's implementations hand serde a `Display` that writes one
//! character at a time, and serde_json escapes each piece separately:
//! about 2 000 instructions a timestamp, a seventh of a profile's REST
//! answer (28 timestamps). Here the digits go into a buffer on the stack
//! and serde writes one plain string, about a twentieth of that. Years
//! outside 0 to 9999 and leap seconds take chrono's own formatting. The
//! models name these functions with `#[serde(serialize_with = ...)]`;
//! reading keeps chrono's `Deserialize`.

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Timelike, Utc};
use serde::Serializer;

/// Writes `time` as chrono's `Serialize` does.
pub(crate) fn rfc3339<S: Serializer>(
    time: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut text = Text::default();
    if text.time(time).is_some() {
        serializer.serialize_str(text.as_str())
    } else {
        serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

/// [`rfc3339`] for an optional time: `null` when absent.
pub(crate) fn opt_rfc3339<S: Serializer>(
    time: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => rfc3339(time, serializer),
        None => serializer.serialize_none(),
    }
}

/// Writes an optional date as chrono's `Serialize` does: `null` when
/// absent.
pub(crate) fn opt_date<S: Serializer>(
    date: &Option<NaiveDate>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let Some(date) = date else {
        return serializer.serialize_none();
    };
    let mut text = Text::default();
    if text.date(*date).is_some() {
        serializer.serialize_str(text.as_str())
    } else {
        serializer.serialize_str(&date.to_string())
    }
}

/// A date as stored (`YYYY-MM-DD`, what [`opt_date`] writes); other
/// spellings chrono reads go through chrono's parser.
#[cfg(feature = "sqlite")]
pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    match text.as_bytes() {
        [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] => {
            let number = |digits: &[u8]| {
                digits.iter().try_fold(0u32, |value, digit| {
                    digit
                        .is_ascii_digit()
                        .then(|| value * 10 + u32::from(digit - b'0'))
                })
            };
            let year = i32::try_from(number(&[*y0, *y1, *y2, *y3])?).ok()?;
            NaiveDate::from_ymd_opt(year, number(&[*m0, *m1])?, number(&[*d0, *d1])?)
        }
        _ => text.parse().ok(),
    }
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, the longest text written here.
const MAX_LEN: usize = 30;

/// Text on the stack, written digit by digit.
struct Text {
    bytes: [u8; MAX_LEN],
    len: usize,
}

impl Default for Text {
    fn default() -> Self {
        Text {
            bytes: [0; MAX_LEN],
            len: 0,
        }
    }
}

impl Text {
    /// `date`, or `None` (nothing written) for a year outside 0 to 9999,
    /// which chrono writes with a sign.
    fn date(&mut self, date: NaiveDate) -> Option<()> {
        let year = u32::try_from(date.year())
            .ok()
            .filter(|year| *year <= 9999)?;
        self.number(year, 4);
        self.byte(b'-');
        self.number(date.month(), 2);
        self.byte(b'-');
        self.number(date.day(), 2);
        Some(())
    }

    /// `time`, or `None` for what chrono writes differently: a year
    /// outside 0 to 9999, a leap second.
    fn time(&mut self, time: &DateTime<Utc>) -> Option<()> {
        // Once: each accessor of a `DateTime` would add the offset again.
        let time = time.naive_utc();
        let nanos = time.nanosecond();
        if nanos >= 1_000_000_000 {
            return None;
        }
        self.date(time.date())?;
        self.byte(b'T');
        self.number(time.hour(), 2);
        self.byte(b':');
        self.number(time.minute(), 2);
        self.byte(b':');
        self.number(time.second(), 2);
        // The shortest exact fraction among none, milli, micro and nano.
        let (fraction, digits) = match nanos {
            0 => (0, 0),
            _ if nanos % 1_000_000 == 0 => (nanos / 1_000_000, 3),
            _ if nanos % 1_000 == 0 => (nanos / 1_000, 6),
            _ => (nanos, 9),
        };
        if digits > 0 {
            self.byte(b'.');
            self.number(fraction, digits);
        }
        self.byte(b'Z');
        Some(())
    }

    fn byte(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    /// `value`'s last `digits` decimal digits, zero-padded.
    fn number(&mut self, mut value: u32, digits: usize) {
        let end = self.len + digits;
        for at in (self.len..end).rev() {
            // `% 10` leaves one digit: the cast cannot truncate.
            self.bytes[at] = b'0' + (value % 10) as u8;
            value /= 10;
        }
        self.len = end;
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};
    use proptest::prelude::*;
    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    struct Ours {
        #[serde(serialize_with = "rfc3339")]
        time: DateTime<Utc>,
        #[serde(serialize_with = "opt_rfc3339")]
        maybe: Option<DateTime<Utc>>,
        #[serde(serialize_with = "opt_date")]
        date: Option<NaiveDate>,
    }

    #[derive(Serialize)]
    struct Chronos {
        time: DateTime<Utc>,
        maybe: Option<DateTime<Utc>>,
        date: Option<NaiveDate>,
    }

    /// Ours and chrono's JSON, with the time's date as the date when
    /// `maybe` is given.
    fn both(time: DateTime<Utc>, maybe: Option<DateTime<Utc>>) -> (String, String) {
        let date = maybe.map(|time| time.date_naive());
        (
            serde_json::to_string(&Ours { time, maybe, date }).unwrap(),
            serde_json::to_string(&Chronos { time, maybe, date }).unwrap(),
        )
    }

    #[test]
    fn writes_what_chrono_writes_at_every_precision() {
        let second = Utc.with_ymd_and_hms(2026, 12, 2, 15, 29, 33).unwrap();
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap()
            .and_utc();
        let far = Utc.with_ymd_and_hms(12_345, 1, 1, 0, 0, 0).unwrap();
        let before_zero = Utc.with_ymd_and_hms(-1, 6, 1, 0, 0, 0).unwrap();
        for nanos in [0, 191_000_000, 191_086_000, 191_086_123] {
            let time = second + chrono::Duration::nanoseconds(nanos);
            let (ours, chronos) = both(time, Some(time));
            assert_eq!(ours, chronos);
        }
        for time in [leap, far, before_zero] {
            let (ours, chronos) = both(time, None);
            assert_eq!(ours, chronos);
        }
        for time in [far, before_zero] {
            let (ours, chronos) = both(time, Some(time));
            assert_eq!(ours, chronos);
        }
        assert_eq!(
            both(second, None).0,
            r#"{"time":"2026-12-02T15:29:33Z","maybe":null,"date":null}"#
        );
    }

    #[test]
    #[cfg(feature = "sqlite")]
    fn stored_dates_parse_as_chrono_parses_them() {
        for text in [
            "2020-02-29",
            "0000-01-01",
            "9999-12-31",
            "2021-02-29",
            "2020-13-01",
            "2020-00-10",
            "2020-1-01",
            "20x0-01-01",
            "+12345-01-01",
            "-0001-06-01",
            "",
            "2020-01-01 ",
        ] {
            assert_eq!(parse_date(text), text.parse::<NaiveDate>().ok(), "{text:?}");
        }
    }

    /// Years 0 to 9999 in microseconds since the epoch, the range this
    /// module formats itself.
    const MICROS_0_TO_9999: std::ops::Range<i64> = -62_167_219_200_000_000..253_402_300_800_000_000;

    proptest! {
        #[test]
        fn any_stored_time_reads_the_same(
            micros in prop_oneof![MICROS_0_TO_9999, any::<i64>()],
            nanos in prop_oneof![0u32..1_000_000_000, Just(0), Just(5_000_000)],
        ) {
            if let Some(time) = DateTime::from_timestamp_micros(micros) {
                let (ours, chronos) = both(time, Some(time));
                prop_assert_eq!(ours, chronos);
            }
            if let Some(time) = DateTime::from_timestamp(micros.div_euclid(1_000_000), nanos) {
                let (ours, chronos) = both(time, None);
                prop_assert_eq!(ours, chronos);
                #[cfg(feature = "sqlite")]
                {
                    let date = time.date_naive();
                    prop_assert_eq!(parse_date(&date.to_string()), Some(date));
                }
            }
        }
    }
}
