//! Topic routers: `RegexRouter` (Java regex `matches()` + `replaceFirst`) and `TimestampRouter`
//! (`java.text.SimpleDateFormat` in UTC). Java's replacement syntax (`$1`, `${name}`, `\$`) and
//! date pattern letters are translated when the connector starts, so an unsupported construct is
//! a start-up error, never a surprise at the first record.

use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;

use crate::config::ConfigReader;
use crate::convert::time::civil_from_days;
use crate::date_pattern::{tokenize, PatternToken, DAYS, MONTHS};
use crate::record::ConnectRecord;

/// A Java `Matcher.replaceFirst` replacement string, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaReplacement(Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Group(usize),
    Named(String),
}

impl JavaReplacement {
    /// Parses `replacement` for a regex with `groups` capturing groups (Java's rules: `$` then
    /// digits, taking more digits only while they name an existing group; `${name}`; `\x` is `x`).
    pub fn parse(replacement: &str, groups: usize, names: &[&str]) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = replacement.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => text.push(chars.next().ok_or("character to be escaped is missing")?),
                '$' => {
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    match chars.next() {
                        Some('{') => {
                            let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                            if !names.contains(&name.as_str()) {
                                return Err(format!("No group with name {{{name}}}"));
                            }
                            pieces.push(Piece::Named(name));
                        }
                        Some(d) if d.is_ascii_digit() => {
                            let mut group = d.to_digit(10).unwrap() as usize;
                            while let Some(next) = chars.peek().and_then(|c| c.to_digit(10)) {
                                let longer = group * 10 + next as usize;
                                if longer > groups {
                                    break;
                                }
                                group = longer;
                                chars.next();
                            }
                            if group > groups {
                                return Err(format!("No group {group}"));
                            }
                            pieces.push(Piece::Group(group));
                        }
                        _ => return Err("Illegal group reference".into()),
                    }
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(JavaReplacement(pieces))
    }

    pub fn expand(&self, caps: &regex::Captures<'_>) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Group(g) => out.push_str(caps.get(*g).map_or("", |m| m.as_str())),
                Piece::Named(n) => out.push_str(caps.name(n).map_or("", |m| m.as_str())),
            }
        }
        out
    }
}

/// `RegexRouter`: when `regex` matches the whole topic, the topic becomes the replacement.
#[derive(Debug, Clone)]
pub struct RegexRouter {
    regex: Regex,
    replacement: JavaReplacement,
    routes: HashMap<Arc<str>, Option<Arc<str>>>,
}

impl RegexRouter {
    pub fn parse(r: &mut ConfigReader<'_>) -> Option<RegexRouter> {
        Self::parse_keys(r, "regex", "replacement")
    }

    /// A regex and its replacement from keys of other names (Debezium's routers).
    pub fn parse_keys(r: &mut ConfigReader<'_>, regex_key: &str, replacement_key: &str) -> Option<RegexRouter> {
        let pattern = r.required(regex_key, "a regular expression")?;
        let replacement = r.string(replacement_key);
        let regex = r.whole_match_regex(regex_key, &pattern)?;
        let Some(replacement) = replacement else {
            r.missing(replacement_key, "the replacement, with $1 or ${name} for groups");
            return None;
        };
        let names: Vec<&str> = regex.capture_names().flatten().collect();
        match JavaReplacement::parse(&replacement, regex.captures_len() - 1, &names) {
            Ok(parsed) => Some(RegexRouter { regex, replacement: parsed, routes: HashMap::new() }),
            Err(e) => {
                r.invalid(replacement_key, format!("a valid replacement for the regex ({e})"), replacement);
                None
            }
        }
    }

    /// The new topic of `topic` (unchanged when the regex does not match all of it).
    pub fn route(&mut self, topic: &Arc<str>) -> Arc<str> {
        self.replaced(topic).unwrap_or_else(|| topic.clone())
    }

    /// The replacement when the regex matches all of `text`, else `None`.
    pub fn replaced(&mut self, text: &Arc<str>) -> Option<Arc<str>> {
        if let Some(t) = self.routes.get(text) {
            return t.clone();
        }
        let routed: Option<Arc<str>> = self.regex.captures(text).map(|caps| self.replacement.expand(&caps).into());
        if self.routes.len() >= 1024 {
            self.routes.clear();
        }
        self.routes.insert(text.clone(), routed.clone());
        routed
    }

