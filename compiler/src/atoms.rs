//! The atomic comparisons, on concrete strings: one request value against one policy value.
//! The evaluator calls these directly; the logic IR's concrete evaluation calls the same
//! functions, so the two cannot drift.
//!
//! Sources: IAM User Guide, "Condition operators" (per family), "Amazon Resource Names (ARNs)"
//! and "IAM JSON policy elements: Resource" (segment-wise ARN matching).

use crate::glob::Glob;
use crate::operator::{Base, Family};
use crate::policy::CondValue;
use crate::value::{compare_numbers, parse_date, parse_ip};

/// Action match: case-insensitive wildcard match ("IAM JSON policy elements: Action").
pub fn action_matches(pattern: &Glob, action: &str) -> bool {
    pattern.matches(action, true)
}

/// ARN match, for the `Resource` element and the `Arn*` condition operators: wildcards stay
/// inside a colon-separated segment unless they end it (`Glob::arn_segments`). Case-sensitive.
pub fn arn_like(pattern: &Glob, text: &str) -> bool {
    pattern.arn_segments().matches(text, false)
}

/// The glob a string-like comparison tests the request value against, given the policy
/// value's resolved text: exact (`StringEquals`, `BinaryEquals`), case-folded
/// (`StringEqualsIgnoreCase`), wildcards (`StringLike`), ARN segments (`Arn*`), or the
/// Boolean spellings (`Bool`). `None` for the numeric, date and IP families.
pub fn string_glob(base: Base, value: &CondValue, resolved: Option<&Glob>) -> Option<Glob> {
    match (base.family(), value) {
        (Family::String, _) => {
            let g = resolved?;
            Some(match base {
                // `resolved` keeps `*`/`?` as wildcards only for StringLike (the caller resolves
                // with `base.has_wildcards()`), so for the others it is literal.
                Base::StringEqualsIgnoreCase => g.fold_case(),
                _ => g.clone(),
            })
        }
        (Family::Arn, _) => resolved.map(Glob::arn_segments),
        (Family::Bool, CondValue::Bool(b)) => Some(bool_glob(*b)),
        (Family::Binary, CondValue::Binary(b)) => Some(Glob::literal(b)),
        _ => None,
    }
}

/// Does the request value `actual` satisfy the positive operator `base` against the policy
/// value? `resolved` is the policy value's text with variables substituted (string and ARN
/// families); `None` when a variable was missing, which matches nothing.
pub fn compare(base: Base, value: &CondValue, resolved: Option<&Glob>, actual: &str) -> bool {
    if matches!(
        base.family(),
        Family::String | Family::Arn | Family::Bool | Family::Binary
    ) {
        return string_glob(base, value, resolved).is_some_and(|g| g.matches(actual, false));
    }
    match (base.family(), value) {
        // Request numbers of any size and precision compare exactly, as text
        // (`value::compare_numbers`); a value that is not a number matches nothing.
        (Family::Numeric, CondValue::Number(n)) => {
            match (compare_numbers(actual, &n.to_string()), base.ordering()) {
                (Some(c), Some(rel)) => rel.holds(c),
                _ => false,
            }
        }
        (Family::Date, CondValue::Date(d)) => match (parse_date(actual), base.ordering()) {
            (Some(a), Some(rel)) => rel.holds(a.cmp(d)),
            _ => false,
        },
        (Family::Ip, CondValue::Ip(c)) => parse_ip(actual).is_some_and(|ip| c.contains(ip)),
        _ => false,
    }
}

/// The values a request can carry for a context key, by the key's documented type. One rule
/// for both sides: the evaluator refuses a request outside it (`request_domain_error`, used by
/// `tarski eval`), and the solver's variables range over exactly it (`logic::problem` gives
/// Boolean keys the two Boolean cells, `solver::encode` makes IP keys always addresses).
///
/// Source: the Service Authorization Reference and "AWS global condition context keys" give
/// each key a data type; AWS fills a key of type `Bool` with `true` or `false` and a key of
/// type `IPAddress` with an IP address (e.g. `aws:SecureTransport`, `aws:SourceIp`), so no
/// request AWS makes carries `yes` or `not-an-ip` there (issue 11, finding 3). Keys of other
/// types (and unknown keys) may carry any string: a `Numeric` or `Date` key's value that
/// does not parse matches no numeric or date operator, on both sides alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueDomain {
    /// Any string.
    Any,
    /// `true` or `false`, in any case (as `Bool` reads them, `value::parse_bool`).
    Bool,
    /// An IPv4 or IPv6 address (`value::parse_ip`).
    Ip,
}

