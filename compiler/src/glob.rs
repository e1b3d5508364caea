//! IAM wildcard matching: `*` matches any sequence of characters (including none) and `?`
//! exactly one character; every other character matches itself.
//!
//! Source: IAM User Guide, "IAM JSON policy elements: Condition operators", String condition
//! operators (`StringLike`), and "IAM JSON policy elements: Action" (wildcards in actions).
//! Actions compare case-insensitively; callers pass `fold_case` accordingly.
//!
//! Patterns are token lists rather than strings so that text substituted for a policy variable,
//! and the escapes `${*}` / `${?}`, stay literal even when they contain `*` or `?`.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tok {
    Char(char),
    /// `?`: exactly one character.
    One,
    /// `*`: any sequence, possibly empty.
    Star,
    /// `*` inside an ARN segment: any sequence without `:` (see `Glob::arn_segments`).
    StarSeg,
    /// One character other than `:`. Never written by a user (a policy's `?` is `One`): the
    /// first character of a field that is never empty, such as a typed ARN format's account
    /// (`catalog::arn_glob`) or `problem::owner_glob`'s "some account".
    OneSeg,
    /// A character compared case-insensitively (`StringEqualsIgnoreCase`, `Bool`).
    Fold(char),
}

/// A compiled wildcard pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Glob(pub Vec<Tok>);

impl Glob {
    /// `*` and `?` are wildcards.
    pub fn wild(pattern: &str) -> Glob {
        let mut g = Glob::default();
        g.push_wild(pattern);
        g
    }

    /// Every character is literal.
    pub fn literal(text: &str) -> Glob {
        let mut g = Glob::default();
        g.push_literal(text);
        g
    }

