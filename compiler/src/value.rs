//! Typed scalar values that conditions compare: exact decimals, instants, IP networks, ARNs,
//! booleans and binary. Policy values and request values parse through the same functions, so
//! "does this request value match" and "is this policy value valid" can never disagree.

use std::cmp::Ordering;
use std::net::IpAddr;

/// An exact decimal `mantissa * 10^-scale`. IAM's numeric operators compare numbers; floats
/// would make `0.1 + 0.2`-style surprises possible, so the value is kept exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decimal {
    pub mantissa: i128,
    pub scale: u32,
}

/// Most significant digits a policy's number may have: every policy number is `m · 10^-s`
/// with `|m| < 10^38` and `s ≤ 38`, so it fits an `i128` and comparisons cannot overflow.
/// Longer policy numbers are rejected with a clear error (T0133), never rounded. Request
/// values have no such limit: they are compared as text ([`compare_numbers`]).
pub const MAX_DIGITS: u32 = 38;

/// A number as AWS's numeric operators read it: an optional sign, digits, and an optional
/// fraction: `10`, `-2.5`, `+4`, `.5`, `5.`. No exponent, no spaces, no `NaN`/`Infinity`.
///
/// Source: IAM User Guide, "Condition operators", Numeric condition operators: they compare
/// "a key to an integer or decimal value". `1e3` is neither an integer nor a decimal literal,
/// so it is not a number (issue 11, finding 6: before, `1e3` read as 1000 and `1e21` was
/// rejected only for its size).
///
/// Returns `(negative, integer digits, fraction digits)`, normalised: no leading zeros in the
/// integer part, no trailing zeros in the fraction, and `-0` is `0`.
pub fn number_parts(s: &str) -> Option<(bool, &str, &str)> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = match body.find('.') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let zero = int.is_empty() && frac.is_empty();
    Some((neg && !zero, int, frac))
}

/// Compare two numbers given as text (any size, any precision); `None` when either is not a
/// number ([`number_parts`]).
pub fn compare_numbers(a: &str, b: &str) -> Option<Ordering> {
    let (na, ia, fa) = number_parts(a)?;
    let (nb, ib, fb) = number_parts(b)?;
    let magnitude = ia
        .len()
        .cmp(&ib.len())
        .then_with(|| ia.cmp(ib))
        .then_with(|| fa.cmp(fb));
    Some(match (na, nb) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
    })
}

impl Decimal {
    /// Parse a policy's number ([`number_parts`]); `None` when it is not a number or has more
    /// than [`MAX_DIGITS`] digits.
    pub fn parse(s: &str) -> Option<Decimal> {
        let (neg, int, frac) = number_parts(s)?;
        let digits = format!("{int}{frac}");
        let digits = digits.trim_start_matches('0');
        if digits.len() > MAX_DIGITS as usize || frac.len() > MAX_DIGITS as usize {
            return None;
        }
        let mantissa: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        Some(Decimal {
            mantissa: if neg { -mantissa } else { mantissa },
            scale: u32::try_from(frac.len()).ok()?,
        })
    }

    /// Exact comparison, without overflow for any two parsed numbers.
    pub fn cmp_exact(&self, other: &Decimal) -> Ordering {
        compare_numbers(&self.to_string(), &other.to_string()).unwrap_or(Ordering::Equal)
    }

    /// The integer `self · 10^scale` as decimal text (`scale` at least `self.scale`), for
    /// solvers that take numerals of any size.
    pub fn scaled_text(&self, scale: u32) -> String {
        let zeros = "0".repeat(scale.saturating_sub(self.scale) as usize);
        if self.mantissa == 0 {
            "0".to_string()
        } else {
            format!("{}{zeros}", self.mantissa)
        }
    }
}

/// The decimal `n · 10^-scale` for an integer numeral `n` as a solver prints it (`123`,
/// `-123` or `(- 123)`), of any size; `None` when `n` is not an integer numeral.
pub fn scaled_numeral(n: &str, scale: u32) -> Option<String> {
    let t = n.trim();
    let (neg, digits) = match t.strip_prefix("(-").and_then(|r| r.strip_suffix(')')) {
        Some(inner) => (true, inner.trim()),
        None => match t.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, t),
        },
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    let sign = if neg { "-" } else { "" };
    Some(if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    })
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.scale == 0 {
            return write!(f, "{}", self.mantissa);
        }
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let abs = self.mantissa.unsigned_abs().to_string();
        let scale = self.scale as usize;
        let padded = format!("{abs:0>width$}", width = scale + 1);
        let (i, fr) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{i}.{fr}")
    }
}

/// An instant, in nanoseconds since the Unix epoch (UTC).
pub type Instant = i128;

