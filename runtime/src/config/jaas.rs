//! `sasl.jaas.config`: one JAAS login module as Kafka's `JaasConfig` reads it,
//! `<class> <flag> name="value" name2=value2 ... ;`, values quoted (`"` or `'`, with backslash
//! escapes) or bare words, `//` and `/* */` comments allowed. `${provider:path:key}` references
//! are resolved by the config providers before this runs.

use std::collections::BTreeMap;

/// A login module: its class, control flag and options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JaasModule {
    pub class: String,
    pub flag: String,
    pub options: BTreeMap<String, String>,
}

pub const EXPECTED: &str =
    "one JAAS login module: <class> <required|requisite|sufficient|optional> name=\"value\" ... ;";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
    Semicolon,
    Open,
    Close,
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '/' => {
                chars.next();
                match chars.next() {
                    Some('/') => {
                        for c in chars.by_ref() {
                            if c == '\n' {
                                break;
                            }
                        }
                    }
                    Some('*') => {
                        let mut prev = ' ';
                        loop {
                            match chars.next() {
                                Some('/') if prev == '*' => break,
                                Some(c) => prev = c,
                                None => return Err("an unclosed /* comment".into()),
                            }
                        }
                    }
                    _ => return Err("a stray '/'".into()),
                }
            }
            '=' => {
                chars.next();
                out.push(Token::Equals);
            }
            ';' => {
                chars.next();
                out.push(Token::Semicolon);
            }
            '{' => {
                chars.next();
                out.push(Token::Open);
            }
            '}' => {
                chars.next();
                out.push(Token::Close);
            }
            '"' | '\'' => {
                chars.next();
                out.push(Token::Quoted(quoted(&mut chars, c)?));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '=' | ';' | '"' | '\'' | '{' | '}') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push(Token::Word(word));
            }
        }
    }
    Ok(out)
}

/// The rest of a quoted value, with Java's `StreamTokenizer` escapes.
fn quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, quote: char) -> Result<String, String> {
    let mut value = String::new();
    loop {
        match chars.next() {
            None => return Err("an unclosed quoted value".into()),
            Some(c) if c == quote => return Ok(value),
            Some('\\') => match chars.next() {
                Some('n') => value.push('\n'),
                Some('t') => value.push('\t'),
                Some('r') => value.push('\r'),
                Some('b') => value.push('\u{8}'),
                Some('f') => value.push('\u{c}'),
                Some(c) => value.push(c),
                None => return Err("an unclosed quoted value".into()),
            },
            Some(c) => value.push(c),
        }
    }
}

/// Parses the value of `sasl.jaas.config`; the error says what was wrong, without the value.
pub fn parse(text: &str) -> Result<JaasModule, String> {
    let mut it = tokens(text)?.into_iter().peekable();
    if it.peek().is_none() {
        return Err("an empty value".into());
    }
    let module = module(&mut it)?;
    if it.next().is_some() {
        return Err("more than one login module (Kafka clients take exactly one)".into());
    }
    Ok(module)
}

/// A JAAS login configuration file (`-Djava.security.auth.login.config`): its entries
/// (`Name { module flag options; … };`) in order.
pub fn parse_file(text: &str) -> Result<Vec<(String, Vec<JaasModule>)>, String> {
    let mut it = tokens(text)?.into_iter().peekable();
    let mut entries = Vec::new();
    while let Some(token) = it.next() {
        let Token::Word(name) = token else { return Err("an entry that does not start with its name".into()) };
        if it.next() != Some(Token::Open) {
            return Err(format!("no '{{' after {name}"));
        }
        let mut modules = Vec::new();
        loop {
            match it.peek() {
                Some(Token::Close) => {
                    it.next();
                    break;
                }
                None => return Err(format!("no '}}' closing {name}")),
                _ => modules.push(module(&mut it)?),
            }
        }
        if it.peek() == Some(&Token::Semicolon) {
            it.next();
        }
        entries.push((name, modules));
    }
    Ok(entries)
}

fn module(it: &mut std::iter::Peekable<std::vec::IntoIter<Token>>) -> Result<JaasModule, String> {
    let class = match it.next() {
        Some(Token::Word(w)) => w,
        _ => return Err("no login module class first".into()),
    };
    let flag = match it.next() {
        Some(Token::Word(w))
            if ["required", "requisite", "sufficient", "optional"].contains(&w.to_ascii_lowercase().as_str()) =>
        {
            w.to_ascii_lowercase()
        }
        _ => return Err(format!("no control flag (required, requisite, sufficient or optional) after {class}")),
    };
    let mut options = BTreeMap::new();
    loop {
        match it.next() {
            Some(Token::Semicolon) => break,
            Some(Token::Word(name)) => {
                if it.next() != Some(Token::Equals) {
                    return Err(format!("option {name} without '='"));
                }
                let value = match it.next() {
                    Some(Token::Word(v) | Token::Quoted(v)) => v,
                    _ => return Err(format!("option {name} without a value")),
                };
                options.insert(name, value);
            }
            None => return Err("no ';' at the end of the login module".into()),
            Some(_) => return Err("an option that is not name=value".into()),
        }
    }
    Ok(JaasModule { class, flag, options })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kafka_plain_module_with_quotes_and_escapes() {
        let m = parse(
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="p\"w;d\\x";"#,
        )
        .unwrap();
        assert_eq!(m.class, "org.apache.kafka.common.security.plain.PlainLoginModule");
        assert_eq!(m.flag, "required");
        assert_eq!(m.options["username"], "alice");
        assert_eq!(m.options["password"], r#"p"w;d\x"#);
    }

    #[test]
    fn bare_words_single_quotes_comments_and_line_breaks() {
        let m = parse("org.apache.kafka.common.security.scram.ScramLoginModule REQUIRED // c\n username=bob\n /* x */ password='s3 cr=t'\n;  ").unwrap();
        assert_eq!(m.flag, "required");
        assert_eq!(m.options["username"], "bob");
        assert_eq!(m.options["password"], "s3 cr=t");
    }

    #[test]
    fn malformed_values_say_what_is_wrong() {
        assert_eq!(parse("").unwrap_err(), "an empty value");
        assert!(parse("a.B required username=\"x\"").unwrap_err().contains("no ';'"));
        assert!(parse("a.B username=\"x\";").unwrap_err().contains("control flag"));
        assert!(parse("a.B required username;").unwrap_err().contains("without '='"));
        assert!(parse("a.B required u=\"x;").unwrap_err().contains("unclosed"));
        assert!(parse("a.B required; c.D required;").unwrap_err().contains("more than one"));
    }

    #[test]
    fn a_login_configuration_file_with_its_entries() {
        let file = "// Connect's REST users\nKafkaConnect {\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file=\"/etc/kafka/connect.password\";\n};\nKafkaClient { a.B optional; c.D required x=1; };\n";
        let entries = parse_file(file).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].0, "KafkaConnect");
        assert_eq!(entries[0].1[0].options["file"], "/etc/kafka/connect.password");
        assert_eq!(entries[1].1.len(), 2);
        assert!(parse_file("KafkaConnect { a.B required;").unwrap_err().contains("no '}'"));
    }

    proptest! {
        /// Any text gives a module or an error, never a panic; a quoted value round-trips.
        #[test]
        fn never_panics_and_quoted_values_round_trip(text in ".{0,80}", value in "[^\\\\\"]{0,20}") {
            let _ = parse(&text);
            let m = parse(&format!("x.Y required k=\"{value}\";")).unwrap();
            prop_assert_eq!(&m.options["k"], &value);
        }
    }
}
