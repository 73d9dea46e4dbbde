//! Injected time: a [`Clock`] trait, and the strict `xs:dateTime` parser SAML needs.
//!
//! Nothing in saml-sp reads the system clock except [`SystemClock`], which an application passes
//! in explicitly.
//!
//! ```
//! use saml_sp::time::{parse_instant, Clock, FixedClock};
//!
//! let t = parse_instant("2024-05-01T10:00:00.123Z", "IssueInstant")?;
//! assert_eq!(FixedClock(t).now(), t);
//! assert!(parse_instant("2024-05-01T10:00:00+02:00", "IssueInstant").is_err());
//! # Ok::<(), saml_sp::Error>(())
//! ```

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use crate::error::Error;

/// A source of the current time.
pub trait Clock: std::fmt::Debug + Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock pinned to one instant (tests, replaying captured responses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses an `xs:dateTime` in UTC as SAML Core 1.3.3 requires: `YYYY-MM-DDThh:mm:ss[.f]Z`, with
/// one to nine fractional digits, no offset other than `Z`, no leap second, a four-digit year.
///
/// # Errors
/// [`Error::InvalidTime`] naming `what` and the value.
pub fn parse_instant(value: &str, what: &'static str) -> Result<DateTime<Utc>, Error> {
    let bad = || Error::InvalidTime {
        what,
        found: value.chars().take(64).collect(),
    };
    let body = value.strip_suffix('Z').ok_or_else(bad)?;
    let (date, time) = body.split_once('T').ok_or_else(bad)?;
    let mut d = date.split('-');
    let (y, m, day) = (
        d.next().ok_or_else(bad)?,
        d.next().ok_or_else(bad)?,
        d.next().ok_or_else(bad)?,
    );
    if d.next().is_some() || y.len() != 4 || m.len() != 2 || day.len() != 2 {
        return Err(bad());
    }
    let (hms, frac) = match time.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (time, None),
    };
    let mut t = hms.split(':');
    let (h, mi, s) = (
        t.next().ok_or_else(bad)?,
        t.next().ok_or_else(bad)?,
        t.next().ok_or_else(bad)?,
    );
    if t.next().is_some() || h.len() != 2 || mi.len() != 2 || s.len() != 2 {
        return Err(bad());
    }
    let nanos = match frac {
        None => 0,
        Some(f) if (1..=9).contains(&f.len()) => {
            let n = digits(f).ok_or_else(bad)?;
            n * 10u32.pow(9 - u32::try_from(f.len()).map_err(|_| bad())?)
        }
        Some(_) => return Err(bad()),
    };
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(digits(y).ok_or_else(bad)?).map_err(|_| bad())?,
        digits(m).ok_or_else(bad)?,
        digits(day).ok_or_else(bad)?,
    )
    .ok_or_else(bad)?;
    let (h, mi, s) = (
        digits(h).ok_or_else(bad)?,
        digits(mi).ok_or_else(bad)?,
        digits(s).ok_or_else(bad)?,
    );
    if s > 59 {
        return Err(bad());
    }
    let time = NaiveTime::from_hms_nano_opt(h, mi, s, nanos).ok_or_else(bad)?;
    Ok(date.and_time(time).and_utc())
}

/// Formats an instant as SAML writes it (`2024-05-01T10:00:00Z`, milliseconds when non-zero).
pub fn format_instant(t: DateTime<Utc>) -> String {
    use chrono::{Datelike as _, Timelike as _};
    // Every validation reports two certificates' dates: written digit by digit rather than
    // through chrono's format-string interpreter. Years outside 0..=9999 keep chrono's rendering.
    if let Ok(year @ 0..=9999) = u32::try_from(t.year())
        && t.nanosecond() < 1_000_000_000
    {
        fn push(out: &mut String, n: u32, width: u32) {
            for k in (0..width).rev() {
                out.push(char::from_digit(n / 10u32.pow(k) % 10, 10).unwrap_or('0'));
            }
        }
        let mut out = String::with_capacity(24);
        push(&mut out, year, 4);
        for (sep, n) in [
            ('-', t.month()),
            ('-', t.day()),
            ('T', t.hour()),
            (':', t.minute()),
            (':', t.second()),
        ] {
            out.push(sep);
            push(&mut out, n, 2);
        }
        let millis = t.timestamp_subsec_millis();
        if millis != 0 {
            out.push('.');
            push(&mut out, millis, 3);
        }
        out.push('Z');
        return out;
    }
    if t.timestamp_subsec_millis() == 0 {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }
}

