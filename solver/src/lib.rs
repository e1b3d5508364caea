//! Z3-backed solving for Tarski.
//!
//! Z3 comes from `.z3/` (installed by `scripts/install-z3.sh`); see `docs/z3.md`.

/// The version of the Z3 library linked at run time, e.g. `"4.15.4.0"`.
pub fn z3_version() -> String {
    let full = z3::full_version();
    full.strip_prefix("Z3 ").unwrap_or(full).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use z3::ast::{Int, Regexp, String as Z3String};
    use z3::{SatResult, Solver};

    #[test]
    fn links_z3_4_15() {
        let v = z3_version();
        assert!(v.starts_with("4.15"), "linked Z3 is {v}, expected 4.15.x");
    }

    #[test]
    fn solves_string_regex_query() {
        // x ∈ (a|b)* · "c"  ∧  |x| = 3
        let x = Z3String::new_const("x");
        let a_or_b = Regexp::union(&[Regexp::literal("a"), Regexp::literal("b")]);
        let re = Regexp::concat(&[a_or_b.star(), Regexp::literal("c")]);
        let solver = Solver::new();
        solver.assert(x.regex_matches(&re));
        solver.assert(x.length().eq(Int::from_u64(3)));
        assert_eq!(solver.check(), SatResult::Sat);

        let model = solver.get_model().expect("model");
        let value = model
            .eval(&x, true)
            .and_then(|v| v.as_string())
            .expect("x has a string value");
        assert_eq!(value.len(), 3, "x = {value:?}");
        assert!(value.ends_with('c'), "x = {value:?}");
        assert!(
            value[..2].chars().all(|c| c == 'a' || c == 'b'),
            "x = {value:?}"
        );
    }
}
