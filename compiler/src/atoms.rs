//! The atomic comparisons, on concrete strings: one request value against one policy value.
//! The evaluator calls these directly; the logic IR's concrete evaluation calls the same
//! functions, so the two cannot drift.
//!
//! Sources: IAM User Guide, "Condition operators" (per family), "Amazon Resource Names (ARNs)"
//! and "IAM JSON policy elements: Resource" (segment-wise ARN matching).

use crate::glob::Glob;
use crate::operator::{Base, Family};
use crate::policy::CondValue;
use crate::value::{parse_date, parse_ip, Decimal};

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
        (Family::Numeric, CondValue::Number(n)) => {
            match (Decimal::parse(actual), base.ordering()) {
                (Some(a), Some(rel)) => rel.holds(a.cmp_exact(n)),
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
    fn resources_are_case_sensitive() {
        assert!(!arn_like(
            &Glob::wild("arn:aws:s3:::Bucket/*"),
            "arn:aws:s3:::bucket/x"
        ));
    }
}