/// Parses a non-negative `xs:duration` (`P1D`, `PT6H`, `P0Y0M1DT2H30M`, `PT0.5S`) as metadata's
/// `cacheDuration` uses it. Years count as 365 days and months as 30 (the value is a caching hint);
/// each number has at most 9 digits. `None` for anything else, negative durations included.
pub fn parse_duration(value: &str) -> Option<chrono::Duration> {
    let rest = value.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (rest, None),
    };
    if date.is_empty() && time.is_none() {
        return None;
    }
    let mut total_ms: i64 = 0;
    let mut add = |part: &str, units: &[(char, i64)]| -> Option<()> {
        let mut num = String::new();
        let mut next_unit = 0usize;
        for c in part.chars() {
            if c.is_ascii_digit() || (c == '.' && units.last().map(|u| u.0) == Some('S')) {
                num.push(c);
                continue;
            }
            let idx = units.iter().position(|u| u.0 == c)?;
            if idx < next_unit || num.is_empty() {
                return None;
            }
            next_unit = idx + 1;
            let ms_per = units.get(idx)?.1;
            let (whole, frac) = num.split_once('.').unwrap_or((num.as_str(), ""));
            if whole.is_empty()
                || whole.len() > 9
                || frac.len() > 9
                || (c != 'S' && !frac.is_empty())
            {
                return None;
            }
            let whole: i64 = whole.parse().ok()?;
            let frac_ms: i64 = if frac.is_empty() {
                0
            } else {
                format!("{frac:0<3}").get(..3)?.parse().ok()?
            };
            total_ms = total_ms.checked_add(whole.checked_mul(ms_per)?.checked_add(frac_ms)?)?;
            num.clear();
        }
        num.is_empty().then_some(())
    };
    const DAY: i64 = 86_400_000;
    add(date, &[('Y', 365 * DAY), ('M', 30 * DAY), ('D', DAY)])?;
    if let Some(t) = time {
        add(t, &[('H', 3_600_000), ('M', 60_000), ('S', 1_000)])?;
    }
    chrono::Duration::try_milliseconds(total_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let d = |s: &str| parse_duration(s).map(|d| d.num_milliseconds());
        assert_eq!(d("PT6H"), Some(6 * 3_600_000));
        assert_eq!(d("P1D"), Some(86_400_000));
        assert_eq!(d("P0Y0M1DT2H30M"), Some(86_400_000 + 9_000_000));
        assert_eq!(d("PT0.5S"), Some(500));
        assert_eq!(d("P1Y"), Some(365 * 86_400_000));
        for bad in [
            "",
            "P",
            "PT",
            "-P1D",
            "P1H",
            "PT1D",
            "P1DT",
            "P1.5D",
            "PT1M1H",
            "P1234567890D",
            "1D",
            "P D",
        ] {
            assert_eq!(d(bad), None, "{bad}");
        }
    }

    #[test]
    fn accepts_saml_instants() {
        for ok in [
            "2024-02-29T23:59:59Z",
            "2013-08-03T21:54:44.1234567Z",
            "2030-01-01T00:00:00.5Z",
            "0001-01-01T00:00:00Z",
        ] {
            assert!(parse_instant(ok, "t").is_ok(), "{ok}");
        }
        let t = parse_instant("2013-08-03T21:54:44.1234567Z", "t").unwrap();
        assert_eq!(t.timestamp_subsec_nanos(), 123_456_700);
    }

    #[test]
    fn formats_as_chrono_does() {
        use chrono::TimeZone as _;
        let chrono_format = |t: DateTime<Utc>| {
            if t.timestamp_subsec_millis() == 0 {
                t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            } else {
                t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            }
        };
        let mut secs: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
        while secs < 253_402_300_799 {
            for nanos in [0, 1, 999_999, 1_000_000, 123_456_789, 999_999_999] {
                let t = Utc.timestamp_opt(secs, nanos).unwrap();
                assert_eq!(format_instant(t), chrono_format(t), "{secs} {nanos}");
            }
            secs += 86_399 * 397 + 3_599;
        }
        let t = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap();
        assert_eq!(format_instant(t), "9999-12-31T23:59:59Z");
        let t =
            Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap() + chrono::Duration::milliseconds(7);
        assert_eq!(format_instant(t), "2024-05-01T10:00:00.007Z");
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "2030-01-01T00:00:00",
            "2030-01-01T00:00:00+02:00",
            "2030-01-01T00:00:00+14:00",
            "2030-01-01T00:00:00z",
            "2030-01-01T00:00:00.1234567890Z",
            "2030-01-01T00:00:00.Z",
            "2016-12-31T23:59:60Z",
            "2030-01-01T24:00:00Z",
            "10000-01-01T00:00:00Z",
            "-0001-01-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2030-1-01T00:00:00Z",
            "garbage",
            "",
            "2030-01-01T00:00:0aZ",
            "2030-01-01T+0:00:00Z",
        ] {
            let e = parse_instant(bad, "NotOnOrAfter").unwrap_err();
            assert_eq!(e.code(), "invalid_time", "{bad}");
        }
    }

    #[test]
    fn formats() {
        let t = parse_instant("2024-05-01T10:00:00Z", "t").unwrap();
        assert_eq!(format_instant(t), "2024-05-01T10:00:00Z");
    }
}
