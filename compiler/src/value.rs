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

/// Largest number of fractional digits kept; more is rejected as not a number we can
/// represent exactly (AWS documents no precision; 18 is far beyond any real policy).
const MAX_SCALE: u32 = 18;

impl Decimal {
    /// Parse `-12`, `3.25`, `1e3`, `+4`. Whitespace is not allowed.
    pub fn parse(s: &str) -> Option<Decimal> {
        let (neg, body) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let (num, exp) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], body[i + 1..].parse::<i32>().ok()?),
            None => (body, 0),
        };
        let (int, frac) = match num.find('.') {
            Some(i) => (&num[..i], &num[i + 1..]),
            None => (num, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = format!("{int}{frac}");
        let digits = digits.trim_start_matches('0');
        let mut scale = i64::try_from(frac.len()).ok()? - i64::from(exp);
        let mut mantissa: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        while scale < 0 {
            mantissa = mantissa.checked_mul(10)?;
            scale += 1;
        }
        while scale > 0 && mantissa % 10 == 0 {
            mantissa /= 10;
            scale -= 1;
        }
        let scale = u32::try_from(scale).ok().filter(|s| *s <= MAX_SCALE)?;
        // Keep headroom so that comparisons (which rescale) cannot overflow.
        if mantissa.unsigned_abs() > 10u128.pow(20) {
            return None;
        }
        Some(Decimal {
            mantissa: if neg { -mantissa } else { mantissa },
            scale,
        })
    }

    pub fn cmp_exact(&self, other: &Decimal) -> Ordering {
        let s = self.scale.max(other.scale);
        let a = self.mantissa * 10i128.pow(s - self.scale);
        let b = other.mantissa * 10i128.pow(s - other.scale);
        a.cmp(&b)
    }
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

/// Format an instant as ISO 8601 UTC, for witnesses.
pub fn format_date(t: Instant) -> String {
    let secs = t.div_euclid(1_000_000_000) as i64;
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
    let nanos = t.rem_euclid(1_000_000_000);
    let frac = if nanos == 0 {
        String::new()
    } else {
        // Exact: as many digits as needed, no rounding.
        format!(".{nanos:09}").trim_end_matches('0').to_string()
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{frac}Z",
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
        let d = |s| Decimal::parse(s).unwrap();
        assert_eq!(d("10").cmp_exact(&d("10.0")), Ordering::Equal);
        assert_eq!(d("1e1").cmp_exact(&d("10")), Ordering::Equal);
        assert_eq!(
            d("0.1").cmp_exact(&d("0.10000000000000001")),
            Ordering::Less
        );
        assert_eq!(d("-3").cmp_exact(&d("2")), Ordering::Less);
        assert_eq!(d("-0").cmp_exact(&d("0")), Ordering::Equal);
        for bad in ["", "-", ".", "1.2.3", "abc", "1e", "0x10", " 1", "1e99999"] {
            assert!(Decimal::parse(bad).is_none(), "{bad}");
        }
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
