//! The condition operator table: every operator name AWS accepts, what it compares, and whether
//! it is a negated form. Parsing, linting, evaluation and lowering all read this one table.
//!
//! Source: IAM User Guide, "IAM JSON policy elements: Condition operators" (String, Numeric,
//! Date, Boolean, Binary, IP address, ARN, `...IfExists`, `Null`) and "Set operators for
//! multivalued context keys" (`ForAllValues:`, `ForAnyValue:`).

/// What a condition compares. Negated operators (`StringNotEquals`, `NotIpAddress`, ...) are
/// the positive base plus `Operator::negated`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Base {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    /// `ArnEquals` and `ArnLike` behave the same: segment-wise, with wildcards ("ARN condition
    /// operators": "ArnEquals, ArnLike ... each of the six colon-delimited components ... can
    /// include multi-character match wildcards (*) or single-character match wildcards (?)").
    ArnLike,
    Null,
}

/// The type of value an operator compares; decides how policy and request values parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    String,
    Numeric,
    Date,
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

impl Base {
    pub fn family(self) -> Family {
        use Base::*;
        match self {
            StringEquals | StringEqualsIgnoreCase | StringLike => Family::String,
            NumericEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => Family::Numeric,
            DateEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => Family::Date,
            Bool => Family::Bool,
            BinaryEquals => Family::Binary,
            IpAddress => Family::Ip,
            ArnLike => Family::Arn,
            Null => Family::Null,
        }
    }

    /// Whether `*` and `?` in policy values are wildcards for this operator.
    pub fn has_wildcards(self) -> bool {
        matches!(self, Base::StringLike | Base::ArnLike)
    }

    /// Whether policy variables are substituted in this operator's values ("IAM policy
    /// elements: Variables and tags": variables work in string and ARN operators).
    pub fn allows_variables(self) -> bool {
        matches!(self.family(), Family::String | Family::Arn)
    }
}

/// Ordering relation used by the numeric and date families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ordering {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Ordering {
    pub fn holds(self, c: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering as O;
        match self {
            Ordering::Eq => c == O::Equal,
            Ordering::Lt => c == O::Less,
            Ordering::Le => c != O::Greater,
            Ordering::Gt => c == O::Greater,
            Ordering::Ge => c != O::Less,
        }
    }
}