    pub fn apply<R: ConnectRecord>(&mut self, r: &mut R) {
        let routed = self.route(r.topic());
        r.set_topic(routed);
    }
}

/// A `java.text.SimpleDateFormat` pattern, formatted in UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleDateFormat(Vec<PatternToken>);

/// Compiles a `SimpleDateFormat` pattern (letters y M d D E u H k K h m s S a; quoted text).
pub fn java_date_format(pattern: &str) -> Result<SimpleDateFormat, String> {
    let tokens = tokenize(pattern).map_err(|_| "unterminated quote".to_owned())?;
    for t in &tokens {
        if let PatternToken::Field { letter: c, .. } = t {
            if !"yMdDEuHkKhmsSa".contains(*c) {
                let hint = if *c == 'Y' { " (Y is the week year; y is the year)" } else { "" };
                return Err(format!("pattern letter '{c}' is not supported{hint}"));
            }
        }
    }
    Ok(SimpleDateFormat(tokens))
}

impl SimpleDateFormat {
    pub fn format(&self, epoch_ms: i64) -> String {
        let days = epoch_ms.div_euclid(86_400_000);
        let ms_of_day = epoch_ms.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        let (hour, minute, second, milli) =
            (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60, ms_of_day / 1000 % 60, ms_of_day % 1000);
        let weekday = (days + 3).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
        let day_of_year = days - crate::convert::time::days_from_civil(year, 1, 1) + 1;
        let mut out = String::new();
        let num = |out: &mut String, v: i64, width: usize| out.push_str(&format!("{v:0width$}"));
        for t in &self.0 {
            match t {
                PatternToken::Literal(s) => out.push_str(s),
                PatternToken::Field { letter: 'y', count: 2, .. } => num(&mut out, year.rem_euclid(100), 2),
                PatternToken::Field { letter: 'y', count: n, .. } => num(&mut out, year, *n),
                PatternToken::Field { letter: 'M', count: n, .. } if *n >= 4 => {
                    out.push_str(MONTHS[month as usize - 1])
                }
                PatternToken::Field { letter: 'M', count: 3, .. } => out.push_str(&MONTHS[month as usize - 1][..3]),
                PatternToken::Field { letter: 'M', count: n, .. } => num(&mut out, month as i64, *n),
                PatternToken::Field { letter: 'd', count: n, .. } => num(&mut out, day as i64, *n),
                PatternToken::Field { letter: 'D', count: n, .. } => num(&mut out, day_of_year, *n),
                PatternToken::Field { letter: 'E', count: n, .. } if *n >= 4 => out.push_str(DAYS[weekday]),
                PatternToken::Field { letter: 'E', count: _, .. } => out.push_str(&DAYS[weekday][..3]),
                PatternToken::Field { letter: 'u', count: n, .. } => num(&mut out, weekday as i64 + 1, *n),
                PatternToken::Field { letter: 'H', count: n, .. } => num(&mut out, hour, *n),
                PatternToken::Field { letter: 'k', count: n, .. } => {
                    num(&mut out, if hour == 0 { 24 } else { hour }, *n)
                }
                PatternToken::Field { letter: 'K', count: n, .. } => num(&mut out, hour % 12, *n),
                PatternToken::Field { letter: 'h', count: n, .. } => {
                    num(&mut out, if hour % 12 == 0 { 12 } else { hour % 12 }, *n)
                }
                PatternToken::Field { letter: 'm', count: n, .. } => num(&mut out, minute, *n),
                PatternToken::Field { letter: 's', count: n, .. } => num(&mut out, second, *n),
                PatternToken::Field { letter: 'S', count: n, .. } => num(&mut out, milli, *n),
                PatternToken::Field { letter: 'a', count: _, .. } => out.push_str(if hour < 12 { "AM" } else { "PM" }),
                PatternToken::Field { .. } => {}
            }
        }
        out
    }
}