/// Parse a date as AWS's date operators accept it: ISO 8601 (`2020-01-01`,
/// `2020-01-01T12:00:00Z`, fractional seconds, `+hh:mm` offsets) or epoch seconds
/// ("Date condition operators": "W3C implementations of the ISO 8601 date formats" or epoch).
pub fn parse_date(s: &str) -> Option<Instant> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
        || s.starts_with('-') && s.len() > 1 && s[1..].bytes().all(|b| b.is_ascii_digit())
    {
        let secs: i64 = s.parse().ok()?;
        return Some(i128::from(secs) * 1_000_000_000);
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) && !t.is_empty() {
            t.parse().ok()
        } else {
            None
        }
    };
    let year = num(0..4)?;
    let (month, day, mut i) = if b.get(4) == Some(&b'-') {
        let m = num(5..7)?;
        if b.get(7) != Some(&b'-') {
            return None;
        }
        (m, num(8..10)?, 10)
    } else {
        return None;
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut secs_of_day = 0i64;
    let mut nanos = 0i128;
    let mut offset = 0i64;
    if i < b.len() {
        if b[i] != b'T' && b[i] != b't' {
            return None;
        }
        i += 1;
        let h = num(i..i + 2)?;
        if b.get(i + 2) != Some(&b':') {
            return None;
        }
        let mi = num(i + 3..i + 5)?;
        i += 5;
        let mut sec = 0;
        if b.get(i) == Some(&b':') {
            sec = num(i + 1..i + 3)?;
            i += 3;
            if b.get(i) == Some(&b'.') {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j == start || j - start > 9 {
                    return None;
                }
                let frac = &s[start..j];
                nanos = format!("{frac:0<9}").parse().ok()?;
                i = j;
            }
        }
        if h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        secs_of_day = h * 3600 + mi * 60 + sec;
        match b.get(i) {
            None => {}
            Some(b'Z' | b'z') if i + 1 == b.len() => {}
            Some(&sign @ (b'+' | b'-')) => {
                let oh = num(i + 1..i + 3)?;
                let om = if b.get(i + 3) == Some(&b':') {
                    num(i + 4..i + 6)?
                } else {
                    num(i + 3..i + 5)?
                };
                let end = if b.get(i + 3) == Some(&b':') {
                    i + 6
                } else {
                    i + 5
                };
                if end != b.len() || oh > 23 || om > 59 {
                    return None;
                }
                offset = (oh * 3600 + om * 60) * if sign == b'+' { 1 } else { -1 };
            }
            _ => return None,
        }
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + secs_of_day - offset;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Nanoseconds per second.
const NS: i128 = 1_000_000_000;

/// The instants a request's date value can denote: exactly the values `parse_date` produces.
/// The solver's date variables range over this set and nothing else, so a "proved" covers
/// every date the evaluator accepts (issue 11, finding 2: a bound kept for readable witnesses
/// had excluded 1969 and the year 10000 from proofs).
///
/// - ISO 8601 with a four-digit year: `0000-01-01T00:00:00+23:59` ([`DATE_ISO_MIN`]) to
///   `9999-12-31T23:59:60.999999999-23:59` ([`DATE_ISO_MAX`]), every nanosecond in between;
/// - epoch seconds (a 64-bit signed integer): whole seconds from `i64::MIN` to `i64::MAX`.
///
/// Source: IAM User Guide, "Condition operators", Date condition operators: values are "W3C
/// implementations of the ISO 8601 date formats" or "epoch (UNIX) time"; neither names a range.
pub const DATE_ISO_MIN: Instant = (-62_167_219_200 - 86_340) * NS;
/// See [`DATE_ISO_MIN`].
pub const DATE_ISO_MAX: Instant = (253_402_214_400 + 86_400 + 86_340) * NS + (NS - 1);
/// Epoch seconds: the whole seconds `parse_date` reads from an integer (see [`DATE_ISO_MIN`]).
pub const DATE_EPOCH_SECONDS: (i64, i64) = (i64::MIN, i64::MAX);
/// Nanoseconds per second, the step of the epoch-seconds part of the domain.
pub const DATE_EPOCH_STEP: Instant = NS;

/// Is `t` an instant some date value denotes (see [`DATE_ISO_MIN`])?
pub fn in_date_domain(t: Instant) -> bool {
    (DATE_ISO_MIN..=DATE_ISO_MAX).contains(&t)
        || t.rem_euclid(NS) == 0
            && (i128::from(DATE_EPOCH_SECONDS.0) * NS..=i128::from(DATE_EPOCH_SECONDS.1) * NS)
                .contains(&t)
}

/// First instant of year 0000 and last of year 9999 (UTC).
const YEAR_0: Instant = -62_167_219_200 * NS;
const YEAR_10000: Instant = 253_402_300_800 * NS;

/// Format an instant for witnesses so that `parse_date` reads it back exactly: ISO 8601 UTC
/// for years 0000–9999; epoch seconds beyond them; a `+23:59`/`-23:59` offset (or the leap
/// second `23:59:60`) for the fractional instants at the edges of the ISO range.
pub fn format_date(t: Instant) -> String {
    if (YEAR_0..YEAR_10000).contains(&t) {
        return iso_utc(t, "Z");
    }
    if t.rem_euclid(NS) == 0 {
        if let Ok(secs) = i64::try_from(t / NS) {
            return secs.to_string();
        }
    }
    let offset = 86_340 * NS;
    if t < YEAR_0 {
        iso_utc(t + offset, "+23:59")
    } else if t - offset < YEAR_10000 {
        iso_utc(t - offset, "-23:59")
    } else {
        // Local time in the first second of year 10000: the leap second of 9999-12-31.
        let frac = fraction(t - offset - YEAR_10000);
        format!("9999-12-31T23:59:60{frac}-23:59")
    }
}

fn fraction(nanos: Instant) -> String {
    let nanos = nanos.rem_euclid(NS);
    if nanos == 0 {
        String::new()
    } else {
        // Exact: as many digits as needed, no rounding.
        format!(".{nanos:09}").trim_end_matches('0').to_string()
    }
}

/// ISO 8601 rendering of a local time (years 0000–9999) with the given zone suffix.
fn iso_utc(t: Instant, zone: &str) -> String {
    let secs = t.div_euclid(NS) as i64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Inverse of days_from_civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let frac = fraction(t);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{frac}{zone}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// An IP network: address and prefix length. A bare address is a /32 or /128.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok()?
            }
            Some(_) => return None,
            None => max,
        };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                prefix_eq(u32::from(n).into(), u32::from(a).into(), 32, self.prefix)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                prefix_eq(u128::from(n), u128::from(a), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, bits: u32, prefix: u8) -> bool {
    let shift = bits - u32::from(prefix);
    if shift >= 128 {
        return true;
    }
    (a >> shift) == (b >> shift)
}

/// Parse a request's IP address (`aws:SourceIp`).
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

/// `true`/`false`, case-insensitively, as AWS's Boolean operator reads them.
pub fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Split an ARN into its six colon-separated segments: `arn`, partition, service, region,
/// account, resource. The resource segment keeps any further colons ("Amazon Resource Names
/// (ARNs)": `arn:partition:service:region:account-id:resource-type:resource-id`).
pub fn split_arn(s: &str) -> Option<[&str; 6]> {
    let mut it = s.splitn(6, ':');
    let parts = [
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    ];
    Some(parts)
}

/// Is this a syntactically valid base64 string (standard alphabet, optional padding)?
pub fn is_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    let pad = s.len() - body.len();
    pad <= 2
        && s.len().is_multiple_of(4)
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_compare_exactly() {
        let d = |s: &str| Decimal::parse(s).unwrap();
        assert_eq!(d("10").cmp_exact(&d("10.0")), Ordering::Equal);
        assert_eq!(
            d("0.1").cmp_exact(&d("0.10000000000000001")),
            Ordering::Less
        );
        assert_eq!(d("-3").cmp_exact(&d("2")), Ordering::Less);
        assert_eq!(d("-0").cmp_exact(&d("0")), Ordering::Equal);
        for bad in [
            "", "-", ".", "1.2.3", "abc", "1e", "0x10", " 1", "1e99999", "1e3", "1E3", "NaN",
            "Infinity", "1_000",
        ] {
            assert!(Decimal::parse(bad).is_none(), "{bad}");
            assert!(compare_numbers(bad, "1").is_none(), "{bad}");
        }
        // Large policy numbers are exact up to 38 digits; beyond, rejected (not rounded).
        let big = "1000000000000000000000"; // 1e21
        assert_eq!(
            d(big).cmp_exact(&d("999999999999999999999")),
            Ordering::Greater
        );
        assert!(Decimal::parse(&"9".repeat(38)).is_some());
        assert!(Decimal::parse(&"9".repeat(39)).is_none());
        assert!(Decimal::parse(&format!("0.{}1", "0".repeat(36))).is_some());
        assert_eq!(
            d(&"9".repeat(38)).cmp_exact(&d(&format!("0.{}", "9".repeat(38)))),
            Ordering::Greater
        );
        // Request values compare as text, of any size.
        let huge = format!("1{}", "0".repeat(60));
        assert_eq!(compare_numbers(&huge, big), Some(Ordering::Greater));
        assert_eq!(
            compare_numbers(&format!("-{huge}"), "-1"),
            Some(Ordering::Less)
        );
        assert_eq!(compare_numbers("-0.0", "0"), Some(Ordering::Equal));
        assert_eq!(compare_numbers("007.50", "7.5"), Some(Ordering::Equal));
        assert_eq!(compare_numbers("-2.5", "-2.25"), Some(Ordering::Less));
        assert_eq!(compare_numbers(".5", "0.5"), Some(Ordering::Equal));
        assert_eq!(d("2.5").scaled_text(3), "2500");
        let big = format!("(- 1{})", "0".repeat(40));
        let text = scaled_numeral(&big, 2).unwrap();
        assert_eq!(
            compare_numbers(&text, &format!("-1{}", "0".repeat(38))),
            Some(Ordering::Equal)
        );
        assert_eq!(scaled_numeral("5", 2).as_deref(), Some("0.05"));
        assert_eq!(scaled_numeral("x", 2), None);
        assert_eq!(d("-7").scaled_text(2), "-700");
        assert_eq!(d("3.250").to_string(), "3.25");
        assert_eq!(d("-0.05").to_string(), "-0.05");
    }

    #[test]
    fn dates_accept_iso_and_epoch() {
        let t = parse_date("2020-01-01T00:00:00Z").unwrap();
        assert_eq!(t, 1_577_836_800 * 1_000_000_000);
        assert_eq!(parse_date("2020-01-01"), Some(t));
        assert_eq!(parse_date("1577836800"), Some(t));
        assert_eq!(parse_date("2020-01-01T01:00:00+01:00"), Some(t));
        assert_eq!(parse_date("2020-01-01T00:00:00.5Z"), Some(t + 500_000_000));
        assert_eq!(format_date(t), "2020-01-01T00:00:00Z");
        assert_eq!(format_date(t + 1), "2020-01-01T00:00:00.000000001Z");
        assert_eq!(
            parse_date(&format_date(t + 500_000_000)),
            Some(t + 500_000_000)
        );
        for bad in [
            "2020-13-01",
            "2021-02-29",
            "2020-01-01T25:00:00Z",
            "yesterday",
            "2020-01-01T00:00:00Q",
        ] {
            assert!(parse_date(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn date_domain_is_what_parse_date_reads() {
        // The edges of the ISO range, as written.
        assert_eq!(parse_date("0000-01-01T00:00:00+23:59"), Some(DATE_ISO_MIN));
        assert_eq!(
            parse_date("9999-12-31T23:59:60.999999999-23:59"),
            Some(DATE_ISO_MAX)
        );
        assert_eq!(
            parse_date("-9223372036854775808"),
            Some(i128::from(i64::MIN) * NS)
        );
        assert_eq!(
            parse_date("9223372036854775807"),
            Some(i128::from(i64::MAX) * NS)
        );
        assert_eq!(parse_date("9223372036854775808"), None);
        // Every instant of the domain renders to a value that reads back exactly (witnesses).
        let samples = [
            DATE_ISO_MIN,
            DATE_ISO_MIN + 1,
            YEAR_0 - 1,
            YEAR_0,
            -NS,
            -1,
            0,
            1,
            YEAR_10000 - 1,
            YEAR_10000,
            YEAR_10000 + 1,
            YEAR_10000 + 86_340 * NS - 1,
            YEAR_10000 + 86_340 * NS,
            YEAR_10000 + 86_340 * NS + 1,
            DATE_ISO_MAX - 1,
            DATE_ISO_MAX,
            DATE_ISO_MAX + 1,
            i128::from(i64::MIN) * NS,
            i128::from(i64::MAX) * NS,
        ];
        for t in samples {
            assert!(in_date_domain(t), "{t}");
            assert_eq!(
                parse_date(&format_date(t)),
                Some(t),
                "{t}: {}",
                format_date(t)
            );
        }
        for t in [
            DATE_ISO_MIN - 1,
            DATE_ISO_MAX + 2,
            i128::from(i64::MAX) * NS + NS,
            i128::from(i64::MIN) * NS - NS,
        ] {
            assert!(!in_date_domain(t), "{t}");
        }
        assert_eq!(format_date(-NS), "1969-12-31T23:59:59Z");
        assert_eq!(format_date(YEAR_10000), "253402300800");
    }

    #[test]
    fn cidrs_contain_addresses() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.255.0.1".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("1.2.3.4".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "10.0.0/8", "10.0.0.0/", "::/129", "x"] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn arns_split_into_six_segments() {
        assert_eq!(
            split_arn("arn:aws:s3:::b/k:x"),
            Some(["arn", "aws", "s3", "", "", "b/k:x"])
        );
        assert_eq!(split_arn("arn:aws:s3"), None);
    }
}