impl Base {
    /// For numeric and date operators: request value `<rel>` policy value.
    pub fn ordering(self) -> Option<Ordering> {
        use Base::*;
        Some(match self {
            NumericEquals | DateEquals => Ordering::Eq,
            NumericLessThan | DateLessThan => Ordering::Lt,
            NumericLessThanEquals | DateLessThanEquals => Ordering::Le,
            NumericGreaterThan | DateGreaterThan => Ordering::Gt,
            NumericGreaterThanEquals | DateGreaterThanEquals => Ordering::Ge,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Qualifier {
    ForAllValues,
    ForAnyValue,
}

/// A parsed operator name such as `ForAnyValue:StringNotLikeIfExists`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Operator {
    pub base: Base,
    pub negated: bool,
    pub if_exists: bool,
    pub qualifier: Option<Qualifier>,
}

/// (name, base, negated) for every operator name, without qualifier or `IfExists`.
pub const OPERATORS: &[(&str, Base, bool)] = &[
    ("StringEquals", Base::StringEquals, false),
    ("StringNotEquals", Base::StringEquals, true),
    (
        "StringEqualsIgnoreCase",
        Base::StringEqualsIgnoreCase,
        false,
    ),
    (
        "StringNotEqualsIgnoreCase",
        Base::StringEqualsIgnoreCase,
        true,
    ),
    ("StringLike", Base::StringLike, false),
    ("StringNotLike", Base::StringLike, true),
    ("NumericEquals", Base::NumericEquals, false),
    ("NumericNotEquals", Base::NumericEquals, true),
    ("NumericLessThan", Base::NumericLessThan, false),
    ("NumericLessThanEquals", Base::NumericLessThanEquals, false),
    ("NumericGreaterThan", Base::NumericGreaterThan, false),
    (
        "NumericGreaterThanEquals",
        Base::NumericGreaterThanEquals,
        false,
    ),
    ("DateEquals", Base::DateEquals, false),
    ("DateNotEquals", Base::DateEquals, true),
    ("DateLessThan", Base::DateLessThan, false),
    ("DateLessThanEquals", Base::DateLessThanEquals, false),
    ("DateGreaterThan", Base::DateGreaterThan, false),
    ("DateGreaterThanEquals", Base::DateGreaterThanEquals, false),
    ("Bool", Base::Bool, false),
    ("BinaryEquals", Base::BinaryEquals, false),
    ("IpAddress", Base::IpAddress, false),
    ("NotIpAddress", Base::IpAddress, true),
    ("ArnEquals", Base::ArnLike, false),
    ("ArnLike", Base::ArnLike, false),
    ("ArnNotEquals", Base::ArnLike, true),
    ("ArnNotLike", Base::ArnLike, true),
    ("Null", Base::Null, false),
];

/// Why an operator name was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperatorError {
    Unknown {
        suggestion: Option<&'static str>,
    },
    /// `NullIfExists` and set qualifiers on `Null` are meaningless: `Null` is about presence.
    NotAllowedOnNull(&'static str),
}

impl Operator {
    /// Parse an operator name. Operator names are matched case-sensitively, as AWS's policy
    /// validator does.
    pub fn parse(name: &str) -> Result<Operator, OperatorError> {
        let (qualifier, rest) = if let Some(r) = name.strip_prefix("ForAllValues:") {
            (Some(Qualifier::ForAllValues), r)
        } else if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (Some(Qualifier::ForAnyValue), r)
        } else {
            (None, name)
        };
        let (if_exists, core) = match rest.strip_suffix("IfExists") {
            Some(c) => (true, c),
            None => (false, rest),
        };
        let Some(&(_, base, negated)) = OPERATORS.iter().find(|(n, _, _)| *n == core) else {
            return Err(OperatorError::Unknown {
                suggestion: suggest(core),
            });
        };
        if base == Base::Null {
            if if_exists {
                return Err(OperatorError::NotAllowedOnNull("IfExists"));
            }
            if qualifier.is_some() {
                return Err(OperatorError::NotAllowedOnNull("a set qualifier"));
            }
        }
        Ok(Operator {
            base,
            negated,
            if_exists,
            qualifier,
        })
    }

    /// The operator's canonical name, e.g. `ForAnyValue:StringNotLikeIfExists`.
    pub fn name(&self) -> String {
        let core = OPERATORS
            .iter()
            .find(|(_, b, n)| *b == self.base && *n == self.negated)
            .map(|(n, _, _)| *n)
            .unwrap_or("?");
        let q = match self.qualifier {
            Some(Qualifier::ForAllValues) => "ForAllValues:",
            Some(Qualifier::ForAnyValue) => "ForAnyValue:",
            None => "",
        };
        let e = if self.if_exists { "IfExists" } else { "" };
        format!("{q}{core}{e}")
    }
}

fn suggest(core: &str) -> Option<&'static str> {
    let lower = core.to_ascii_lowercase();
    // Same name in another case is the most common slip (`stringequals`).
    if let Some((n, _, _)) = OPERATORS
        .iter()
        .find(|(n, _, _)| n.to_ascii_lowercase() == lower)
    {
        return Some(n);
    }
    OPERATORS
        .iter()
        .map(|(n, _, _)| (edit_distance(&lower, &n.to_ascii_lowercase()), *n))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, n)| n)
}

/// Levenshtein distance over chars.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_qualifiers_and_if_exists() {
        let op = Operator::parse("ForAnyValue:StringNotLikeIfExists").unwrap();
        assert_eq!(op.base, Base::StringLike);
        assert!(op.negated && op.if_exists);
        assert_eq!(op.qualifier, Some(Qualifier::ForAnyValue));
        assert_eq!(op.name(), "ForAnyValue:StringNotLikeIfExists");
    }

    #[test]
    fn every_table_name_round_trips() {
        for (name, _, _) in OPERATORS {
            // ArnLike/ArnNotLike print as their aliases ArnEquals/ArnNotEquals: same meaning.
            let op = Operator::parse(name).unwrap();
            assert_eq!(Operator::parse(&op.name()).unwrap(), op);
        }
    }

    #[test]
    fn arn_equals_is_arn_like() {
        assert_eq!(Operator::parse("ArnEquals").unwrap().base, Base::ArnLike);
    }

    #[test]
    fn rejects_unknown_and_null_variants() {
        assert_eq!(
            Operator::parse("StringEqual"),
            Err(OperatorError::Unknown {
                suggestion: Some("StringEquals")
            })
        );
        assert!(matches!(
            Operator::parse("NullIfExists"),
            Err(OperatorError::NotAllowedOnNull(_))
        ));
        assert!(matches!(
            Operator::parse("ForAllValues:Null"),
            Err(OperatorError::NotAllowedOnNull(_))
        ));
        assert!(matches!(
            Operator::parse("ForSomeValues:StringEquals"),
            Err(OperatorError::Unknown { .. })
        ));
    }
}
