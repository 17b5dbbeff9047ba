//! Java's number text: `Double.toString`, `Float.toString` and `BigDecimal.toString`, which
//! Kafka's JsonConverter (through Jackson) and `String.valueOf` produce (kafka-connect-runtime.md
//! §6.3). The shortest round-trip digits come from `ryu` (JDK ≥ 19 behaviour; documented).

use num_bigint::{BigInt, Sign};

/// Splits ryu output (at most 24 bytes) into significant digits (no leading or trailing zeros),
/// copied into `buf`, and the position of the decimal point: value = 0.DIGITS × 10^point.
fn shortest_digits<'b>(text: &str, buf: &'b mut [u8; 24]) -> (&'b [u8], i32) {
    let (mantissa, exp) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut n = 0;
    for &b in int_part.as_bytes().iter().chain(frac_part.as_bytes()) {
        buf[n] = b;
        n += 1;
    }
    let leading = buf[..n].iter().take_while(|&&b| b == b'0').count();
    let end = n - buf[leading..n].iter().rev().take_while(|&&b| b == b'0').count();
    if leading == end {
        buf[0] = b'0';
        return (&buf[..1], 1);
    }
    (&buf[leading..end], int_part.len() as i32 + exp - leading as i32)
}

/// Java's text of a finite non-zero number from ryu's text of its magnitude, appended to `out`:
/// plain (`123.45`, `0.001`) or scientific (`1.0E7`).
fn push_java_text(negative: bool, abs_text: &str, plain: bool, out: &mut Vec<u8>) {
    let mut buf = [0u8; 24];
    let (digits, point) = shortest_digits(abs_text, &mut buf);
    if negative {
        out.push(b'-');
    }
    if plain {
        if point <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-point) as usize));
            out.extend_from_slice(digits);
        } else if point as usize >= digits.len() {
            out.extend_from_slice(digits);
            out.extend(std::iter::repeat_n(b'0', point as usize - digits.len()));
            out.extend_from_slice(b".0");
        } else {
            out.extend_from_slice(&digits[..point as usize]);
            out.push(b'.');
            out.extend_from_slice(&digits[point as usize..]);
        }
    } else {
        out.extend_from_slice(&digits[..1]);
        out.push(b'.');
        out.extend_from_slice(if digits.len() > 1 { &digits[1..] } else { b"0" });
        out.push(b'E');
        out.extend_from_slice(itoa::Buffer::new().format(point - 1).as_bytes());
    }
}

/// The texts Java gives NaN, the infinities and the zeros.
pub(crate) fn special(x: f64) -> Option<&'static str> {
    match x {
        x if x.is_nan() => Some("NaN"),
        f64::INFINITY => Some("Infinity"),
        f64::NEG_INFINITY => Some("-Infinity"),
        0.0 if x.is_sign_negative() => Some("-0.0"),
        0.0 => Some("0.0"),
        _ => None,
    }
}

/// `Double.toString(x)` of a finite non-zero `x` (see [`special`] for the others), appended to
/// `out` without allocating.
pub(crate) fn push_java_double(x: f64, out: &mut Vec<u8>) {
    let abs = x.abs();
    push_java_text(x < 0.0, ryu::Buffer::new().format_finite(abs), (1e-3..1e7).contains(&abs), out)
}

/// `Float.toString(x)` of a finite non-zero `x`, appended to `out`.
pub(crate) fn push_java_float(x: f32, out: &mut Vec<u8>) {
    let abs = x.abs();
    push_java_text(x < 0.0, ryu::Buffer::new().format_finite(abs), (1e-3..1e7).contains(&abs), out)
}

/// `Double.toString(x)`.
pub fn java_double(x: f64) -> String {
    if let Some(s) = special(x) {
        return s.into();
    }
    let mut out = Vec::with_capacity(24);
    push_java_double(x, &mut out);
    String::from_utf8(out).expect("ASCII digits")
}

/// `Float.toString(x)`: the same rule over the shortest digits of the `f32`.
pub fn java_float(x: f32) -> String {
    if let Some(s) = special(x as f64) {
        return s.into();
    }
    let mut out = Vec::with_capacity(24);
    push_java_float(x, &mut out);
    String::from_utf8(out).expect("ASCII digits")
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

    proptest::proptest! {
        /// Every finite double's text reads back as the same double, in Java's shape: plain with
        /// a fraction in [10⁻³, 10⁷), else one digit, a fraction and an exponent.
        #[test]
        fn doubles_read_back_in_javas_shape(bits in proptest::prelude::any::<u64>()) {
            let x = f64::from_bits(bits);
            proptest::prop_assume!(x.is_finite() && x != 0.0);
            let text = java_double(x);
            proptest::prop_assert_eq!(text.replace('E', "e").parse::<f64>().unwrap(), x, "{}", text);
            let (mantissa, exponent) = text.trim_start_matches('-').split_once('E').unwrap_or((text.trim_start_matches('-'), ""));
            let (int_part, frac_part) = mantissa.split_once('.').expect("a point");
            proptest::prop_assert!(!frac_part.is_empty() && (frac_part == "0" || !frac_part.ends_with('0')), "{}", text);
            if (1e-3..1e7).contains(&x.abs()) {
                proptest::prop_assert!(exponent.is_empty(), "{}", text);
            } else {
                proptest::prop_assert!(int_part.len() == 1 && int_part != "0" && !exponent.is_empty(), "{}", text);
            }
        }
    }
}
