//! A solver-ready problem: a goal formula (satisfiable iff some request is a witness), with a
//! finite domain for every string variable (its cells), the principal and resource-account
//! candidates, and the value slots of each context key. Building it is where string reasoning
//! leaves the solver: each string variable's patterns are partitioned into cells with
//! automata (`cells.rs`), and every pattern atom becomes "the variable is in one of these
//! cells". Atoms that are constant over the remaining domain are folded away before the
//! solver sees the goal, which drops statements that cannot touch the query's constraint.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::catalog::catalog;
use crate::glob::{Glob, Tok};
use crate::logic::cells::{cells, Cell, CellError, CellProblem};
use crate::logic::domain::{domains, Domains};
use crate::logic::ir::{Atom, AtomId, Builder, Formula, StrVar};
use crate::logic::lower::Slots;
use crate::operator::Family;
use crate::semantics::Logic;

/// What kind of values a string variable is compared as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VarKind {
    /// Only pattern atoms: a choice among cells.
    Cells(Vec<Cell>),
    /// Numeric comparisons: an exact decimal with this many fractional digits.
    Numeric {
        scale: u32,
    },
    Date,
    Ip,
    /// Policy variables couple this string with others: Z3 string theory.
    Strings,
}

#[derive(Debug)]
pub struct Problem {
    pub builder: Builder,
    pub goal: Formula,
    pub vars: BTreeMap<StrVar, VarKind>,
    /// For cell variables: for each pattern atom, the cells where it holds.
    pub atom_cells: HashMap<AtomId, Vec<u32>>,
    pub domains: Domains,
    pub slots: Slots,
    /// Why the problem cannot be decided exactly, if so.
    pub unsupported: Option<String>,
    /// Variables that had too many cells and use string theory instead.
    pub string_fallbacks: Vec<String>,
}

/// Options that change the domain.
#[derive(Clone, Debug, Default)]
pub struct DomainOptions {
    /// Restrict actions to those in the catalog (`--known-actions`).
    pub known_actions: bool,
    /// Upper bound on automaton states per cell computation.
    pub max_states: usize,
    /// The caller is an IAM user or role session (the sets have identity-side policies).
    pub iam_callers: bool,
}

/// Resource witnesses read better when they look like ARNs.
const RESOURCE_SAMPLES: &[&str] = &[
    "arn:aws:s3:::tarski-example-bucket/example-object",
    "arn:aws:s3:::tarski-example-bucket",
    "arn:aws:iam::999900000001:role/tarski-example",
    "arn:aws:ec2:us-east-1:999900000001:instance/i-0123456789abcdef0",
];

impl Problem {
    /// Prepare `goal` (built with `builder`) for solving.
    pub fn new(
        builder: Builder,
        goal: Formula,
        slots: Slots,
        extra_principals: &[&str],
        opts: &DomainOptions,
    ) -> Problem {
        let mut p = Problem {
            builder,
            goal,
            vars: BTreeMap::new(),
            atom_cells: HashMap::new(),
            domains: Domains {
                principals: Vec::new(),
                resource_accounts: Vec::new(),
            },
            slots,
            unsupported: None,
            string_fallbacks: Vec::new(),
        };
        if p.goal.as_const().is_some() {
            return p;
        }
        p.classify_and_partition(opts);
        p.domains = domains(&p.builder.atoms(), extra_principals, opts.iam_callers);
        p
    }

