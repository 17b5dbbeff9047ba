//! Java's number text: `Double.toString`, `Float.toString` and `BigDecimal.toString`, which
//! Kafka's JsonConverter (through Jackson) and `String.valueOf` produce (kafka-connect-runtime.md
//! §6.3). The shortest round-trip digits come from `ryu` (JDK ≥ 19 behaviour; documented).

use num_bigint::{BigInt, Sign};

/// Splits ryu output into significant digits (no leading/trailing zeros) and the position of the
/// decimal point: value = 0.DIGITS × 10^point.
fn shortest_digits(text: &str) -> (String, i32) {
    let (mantissa, exp) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits: String = format!("{int_part}{frac_part}");
    let mut point = int_part.len() as i32 + exp;
    let leading = digits.len() - digits.trim_start_matches('0').len();
    digits.drain(..leading);
    point -= leading as i32;
    let trimmed = digits.trim_end_matches('0').len();
    digits.truncate(trimmed);
    if digits.is_empty() {
        digits.push('0');
        point = 1;
    }
    (digits, point)
}

fn java_text(negative: bool, abs_text: &str, plain: bool) -> String {
    let (digits, point) = shortest_digits(abs_text);
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if plain {
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(&digits);
        } else if point as usize >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..point as usize]);
            out.push('.');
            out.push_str(&digits[point as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        out.push_str(if digits.len() > 1 { &digits[1..] } else { "0" });
        out.push('E');
        out.push_str(&(point - 1).to_string());
    }
    out
}

/// The texts Java gives NaN, the infinities and the zeros.
fn special(x: f64) -> Option<&'static str> {
    match x {
        x if x.is_nan() => Some("NaN"),
        f64::INFINITY => Some("Infinity"),
        f64::NEG_INFINITY => Some("-Infinity"),
        0.0 if x.is_sign_negative() => Some("-0.0"),
        0.0 => Some("0.0"),
        _ => None,
    }
}

/// `Double.toString(x)`.
pub fn java_double(x: f64) -> String {
    if let Some(s) = special(x) {
        return s.into();
    }
    let abs = x.abs();
    java_text(x < 0.0, ryu::Buffer::new().format_finite(abs), (1e-3..1e7).contains(&abs))
}

/// `Float.toString(x)`: the same rule over the shortest digits of the `f32`.
pub fn java_float(x: f32) -> String {
    if let Some(s) = special(x as f64) {
        return s.into();
    }
    let abs = x.abs();
    java_text(x < 0.0, ryu::Buffer::new().format_finite(abs), (1e-3..1e7).contains(&abs))
}

/// `BigDecimal.toString()`: plain while the scale is non-negative and the adjusted exponent is at
/// least −6, else scientific (`1E-8`, `1.23E+5`).
pub fn big_decimal_string(unscaled: &BigInt, scale: i32) -> String {
    let digits = unscaled.magnitude().to_string();
    let mut out = String::with_capacity(digits.len() + 8);
    if unscaled.sign() == Sign::Minus {
        out.push('-');
    }
    let n = digits.len() as i64;
    let adjusted = -(scale as i64) + (n - 1);
    if scale >= 0 && adjusted >= -6 {
        let scale = scale as i64;
        if scale == 0 {
            out.push_str(&digits);
        } else if n > scale {
            out.push_str(&digits[..(n - scale) as usize]);
            out.push('.');
            out.push_str(&digits[(n - scale) as usize..]);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (scale - n) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('E');
        if adjusted >= 0 {
            out.push('+');
        }
        out.push_str(&adjusted.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_as_java_prints_them() {
        let cases = [
            (1.0, "1.0"),
            (0.001, "0.001"),
            (9999999.0, "9999999.0"),
            (1e7, "1.0E7"),
            (1e-4, "1.0E-4"),
            (123456789.125, "1.23456789125E8"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (100.0, "100.0"),
            (1e20, "1.0E20"),
            (1.5e-7, "1.5E-7"),
            (f64::MAX, "1.7976931348623157E308"),
            (f64::MIN_POSITIVE, "2.2250738585072014E-308"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
        ];
        for (x, text) in cases {
            assert_eq!(java_double(x), text, "{x:e}");
        }
        assert_eq!(java_float(0.1), "0.1");
        assert_eq!(java_float(1.0e10), "1.0E10");
        assert_eq!(java_float(3.4028235e38), "3.4028235E38");
    }

    #[test]
    fn big_decimals_as_java_prints_them() {
        let cases = [
            (1230, 2, "12.30"),
            (1, 8, "1E-8"),
            (1, 6, "0.000001"),
            (-5, 3, "-0.005"),
            (123, -2, "1.23E+4"),
            (0, 0, "0"),
            (0, 2, "0.00"),
            (12345, 0, "12345"),
        ];
        for (unscaled, scale, text) in cases {
            assert_eq!(big_decimal_string(&BigInt::from(unscaled), scale), text);
        }
    }
}
