//! Date patterns as Java writes them (`SimpleDateFormat`, Joda-Time's `DateTimeFormat`): runs of
//! a letter are fields, `'text'` is literal (`''` is one quote), anything else is literal. What
//! each letter means differs between the two, so callers check and format the fields; the
//! tokens and the English names are shared.

/// A piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternToken {
    Literal(String),
    /// A letter repeated `count` times, starting at `position` (in chars).
    Field {
        letter: char,
        count: usize,
        position: usize,
    },
}

/// English month names (January first).
pub const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// English day names (Monday first).
pub const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// Splits a pattern into literals and fields; `Err(position)` of an unterminated quote.
pub fn tokenize(pattern: &str) -> Result<Vec<PatternToken>, usize> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                literal.push('\'');
                i += 2;
                continue;
            }
            let start = i;
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(start),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        literal.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&ch) => {
                        literal.push(ch);
                        i += 1;
                    }
                }
            }
        } else if c.is_ascii_alphabetic() {
            let count = chars[i..].iter().take_while(|&&x| x == c).count();
            if !literal.is_empty() {
                tokens.push(PatternToken::Literal(std::mem::take(&mut literal)));
            }
            tokens.push(PatternToken::Field { letter: c, count, position: i });
            i += count;
        } else {
            literal.push(c);
            i += 1;
        }
    }
    if !literal.is_empty() {
        tokens.push(PatternToken::Literal(literal));
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_letters_and_literals() {
        assert_eq!(
            tokenize("'it''s' yyyy-MM''").unwrap(),
            vec![
                PatternToken::Literal("it's ".into()),
                PatternToken::Field { letter: 'y', count: 4, position: 8 },
                PatternToken::Literal("-".into()),
                PatternToken::Field { letter: 'M', count: 2, position: 13 },
                PatternToken::Literal("'".into()),
            ]
        );
        assert_eq!(tokenize("yy 'open"), Err(3));
    }
}