    fn classify_and_partition(&mut self, opts: &DomainOptions) {
        self.resolve_fixed_templates();
        let mut ids = Vec::new();
        self.goal.atoms_into(&mut ids);
        ids.sort_unstable();
        ids.dedup();
        let atoms = self.builder.atoms().clone();
        // Group the atoms of each string variable by kind.
        let mut likes: BTreeMap<StrVar, Vec<(AtomId, Glob)>> = BTreeMap::new();
        let mut kinds: BTreeMap<StrVar, BTreeSet<&'static str>> = BTreeMap::new();
        let mut scale: BTreeMap<StrVar, u32> = BTreeMap::new();
        // Keys that policy variables read (their slot-0 values take part in string theory).
        let mut coupled: BTreeSet<StrVar> = BTreeSet::new();
        for &id in &ids {
            match atoms.get(id) {
                Atom::Like(v, g) => {
                    likes.entry(v.clone()).or_default().push((id, g.clone()));
                    kinds.entry(v.clone()).or_default().insert("string");
                }
                Atom::Template {
                    var,
                    template,
                    mode,
                } => {
                    // The string encoding compares a variable's value case-sensitively; a
                    // case-insensitive comparison would need case folding inside the solver.
                    // Unknown, never a proof (issue 11, finding 1).
                    if *mode
                        == crate::logic::ir::TemplateMode::Cond(
                            crate::operator::Base::StringEqualsIgnoreCase,
                        )
                    {
                        self.unsupported = Some(format!(
                            "{} is compared without regard to case with `{template}`, a value holding a policy variable (StringEqualsIgnoreCase / StringNotEqualsIgnoreCase): the string encoding cannot fold the variable's case",
                            describe(var)
                        ));
                    }
                    kinds.entry(var.clone()).or_default().insert("template");
                    for tv in template.vars() {
                        coupled.insert(StrVar::Slot(tv.key.to_ascii_lowercase(), 0));
                    }
                }
                Atom::Cmp { var, base, value } => {
                    let k = match base.family() {
                        Family::Numeric => {
                            if let crate::policy::CondValue::Number(d) = value {
                                let s = scale.entry(var.clone()).or_insert(0);
                                *s = (*s).max(d.scale + 1);
                            }
                            "numeric"
                        }
                        Family::Date => "date",
                        _ => "ip",
                    };
                    kinds.entry(var.clone()).or_default().insert(k);
                }
                _ => {}
            }
        }
        for v in &coupled {
            kinds.entry(v.clone()).or_default().insert("template");
        }
        // Top-level conjuncts of the goal fix or restrict a variable's domain: a literal
        // (`--action s3:GetObject`, a probe resource) leaves one string, so no automaton is
        // needed; a pattern becomes a requirement on every cell.
        let mut fixed: BTreeMap<StrVar, String> = BTreeMap::new();
        let mut required: BTreeMap<StrVar, Vec<Glob>> = BTreeMap::new();
        let conjuncts: Vec<Formula> = match &self.goal {
            Formula::And(fs) => fs.to_vec(),
            f => vec![f.clone()],
        };
        for c in &conjuncts {
            if let Formula::Atom(id) = c {
                if let Atom::Like(v, g) = atoms.get(*id) {
                    match g.as_literal() {
                        Some(l) => {
                            fixed.insert(v.clone(), l);
                        }
                        None => required.entry(v.clone()).or_default().push(g.clone()),
                    }
                }
            }
        }
        for (var, ks) in &kinds {
            let kind = if ks.contains("template") {
                if ks.iter().any(|k| !["template", "string"].contains(k)) {
                    self.unsupported = Some(format!("{} is both read by a policy variable and compared as a number, date or IP address", describe(var)));
                }
                if let StrVar::Slot(k, _) = var {
                    if self.slots.count(k) > 1 {
                        self.unsupported = Some(format!(
                            "the multivalued key `{k}` is used as a policy variable"
                        ));
                    }
                }
                VarKind::Strings
            } else if ks.len() > 1 {
                self.unsupported = Some(format!(
                    "{} is compared as more than one type ({})",
                    describe(var),
                    ks.iter().copied().collect::<Vec<_>>().join(", ")
                ));
                continue;
            } else if ks.contains("numeric") {
                VarKind::Numeric {
                    scale: scale.get(var).copied().unwrap_or(1),
                }
            } else if ks.contains("date") {
                VarKind::Date
            } else if ks.contains("ip") {
                VarKind::Ip
            } else {
                let globs: Vec<Glob> = likes
                    .get(var)
                    .map(|v| v.iter().map(|(_, g)| g.clone()).collect())
                    .unwrap_or_default();
                let mut req = required.get(var).cloned().unwrap_or_default();
                let computed = if let Some(lit) = fixed.get(var) {
                    let m = |g: &Glob| match var {
                        StrVar::Action => crate::atoms::action_matches(g, lit),
                        _ => g.matches(lit, false),
                    };
                    Ok(vec![Cell {
                        matches: globs
                            .iter()
                            .enumerate()
                            .filter(|(_, g)| m(g))
                            .map(|(i, _)| i as u32)
                            .collect(),
                        witness: lit.clone(),
                    }])
                } else {
                    match var {
                        StrVar::Action => action_cells(&globs, opts),
                        StrVar::Resource => {
                            req.push(Glob::wild("arn:*"));
                            let samples: Vec<String> =
                                RESOURCE_SAMPLES.iter().map(|s| s.to_string()).collect();
                            plain_cells(&globs, &req, &samples, opts)
                        }
                        StrVar::Slot(k, _) => {
                            // The key's value domain (atoms::value_domain, issue 11 finding 3).
                            let bool_key =
                                crate::atoms::value_domain(k) == crate::atoms::ValueDomain::Bool;
                            if bool_key {
                                boolean_cells(&globs, &req, opts)
                            } else {
                                plain_cells(&globs, &req, &[], opts)
                            }
                        }
                    }
                };
                match computed {
                    Ok(cs) => {
                        if let Some(list) = likes.get(var) {
                            for (i, (id, _)) in list.iter().enumerate() {
                                let holds: Vec<u32> = cs
                                    .iter()
                                    .enumerate()
                                    .filter(|(_, c)| c.matches.binary_search(&(i as u32)).is_ok())
                                    .map(|(ci, _)| ci as u32)
                                    .collect();
                                self.atom_cells.insert(*id, holds);
                            }
                        }
                        VarKind::Cells(cs)
                    }
                    // Too many cells to enumerate: keep the variable exact with Z3's string
                    // theory instead (slower, and a Z3 timeout is reported as unknown).
                    Err(CellError::Budget { states }) => {
                        self.string_fallbacks
                            .push(format!("{} ({states} automaton states)", describe(var)));
                        VarKind::Strings
                    }
                }
            };
            self.vars.insert(var.clone(), kind);
        }
        // Fold pattern atoms that hold in every cell or in none.
        let fold: HashMap<AtomId, bool> = self
            .atom_cells
            .iter()
            .filter_map(|(id, holds)| {
                let var = match atoms.get(*id) {
                    Atom::Like(v, _) => v,
                    _ => return None,
                };
                let n = match self.vars.get(var) {
                    Some(VarKind::Cells(cs)) => cs.len(),
                    _ => return None,
                };
                if holds.is_empty() {
                    Some((*id, false))
                } else if holds.len() == n {
                    Some((*id, true))
                } else {
                    None
                }
            })
            .collect();
        if !fold.is_empty() {
            self.goal = self
                .builder
                .substitute(&self.goal, &|id| fold.get(&id).copied());
        }
    }
}