/// The domain of a context key's values (see [`ValueDomain`]).
pub fn value_domain(key: &str) -> ValueDomain {
    use crate::catalog::{catalog, KeyType};
    match catalog().condition_key_type(key) {
        Some(KeyType::Bool | KeyType::ArrayOfBool) => ValueDomain::Bool,
        Some(KeyType::IpAddress) => ValueDomain::Ip,
        _ => ValueDomain::Any,
    }
}

/// Can a request carry `value` for `key`?
pub fn in_value_domain(key: &str, value: &str) -> bool {
    match value_domain(key) {
        ValueDomain::Any => true,
        ValueDomain::Bool => crate::value::parse_bool(value).is_some(),
        ValueDomain::Ip => parse_ip(value).is_some(),
    }
}

/// Why `req` is not a request AWS can make, if so: a context value outside its key's domain,
/// or a resource account that contradicts the resource ARN's account field
/// (`semantics::resource_owner`).
pub fn request_domain_error(req: &crate::request::Request) -> Option<String> {
    if let Some(why) = req.owner_conflict() {
        return Some(why);
    }
    // A role never makes a request: its sessions do ("IAM JSON policy elements: Principal",
    // role sessions: the caller of a role is `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`).
    if let Some(session) = crate::request::role_session(&req.principal, "SESSION") {
        return Some(format!(
            "the principal `{}` is a role, and a role never makes a request: its sessions do; give the session, `{session}`",
            req.principal
        ));
    }
    for (key, values) in req.context.iter() {
        for v in values {
            if !in_value_domain(key, v) {
                let what = match value_domain(key) {
                    ValueDomain::Bool => "a Boolean key: its values are `true` or `false`",
                    ValueDomain::Ip => "an IP address key: its values are IPv4 or IPv6 addresses",
                    ValueDomain::Any => "",
                };
                return Some(format!(
                    "context key `{key}` = `{v}`: `{key}` is {what} (its type in AWS's Service Authorization Reference), so no request carries `{v}`"
                ));
            }
        }
    }
    None
}

/// The request values a Boolean condition value matches, as a glob.
pub fn bool_glob(b: bool) -> Glob {
    Glob::literal(if b { "true" } else { "false" }).fold_case()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_wildcards_do_not_cross_segments() {
        let g = Glob::wild("arn:aws:s3:::*");
        assert!(arn_like(&g, "arn:aws:s3:::bucket/key:with:colons"));
        // `*` in the region segment cannot swallow the account segment's colon.
        let g = Glob::wild("arn:aws:iam::*:role/x");
        assert!(arn_like(&g, "arn:aws:iam::123:role/x"));
        let g = Glob::wild("arn:aws:iam::1*3:role/x");
        assert!(!arn_like(&g, "arn:aws:iam::1:2:3:role/x"));
        assert!(arn_like(&Glob::wild("*"), "anything"));
        assert!(!arn_like(&Glob::wild("arn:aws:s3:::b"), "not-an-arn"));
    }

    #[test]
    fn typed_keys_have_typed_domains() {
        assert_eq!(
            value_domain("aws:MultiFactorAuthPresent"),
            ValueDomain::Bool
        );
        assert_eq!(value_domain("AWS:SecureTransport"), ValueDomain::Bool);
        assert_eq!(value_domain("aws:SourceIp"), ValueDomain::Ip);
        assert_eq!(value_domain("aws:username"), ValueDomain::Any);
        assert_eq!(value_domain("aws:CurrentTime"), ValueDomain::Any);
        assert!(in_value_domain("aws:MultiFactorAuthPresent", "TRUE"));
        assert!(!in_value_domain("aws:MultiFactorAuthPresent", "yes"));
        assert!(in_value_domain("aws:SourceIp", "2001:db8::1"));
        assert!(!in_value_domain("aws:SourceIp", "not-an-ip"));
        let mut req = crate::request::Request::default();
        req.context.push("aws:MultiFactorAuthPresent", "yes");
        assert!(request_domain_error(&req).is_some_and(|e| e.contains("Boolean")));
    }

    #[test]
    fn resources_are_case_sensitive() {
        assert!(!arn_like(
            &Glob::wild("arn:aws:s3:::Bucket/*"),
            "arn:aws:s3:::bucket/x"
        ));
    }
}
