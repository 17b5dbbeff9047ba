//! `path.format`: the Joda-Time pattern subset of s3-sink.md §4, compiled at config time (an
//! unknown letter is an error naming its position) and applied to an instant in a zone.
//! Joda's `Y` is the year of era (not java.time's week year); the ISO week year is `x`.

use chrono::{DateTime, Datelike, Offset, TimeZone, Timelike};
use chrono_tz::Tz;
use runtime::date_pattern::{tokenize, PatternToken, DAYS, MONTHS};

/// A compiled `path.format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathFormat {
    tokens: Vec<PatternToken>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("illegal pattern component {letter:?} at position {position} (Joda-Time letters: y Y x M d D w e E H k h K a m s S C G Z, text in single quotes)")]
    Illegal { letter: char, position: usize },
    #[error("unterminated quoted text starting at position {position}")]
    Unterminated { position: usize },
    #[error("{what} is not supported in path.format (position {position}): {hint}")]
    Unsupported { what: String, position: usize, hint: &'static str },
}

const NUMERIC: &str = "yYxMdDwHkhKmsSCe";
const TEXT: &str = "EaG";

impl PathFormat {
    pub fn parse(pattern: &str) -> Result<PathFormat, PatternError> {
        let tokens = tokenize(pattern).map_err(|position| PatternError::Unterminated { position })?;
        for t in &tokens {
            let PatternToken::Field { letter: c, count: n, position } = *t else { continue };
            let zone_hint = "use Z (+0000) or ZZ (+00:00)";
            if c == 'z' {
                return Err(PatternError::Unsupported { what: "a zone name (z)".into(), position, hint: zone_hint });
            }
            if c == 'Z' && n > 2 {
                return Err(PatternError::Unsupported { what: "a zone id (ZZZ)".into(), position, hint: zone_hint });
            }
            if !NUMERIC.contains(c) && !TEXT.contains(c) && c != 'Z' {
                return Err(PatternError::Illegal { letter: c, position });
            }
        }
        Ok(PathFormat { tokens })
    }

    /// Formats the instant (ms since the epoch) in `zone`, English text fields.
    pub fn format(&self, millis: i64, zone: Tz) -> String {
        let t: DateTime<Tz> = zone.timestamp_millis_opt(millis).single().unwrap_or_else(|| {
            zone.from_utc_datetime(&DateTime::from_timestamp_millis(millis).unwrap_or_default().naive_utc())
        });
        let mut out = String::new();
        for token in &self.tokens {
            match token {
                PatternToken::Literal(l) => out.push_str(l),
                PatternToken::Field { letter, count, .. } => field(&mut out, &t, *letter, *count),
            }
        }
        out
    }
}

fn number(out: &mut String, v: i64, width: usize) {
    if v < 0 {
        out.push('-');
    }
    out.push_str(&format!("{:0width$}", v.unsigned_abs(), width = width));
}

fn year(out: &mut String, y: i64, n: usize) {
    if n == 2 {
        number(out, y.rem_euclid(100), 2);
    } else {
        number(out, y, n);
    }
}