/// Keys documented as Boolean carry `true` or `false` in real requests: partition with the
/// two Boolean spellings as extra patterns and keep only the cells inside one of them, so
/// witnesses are real Boolean values and proofs range over them.
fn boolean_cells(
    globs: &[Glob],
    require: &[Glob],
    opts: &DomainOptions,
) -> Result<Vec<Cell>, CellError> {
    let n = globs.len() as u32;
    let mut all = globs.to_vec();
    all.push(crate::atoms::bool_glob(true));
    all.push(crate::atoms::bool_glob(false));
    let cs = plain_cells(
        &all,
        require,
        &["true".to_string(), "false".to_string()],
        opts,
    )?;
    Ok(cs
        .into_iter()
        .filter(|c| c.matches.iter().any(|&i| i >= n))
        .map(|c| Cell {
            matches: c.matches.into_iter().filter(|&i| i < n).collect(),
            witness: c.witness,
        })
        .collect())
}

impl Problem {
    /// A policy-variable pattern compared with a variable the goal fixes to a literal `L` (a
    /// probe resource, `--resource` without wildcards) holds exactly when the variable's key has
    /// one of finitely many values: the substrings `v` of `L` for which the substituted pattern
    /// matches `L` (a substituted value is literal text, so it must occur in `L`). The template
    /// atom becomes "the key is present and its value is one of those", pattern atoms over the
    /// key's value slot, so the key needs cells instead of string theory. Exact; done for
    /// patterns with one variable occurrence (the common case).
    fn resolve_fixed_templates(&mut self) {
        let atoms = self.builder.atoms().clone();
        let conjuncts: Vec<Formula> = match &self.goal {
            Formula::And(fs) => fs.to_vec(),
            f => vec![f.clone()],
        };
        let mut fixed: BTreeMap<StrVar, String> = BTreeMap::new();
        for c in &conjuncts {
            if let Formula::Atom(id) = c {
                if let Atom::Like(v, g) = atoms.get(*id) {
                    if let Some(l) = g.as_literal() {
                        fixed.insert(v.clone(), l);
                    }
                }
            }
        }
        if fixed.is_empty() {
            return;
        }
        let mut ids = Vec::new();
        self.goal.atoms_into(&mut ids);
        let mut map: HashMap<AtomId, Formula> = HashMap::new();
        for id in ids {
            let Atom::Template {
                var,
                template,
                mode,
            } = atoms.get(id)
            else {
                continue;
            };
            let Some(lit) = fixed.get(var) else { continue };
            let vars: Vec<&crate::template::Var> = template.vars().collect();
            let [v] = vars.as_slice() else { continue };
            let key = v.key.to_ascii_lowercase();
            if self.slots.count(&key) != 1 {
                continue;
            }
            let glob_with = |value: &str| -> Option<Glob> {
                let val = value.to_string();
                crate::logic::ir::template_glob(template, *mode, &|k| {
                    (k.eq_ignore_ascii_case(&key)).then(|| val.clone())
                })
            };
            let fold = matches!(
                mode,
                crate::logic::ir::TemplateMode::Cond(crate::operator::Base::StringEqualsIgnoreCase)
            );
            let chars: Vec<char> = lit.chars().collect();
            let mut values: BTreeSet<String> = BTreeSet::new();
            for i in 0..=chars.len() {
                for j in i..=chars.len() {
                    let cand: String = chars[i..j].iter().collect();
                    if values.contains(&cand) {
                        continue;
                    }
                    if glob_with(&cand).is_some_and(|g| g.matches(lit, false)) {
                        values.insert(cand);
                    }
                }
            }
            let slot = StrVar::Slot(key.clone(), 0);
            let present = self.builder.atom(Atom::Member(key.clone(), 0));
            let one_of = self.builder.or(values
                .iter()
                .map(|x| {
                    let g = if fold {
                        Glob::literal(x).fold_case()
                    } else {
                        Glob::literal(x)
                    };
                    self.builder.atom(Atom::Like(slot.clone(), g))
                })
                .collect());
            let mut f = self.builder.and(vec![present.clone(), one_of]);
            if let Some(d) = &v.default {
                let by_default = glob_with(d).is_some_and(|g| g.matches(lit, false));
                if by_default {
                    f = self.builder.or(vec![f, self.builder.not(present)]);
                }
            }
            map.insert(id, f);
        }
        if !map.is_empty() {
            self.goal = self.builder.replace(&self.goal, &map);
        }
    }
}

