//! IAM wildcard matching: `*` matches any sequence of characters (including none) and `?`
//! exactly one character; every other character matches itself.
//!
//! Source: IAM User Guide, "IAM JSON policy elements: Condition operators", String condition
//! operators (`StringLike`), and "IAM JSON policy elements: Action" (wildcards in actions).
//! Actions compare case-insensitively; callers pass `fold_case` accordingly.

/// Does `text` match the IAM wildcard `pattern`?
///
/// The classic two-pointer algorithm: linear in practice, `O(|pattern| * |text|)` worst case,
/// no recursion (so no stack overflow on hostile input).
pub fn matches(pattern: &str, text: &str, fold_case: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    matches_chars(&p, &t, fold_case)
}

fn eq(a: char, b: char, fold_case: bool) -> bool {
    a == b || (fold_case && a.to_lowercase().eq(b.to_lowercase()))
}

fn matches_chars(p: &[char], t: &[char], fold_case: bool) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    // Position after the last `*` seen in the pattern, and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi + 1, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || eq(c, t[ti], fold_case) => {
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
    p[pi..].iter().all(|&c| c == '*')
}

/// True when the pattern contains a wildcard character.
pub fn has_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::matches;

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
}