    pub fn push_wild(&mut self, s: &str) {
        self.0.extend(s.chars().map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Char(c),
        }));
    }

    pub fn push_literal(&mut self, s: &str) {
        self.0.extend(s.chars().map(Tok::Char));
    }

    pub fn is_literal(&self) -> bool {
        self.0.iter().all(|t| matches!(t, Tok::Char(_)))
    }

    /// Every literal character compared case-insensitively; wildcards stay (a literal-only
    /// glob becomes a case-insensitive equality test).
    pub fn fold_case(&self) -> Glob {
        Glob(
            self.0
                .iter()
                .map(|t| match t {
                    Tok::Char(c) if c.is_alphabetic() => Tok::Fold(*c),
                    t => *t,
                })
                .collect(),
        )
    }

    /// The literal text, when the pattern has no wildcard.
    pub fn as_literal(&self) -> Option<String> {
        self.0
            .iter()
            .map(|t| match t {
                Tok::Char(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    /// Matches every string.
    pub fn is_universal(&self) -> bool {
        !self.0.is_empty() && self.0.iter().all(|t| *t == Tok::Star)
    }

    /// Lower-case every literal character (for case-insensitive domains such as actions).
    pub fn to_lowercase(&self) -> Glob {
        Glob(
            self.0
                .iter()
                .flat_map(|t| match t {
                    Tok::Char(c) => c.to_lowercase().map(Tok::Char).collect::<Vec<_>>(),
                    t => vec![*t],
                })
                .collect(),
        )
    }

    /// Split at literal `sep` characters into at most `n` pieces (the last keeps the rest).
    pub fn splitn(&self, n: usize, sep: char) -> Vec<Glob> {
        let mut out = vec![Glob::default()];
        for t in &self.0 {
            if *t == Tok::Char(sep) && out.len() < n {
                out.push(Glob::default());
            } else if let Some(last) = out.last_mut() {
                last.0.push(*t);
            }
        }
        out
    }

    pub fn matches(&self, text: &str, fold_case: bool) -> bool {
        // Literal patterns (most action names and ARNs): a direct comparison, no allocation.
        if !fold_case && self.0.iter().all(|t| matches!(t, Tok::Char(_))) {
            let mut it = text.chars();
            return self
                .0
                .iter()
                .all(|t| matches!(t, Tok::Char(c) if it.next() == Some(*c)))
                && it.next().is_none();
        }
        // The literal prefix first: most non-matches (another service, another bucket) fail
        // there, before any allocation.
        let mut it = text.chars();
        for tok in &self.0 {
            match tok {
                Tok::Char(c) => match it.next() {
                    Some(x) if eq(*c, x, fold_case) => {}
                    _ => return false,
                },
                _ => break,
            }
        }
        let t: Vec<char> = text.chars().collect();
        if self
            .0
            .iter()
            .any(|t| matches!(t, Tok::StarSeg | Tok::OneSeg))
        {
            matches_nfa(&self.0, &t, fold_case)
        } else {
            matches_toks(&self.0, &t, fold_case)
        }
    }

    /// ARN wildcard rules ("IAM JSON policy elements: Resource", Using wildcards in resource
    /// ARNs): a `*` stays inside its colon-separated segment, except that a `*` that is the
    /// last character of a segment (followed by `:` or the end) "can expand to match beyond
    /// the colon boundaries". Turns every other `*` into `StarSeg`.
    pub fn arn_segments(&self) -> Glob {
        let toks = self.0.iter().enumerate().map(|(i, t)| {
            let last_of_segment = matches!(self.0.get(i + 1), None | Some(Tok::Char(':')));
            if *t == Tok::Star && !last_of_segment {
                Tok::StarSeg
            } else {
                *t
            }
        });
        Glob(toks.collect())
    }
}

impl std::fmt::Display for Glob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for t in &self.0 {
            match t {
                Tok::Char('*') => f.write_str("${*}")?,
                Tok::Char('?') => f.write_str("${?}")?,
                Tok::Char(c) => write!(f, "{c}")?,
                Tok::One | Tok::OneSeg => f.write_str("?")?,
                Tok::Star | Tok::StarSeg => f.write_str("*")?,
                Tok::Fold(c) => write!(f, "{c}")?,
            }
        }
        Ok(())
    }
}

/// Does `text` match the IAM wildcard `pattern` (with `*` and `?` active)?
pub fn matches(pattern: &str, text: &str, fold_case: bool) -> bool {
    Glob::wild(pattern).matches(text, fold_case)
}

fn eq(a: char, b: char, fold_case: bool) -> bool {
    a == b || (fold_case && a.to_lowercase().eq(b.to_lowercase()))
}

/// The classic two-pointer algorithm: linear in practice, `O(|pattern| * |text|)` worst case,
/// no recursion (so no stack overflow on hostile input).
fn matches_toks(p: &[Tok], t: &[char], fold_case: bool) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    // Position after the last `*` seen in the pattern, and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(Tok::Star) => {
                star = Some((pi + 1, ti));
                pi += 1;
            }
            Some(Tok::One) => {
                pi += 1;
                ti += 1;
            }
            Some(Tok::Char(c)) if eq(*c, t[ti], fold_case) => {
                pi += 1;
                ti += 1;
            }
            Some(Tok::Fold(c)) if eq(*c, t[ti], true) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == Tok::Star)
}

/// Position-set simulation, for patterns with `StarSeg` (where the two-pointer shortcut is
/// not valid). `O(|pattern| * |text|)`.
fn matches_nfa(p: &[Tok], t: &[char], fold_case: bool) -> bool {
    let n = p.len();
    let closure = |set: &mut Vec<bool>| {
        for i in 0..n {
            if set[i] && matches!(p[i], Tok::Star | Tok::StarSeg) {
                set[i + 1] = true;
            }
        }
    };
    let mut cur = vec![false; n + 1];
    cur[0] = true;
    closure(&mut cur);
    let mut next = vec![false; n + 1];
    for &c in t {
        next.fill(false);
        for i in 0..n {
            if !cur[i] {
                continue;
            }
            match p[i] {
                Tok::Char(x) if eq(x, c, fold_case) => next[i + 1] = true,
                Tok::Char(_) => {}
                Tok::Fold(x) if eq(x, c, true) => next[i + 1] = true,
                Tok::Fold(_) => {}
                Tok::One => next[i + 1] = true,
                Tok::OneSeg if c != ':' => next[i + 1] = true,
                Tok::OneSeg => {}
                Tok::Star => next[i] = true,
                Tok::StarSeg if c != ':' => next[i] = true,
                Tok::StarSeg => {}
            }
        }
        closure(&mut next);
        if !next.iter().any(|b| *b) {
            return false;
        }
        std::mem::swap(&mut cur, &mut next);
    }
    cur[n]
}