impl SimpleDateFormat {
    /// `DateFormat.parse` in UTC, leniently as Java's default: numeric fields followed by
    /// another field take exactly their width, others every digit there is; month and day names
    /// (English) and AM/PM are read; text after the pattern is ignored. Epoch milliseconds.
    pub fn parse(&self, text: &str, now_year: i64) -> Option<i64> {
        let (mut year, mut month, mut day, mut day_of_year) = (1970i64, 1i64, 1i64, None);
        let (mut hour, mut minute, mut second, mut milli, mut pm) = (0i64, 0i64, 0i64, 0i64, None);
        let mut rest = text;
        for (i, t) in self.0.iter().enumerate() {
            let (letter, count) = match t {
                PatternToken::Literal(l) => {
                    rest = rest.strip_prefix(l.as_str())?;
                    continue;
                }
                PatternToken::Field { letter, count, .. } => (*letter, *count),
            };
            let words = |rest: &str| rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            match letter {
                'M' if count >= 3 => {
                    let n = words(rest);
                    let word = &rest[..n];
                    let found = MONTHS.iter().position(|m| {
                        m.eq_ignore_ascii_case(word) || (word.len() == 3 && m[..3].eq_ignore_ascii_case(word))
                    })?;
                    month = found as i64 + 1;
                    rest = &rest[n..];
                }
                'E' => {
                    let n = words(rest);
                    let word = &rest[..n];
                    DAYS.iter().find(|d| d.eq_ignore_ascii_case(word) || d[..3].eq_ignore_ascii_case(word))?;
                    rest = &rest[n..];
                }
                'a' => {
                    let upper = rest.get(..2)?.to_ascii_uppercase();
                    pm = Some(match upper.as_str() {
                        "AM" => false,
                        "PM" => true,
                        _ => return None,
                    });
                    rest = &rest[2..];
                }
                _ => {
                    let adjacent = matches!(self.0.get(i + 1), Some(PatternToken::Field { .. }));
                    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                    let n = if adjacent { digits.min(count) } else { digits };
                    if n == 0 {
                        return None;
                    }
                    let v: i64 = rest[..n].parse().ok()?;
                    rest = &rest[n..];
                    match letter {
                        // a two-digit year: within 80 years before and 20 after now, as Java
                        'y' if count <= 2 && n == 2 => {
                            let century = (now_year - 80).div_euclid(100) * 100;
                            year = if century + v < now_year - 80 { century + 100 + v } else { century + v };
                        }
                        'y' => year = v,
                        'M' => month = v,
                        'd' => day = v,
                        'D' => day_of_year = Some(v),
                        'H' => hour = v,
                        'k' => hour = v % 24,
                        'K' | 'h' => hour = v % 12,
                        'm' => minute = v,
                        's' => second = v,
                        'S' => milli = v,
                        _ => {}
                    }
                }
            }
        }
        if pm == Some(true) {
            hour += 12;
        }
        // lenient: a month past December rolls into the next year, days and times carry over
        let (year, month) = (year + (month - 1).div_euclid(12), (month - 1).rem_euclid(12) + 1);
        let days = match day_of_year {
            Some(d) => crate::convert::time::days_from_civil(year, 1, 1) + d - 1,
            None => crate::convert::time::days_from_civil(year, month as u32, 1) + day - 1,
        };
        Some(days * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + milli)
    }
}

/// `TimestampRouter`: topic = `topic.format` with `${topic}` and `${timestamp}` (the record
/// timestamp formatted by `timestamp.format`, UTC).
#[derive(Debug, Clone)]
pub struct TimestampRouter {
    topic_format: String,
    format: SimpleDateFormat,
}

impl TimestampRouter {
    pub fn parse(r: &mut ConfigReader<'_>) -> Option<TimestampRouter> {
        let topic_format = r.string_or("topic.format", "${topic}-${timestamp}");
        let pattern = r.string_or("timestamp.format", "yyyyMMdd");
        match java_date_format(&pattern) {
            Ok(format) => Some(TimestampRouter { topic_format, format }),
            Err(e) => {
                r.invalid("timestamp.format", format!("a SimpleDateFormat pattern ({e})"), pattern);
                None
            }
        }
    }

    pub fn apply<R: ConnectRecord>(&mut self, r: &mut R) -> Result<(), String> {
        let ts = r.timestamp().ok_or_else(|| format!("Timestamp missing on record for topic {}", r.topic()))?;
        let topic = self.topic_format.replace("${topic}", r.topic()).replace("${timestamp}", &self.format.format(ts));
        r.set_topic(topic.into());
        Ok(())
    }
}