fn field(out: &mut String, t: &DateTime<Tz>, c: char, n: usize) {
    match c {
        'y' => year(out, t.year() as i64, n),
        // year of era: the same as the year for AD dates
        'Y' => year(out, if t.year() > 0 { t.year() as i64 } else { 1 - t.year() as i64 }, n),
        'x' => year(out, t.iso_week().year() as i64, n),
        'M' if n >= 4 => out.push_str(MONTHS[t.month0() as usize]),
        'M' if n == 3 => out.push_str(&MONTHS[t.month0() as usize][..3]),
        'M' => number(out, t.month() as i64, n),
        'd' => number(out, t.day() as i64, n),
        'D' => number(out, t.ordinal() as i64, n),
        'w' => number(out, t.iso_week().week() as i64, n),
        'e' => number(out, t.weekday().number_from_monday() as i64, n),
        'E' if n >= 4 => out.push_str(DAYS[t.weekday().num_days_from_monday() as usize]),
        'E' => out.push_str(&DAYS[t.weekday().num_days_from_monday() as usize][..3]),
        'H' => number(out, t.hour() as i64, n),
        'k' => number(out, if t.hour() == 0 { 24 } else { t.hour() as i64 }, n),
        'h' => number(out, if t.hour().is_multiple_of(12) { 12 } else { (t.hour() % 12) as i64 }, n),
        'K' => number(out, (t.hour() % 12) as i64, n),
        'a' => out.push_str(if t.hour() < 12 { "AM" } else { "PM" }),
        'm' => number(out, t.minute() as i64, n),
        's' => number(out, t.second() as i64, n),
        'S' => {
            let millis = format!("{:03}", t.timestamp_subsec_millis());
            let mut digits: String = millis.chars().take(n).collect();
            while digits.len() < n {
                digits.push('0');
            }
            out.push_str(&digits);
        }
        'C' => number(out, (if t.year() > 0 { t.year() } else { 1 - t.year() } / 100) as i64, n),
        'G' => out.push_str(if t.year() > 0 { "AD" } else { "BC" }),
        'Z' => {
            let secs = t.offset().fix().local_minus_utc();
            let sign = if secs < 0 { '-' } else { '+' };
            let (h, m) = (secs.abs() / 3600, secs.abs() % 3600 / 60);
            out.push_str(&if n == 1 { format!("{sign}{h:02}{m:02}") } else { format!("{sign}{h:02}:{m:02}") });
        }
        _ => unreachable!("letters are checked when the pattern is parsed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any `path.format` and any instant: a path or an error, never a panic (issue 12).
        #[test]
        fn any_pattern_any_instant_never_panics(pattern in "\\PC{0,40}", ms in proptest::num::i64::ANY) {
            if let Ok(f) = PathFormat::parse(&pattern) {
                let _ = f.format(ms, chrono_tz::UTC);
            }
        }
    }

    const T: i64 = 1_700_000_000_000; // 2023-11-14T22:13:20Z, a Tuesday

    fn f(pattern: &str, millis: i64, zone: &str) -> String {
        PathFormat::parse(pattern).unwrap().format(millis, zone.parse().unwrap())
    }

    #[test]
    fn every_letter() {
        assert_eq!(f("'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", T, "UTC"), "year=2023/month=11/day=14/hour=22");
        assert_eq!(
            f("yy yyyy xxxx M MMM MMMM d D w e E EEEE", T, "UTC"),
            "23 2023 2023 11 Nov November 14 318 46 2 Tue Tuesday"
        );
        assert_eq!(
            f("H k h K a m s S SSS SSSS C G Z ZZ", T + 45, "UTC"),
            "22 22 10 10 PM 13 20 0 045 0450 20 AD +0000 +00:00"
        );
        assert_eq!(f("HH:mm ZZ", T, "Asia/Kolkata"), "03:43 +05:30");
        assert_eq!(f("'it''s' ''", T, "UTC"), "it's '");
        assert_eq!(f("k", 1_699_920_000_000, "UTC"), "24"); // midnight is hour 24 in k
    }

    #[test]
    fn week_year_edge() {
        let dec30 = 1_577_664_000_000; // 2019-12-30T00:00:00Z, a Monday of ISO week 1 of 2020
        assert_eq!(f("xxxx", dec30, "UTC"), "2020");
        assert_eq!(f("YYYY", dec30, "UTC"), "2019");
        assert_eq!(f("yyyy-ww", dec30, "UTC"), "2019-01");
    }

    #[test]
    fn bad_patterns_name_the_position() {
        assert_eq!(PathFormat::parse("YYYY/qq"), Err(PatternError::Illegal { letter: 'q', position: 5 }));
        assert!(matches!(PathFormat::parse("'year=YYYY"), Err(PatternError::Unterminated { position: 0 })));
        assert!(matches!(PathFormat::parse("YYYY z"), Err(PatternError::Unsupported { position: 5, .. })));
    }
}