/// True when the pattern contains a wildcard character.
pub fn has_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_empty_and_any_sequence() {
        assert!(matches("*", "", false));
        assert!(matches("a*", "a", false));
        assert!(matches("a*c", "abbbc", false));
        assert!(!matches("a*c", "abbbd", false));
        assert!(matches("*:*", "s3:GetObject", false));
    }

    #[test]
    fn question_matches_exactly_one() {
        assert!(matches("a?c", "abc", false));
        assert!(!matches("a?c", "ac", false));
        assert!(!matches("a?c", "abbc", false));
    }

    #[test]
    fn case_folding_is_opt_in() {
        assert!(matches("s3:get*", "S3:GetObject", true));
        assert!(!matches("s3:get*", "S3:GetObject", false));
    }

    #[test]
    fn backtracking_cases() {
        assert!(matches("*a*b", "xaxxb", false));
        assert!(!matches("*a*b", "xaxxc", false));
        assert!(matches("a*b*c", "abbbbc", false));
        assert!(matches("**?", "x", false));
        assert!(!matches("**?", "", false));
    }

    #[test]
    fn literal_tokens_do_not_act_as_wildcards() {
        let mut g = Glob::wild("home/");
        g.push_literal("a*b");
        g.push_wild("/*");
        assert!(g.matches("home/a*b/x", false));
        assert!(!g.matches("home/axxb/x", false));
        assert_eq!(g.to_string(), "home/a${*}b/*");
    }

    #[test]
    fn arn_stars_stay_in_segment_unless_last() {
        let g = Glob::wild("arn:aws:sqs:*3:queue1").arn_segments();
        assert!(!g.matches("arn:aws:sqs:us-east-1:111122223333:queue1", false));
        assert!(g.matches("arn:aws:sqs:eu-3:queue1", false));
        let g = Glob::wild("arn:aws:sqs:us-*").arn_segments();
        assert!(g.matches("arn:aws:sqs:us-east-1:111122223333:queue1", false));
        let g = Glob::wild("arn:aws:s3:::b*/k").arn_segments();
        assert!(g.matches("arn:aws:s3:::bx/k", false));
        assert!(!g.matches("arn:aws:s3:::b:x/k", false));
    }

    #[test]
    fn nfa_and_two_pointer_agree_without_segment_stars() {
        for (p, t) in [
            ("*a*b", "xaxxb"),
            ("a*b*c", "abbbbc"),
            ("**?", ""),
            ("a?c", "abbc"),
            ("*", ""),
        ] {
            let g = Glob::wild(p);
            let t: Vec<char> = t.chars().collect();
            assert_eq!(
                matches_nfa(&g.0, &t, false),
                matches_toks(&g.0, &t, false),
                "{p}"
            );
        }
    }

    #[test]
    fn fold_tokens_ignore_case() {
        let g = Glob::literal("True").fold_case();
        assert!(g.matches("TRUE", false) && g.matches("true", false));
        assert!(!g.matches("truex", false));
    }

    #[test]
    fn splitn_keeps_rest_in_last_piece() {
        let parts = Glob::wild("arn:aws:s3:::b/*:x").splitn(6, ':');
        assert_eq!(parts.len(), 6);
        assert_eq!(parts[5], Glob::wild("b/*:x"));
    }
}