fn describe(v: &StrVar) -> String {
    match v {
        StrVar::Action => "the action".into(),
        StrVar::Resource => "the resource".into(),
        StrVar::Slot(k, n) => format!("value {} of `{k}`", n + 1),
    }
}

fn plain_cells(
    globs: &[Glob],
    require: &[Glob],
    prefer: &[String],
    opts: &DomainOptions,
) -> Result<Vec<Cell>, CellError> {
    let mut cs = cells(&CellProblem {
        globs,
        require,
        forbid: &[],
        prefer,
        filler: 'x',
        max_states: opts.max_states.max(1),
    })?;
    // Ordered by witness, so that neighbouring patterns give ranges of cells (see encode).
    cs.sort_by(|a, b| a.witness.cmp(&b.witness));
    Ok(cs)
}

/// Cells of the action variable. Actions are `service:name` with one colon, so a pattern
/// `S:N` splits into a service pattern and a name pattern; cells are computed per service
/// (small problems) instead of over all actions at once, and real catalog actions are
/// preferred as witnesses.
pub fn action_cells(globs: &[Glob], opts: &DomainOptions) -> Result<Vec<Cell>, CellError> {
    let split: Vec<Option<(Glob, Glob)>> = globs.iter().map(split_action).collect();
    let cat = catalog();
    // Literal service prefixes named by the patterns.
    let mut services: BTreeSet<String> = BTreeSet::new();
    for (s, _) in split.iter().flatten() {
        if let Some(l) = s.as_literal() {
            services.insert(l);
        }
    }
    let wild_services: Vec<usize> = split
        .iter()
        .enumerate()
        .filter(|(_, p)| p.as_ref().is_some_and(|(s, _)| !s.is_literal()))
        .map(|(i, _)| i)
        .collect();
    let whole: Vec<usize> = split
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_none())
        .map(|(i, _)| i)
        .collect();
    let mut out: Vec<Cell> = Vec::new();
    // Patterns by literal service prefix; the others are tried against every service.
    let mut by_service: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, p) in split.iter().enumerate() {
        if let Some((s, _)) = p {
            if let Some(l) = s.as_literal() {
                by_service.entry(l).or_default().push(i);
            }
        }
    }
    let per_service = |svc: &str, out: &mut Vec<Cell>| -> Result<(), CellError> {
        // Patterns that can match an action of this service, with their name parts.
        let mut candidates: Vec<usize> = by_service.get(svc).cloned().unwrap_or_default();
        candidates.extend(wild_services.iter().copied().filter(|&i| {
            split[i]
                .as_ref()
                .is_some_and(|(s, _)| s.matches(svc, false))
        }));
        candidates.sort_unstable();
        let mut idx = Vec::new();
        let mut names = Vec::new();
        for i in candidates {
            if let Some((_, n)) = &split[i] {
                idx.push(i as u32);
                names.push(n.clone());
            }
        }
        let known: Vec<String> = cat
            .service_actions(svc)
            .iter()
            .map(|a| a.name.to_lowercase())
            .collect();
        let name_cells = if opts.known_actions {
            known_cells(&names, &known)
        } else {
            cells(&CellProblem {
                globs: &names,
                require: &[Glob::wild("?*")],
                forbid: &[],
                prefer: &known,
                filler: 'x',
                max_states: opts.max_states.max(1),
            })?
        };
        for c in name_cells {
            let action = format!("{svc}:{}", c.witness);
            let mut matches: Vec<u32> = c.matches.iter().map(|&j| idx[j as usize]).collect();
            // Patterns without the service:name shape are matched on the whole string.
            for &w in &whole {
                if globs[w].matches(&action, false) {
                    matches.push(w as u32);
                }
            }
            matches.sort_unstable();
            out.push(Cell {
                matches,
                witness: action,
            });
        }
        Ok(())
    };
    let mut all_services: BTreeSet<String> = services.clone();
    if opts.known_actions {
        all_services.extend(cat.services().map(|s| s.prefix.to_lowercase()));
    }
    for svc in &all_services {
        per_service(svc, &mut out)?;
    }
    if !opts.known_actions {
        // Services not named literally: partition them by the wildcard service patterns.
        let svc_globs: Vec<Glob> = wild_services
            .iter()
            .filter_map(|&i| split[i].as_ref().map(|(s, _)| s.clone()))
            .collect();
        let forbid: Vec<Glob> = services.iter().map(|s| Glob::literal(s)).collect();
        let prefer: Vec<String> = cat
            .services()
            .map(|s| s.prefix.to_lowercase())
            .filter(|s| !services.contains(s))
            .collect();
        let svc_cells = cells(&CellProblem {
            globs: &svc_globs,
            require: &[Glob::wild("?*")],
            forbid: &forbid,
            prefer: &prefer,
            filler: 'x',
            max_states: opts.max_states.max(1),
        })?;
        for sc in svc_cells {
            per_service(&sc.witness, &mut out)?;
        }
    }
    // Different services can give the same signature; keep one cell per signature, preferring
    // real actions.
    let mut by_sig: BTreeMap<Vec<u32>, Cell> = BTreeMap::new();
    for c in out {
        let real = cat.lookup(&c.witness).is_some();
        match by_sig.get(&c.matches) {
            Some(old) if !(real && cat.lookup(&old.witness).is_none()) => {}
            _ => {
                by_sig.insert(c.matches.clone(), c);
            }
        }
    }
    // Ordered by witness (service, then name), so that the cells of a service, or of a name
    // prefix such as `get*`, are neighbours: the encoder turns such sets into ranges.
    let mut cells: Vec<Cell> = by_sig.into_values().collect();
    cells.sort_by(|a, b| a.witness.cmp(&b.witness));
    Ok(cells)
}

/// With `--known-actions`: each catalog action is a point; group them by signature.
fn known_cells(names: &[Glob], known: &[String]) -> Vec<Cell> {
    let mut by_sig: BTreeMap<Vec<u32>, String> = BTreeMap::new();
    for k in known {
        let sig: Vec<u32> = names
            .iter()
            .enumerate()
            .filter(|(_, g)| g.matches(k, false))
            .map(|(i, _)| i as u32)
            .collect();
        by_sig.entry(sig).or_insert_with(|| k.clone());
    }
    by_sig
        .into_iter()
        .map(|(matches, witness)| Cell { matches, witness })
        .collect()
}

/// `s3:get*` → (`s3`, `get*`), splitting at the first literal colon.
fn split_action(g: &Glob) -> Option<(Glob, Glob)> {
    let i = g.0.iter().position(|t| *t == Tok::Char(':'))?;
    let (s, n) = g.0.split_at(i);
    Some((Glob(s.to_vec()), Glob(n[1..].to_vec())))
}
