//! A solver-ready problem: a goal formula (satisfiable iff some request is a witness), with a
//! finite domain for every string variable (its cells), the principal and resource-account
//! candidates, and the value slots of each context key. Building it is where string reasoning
//! leaves the solver: each string variable's patterns are partitioned into cells with
//! automata (`cells.rs`), and every pattern atom becomes "the variable is in one of these
//! cells". Atoms that are constant over the remaining domain are folded away before the
//! solver sees the goal, which drops statements that cannot touch the query's constraint.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use crate::catalog::catalog;
use crate::glob::{Glob, Tok};
use crate::logic::cells::{cells, close_unions, Cell, CellError, CellProblem};
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
    /// The resource, when its patterns have too many cells to enumerate (colon-crossing
    /// segment wildcards multiply them): each pattern it is compared with is a Boolean of its
    /// own, and every combination the solver chooses is checked to be realized by a string in
    /// the domain (`cells::realize`: an ARN matching every `require`, or the literal `*`);
    /// a combination no string realizes is excluded by a clause over a minimal subset of it
    /// (`cells::core`) and the solver asked again (`solver::check`). Exact: every string has
    /// a combination, and only realized ones are answers (docs/encoding.md §3).
    Signatures {
        require: Vec<Glob>,
    },
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
    /// The meaning of `Atom::WellTyped` (the typed request space): each rule restricts the
    /// resource of the action cells it lists. Empty when the goal has no `WellTyped` atom.
    pub typing: Vec<TypingRule>,
    /// For a resource type glob (or the literal `*`): the resource cells with a string of
    /// that type, and such a string (the witness of a typed request).
    pub typed_resources: HashMap<Glob, BTreeMap<u32, String>>,
    /// Why the request space could not be typed (the answer then ranges over more requests
    /// than AWS sends: conservative for proofs, and witnesses say so).
    pub untyped: Option<String>,
    /// The resource's owner (`semantics::resource_owner`): each rule says which resource
    /// accounts (indices in `domains.resource_accounts`) the resources it selects can have.
    /// Empty when no account is named (every account is then one of the unmentioned ones, and
    /// the witness ties the two, `solver::assignment`).
    pub owner: Vec<OwnerRule>,
    /// The owner rules of a resource compared as a string were left out (the untyped pass):
    /// a superset of the requests, so `unsat` is still a proof; a witness whose ARN and
    /// resource account disagree fails replay and is spurious, not a bug, and the solver then
    /// asks the typed question, which has the rules.
    pub owner_relaxed: bool,
    /// Variables compared with each other only by equality (`${key}` as a whole condition
    /// value), decided over a shared partition without string theory (`logic::keyeq`).
    pub key_groups: Vec<crate::logic::keyeq::KeyGroup>,
    /// The keys AWS derives from the caller (and `aws:ResourceAccount` from the resource's
    /// owner), tied to the principal and resource-account choices (`semantics::derived_key`,
    /// docs/encoding.md §4): asserted by `solver::encode`.
    pub derived: Vec<DerivedRule>,
    /// For each cell variable, what its cells were computed over (`cells_of`).
    cell_src: HashMap<StrVar, CellSrc>,
    group_cache: HashMap<u32, Vec<u32>>,
    /// The typing groups with a catalog action in an action cell where the goal can hold
    /// (`live_groups`); `None`: all. The other groups' resource cells are never computed.
    live: Option<BTreeSet<u32>>,
    /// The action's pattern atoms of which only the union matters (`action_unions`), as
    /// indices into the action's patterns: `CellProblem::unions`.
    action_unions: Vec<Vec<u32>>,
    res_ctx: Option<ResourceCtx>,
    max_states: usize,
}

/// One rule of the resource's ownership: a resource selected by `resources` is owned by one
/// of `accounts` (indices in `Domains::resource_accounts`).
#[derive(Clone, Debug)]
pub struct OwnerRule {
    pub resources: Owned,
    pub accounts: Vec<u32>,
}

/// Which resources an `OwnerRule` is about.
#[derive(Clone, Debug)]
pub enum Owned {
    /// Every resource (the goal fixes it).
    All,
    /// Resource cells (sorted).
    Cells(Vec<u32>),
    /// A string resource (string theory) matching some of `yes` and none of `no`.
    Globs { yes: Vec<Glob>, no: Vec<Glob> },
}

/// One derived key's value when the principal (or the resource account) is one candidate.
#[derive(Clone, Debug)]
pub struct DerivedRule {
    /// The key (lower case).
    pub key: String,
    pub when: DerivedWhen,
    pub value: DerivedValue,
}

/// Which choice a `DerivedRule` is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DerivedWhen {
    /// The principal is candidate `i` of `Domains::principals`.
    Principal(u32),
    /// The resource account is `i` of `Domains::resource_accounts`.
    ResourceAccount(u32),
}

/// What a `DerivedRule` asserts about the key.
#[derive(Clone, Debug)]
pub enum DerivedValue {
    /// The key is absent.
    Absent,
    /// The key is present (when `present`; else it may be absent) and each value slot that
    /// holds a value satisfies its constraint: a cell variable one of `cells[slot]` (a slot
    /// missing from `cells` is free), a string variable `strings` (`Derived::Is` or `Some`).
    Value {
        present: bool,
        cells: BTreeMap<u32, Vec<u32>>,
        strings: crate::semantics::Derived,
    },
}

/// What a cell variable's cells were computed over.
#[derive(Clone, Debug)]
enum CellSrc {
    /// One cell: this string.
    Fixed(String),
    /// One cell per signature over `globs` (cells' `matches` index into it), among the
    /// strings matching every `require`.
    Globs {
        globs: Vec<Glob>,
        require: Vec<Glob>,
    },
}

/// An account ID as a pattern: twelve characters (an unmentioned account, in derived keys).
const ANY_ACCOUNT: &str = "????????????";

/// In an ARN pattern, the unmentioned account's field (`:????????????:`) as any text without
/// a colon (an ARN's account field holds none): witnesses keep the ARN's shape.
fn arn_account_free(g: Glob) -> Glob {
    let t = &g.0;
    let mut out = Vec::with_capacity(t.len());
    let mut i = 0;
    while i < t.len() {
        let run = i + 13 < t.len()
            && t[i] == Tok::Char(':')
            && t[i + 1..i + 13].iter().all(|x| *x == Tok::One)
            && t[i + 13] == Tok::Char(':');
        if run {
            out.push(Tok::Char(':'));
            out.push(Tok::StarSeg);
            i += 13;
        } else {
            out.push(t[i]);
            i += 1;
        }
    }
    Glob(out)
}

/// The generic callers of `logic::domain` (an IAM user, a role session the question does not
/// name) stand for a class of callers (`semantics::CallerClass`).
fn caller_class<'a>(principal: &str, named: &'a [String]) -> crate::semantics::CallerClass<'a> {
    use crate::semantics::CallerClass;
    if principal.ends_with(":user/tarski-user") {
        CallerClass::AnyUser { named }
    } else if principal.contains(":assumed-role/tarski-role/") {
        CallerClass::AnySession
    } else {
        CallerClass::One
    }
}

/// Is the principal one of `logic::domain`'s generic callers (a class, not one caller)?
pub fn is_generic_caller(principal: &str) -> bool {
    caller_class(principal, &[]) != crate::semantics::CallerClass::One
}

/// `arn:*:*:*:ACCOUNT:*`: the ARNs whose account field is `account` (segment-exact: the first
/// four fields hold no `:`). With `account` empty: the ARNs with a non-empty account field.
pub fn owner_glob(account: Option<&str>) -> Glob {
    let mut g = Glob::literal("arn:");
    for _ in 0..3 {
        g.0.push(Tok::StarSeg);
        g.0.push(Tok::Char(':'));
    }
    match account {
        Some(a) => g.push_literal(a),
        // `OneSeg`, not `?`: a `?` also reads a `:`, and `arn:aws:sqs::::` (no account)
        // was "in another account".
        None => {
            g.0.push(Tok::OneSeg);
            g.0.push(Tok::StarSeg);
        }
    }
    g.0.push(Tok::Char(':'));
    g.0.push(Tok::Star);
    g
}

/// A token of a pattern for `owner_blind`: a glob token, or a policy variable's value (any
/// string, fixed by the request's context: not a wildcard).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatTok {
    Glob(Tok),
    Var,
}

/// A template's tokens for `owner_blind`: its text as wildcards (`*` as `Tok::Star`, which may
/// cross `:`: more matches than either reading of a resource `*`, so the test stays a
/// sufficient condition), each variable as `PatTok::Var`.
pub fn template_tokens(t: &crate::template::Template) -> Vec<PatTok> {
    use crate::template::Piece;
    let mut out = Vec::new();
    for piece in &t.pieces {
        match piece {
            Piece::Text(x) => out.extend(Glob::wild(x).0.into_iter().map(PatTok::Glob)),
            Piece::Escaped(c) => out.push(PatTok::Glob(Tok::Char(*c))),
            Piece::Var(_) => out.push(PatTok::Var),
        }
    }
    out
}

impl From<Tok> for PatTok {
    fn from(t: Tok) -> PatTok {
        PatTok::Glob(t)
    }
}

/// Is membership in the pattern blind to an ARN's account field: for every string `x` whose
/// account field (the fifth `:`-separated field) is non-empty, and every non-empty account
/// `a` without `:`, is `x` in the pattern exactly when `x` with `a` as its account field is?
/// (For a template: with the same variable values.)
///
/// A sufficient condition, decided on the pattern's automaton run together with a count of
/// the `:` read (0 to 5; the account field is read at count 4): no character of an account
/// field is ever read by a token other than `*` (or a segment `*`). Then in any match of `x`
/// the account field is read by wildcards only, the first of which can read `a` instead (it
/// holds no `:`), the others nothing; the count, and so the rest of the match, is unchanged.
/// The converse holds the same way. So a goal whose resource atoms are all blind gives every
/// resource account the same answers (the solver needs no owner rule; docs/encoding.md §4).
/// `false` is only "not shown": the rules are then stated.
pub fn owner_blind<T: Into<PatTok> + Copy>(toks: &[T]) -> bool {
    let toks: Vec<PatTok> = toks.iter().map(|&t| t.into()).collect();
    let n = toks.len();
    // seen[i][k]: token i is next with k colons read (k capped at 5).
    let mut seen = vec![[false; 6]; n + 1];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, k)) = stack.pop() {
        if seen[i][k] {
            continue;
        }
        seen[i][k] = true;
        let Some(t) = toks.get(i) else { continue };
        let colon = (k + 1).min(5);
        // (next token, colons) after reading one character; `None`: the token cannot.
        let (on_colon, on_other, wild) = match t {
            PatTok::Glob(Tok::Char(':')) => (Some(i + 1), None, false),
            PatTok::Glob(Tok::Char(_)) | PatTok::Glob(Tok::Fold(_)) => (None, Some(i + 1), false),
            PatTok::Glob(Tok::One) => (Some(i + 1), Some(i + 1), false),
            PatTok::Glob(Tok::Star) => (Some(i), Some(i), true),
            PatTok::Glob(Tok::StarSeg) => (None, Some(i), true),
            // One character of a field that is never empty (`catalog::arn_glob`'s account):
            // followed by a segment `*`, the two read any non-empty field, so an account
            // field read by them is read by wildcards (both `x`'s and `a` are non-empty).
            PatTok::Glob(Tok::OneSeg) if toks.get(i + 1) == Some(&PatTok::Glob(Tok::StarSeg)) => {
                (None, Some(i + 1), true)
            }
            PatTok::Glob(Tok::OneSeg) => (None, Some(i + 1), false),
            PatTok::Var => (Some(i), Some(i), false),
        };
        if wild || *t == PatTok::Var {
            // A wildcard or a variable's value may be empty.
            stack.push((i + 1, k));
        }
        if on_other.is_some() && k == 4 && !wild {
            return false;
        }
        if let Some(j) = on_colon {
            stack.push((j, colon));
        }
        if let Some(j) = on_other {
            stack.push((j, k));
        }
    }
    true
}

/// With a string-valued resource (policy variables), each typing group of the actions in play
/// is one disjunction of regular expressions for the solver; beyond this many the request space
/// stays untyped (a superset: proofs hold, witnesses say so). Zero for now: the regular
/// expressions of even one group made the string queries of `solver/tests/agreement.rs` exhaust
/// both solvers' resource limits (16 unknowns where the untyped space has none), so a resource
/// compared as a string is untyped until the typing is encoded without string theory.
const MAX_STRING_TYPINGS: usize = 0;

/// One rule of the typed request space: when the action is in one of `actions` (cells), the
/// resource is in `resources`.
#[derive(Clone, Debug)]
pub struct TypingRule {
    pub actions: Vec<u32>,
    pub resources: TypedResources,
}

#[derive(Clone, Debug)]
pub enum TypedResources {
    /// Resource cells (sorted).
    Cells(Vec<u32>),
    /// The resource is a string (string theory): it must be admitted by these types.
    Types(&'static crate::semantics::ResourceTypes),
}

/// How the resource's cells were computed, to find the cells a resource type meets.
#[derive(Clone, Debug)]
enum ResourceCtx {
    /// The goal fixes the resource (one cell).
    Fixed(String),
    Cells {
        /// The partition's patterns (with the domain's `*` and `arn:*`, then the owner globs).
        globs: Vec<Glob>,
        /// How many of `globs` come before the owner globs (`owner_glob`).
        base_len: usize,
        /// The owner globs' accounts (the last is `None`: any other account).
        owners: Vec<Option<String>>,
        require: Vec<Glob>,
        /// Full signature of each cell → its index.
        sigs: HashMap<Vec<u32>, u32>,
    },
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
    /// Range over the typed request space (`semantics::ResourceTypes`). Off: every action
    /// with every resource (`*` or an ARN), a superset, so "no witness" still proves the
    /// question for the typed space; the solver asks that cheaper question first.
    pub typed: bool,
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
            typing: Vec::new(),
            typed_resources: HashMap::new(),
            untyped: None,
            owner: Vec::new(),
            owner_relaxed: false,
            key_groups: Vec::new(),
            derived: Vec::new(),
            cell_src: HashMap::new(),
            group_cache: HashMap::new(),
            live: None,
            action_unions: Vec::new(),
            res_ctx: None,
            max_states: opts.max_states.max(1),
        };
        if p.goal.as_const().is_some() {
            return p;
        }
        p.domains = domains(
            &p.builder.atoms(),
            extra_principals,
            opts.iam_callers,
            opts.typed,
        );
        p.classify_and_partition(opts);
        p.owner_rules(opts.typed);
        p.derived_rules(opts);
        p
    }

    /// The accounts named in the question (by principals), which the resource partition
    /// tells apart by the resource ARN's account field; the others are `FRESH_ACCOUNTS`.
    fn named_accounts(&self) -> Vec<String> {
        self.domains
            .resource_accounts
            .iter()
            .filter(|a| !crate::logic::domain::is_fresh(a))
            .cloned()
            .collect()
    }

    fn account_index(&self, a: &str) -> Option<u32> {
        self.domains
            .resource_accounts
            .iter()
            .position(|x| x == a)
            .map(|i| i as u32)
    }

    fn fresh_indices(&self) -> Vec<u32> {
        (0..self.domains.resource_accounts.len() as u32)
            .filter(|&i| {
                crate::logic::domain::is_fresh(&self.domains.resource_accounts[i as usize])
            })
            .collect()
    }

    /// The resource's owner is the ARN's account field (`semantics::resource_owner`). Named
    /// accounts are told apart exactly; an ARN whose account is none of them is owned by an
    /// unmentioned account, represented by the fresh ones (the witness then writes the fresh
    /// account into the ARN, or names the caller's account by the ARN's, `solver::assignment`:
    /// nothing in the question tells two unmentioned accounts apart). A resource without an
    /// account field (S3, `*`) has a free owner. Without named accounts no rule is needed.
    fn owner_rules(&mut self, typed: bool) {
        let named = self.named_accounts();
        if named.is_empty() || self.goal.as_const().is_some() {
            return;
        }
        let fresh = self.fresh_indices();
        // A resource without an account field (S3, `*`) has a free owner, but never AWS: only
        // an ARN naming `aws` is AWS's (`semantics::aws_owned`, `Request::owner_conflict`).
        let aws = self.account_index(crate::semantics::AWS_OWNER);
        let not_aws: Option<Vec<u32>> = aws.map(|x| {
            (0..self.domains.resource_accounts.len() as u32)
                .filter(|&i| i != x)
                .collect()
        });
        let of = |p: &Problem, owner: Option<&str>| -> Option<Vec<u32>> {
            let o = owner?;
            Some(match p.account_index(o) {
                Some(i) if !crate::logic::domain::is_fresh(o) => vec![i],
                _ => fresh.clone(),
            })
        };
        match (self.vars.get(&StrVar::Resource), &self.res_ctx) {
            (_, Some(ResourceCtx::Fixed(lit))) => {
                let owner = crate::semantics::resource_owner(lit);
                if let Some(accounts) = of(self, owner).or_else(|| not_aws.clone()) {
                    self.owner.push(OwnerRule {
                        resources: Owned::All,
                        accounts,
                    });
                }
            }
            (
                Some(VarKind::Cells(_)),
                Some(ResourceCtx::Cells {
                    base_len,
                    owners,
                    sigs,
                    ..
                }),
            ) => {
                let mut by: BTreeMap<Vec<u32>, Vec<u32>> = BTreeMap::new();
                for (sig, &cell) in sigs {
                    // The first owner glob the cell is in: a named account, else "another".
                    let owner = sig
                        .iter()
                        .find(|&&i| i as usize >= *base_len)
                        .map(|&i| owners[i as usize - base_len].as_deref());
                    // The cell of the literal `*` (the partition's `*`, before `arn:*`).
                    let star = sig.contains(&(*base_len as u32 - 2));
                    let accounts = match (owner, &not_aws) {
                        // No owner glob matches: no account field. Free, but not AWS's
                        // where the owner globs tell `aws` apart; `*` is never AWS's.
                        (None, Some(na)) if !owners.is_empty() || star => na.clone(),
                        (None, _) => continue,
                        (Some(Some(a)), _) => {
                            self.account_index(a).map_or(fresh.clone(), |i| vec![i])
                        }
                        (Some(None), _) => fresh.clone(),
                    };
                    by.entry(accounts).or_default().push(cell);
                }
                let blind = owners.is_empty();
                for (accounts, mut cells) in by {
                    cells.sort_unstable();
                    self.owner.push(OwnerRule {
                        resources: Owned::Cells(cells),
                        accounts,
                    });
                }
                // No owner globs among the cells (every resource pattern is blind to the
                // account field): nothing ties `aws` to ARNs naming it.
                if let (true, Some(na)) = (blind, not_aws) {
                    self.aws_unowned(na);
                }
            }
            // No pattern of the goal looks at the account field: every resource account is
            // realised by the same string with that account written into its account field,
            // so no rule is needed (exact, `owner_blind`; the witness writes it, `own`).
            (Some(VarKind::Strings), _) if self.resource_atoms_owner_blind() => {}
            // As regular expressions these rules often exhaust the solvers' resource limits
            // (solver/tests/agreement.rs): the cheaper untyped pass leaves them out.
            (Some(VarKind::Strings | VarKind::Signatures { .. }), _) if !typed => {
                self.owner_relaxed = true
            }
            (Some(VarKind::Strings | VarKind::Signatures { .. }), _) => {
                let named_globs: Vec<Glob> = named.iter().map(|a| owner_glob(Some(a))).collect();
                for a in &named {
                    if let Some(i) = self.account_index(a) {
                        self.owner.push(OwnerRule {
                            resources: Owned::Globs {
                                yes: vec![owner_glob(Some(a))],
                                no: Vec::new(),
                            },
                            accounts: vec![i],
                        });
                    }
                }
                self.owner.push(OwnerRule {
                    resources: Owned::Globs {
                        yes: vec![owner_glob(None)],
                        no: named_globs,
                    },
                    accounts: fresh.clone(),
                });
                if let Some(na) = not_aws {
                    self.owner.push(OwnerRule {
                        resources: Owned::Globs {
                            yes: vec![Glob::wild("*")],
                            no: vec![owner_glob(Some(crate::semantics::AWS_OWNER))],
                        },
                        accounts: na,
                    });
                }
            }
            // No resource variable (the goal leaves the resource free; the witness picks a
            // resource of the action's types, `solver::assignment`): the class `aws` stands
            // for a resource AWS owns, which only an action with a type AWS owns resources of
            // can name. A fixed action without one: never `aws`. Otherwise the choice is left
            // over-approximate (`owner_relaxed`: a candidate whose resource cannot be AWS's
            // fails replay and is spurious, never an answer; `unsat` stays a proof).
            (None, None) => {
                if let Some(na) = not_aws {
                    self.aws_unowned(na);
                }
            }
            _ => {}
        }
    }

    /// The resource account `aws` where nothing ties it to ARNs naming it (`owner_rules`): it
    /// stands for a resource AWS owns, which only an action with a type AWS owns resources of
    /// can name. A fixed action without one: never `aws` (`not_aws`, the other accounts).
    /// Otherwise the choice is left over-approximate (`owner_relaxed`: a candidate whose
    /// resource cannot be AWS's fails replay and is spurious, never an answer; `unsat` stays a
    /// proof).
    fn aws_unowned(&mut self, not_aws: Vec<u32>) {
        match self.cell_src.get(&StrVar::Action) {
            Some(CellSrc::Fixed(a)) if !crate::semantics::may_name_aws_owned(a) => {
                self.owner.push(OwnerRule {
                    resources: Owned::All,
                    accounts: not_aws,
                });
            }
            _ => self.owner_relaxed = true,
        }
    }

    /// Does every atom of the goal about the resource leave its account field alone
    /// (`owner_blind`)? Then the resource needs no owner rule: neither owner globs among its
    /// cells nor, for a string resource, regular expressions.
    fn resource_atoms_owner_blind(&self) -> bool {
        let mut ids = Vec::new();
        self.goal.atoms_into(&mut ids);
        let atoms = self.builder.atoms();
        ids.iter().all(|id| match atoms.get(*id) {
            Atom::Like(StrVar::Resource, g) => owner_blind(&g.0),
            Atom::Template {
                var: StrVar::Resource,
                template,
                ..
            } => owner_blind(&template_tokens(template)),
            // A string resource's typing: the ARN formats of the resource types, a few of
            // which name an account (`aws`; tests below).
            Atom::WellTyped => !self
                .typing
                .iter()
                .any(|r| matches!(r.resources, TypedResources::Types(_))),
            _ => true,
        })
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
        // Key-to-key equalities over a shared partition (logic::keyeq, issue 12): these
        // variables leave `kinds` and are cell variables of their group.
        self.partition_key_groups(&atoms, &ids, &mut kinds, &likes, opts);
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
        // The typed request space relates the action and the resource: with --known-actions a
        // constrained resource needs the action's cells too (every catalog action is typed).
        if opts.known_actions
            && opts.typed
            && kinds.contains_key(&StrVar::Resource)
            && !kinds.contains_key(&StrVar::Action)
        {
            kinds.entry(StrVar::Action).or_default().insert("string");
        }
        // The resource first: the action's cells are refined by the resources they take.
        let mut order: Vec<(&StrVar, &BTreeSet<&'static str>)> = kinds.iter().collect();
        order.sort_by_key(|(v, _)| **v != StrVar::Resource);
        let mut res_ctx: Option<ResourceCtx> = None;
        for (var, ks) in order {
            let kind = if ks.contains("template") {
                if ks.iter().any(|k| !["template", "string"].contains(k)) {
                    self.unsupported = Some(format!("{} is both read by a policy variable and compared as a number, date or IP address", describe(var)));
                }
                // A multivalued key *read* by a policy variable: "You cannot use a multivalued
                // condition key as a policy variable" (IAM User Guide, "Single-valued vs.
                // multivalued context keys"), and AWS does not say what such a policy means.
                // A multivalued key *compared with* a value holding a variable (each of its
                // slots a string against the template) is an ordinary comparison.
                if let StrVar::Slot(k, _) = var {
                    if self.slots.count(k) > 1 && coupled.contains(&StrVar::Slot(k.clone(), 0)) {
                        self.unsupported = Some(format!(
                            "the multivalued key `{k}` is used as a policy variable (AWS documents that it cannot be: \"Single-valued vs. multivalued context keys\")"
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
                let req = required.get(var).cloned().unwrap_or_default();
                let computed = if let (StrVar::Action, None) = (var, fixed.get(var)) {
                    self.res_ctx = res_ctx.take();
                    self.action_unions = likes
                        .get(var)
                        .map(|l| unions_of(&self.goal, l))
                        .unwrap_or_default();
                    self.typed_action_cells(&globs, opts)
                } else if let Some(lit) = fixed.get(var) {
                    if *var == StrVar::Resource {
                        res_ctx = Some(ResourceCtx::Fixed(lit.clone()));
                    }
                    self.cell_src
                        .insert(var.clone(), CellSrc::Fixed(lit.clone()));
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
                        StrVar::Action => unreachable!("handled above"),
                        StrVar::Resource => {
                            // A request names an ARN, or `*` for an action without resource
                            // types (`semantics::ResourceTypes`).
                            let n = globs.len() as u32;
                            let mut all = globs.clone();
                            all.push(Glob::literal("*"));
                            all.push(Glob::wild("arn:*"));
                            // The owner globs: cells tell the named accounts apart by the
                            // ARN's account field (`owner_rules`).
                            let base_len = all.len();
                            // None when no pattern looks at the account field (`owner_blind`).
                            // The typed space keeps them: a few resource types have a literal
                            // account (`every_resource_type_is_owner_blind_but_aws_owned_ones`).
                            let named = if !opts.typed && self.resource_atoms_owner_blind() {
                                Vec::new()
                            } else {
                                self.named_accounts()
                            };
                            let mut owners: Vec<Option<String>> = Vec::new();
                            if !named.is_empty() {
                                for a in named {
                                    all.push(owner_glob(Some(&a)));
                                    owners.push(Some(a));
                                }
                                all.push(owner_glob(None));
                                owners.push(None);
                            }
                            let samples: Vec<String> =
                                RESOURCE_SAMPLES.iter().map(|s| s.to_string()).collect();
                            plain_cells(&all, &req, &samples, opts).map(|cs| {
                                let cs: Vec<Cell> = cs
                                    .into_iter()
                                    .filter(|c| c.matches.iter().any(|&i| i >= n))
                                    .collect();
                                res_ctx = Some(ResourceCtx::Cells {
                                    globs: all.clone(),
                                    base_len,
                                    owners: owners.clone(),
                                    require: req.clone(),
                                    sigs: cs
                                        .iter()
                                        .enumerate()
                                        .map(|(i, c)| (c.matches.clone(), i as u32))
                                        .collect(),
                                });
                                cs.into_iter()
                                    .map(|c| Cell {
                                        matches: c.matches.into_iter().filter(|&i| i < n).collect(),
                                        witness: c.witness,
                                    })
                                    .collect()
                            })
                        }
                        StrVar::Slot(k, _) => {
                            // The key's value domain (atoms::value_domain, issue 11 finding 3).
                            let bool_key =
                                crate::atoms::value_domain(k) == crate::atoms::ValueDomain::Bool;
                            if bool_key {
                                boolean_cells(&globs, &req, opts)
                            } else {
                                self.cell_src.insert(
                                    var.clone(),
                                    CellSrc::Globs {
                                        globs: globs.clone(),
                                        require: req.clone(),
                                    },
                                );
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
                    // Too many cells to enumerate. The resource's patterns: one Boolean each,
                    // refined on demand (`VarKind::Signatures`).
                    Err(CellError::Budget { .. }) if *var == StrVar::Resource => {
                        VarKind::Signatures { require: req }
                    }
                    // Other variables keep Z3's string theory (slower, and a Z3 timeout is
                    // reported as unknown).
                    Err(CellError::Budget { states }) => {
                        self.string_fallbacks
                            .push(format!("{} ({states} automaton states)", describe(var)));
                        VarKind::Strings
                    }
                }
            };
            self.vars.insert(var.clone(), kind);
        }
        if self.res_ctx.is_none() {
            self.res_ctx = res_ctx;
        }
        if opts.typed {
            self.apply_typing();
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

impl Problem {
    /// The derived keys as functions of the principal (and of the resource's owner): for every
    /// candidate caller and every key of `semantics::PRINCIPAL_KEYS` the goal reads, the value
    /// AWS gives it (`semantics::derived_key`), as cells or as a string constraint; and
    /// `aws:ResourceAccount` is the chosen resource account. Exact where the value is one
    /// string; a class of callers (a generic user or session) keeps the part of its constraint
    /// the encoding can state exactly, and is free beyond it (more requests, never fewer: a
    /// witness that then contradicts AWS's values is caught by `semantics::derived_key_conflict`).
    fn derived_rules(&mut self, opts: &DomainOptions) {
        use crate::semantics::{derived_key, Derived, PRINCIPAL_KEYS};
        if self.goal.as_const().is_some() {
            return;
        }
        let mut ids = Vec::new();
        self.goal.atoms_into(&mut ids);
        let atoms = self.builder.atoms().clone();
        let mut read: BTreeSet<String> = BTreeSet::new();
        for id in ids {
            match atoms.get(id) {
                Atom::Present(k) | Atom::Member(k, _) => {
                    read.insert(k.clone());
                }
                Atom::Like(StrVar::Slot(k, _), _)
                | Atom::Cmp {
                    var: StrVar::Slot(k, _),
                    ..
                } => {
                    read.insert(k.clone());
                }
                Atom::Template { var, template, .. } => {
                    if let StrVar::Slot(k, _) = var {
                        read.insert(k.clone());
                    }
                    read.extend(template.vars().map(|v| v.key.to_ascii_lowercase()));
                }
                _ => {}
            }
        }
        let principals = self.domains.principals.clone();
        let named: Vec<String> = principals
            .iter()
            .filter(|p| !is_generic_caller(p))
            .cloned()
            .collect();
        let mut meets_cache: HashMap<(StrVar, Vec<Glob>), Option<Vec<u32>>> = HashMap::new();
        let named_accounts = self.named_accounts();
        // An unmentioned account (`domain::FRESH_ACCOUNTS`) stands for every account the
        // question does not name: a value holding it is any 12-character account in its place
        // (a pattern such as `1*` on aws:PrincipalAccount tells such accounts apart).
        let any_account = |d: Derived, key: &str| match d {
            Derived::Is(v) if v.contains(ANY_ACCOUNT) => Derived::Some {
                like: vec![arn_account_free(Glob::wild(&v))],
                unlike: if key == "aws:principalaccount" || key == "aws:resourceaccount" {
                    named_accounts.clone()
                } else {
                    Vec::new()
                },
                iam_name: false,
            },
            Derived::Some {
                like,
                unlike,
                iam_name,
            } => Derived::Some {
                like: like.into_iter().map(arn_account_free).collect(),
                unlike,
                iam_name,
            },
            d => d,
        };
        for key in PRINCIPAL_KEYS {
            if !read.contains(key) {
                continue;
            }
            for (i, pr) in principals.iter().enumerate() {
                let acct = crate::request::Caller::of(pr).account;
                let pr = match acct {
                    Some(a) if crate::logic::domain::is_fresh(&a) => pr.replace(&a, ANY_ACCOUNT),
                    _ => pr.clone(),
                };
                let Some(d) = derived_key(key, &pr, caller_class(&pr, &named)) else {
                    continue;
                };
                let d = any_account(d, key);
                let value = self.derived_value(key, d, true, opts, &mut meets_cache);
                self.derived.push(DerivedRule {
                    key: key.to_string(),
                    when: DerivedWhen::Principal(i as u32),
                    value,
                });
            }
        }
        let key = "aws:resourceaccount";
        if read.contains(key) {
            for (j, a) in self.domains.resource_accounts.clone().iter().enumerate() {
                let d = if crate::logic::domain::is_fresh(a) {
                    any_account(Derived::Is(ANY_ACCOUNT.to_string()), key)
                } else {
                    Derived::Is(a.clone())
                };
                let value = self.derived_value(key, d, false, opts, &mut meets_cache);
                self.derived.push(DerivedRule {
                    key: key.to_string(),
                    when: DerivedWhen::ResourceAccount(j as u32),
                    value,
                });
            }
        }
    }

    fn derived_value(
        &self,
        key: &str,
        d: crate::semantics::Derived,
        present: bool,
        opts: &DomainOptions,
        meets_cache: &mut HashMap<(StrVar, Vec<Glob>), Option<Vec<u32>>>,
    ) -> DerivedValue {
        use crate::semantics::Derived;
        if d == Derived::Absent {
            return DerivedValue::Absent;
        }
        let (d, present) = match d {
            Derived::Maybe(inner) => (*inner, false),
            d => (d, present),
        };
        let mut cells = BTreeMap::new();
        for slot in 0..self.slots.count(key) {
            let var = StrVar::Slot(key.to_string(), slot);
            let Some(VarKind::Cells(cs)) = self.vars.get(&var) else {
                continue;
            };
            let allowed = match &d {
                Derived::Absent | Derived::Maybe(_) => None,
                Derived::Is(v) => self.cells_of(&var, v),
                Derived::Some { like, unlike, .. } => {
                    let meets = if like.is_empty() {
                        Some((0..cs.len() as u32).collect::<Vec<u32>>())
                    } else {
                        meets_cache
                            .entry((var.clone(), like.clone()))
                            .or_insert_with(|| self.cells_meeting(&var, like, opts))
                            .clone()
                    };
                    meets.map(|m| {
                        // A cell holding only a value the class leaves out (a named user's
                        // name) is out too; other cells keep a string besides it.
                        let singles: BTreeSet<u32> = unlike
                            .iter()
                            .filter_map(|u| self.singleton_cell(&var, u))
                            .collect();
                        m.into_iter().filter(|c| !singles.contains(c)).collect()
                    })
                }
            };
            if let Some(a) = allowed {
                cells.insert(slot, a);
            }
        }
        DerivedValue::Value {
            present,
            cells,
            strings: d,
        }
    }

    /// Is the string `v` in cell `cell` of the cell variable `var` (`None`: not known)?
    pub fn value_in_cell(&self, var: &StrVar, v: &str, cell: u32) -> Option<bool> {
        self.cells_of(var, v).map(|cs| cs.contains(&cell))
    }

    /// The cells of a cell variable that hold the string `v` (none when `v` is outside the
    /// variable's domain), or `None` when unknown (the variable is then left free).
    fn cells_of(&self, var: &StrVar, v: &str) -> Option<Vec<u32>> {
        let Some(VarKind::Cells(cs)) = self.vars.get(var) else {
            return None;
        };
        match self.cell_src.get(var)? {
            CellSrc::Fixed(l) => Some(if l == v { vec![0] } else { Vec::new() }),
            CellSrc::Globs { globs, require } => {
                if !require.iter().all(|r| r.matches(v, false)) {
                    return Some(Vec::new());
                }
                let sig: Vec<u32> = (0..globs.len() as u32)
                    .filter(|&i| globs[i as usize].matches(v, false))
                    .collect();
                Some(
                    cs.iter()
                        .enumerate()
                        .filter(|(_, c)| c.matches == sig)
                        .map(|(i, _)| i as u32)
                        .collect(),
                )
            }
        }
    }

    /// The cell that holds exactly the string `u` and nothing else, if there is one: the
    /// fixed string, or a cell inside a literal pattern `u`.
    fn singleton_cell(&self, var: &StrVar, u: &str) -> Option<u32> {
        match self.cell_src.get(var)? {
            CellSrc::Fixed(l) => (l == u).then_some(0),
            CellSrc::Globs { globs, .. } => {
                let lit = globs
                    .iter()
                    .position(|g| g.is_literal() && g.matches(u, false))?
                    as u32;
                let cells = self.cells_of(var, u)?;
                cells.into_iter().find(|&c| match self.vars.get(var) {
                    Some(VarKind::Cells(cs)) => cs[c as usize].matches.contains(&lit),
                    _ => false,
                })
            }
        }
    }

    /// The cells of a cell variable that hold a string matching one of `like`: the partition
    /// again with `like` as extra patterns (exact: a signature is found iff a string has it).
    /// `None` when unknown (too many automaton states): the variable is then left free.
    fn cells_meeting(&self, var: &StrVar, like: &[Glob], opts: &DomainOptions) -> Option<Vec<u32>> {
        let Some(VarKind::Cells(cs)) = self.vars.get(var) else {
            return None;
        };
        match self.cell_src.get(var)? {
            CellSrc::Fixed(l) => Some(if like.iter().any(|g| g.matches(l, false)) {
                vec![0]
            } else {
                Vec::new()
            }),
            CellSrc::Globs { globs, require } => {
                let n = globs.len() as u32;
                let mut all = globs.clone();
                all.extend(like.iter().cloned());
                let found = cells(&CellProblem {
                    globs: &all,
                    require,
                    forbid: &[],
                    prefer: &[],
                    filler: 'x',
                    max_states: opts.max_states.max(1),
                    unions: &[],
                })
                .ok()?;
                let sigs: BTreeSet<Vec<u32>> = found
                    .into_iter()
                    .filter(|c| c.matches.iter().any(|&i| i >= n))
                    .map(|c| c.matches.into_iter().filter(|&i| i < n).collect())
                    .collect();
                Some(
                    cs.iter()
                        .enumerate()
                        .filter(|(_, c)| sigs.contains(&c.matches))
                        .map(|(i, _)| i as u32)
                        .collect(),
                )
            }
        }
    }

    fn partition_key_groups(
        &mut self,
        atoms: &crate::logic::ir::Atoms,
        ids: &[AtomId],
        kinds: &mut BTreeMap<StrVar, BTreeSet<&'static str>>,
        likes: &BTreeMap<StrVar, Vec<(AtomId, Glob)>>,
        opts: &DomainOptions,
    ) {
        use crate::logic::keyeq;
        if self.unsupported.is_some() {
            return;
        }
        for vars in keyeq::find(atoms, ids, kinds, &self.slots) {
            let mut globs: Vec<Glob> = Vec::new();
            let mut offsets: Vec<usize> = Vec::new();
            for v in &vars {
                offsets.push(globs.len());
                globs.extend(likes.get(v).into_iter().flatten().map(|(_, g)| g.clone()));
            }
            let mut defaults: Vec<String> = Vec::new();
            for &id in ids {
                if let Atom::Template { var, template, .. } = atoms.get(id) {
                    if let (true, Some(d)) = (
                        vars.contains(var),
                        keyeq::bare_var(template).and_then(|v| v.default.clone()),
                    ) {
                        defaults.push(d);
                    }
                }
            }
            defaults.sort();
            defaults.dedup();
            let Ok(mut group) =
                keyeq::shared_cells(&globs, &defaults, vars.len(), opts.max_states.max(1))
            else {
                // Too many automaton states: the members keep the string encoding.
                continue;
            };
            for (v, off) in vars.iter().zip(offsets) {
                for (i, (id, _)) in likes.get(v).into_iter().flatten().enumerate() {
                    let gi = (off + i) as u32;
                    let holds: Vec<u32> = group
                        .cells
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c.matches.binary_search(&gi).is_ok())
                        .map(|(ci, _)| ci as u32)
                        .collect();
                    self.atom_cells.insert(*id, holds);
                }
                kinds.remove(v);
                let mut all = globs.clone();
                all.extend(defaults.iter().map(|d| Glob::literal(d)));
                self.cell_src.insert(
                    v.clone(),
                    CellSrc::Globs {
                        globs: all,
                        require: Vec::new(),
                    },
                );
                self.vars
                    .insert(v.clone(), VarKind::Cells(group.cells.clone()));
            }
            group.vars = vars;
            self.key_groups.push(group);
        }
    }

    /// The resource cells with a string of the type `t` (a resource type's ARN glob, or the
    /// literal `*`), computed once per type: the partition's cells intersected with `t`. Exact:
    /// the resource appears in the goal only through its cell, so a cell meeting the type has a
    /// string of the type with the same truth for every other atom.
    fn typed(&mut self, t: &Glob) -> Result<&BTreeMap<u32, String>, CellError> {
        if !self.typed_resources.contains_key(t) {
            self.prepare_typed(std::slice::from_ref(t))?;
        }
        Ok(&self.typed_resources[t])
    }

    /// Compute `typed_resources` for these types. A type that is disjoint from or inside each
    /// pattern (the common case) has one signature, checked on a sample, and needs no
    /// automaton; the others are partitioned together with the patterns, one automaton search
    /// per service (the types as extra patterns: a cell whose signature has type `t` holds
    /// strings of `t`).
    fn prepare_typed(&mut self, ts: &[Glob]) -> Result<(), CellError> {
        let mut pending: BTreeMap<Option<String>, Vec<Glob>> = BTreeMap::new();
        // The patterns' literal services, once per call (not once per type).
        let pattern_services: Vec<Option<String>> = match &self.res_ctx {
            Some(ResourceCtx::Cells {
                globs, base_len, ..
            }) => globs[..*base_len].iter().map(literal_service).collect(),
            _ => Vec::new(),
        };
        for t in ts {
            if self.typed_resources.contains_key(t) {
                continue;
            }
            let mut map = BTreeMap::new();
            match &self.res_ctx {
                Some(ResourceCtx::Fixed(lit)) if crate::semantics::of_type(t, lit) => {
                    map.insert(0, lit.clone());
                }
                Some(ResourceCtx::Fixed(_)) => {}
                Some(ResourceCtx::Cells {
                    globs,
                    base_len,
                    owners,
                    require,
                    sigs,
                }) => {
                    // Only the patterns that can meet `t`: a pattern naming another service
                    // (literally, with no `*` able to cross a colon before it) cannot.
                    // What a type says of itself, computed once per process (`type_facts`).
                    let computed;
                    let facts = match type_facts(t) {
                        Some(f) => f,
                        None => {
                            computed = TypeFacts::of(t);
                            &computed
                        }
                    };
                    let tsvc = &facts.service;
                    let rel: Vec<usize> = (0..*base_len)
                        .filter(|&i| {
                            tsvc.is_none()
                                || pattern_services[i]
                                    .as_ref()
                                    .is_none_or(|x| Some(x) == tsvc.as_ref())
                        })
                        .collect();
                    let owner_idx: Vec<usize> = (*base_len..globs.len()).collect();
                    // Which of the patterns `which` (indices into `globs`) match `s`.
                    let sig_in = |s: &str, which: &[usize]| -> Vec<u32> {
                        which
                            .iter()
                            .filter(|&&i| globs[i].matches(s, false))
                            .map(|&i| i as u32)
                            .collect()
                    };
                    // `of_type`: a sample owned by `aws` (an owner glob of its own, so its
                    // cell holds only such ARNs) is of the type only if AWS owns some.
                    let fits = |s: &str| {
                        (if s == facts.sample {
                            facts.sample_fits
                        } else {
                            crate::semantics::of_type(t, s)
                        }) && require.iter().all(|r| r.matches(s, false))
                    };
                    let sample = facts.sample.clone();
                    // The owner globs depend on the ARN's account field alone: with the other
                    // patterns uniform over `t`, one sample per kind of account field (each
                    // named account, another one, none) finds every cell `t` meets. A type
                    // whose account field is partly literal goes to the automata.
                    let field = facts.account_field;
                    let quick = uniform(t, rel.iter().map(|&i| (i as u32, &globs[i])), require)
                        .filter(|sig| sig_in(&sample, &rel) == *sig && fits(&sample))
                        .filter(|_| owners.is_empty() || field.is_some());
                    match quick {
                        Some(sig) => {
                            let mut samples = vec![sample];
                            if !owners.is_empty() && field == Some(true) {
                                samples.extend(
                                    owners.iter().flatten().map(|a| type_sample_owned(t, a)),
                                );
                                samples.push(type_sample_owned(t, ""));
                            }
                            for x in samples {
                                if !fits(&x) || sig_in(&x, &rel) != sig {
                                    continue;
                                }
                                let mut full = sig.clone();
                                full.extend(sig_in(&x, &owner_idx));
                                if let Some(&i) = sigs.get(&full) {
                                    map.entry(i).or_insert(x);
                                }
                            }
                        }
                        None => {
                            pending.entry(tsvc.clone()).or_default().push(t.clone());
                            continue;
                        }
                    }
                }
                None => {}
            }
            self.typed_resources.insert(t.clone(), map);
        }
        let Some(ResourceCtx::Cells {
            globs,
            base_len,
            require,
            sigs,
            ..
        }) = &self.res_ctx
        else {
            return Ok(());
        };
        for (svc, batch) in &pending {
            // The patterns that can meet the service's types, and the owner globs: the others
            // name another service literally, so no string of these types matches them.
            let rel: Vec<usize> = (0..globs.len())
                .filter(|&i| {
                    i >= *base_len
                        || svc.is_none()
                        || pattern_services[i]
                            .as_ref()
                            .is_none_or(|x| Some(x) == svc.as_ref())
                })
                .collect();
            let maps = typed_batch(globs, &rel, require, sigs, batch, self.max_states)?;
            for (t, m) in batch.iter().zip(maps) {
                self.typed_resources.insert(t.clone(), m);
            }
        }
        Ok(())
    }

    /// The resource cells an action of the typing group can take (sorted), computed once per
    /// group.
    fn group_cells(&mut self, group: u32) -> Result<Vec<u32>, CellError> {
        if let Some(cs) = self.group_cache.get(&group) {
            return Ok(cs.clone());
        }
        let cs = self.group_cells_uncached(group)?;
        self.group_cache.insert(group, cs.clone());
        Ok(cs)
    }

    fn group_cells_uncached(&mut self, group: u32) -> Result<Vec<u32>, CellError> {
        let types = crate::semantics::typing_group_types(group);
        let mut out: BTreeSet<u32> = BTreeSet::new();
        if types.star {
            out.extend(self.typed(&Glob::literal("*"))?.keys().copied());
        }
        for t in &types.arns {
            out.extend(self.typed(t)?.keys().copied());
        }
        Ok(out.into_iter().collect())
    }

    fn resource_cell_count(&self) -> Option<usize> {
        match self.vars.get(&StrVar::Resource) {
            Some(VarKind::Cells(cs)) => Some(cs.len()),
            _ => None,
        }
    }

    fn is_live(&self, group: u32) -> bool {
        self.live.as_ref().is_none_or(|l| l.contains(&group))
    }

    /// The typing groups of the catalog actions whose action cell (signature over the goal's
    /// action patterns `globs`) the goal can hold in: the goal with each action atom replaced
    /// by its value in the cell is satisfiable with its other atoms taken as free Booleans
    /// (`may_hold`; `true` where that search gives up). Only these groups need their
    /// resource cells (`typed_action_cells`, `apply_typing`). Exact: an action cell where
    /// the folded goal is `false` has no request satisfying the goal, typed or not, so no
    /// typing rule on it changes what the solver can answer; and a group left out has every
    /// one of its actions in such cells. (Most of the catalog's 3,000 typing groups are of
    /// actions no statement of the question names: their cells fold to `false`, and their
    /// resource types, some of whose products with a colon-crossing pattern pass the cell
    /// budget, are never partitioned.)
    fn live_groups(
        &self,
        globs: &[Glob],
        opts: &DomainOptions,
    ) -> Result<BTreeSet<u32>, CellError> {
        let known = DomainOptions {
            known_actions: true,
            ..opts.clone()
        };
        let cs = action_cells(globs, &self.action_unions, &known, &|g| {
            g.map_or(0, |g| g + 1)
        })?;
        let mut ids = Vec::new();
        self.goal.atoms_into(&mut ids);
        let index: HashMap<AtomId, Vec<u32>> = {
            let atoms = self.builder.atoms();
            ids.iter()
                .filter_map(|&id| match atoms.get(id) {
                    Atom::Like(StrVar::Action, g) => Some((
                        id,
                        globs
                            .iter()
                            .enumerate()
                            .filter(|(_, x)| *x == g)
                            .map(|(i, _)| i as u32)
                            .collect(),
                    )),
                    _ => None,
                })
                .collect()
        };
        let mut by_sig: HashMap<Vec<u32>, bool> = HashMap::new();
        let mut out = BTreeSet::new();
        for c in cs {
            let Some(g) = crate::semantics::typing_group(&c.witness) else {
                continue;
            };
            let live = *by_sig.entry(c.matches.clone()).or_insert_with(|| {
                let value = |id: AtomId| -> Option<bool> {
                    let is = index.get(&id)?;
                    // An atom whose pattern is not among `globs` stays open.
                    let first = is.first()?;
                    Some(c.matches.binary_search(first).is_ok())
                };
                let f = self.builder.substitute(&self.goal, &value);
                may_hold(&self.builder, &f, &mut LIVE_SPLITS.clone())
            });
            if live {
                out.insert(g);
            }
        }
        Ok(out)
    }

    /// Action cells, refined so that each is homogeneous for the typed request space: actions
    /// that take the same resource cells (or, with a string resource, the same typing group).
    fn typed_action_cells(
        &mut self,
        globs: &[Glob],
        opts: &DomainOptions,
    ) -> Result<Vec<Cell>, CellError> {
        match (self.vars.get(&StrVar::Resource), self.resource_cell_count()) {
            (None, _) => untyped_action_cells(globs, &self.action_unions, opts),
            _ if !opts.typed => untyped_action_cells(globs, &self.action_unions, opts),
            (Some(VarKind::Strings | VarKind::Signatures { .. }), _) => {
                let cs = action_cells(globs, &self.action_unions, opts, &|g| {
                    g.map_or(0, |g| g + 1)
                })?;
                let groups: BTreeSet<u32> = cs
                    .iter()
                    .filter_map(|c| crate::semantics::typing_group(&c.witness))
                    .collect();
                if groups.len() > MAX_STRING_TYPINGS {
                    let how = match self.vars.get(&StrVar::Resource) {
                        Some(VarKind::Signatures { .. }) => {
                            "has too many cells (decided by its patterns' combinations)"
                        }
                        _ => "is compared as a string (policy variables)",
                    };
                    self.untyped = Some(format!(
                        "the resource {how} and the actions take {} different sets of resource types (at most {MAX_STRING_TYPINGS} are encoded)",
                        groups.len()
                    ));
                    return untyped_action_cells(globs, &self.action_unions, opts);
                }
                Ok(cs)
            }
            (Some(_), Some(n)) => {
                let mut classes: BTreeMap<Vec<u32>, u32> = BTreeMap::new();
                let mut class_of: HashMap<u32, u32> = HashMap::new();
                let groups = crate::semantics::typing_group_count();
                let mut all: Vec<Glob> = vec![Glob::literal("*")];
                // (`live_groups` runs no automaton: with the catalog's actions only it
                // cannot pass a budget; if it did, every group would be typed.)
                match self.live_groups(globs, opts) {
                    Ok(live) => {
                        let mut seen: HashSet<&Glob> = HashSet::new();
                        for &g in &live {
                            let types = crate::semantics::typing_group_types(g);
                            all.extend(types.arns.iter().filter(|t| seen.insert(*t)).cloned());
                        }
                        self.live = Some(live);
                    }
                    Err(_) => all.extend(crate::semantics::typing_globs().iter().cloned()),
                }
                if let Err(CellError::Budget { states }) = self.prepare_typed(&all) {
                    self.untyped = Some(format!(
                        "the resource types' cells took more than {states} automaton states"
                    ));
                    return untyped_action_cells(globs, &self.action_unions, opts);
                }
                for g in 0..groups {
                    // A group with no action where the goal can hold: its actions' cells
                    // are false whatever the resource, so they need no typing (class 0).
                    if !self.is_live(g) {
                        class_of.insert(g, 0);
                        continue;
                    }
                    let cs = match self.group_cells(g) {
                        Ok(cs) => cs,
                        Err(CellError::Budget { states }) => {
                            self.untyped = Some(format!(
                                "the resource types' cells took more than {states} automaton states"
                            ));
                            return untyped_action_cells(globs, &self.action_unions, opts);
                        }
                    };
                    let c = if cs.len() == n {
                        0
                    } else {
                        let next = classes.len() as u32 + 1;
                        *classes.entry(cs).or_insert(next)
                    };
                    class_of.insert(g, c);
                }
                action_cells(globs, &self.action_unions, opts, &|g| {
                    g.and_then(|g| class_of.get(&g).copied()).unwrap_or(0)
                })
            }
            _ => untyped_action_cells(globs, &self.action_unions, opts),
        }
    }

    /// Add the typed request space to the goal (`Atom::WellTyped` and its rules), when the
    /// goal constrains the resource. Without such a constraint every action has a resource it
    /// takes, and the witness picks one (`solver::assignment`).
    fn apply_typing(&mut self) {
        let Some(res) = self.vars.get(&StrVar::Resource).cloned() else {
            return;
        };
        let acs = match self.vars.get(&StrVar::Action) {
            Some(VarKind::Cells(cs)) => cs.clone(),
            Some(_) => {
                self.untyped
                    .get_or_insert_with(|| "the action is kept as a string".to_string());
                return;
            }
            // The action is free (and unknown actions are in the space): untyped.
            None => return,
        };
        if self.untyped.is_some() {
            return;
        }
        let mut rules: Vec<TypingRule> = Vec::new();
        match res {
            VarKind::Cells(rcs) => {
                let mut by_set: BTreeMap<Vec<u32>, Vec<u32>> = BTreeMap::new();
                for (i, c) in acs.iter().enumerate() {
                    let Some(g) = crate::semantics::typing_group(&c.witness) else {
                        continue;
                    };
                    // A cell of a group no live cell has: the goal is false on it.
                    if !self.is_live(g) {
                        continue;
                    }
                    match self.group_cells(g) {
                        Ok(cs) if cs.len() == rcs.len() => {}
                        Ok(cs) => by_set.entry(cs).or_default().push(i as u32),
                        Err(CellError::Budget { states }) => {
                            self.untyped = Some(format!(
                                "the resource types' cells took more than {states} automaton states"
                            ));
                            return;
                        }
                    }
                }
                rules = by_set
                    .into_iter()
                    .map(|(cells, actions)| TypingRule {
                        actions,
                        resources: TypedResources::Cells(cells),
                    })
                    .collect();
            }
            VarKind::Strings => {
                let mut by_group: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
                for (i, c) in acs.iter().enumerate() {
                    if let Some(g) = crate::semantics::typing_group(&c.witness) {
                        by_group.entry(g).or_default().push(i as u32);
                    }
                }
                rules = by_group
                    .into_iter()
                    .map(|(g, actions)| TypingRule {
                        actions,
                        resources: TypedResources::Types(crate::semantics::typing_group_types(g)),
                    })
                    .collect();
            }
            // The typed space is not encoded over signatures (docs/encoding.md §3): say so, so
            // that a witness counts only if AWS sends it (`solver::check`). A fixed action
            // reaches here without `typed_action_cells`, which says it otherwise.
            VarKind::Signatures { .. }
                if acs
                    .iter()
                    .any(|c| crate::semantics::typing_group(&c.witness).is_some()) =>
            {
                self.untyped = Some(
                    "the resource has too many cells (decided by its patterns' combinations)"
                        .to_string(),
                );
            }
            _ => {}
        }
        if !rules.is_empty() {
            self.typing = rules;
            let wt = self.builder.atom(Atom::WellTyped);
            self.goal = self.builder.and(vec![self.goal.clone(), wt]);
        }
    }

    /// Is `s` a resource of the resource cell `cell` (when the resource has cells)? `None`
    /// when the resource is not a cell variable.
    pub fn resource_in_cell(&self, s: &str, cell: u32) -> Option<bool> {
        match &self.res_ctx {
            Some(ResourceCtx::Fixed(lit)) => Some(s == lit),
            Some(ResourceCtx::Cells { globs, sigs, .. }) => {
                let sig: Vec<u32> = globs
                    .iter()
                    .enumerate()
                    .filter(|(_, g)| g.matches(s, false))
                    .map(|(i, _)| i as u32)
                    .collect();
                Some(sigs.get(&sig) == Some(&cell))
            }
            None => None,
        }
    }

    /// A resource of the chosen action's type in the chosen resource cell (the cell's own
    /// witness may be of another type).
    pub fn typed_resource(&self, action: &str, cell: u32) -> Option<String> {
        let types = crate::semantics::resource_types(action)?;
        if types.star {
            if let Some(w) = self
                .typed_resources
                .get(&Glob::literal("*"))
                .and_then(|m| m.get(&cell))
            {
                return Some(w.clone());
            }
        }
        types
            .arns
            .iter()
            .find_map(|t| self.typed_resources.get(t).and_then(|m| m.get(&cell)))
            .cloned()
    }
}

/// How many case splits `may_hold` makes per action cell before it answers "may hold".
const LIVE_SPLITS: usize = 64;

/// Can `f` be true when its atoms are taken as independent Booleans? `false` only when every
/// assignment makes it false (then it is false on every request as well, since the atoms'
/// values on a request are one such assignment); `true` when one makes it true, or when
/// `splits` case splits did not settle it. A root caller's `Allow` on both sides
/// (`same ∧ root ∧ ¬(same ∧ root)`) does not fold to `false` by itself; one split does it.
fn may_hold(b: &Builder, f: &Formula, splits: &mut usize) -> bool {
    if let Some(v) = f.as_const() {
        return v;
    }
    if *splits == 0 {
        return true;
    }
    *splits -= 1;
    let mut ids = Vec::new();
    f.atoms_into(&mut ids);
    let Some(&a) = ids.first() else {
        return true;
    };
    [true, false].into_iter().any(|v| {
        let g = b.substitute(f, &|id| (id == a).then_some(v));
        may_hold(b, &g, splits)
    })
}

/// For each type of `batch` (one service's types), the resource cells it meets, each with a
/// string of the type in that cell: one automaton search over the patterns `rel` of the
/// cells' patterns (`globs`; the others are disjoint from every type of the batch, so their
/// bit is 0 in each signature found) and the types as extra patterns (a cell whose signature
/// has type `t` holds strings of `t`). The product of many types with a pattern that crosses
/// into their service (a `*` ending the partition field, which crosses colons:
/// `arn:*:ssm:*:*:session/*` against API Gateway's 45 types) can pass the state budget where
/// each type alone stays small: then each type is searched alone. Exact either way: a type's
/// bit in a cell's signature does not depend on which other types are searched with it, so
/// each type gets the same cells (possibly with other witness strings, each still in its
/// type and its cell). Only a single type over the budget is a `Budget` error.
fn typed_batch(
    globs: &[Glob],
    rel: &[usize],
    require: &[Glob],
    sigs: &HashMap<Vec<u32>, u32>,
    batch: &[Glob],
    max_states: usize,
) -> Result<Vec<BTreeMap<u32, String>>, CellError> {
    let n = rel.len();
    let mut all: Vec<Glob> = rel.iter().map(|&i| globs[i].clone()).collect();
    all.extend(batch.iter().cloned());
    let prefer: Vec<String> = batch.iter().map(type_sample).collect();
    let cs = match cells(&CellProblem {
        globs: &all,
        require,
        forbid: &[],
        prefer: &prefer,
        filler: 'x',
        max_states,
        unions: &[],
    }) {
        Ok(cs) => cs,
        Err(CellError::Budget { .. }) if batch.len() > 1 => {
            let mut maps = Vec::with_capacity(batch.len());
            for t in batch {
                maps.extend(typed_batch(
                    globs,
                    rel,
                    require,
                    sigs,
                    std::slice::from_ref(t),
                    max_states,
                )?);
            }
            return Ok(maps);
        }
        Err(e) => return Err(e),
    };
    // With `aws` among the owner globs, a cell holds ARNs owned by AWS only or none: one of a
    // type AWS owns no resources of is not of the type (`semantics::of_type`).
    let aws = owner_glob(Some(crate::semantics::AWS_OWNER));
    let aws_cells = rel.iter().any(|&i| globs[i] == aws);
    let mut maps: Vec<BTreeMap<u32, String>> = vec![BTreeMap::new(); batch.len()];
    for c in cs {
        let base: Vec<u32> = c
            .matches
            .iter()
            .filter(|&&i| (i as usize) < n)
            .map(|&i| rel[i as usize] as u32)
            .collect();
        let Some(&cell) = sigs.get(&base) else {
            continue;
        };
        for &k in c.matches.iter().filter(|&&i| (i as usize) >= n) {
            if aws_cells
                && crate::semantics::aws_owned(&c.witness)
                && !crate::semantics::aws_may_own(&batch[k as usize - n])
            {
                continue;
            }
            maps[k as usize - n]
                .entry(cell)
                .or_insert_with(|| c.witness.clone());
        }
    }
    Ok(maps)
}

/// When every string of `t` matches the same patterns of `globs` (each is disjoint from `t` or
/// contains it) and `t` lies inside every `require` pattern: that signature. `None` when this
/// cheap test cannot tell (the caller then partitions `t` with automata), or when `t` is
/// disjoint from a `require` pattern (then the signature is empty and no cell is hit; the
/// caller's automata find that out too).
fn uniform<'a>(
    t: &Glob,
    globs: impl Iterator<Item = (u32, &'a Glob)>,
    require: &[Glob],
) -> Option<Vec<u32>> {
    if !require.iter().all(|r| within(t, r)) {
        return None;
    }
    let mut sig = Vec::new();
    for (i, g) in globs {
        if within(t, g) {
            sig.push(i);
        } else if meets(t, g) {
            return None;
        }
    }
    Some(sig)
}

/// What `prepare_typed` needs to know of a resource type glob that does not depend on the
/// question: its literal service, its readable sample, whether the sample is of the type, and
/// its account field.
#[derive(Debug)]
struct TypeFacts {
    service: Option<String>,
    sample: String,
    sample_fits: bool,
    account_field: Option<bool>,
}

impl TypeFacts {
    fn of(t: &Glob) -> TypeFacts {
        let sample = type_sample(t);
        TypeFacts {
            service: literal_service(t),
            sample_fits: t.matches(&sample, false),
            sample,
            account_field: account_field(t),
        }
    }
}

/// `TypeFacts` of the catalog's resource type globs and the literal `*`, once per process
/// (every typed question prepares all of them).
fn type_facts(t: &Glob) -> Option<&'static TypeFacts> {
    static FACTS: std::sync::OnceLock<HashMap<Glob, TypeFacts>> = std::sync::OnceLock::new();
    FACTS
        .get_or_init(|| {
            std::iter::once(Glob::literal("*"))
                .chain(crate::semantics::typing_globs().iter().cloned())
                .map(|t| {
                    let f = TypeFacts::of(&t);
                    (t, f)
                })
                .collect()
        })
        .get(t)
}

/// Is every string of `t` in `p`? Only the cases that decide cheaply: `p` matches everything,
/// or `p` is a literal prefix and one `*` which `t` starts with, or `p == t`; `false` otherwise
/// (unknown counts as "no": the caller then checks `meets`).
fn within(t: &Glob, p: &Glob) -> bool {
    if p.is_universal() || p == t {
        return true;
    }
    match p.0.split_last() {
        Some((Tok::Star, prefix)) if prefix.iter().all(|x| matches!(x, Tok::Char(_))) => {
            t.0.len() >= prefix.len() && t.0[..prefix.len()] == *prefix
        }
        _ => false,
    }
}

/// Do two globs share a string? Exact: a search over pairs of positions, each step consuming
/// one character both tokens accept.
pub fn meets(a: &Glob, b: &Glob) -> bool {
    #[derive(Clone, Copy)]
    enum Class {
        Any,
        NoColon,
        Chars(char, char),
    }
    fn class(t: Tok) -> Class {
        match t {
            Tok::Char(c) => Class::Chars(c, c),
            Tok::Fold(c) => {
                let lo = c.to_lowercase().next().unwrap_or(c);
                let up = c.to_uppercase().next().unwrap_or(c);
                Class::Chars(lo, up)
            }
            Tok::One | Tok::Star => Class::Any,
            Tok::StarSeg | Tok::OneSeg => Class::NoColon,
        }
    }
    fn common(x: Class, y: Class) -> bool {
        match (x, y) {
            (Class::Any, _) | (_, Class::Any) => true,
            (Class::NoColon, Class::NoColon) => true,
            (Class::NoColon, Class::Chars(c, d)) | (Class::Chars(c, d), Class::NoColon) => {
                c != ':' || d != ':'
            }
            (Class::Chars(c, d), Class::Chars(e, f)) => c == e || c == f || d == e || d == f,
        }
    }
    let star = |t: Tok| matches!(t, Tok::Star | Tok::StarSeg);
    let (n, m) = (a.0.len(), b.0.len());
    let mut seen = vec![false; (n + 1) * (m + 1)];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, j)) = stack.pop() {
        if seen[i * (m + 1) + j] {
            continue;
        }
        seen[i * (m + 1) + j] = true;
        if i == n && j == m {
            return true;
        }
        // A star may match nothing.
        if i < n && star(a.0[i]) {
            stack.push((i + 1, j));
        }
        if j < m && star(b.0[j]) {
            stack.push((i, j + 1));
        }
        if i < n && j < m && common(class(a.0[i]), class(b.0[j])) {
            let ni = if star(a.0[i]) { i } else { i + 1 };
            let nj = if star(b.0[j]) { j } else { j + 1 };
            if (ni, nj) != (i, j) {
                stack.push((ni, nj));
            }
        }
    }
    false
}

/// The service of an ARN pattern when it is literal and no `*` before it can cross a colon
/// (`arn:PARTITION:SERVICE:...` with no `*` or `?` in the partition): such a pattern shares no
/// string with an ARN pattern of another literal service.
fn literal_service(g: &Glob) -> Option<String> {
    let parts = g.splitn(4, ':');
    if parts.len() < 4 || parts[0].as_literal().as_deref() != Some("arn") {
        return None;
    }
    if parts[1].0.iter().any(|t| matches!(t, Tok::Star | Tok::One)) {
        return None;
    }
    parts[2].as_literal()
}

/// The account field (fifth field) of a type glob: `Some(true)` when it is one wildcard (any
/// account), `Some(false)` when it is literal (possibly empty), `None` otherwise (partly
/// literal, or the glob's fields are not separated by literal colons).
fn account_field(t: &Glob) -> Option<bool> {
    let parts = t.splitn(6, ':');
    if parts.len() < 6 || parts[..4].iter().any(|p| p.0.contains(&Tok::Star)) {
        return None;
    }
    let f = &parts[4];
    if f.is_literal() {
        Some(false)
    } else if f.0.len() == 1 && matches!(f.0[0], Tok::Star | Tok::StarSeg)
        || f.0 == [Tok::OneSeg, Tok::StarSeg]
    {
        // Any account, or any non-empty one (`catalog::arn_glob`): the samples are non-empty.
        Some(true)
    } else {
        None
    }
}

/// `type_sample` with `account` in the account field (when the field is a wildcard).
pub fn type_sample_owned(t: &Glob, account: &str) -> String {
    let s = type_sample(t);
    match account_field(t) {
        Some(true) => with_owner(&s, account),
        _ => s,
    }
}

/// The ARN `arn` with `account` as its account field (unchanged when it has no six fields).
pub fn with_owner(arn: &str, account: &str) -> String {
    let mut parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() == 6 && parts[0] == "arn" {
        parts[4] = account;
        parts.join(":")
    } else {
        arn.to_string()
    }
}

/// A readable resource of a type glob: `aws` partition, `us-east-1`, account 999900000001,
/// `example` for names.
pub fn type_sample(t: &Glob) -> String {
    let mut out = String::new();
    let mut seg = 0;
    for (i, tok) in t.0.iter().enumerate() {
        match tok {
            Tok::Char(c) => {
                if *c == ':' {
                    seg += 1;
                }
                out.push(*c);
            }
            Tok::Fold(c) => out.push(*c),
            Tok::One => out.push('x'),
            // A non-empty field (`catalog::arn_glob`): the `*` after it writes the value.
            Tok::OneSeg if t.0.get(i + 1) == Some(&Tok::StarSeg) => {}
            Tok::OneSeg => out.push('x'),
            Tok::Star | Tok::StarSeg => out.push_str(match seg {
                1 => "aws",
                2 => "tarski",
                3 => "us-east-1",
                4 => "999900000001",
                _ => "example",
            }),
        }
    }
    out
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
        unions: &[],
    })?;
    // Ordered by witness, so that neighbouring patterns give ranges of cells (see encode).
    cs.sort_by(|a, b| a.witness.cmp(&b.witness));
    Ok(cs)
}

/// Cells of the action variable when the request space is not typed (one cell per signature,
/// catalog actions preferred as witnesses). Actions are `service:name` with one colon, so a pattern
/// `S:N` splits into a service pattern and a name pattern; cells are computed per service
/// (small problems) instead of over all actions at once, and real catalog actions are
/// preferred as witnesses.
pub fn untyped_action_cells(
    globs: &[Glob],
    unions: &[Vec<u32>],
    opts: &DomainOptions,
) -> Result<Vec<Cell>, CellError> {
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
        let local = local_unions(unions, &idx);
        let name_cells = if opts.known_actions {
            known_cells(&names, &local, &known)
        } else {
            cells(&CellProblem {
                globs: &names,
                require: &[Glob::wild("?*")],
                forbid: &[],
                prefer: &known,
                filler: 'x',
                max_states: opts.max_states.max(1),
                unions: &local,
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
            close_unions(unions, &mut matches);
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
            unions: &[],
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

/// With `--known-actions`: each catalog action is a point; group them by signature (as
/// `unions` reads it, `cells::close_unions`).
fn known_cells(names: &[Glob], unions: &[Vec<u32>], known: &[String]) -> Vec<Cell> {
    let mut by_sig: BTreeMap<Vec<u32>, String> = BTreeMap::new();
    for k in known {
        let mut sig: Vec<u32> = names
            .iter()
            .enumerate()
            .filter(|(_, g)| g.matches(k, false))
            .map(|(i, _)| i as u32)
            .collect();
        close_unions(unions, &mut sig);
        by_sig.entry(sig).or_insert_with(|| k.clone());
    }
    by_sig
        .into_iter()
        .map(|(matches, witness)| Cell { matches, witness })
        .collect()
}

/// Cells of the action variable. Actions are `service:name` with one colon, so a pattern
/// `S:N` splits into a service pattern and a name pattern.
///
/// The typed request space (`semantics::ResourceTypes`) needs every cell to be homogeneous:
/// either catalog actions of one typing group, or strings the catalog does not know (future
/// actions, untyped). So catalog actions are classified directly (signature and typing group,
/// one cell per pair, the first action as witness), and the other strings come from automata
/// with the catalog's names forbidden: per service named literally by a pattern, and for all
/// other services through a service name the catalog does not know (which realises every name
/// signature any service in its service cell does). With `--known-actions` only catalog actions.
/// `class` sorts catalog actions by typing group (`None`: not in the catalog) into the classes
/// the caller needs apart; with one class, each signature gets one cell (a catalog action as
/// witness where there is one).
pub fn action_cells(
    globs: &[Glob],
    unions: &[Vec<u32>],
    opts: &DomainOptions,
    class: &dyn Fn(Option<u32>) -> u32,
) -> Result<Vec<Cell>, CellError> {
    let split: Vec<Option<(Glob, Glob)>> = globs.iter().map(split_action).collect();
    let cat = catalog();
    let whole: Vec<usize> = split
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_none())
        .map(|(i, _)| i)
        .collect();
    // Literal service prefixes named by the patterns, and the patterns with a wildcard service.
    let mut by_service: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut wild_services: Vec<usize> = Vec::new();
    for (i, p) in split.iter().enumerate() {
        if let Some((s, _)) = p {
            match s.as_literal() {
                Some(l) => by_service.entry(l).or_default().push(i),
                None => wild_services.push(i),
            }
        }
    }
    // The patterns that can match an action of `svc`: (pattern index, name part).
    let candidates = |svc: &str| -> (Vec<u32>, Vec<Glob>) {
        let mut c: Vec<usize> = by_service.get(svc).cloned().unwrap_or_default();
        c.extend(wild_services.iter().copied().filter(|&i| {
            split[i]
                .as_ref()
                .is_some_and(|(s, _)| s.matches(svc, false))
        }));
        c.sort_unstable();
        let mut idx = Vec::new();
        let mut names = Vec::new();
        for i in c {
            if let Some((_, n)) = &split[i] {
                idx.push(i as u32);
                names.push(n.clone());
            }
        }
        (idx, names)
    };
    let whole_matches = |action: &str, matches: &mut Vec<u32>| {
        for &w in &whole {
            if globs[w].matches(action, false) {
                matches.push(w as u32);
            }
        }
        matches.sort_unstable();
    };
    // Catalog actions, by (signature, typing group). A service no pattern names (and no
    // whole-string pattern other than a universal one tells its actions apart) has one
    // signature for all its actions: only its typing groups are classified, once each
    // (`catalog_services`, cached for the process).
    let universal_whole: Vec<u32> = whole
        .iter()
        .filter(|&&w| globs[w].is_universal())
        .map(|&w| w as u32)
        .collect();
    let all_whole_universal = universal_whole.len() == whole.len();
    let mut typed: BTreeMap<(Vec<u32>, u32), String> = BTreeMap::new();
    for svc in catalog_services() {
        let (idx, names) = candidates(&svc.prefix);
        if names.is_empty() && all_whole_universal {
            for (g, rep) in &svc.groups {
                typed
                    .entry((universal_whole.clone(), class(*g)))
                    .or_insert_with(|| svc.actions[*rep].1.clone());
            }
            continue;
        }
        for (name, action, group) in &svc.actions {
            let mut matches: Vec<u32> = names
                .iter()
                .enumerate()
                .filter(|(_, g)| g.matches(name, false))
                .map(|(j, _)| idx[j])
                .collect();
            whole_matches(action, &mut matches);
            close_unions(unions, &mut matches);
            let c = class(*group);
            typed.entry((matches, c)).or_insert_with(|| action.clone());
        }
    }
    let untyped_class = class(None);
    if !opts.known_actions {
        let mut untyped: BTreeMap<Vec<u32>, String> = BTreeMap::new();
        // Names of `svc` the catalog does not have, by signature.
        let mut remainder = |svc: &str| -> Result<(), CellError> {
            let (idx, names) = candidates(svc);
            let known: BTreeSet<String> = cat
                .service_actions(svc)
                .iter()
                .map(|a| a.name.to_lowercase())
                .collect();
            let local = local_unions(unions, &idx);
            for c in outside_with(&names, &local, &[], &known, opts)? {
                let action = format!("{svc}:{}", c.witness);
                let mut matches: Vec<u32> = c.matches.iter().map(|&j| idx[j as usize]).collect();
                whole_matches(&action, &mut matches);
                close_unions(unions, &mut matches);
                untyped.entry(matches).or_insert(action);
            }
            Ok(())
        };
        for svc in by_service.keys() {
            remainder(svc)?;
        }
        // Services not named literally: partition them by the wildcard service patterns, with
        // service names the catalog does not have as representatives.
        let svc_globs: Vec<Glob> = wild_services
            .iter()
            .filter_map(|&i| split[i].as_ref().map(|(s, _)| s.clone()))
            .collect();
        let literal: BTreeSet<String> = by_service.keys().cloned().collect();
        let services: BTreeSet<String> = cat
            .services()
            .map(|s| s.prefix.to_lowercase())
            .filter(|s| !literal.contains(s))
            .collect();
        let forbid: Vec<Glob> = literal.iter().map(|s| Glob::literal(s)).collect();
        let svc_cells = outside_with(&svc_globs, &[], &forbid, &services, opts)?;
        let realised: BTreeSet<Vec<u32>> = svc_cells.iter().map(|c| c.matches.clone()).collect();
        for sc in &svc_cells {
            remainder(&sc.witness)?;
        }
        // A catalog service whose service signature no unknown service shares (a finite
        // service pattern): its own unknown names.
        for svc in &services {
            let sig: Vec<u32> = svc_globs
                .iter()
                .enumerate()
                .filter(|(_, g)| g.matches(svc, false))
                .map(|(i, _)| i as u32)
                .collect();
            if !realised.contains(&sig) {
                remainder(svc)?;
            }
        }
        // An unknown action shares a cell with the catalog actions of its class (a catalog
        // action stays the witness).
        for (matches, witness) in untyped {
            typed.entry((matches, untyped_class)).or_insert(witness);
        }
    }
    let mut out: Vec<Cell> = typed
        .into_iter()
        .map(|((matches, _), witness)| Cell { matches, witness })
        .collect();
    // Ordered by witness (service, then name), so that the cells of a service, or of a name
    // prefix such as `get*`, are neighbours: the encoder turns such sets into ranges.
    out.sort_by(|a, b| a.witness.cmp(&b.witness).then(a.matches.cmp(&b.matches)));
    Ok(out)
}

/// The catalog's actions by service, lower-cased, with their typing groups: computed once.
struct ServiceActions {
    prefix: String,
    /// (name, `service:name`, typing group), in catalog order.
    actions: Vec<(String, String, Option<u32>)>,
    /// Each typing group of the service (in order of first appearance) and its first action.
    groups: Vec<(Option<u32>, usize)>,
}

fn catalog_services() -> &'static [ServiceActions] {
    static CACHE: std::sync::OnceLock<Vec<ServiceActions>> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| {
        let cat = catalog();
        cat.services()
            .map(|svc| {
                let prefix = svc.prefix.to_lowercase();
                let actions: Vec<(String, String, Option<u32>)> = cat
                    .service_actions(&svc.prefix)
                    .iter()
                    .map(|a| {
                        let name = a.name.to_lowercase();
                        let full = format!("{prefix}:{name}");
                        let g = crate::semantics::typing_group(&full);
                        (name, full, g)
                    })
                    .collect();
                let mut groups: Vec<(Option<u32>, usize)> = Vec::new();
                for (i, (_, _, g)) in actions.iter().enumerate() {
                    if !groups.iter().any(|(x, _)| x == g) {
                        groups.push((*g, i));
                    }
                }
                ServiceActions {
                    prefix,
                    actions,
                    groups,
                }
            })
            .collect()
    })
}

/// Cells of non-empty strings (none matching `forbid`) over `globs` (with `unions`, as
/// `CellProblem::unions` reads them), each witnessed by a string outside `known`: cells whose
/// every string is in `known` are dropped. When a search returns a known string as a cell's
/// witness, every known string of that cell is forbidden and the search repeated, so only the
/// known strings that matter are ever forbidden, and a cell of a union of many literals (a
/// statement's list of actions) costs one round, not one per literal.
fn outside_with(
    globs: &[Glob],
    unions: &[Vec<u32>],
    forbid: &[Glob],
    known: &BTreeSet<String>,
    opts: &DomainOptions,
) -> Result<Vec<Cell>, CellError> {
    let mut forbid: Vec<Glob> = forbid.to_vec();
    for _round in 0..64 {
        let cs = cells(&CellProblem {
            globs,
            require: &[Glob::wild("?*")],
            forbid: &forbid,
            prefer: &[],
            filler: 'x',
            max_states: opts.max_states.max(1),
            unions,
        })?;
        let hits: HashSet<&[u32]> = cs
            .iter()
            .filter(|c| known.contains(&c.witness))
            .map(|c| c.matches.as_slice())
            .collect();
        if hits.is_empty() {
            return Ok(cs);
        }
        for k in known {
            let mut sig: Vec<u32> = (0..globs.len() as u32)
                .filter(|&i| globs[i as usize].matches(k, false))
                .collect();
            close_unions(unions, &mut sig);
            if hits.contains(sig.as_slice()) && !forbid.iter().any(|g| g.matches(k, false)) {
                forbid.push(Glob::literal(k));
            }
        }
    }
    // Give up as on a too large automaton: the caller keeps the variable exact with strings.
    Err(CellError::Budget {
        states: opts.max_states,
    })
}

/// `unions` (indices into all the action's patterns) as indices into `idx`, the patterns of one
/// service: members outside it are left out, and groups of fewer than two members dropped.
fn local_unions(unions: &[Vec<u32>], idx: &[u32]) -> Vec<Vec<u32>> {
    unions
        .iter()
        .map(|g| {
            g.iter()
                .filter_map(|i| idx.iter().position(|x| x == i).map(|p| p as u32))
                .collect::<Vec<u32>>()
        })
        .filter(|g| g.len() > 1)
        .collect()
}

/// Groups of the pattern atoms `list` (indices into it) of which only the union matters to
/// `goal`: atoms that occur only as direct children of disjunctions, and of the same ones (a
/// statement's `Action` list, in every policy that has the statement). In each such
/// disjunction, replacing every member by the union of all changes nothing, so the goal is a
/// function of the union alone; its cells need not tell the members apart
/// (`CellProblem::unions`). Disjunctions are told apart by node identity; one that is shared
/// is the same disjunction wherever it occurs.
fn unions_of(goal: &Formula, list: &[(AtomId, Glob)]) -> Vec<Vec<u32>> {
    fn walk(
        f: &Formula,
        parent: Option<usize>,
        seen: &mut HashSet<usize>,
        ctx: &mut HashMap<AtomId, Vec<usize>>,
        solo: &mut HashSet<AtomId>,
    ) {
        match f {
            Formula::Const(_) => {}
            Formula::Atom(a) => match parent {
                Some(c) => ctx.entry(*a).or_default().push(c),
                None => {
                    solo.insert(*a);
                }
            },
            Formula::Not(g) => {
                if seen.insert(Rc::as_ptr(g) as *const () as usize) {
                    walk(g, None, seen, ctx, solo);
                }
            }
            Formula::And(fs) => {
                if seen.insert(fs.as_ptr() as usize) {
                    fs.iter().for_each(|g| walk(g, None, seen, ctx, solo));
                }
            }
            Formula::Or(fs) => {
                let id = fs.as_ptr() as usize;
                if seen.insert(id) {
                    fs.iter().for_each(|g| walk(g, Some(id), seen, ctx, solo));
                }
            }
        }
    }
    let (mut seen, mut ctx, mut solo) = (HashSet::new(), HashMap::new(), HashSet::new());
    walk(goal, None, &mut seen, &mut ctx, &mut solo);
    let mut by_ctx: BTreeMap<Vec<usize>, Vec<u32>> = BTreeMap::new();
    for (i, (id, _)) in list.iter().enumerate() {
        if solo.contains(id) {
            continue;
        }
        let Some(mut c) = ctx.get(id).cloned() else {
            continue;
        };
        c.sort_unstable();
        c.dedup();
        by_ctx.entry(c).or_default().push(i as u32);
    }
    by_ctx.into_values().filter(|g| g.len() > 1).collect()
}

/// `s3:get*` → (`s3`, `get*`), splitting at the first literal colon.
fn split_action(g: &Glob) -> Option<(Glob, Glob)> {
    let i = g.0.iter().position(|t| *t == Tok::Char(':'))?;
    let (s, n) = g.0.split_at(i);
    Some((Glob(s.to_vec()), Glob(n[1..].to_vec())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::arn_glob;

    /// `unions_of`: patterns that occur only as children of the same disjunctions form a
    /// group; one that also occurs in another disjunction, or outside any, stays apart.
    #[test]
    fn unions_are_the_patterns_only_side_by_side_in_the_same_disjunctions() {
        let b = Builder::default();
        let names = ["s3:a*", "s3:*b*", "s3:c", "s3:d*", "s3:e", "s3:f*", "s3:g*"];
        let list: Vec<(AtomId, Glob)> = names
            .iter()
            .map(|n| {
                let g = Glob::wild(n);
                match b.atom(Atom::Like(StrVar::Action, g.clone())) {
                    Formula::Atom(id) => (id, g),
                    f => panic!("{f:?}"),
                }
            })
            .collect();
        let at = |i: usize| Formula::Atom(list[i].0);
        // One statement's list in two policies (two nodes), one of its patterns (c) also in
        // another list with d; e a constraint of its own; f in a list with g and alone.
        let goal = b.and(vec![
            b.or(vec![at(0), at(1), at(2)]),
            b.not(b.or(vec![at(0), at(1), at(2)])),
            b.or(vec![at(2), at(3)]),
            at(4),
            b.or(vec![at(5), at(6)]),
            b.not(at(5)),
        ]);
        assert_eq!(unions_of(&goal, &list), vec![vec![0, 1]]);
        // A disjunction shared by both sides (one node) is one context.
        let shared = b.or(vec![at(3), at(6)]);
        let goal = b.and(vec![shared.clone(), b.not(shared)]);
        assert_eq!(unions_of(&goal, &list), vec![vec![3, 6]]);
    }

    /// A service's types searched together can pass the cell budget where each alone does
    /// not (`arn:*:ssm:*:*:session/*` ends its partition field with a `*`, which crosses
    /// colons, so it meets every API Gateway type): `typed_batch` then searches them one by
    /// one, and without the patterns that name another service. Each type must get exactly
    /// the cells a search of that type with all the patterns finds, each with a string of the
    /// type in that cell.
    #[test]
    fn a_type_batch_over_the_budget_is_searched_type_by_type() {
        let globs = vec![
            Glob::wild("arn:*:ssm:*:*:session/*").arn_segments(),
            Glob::wild("arn:aws:s3:::b/*").arn_segments(),
            Glob::literal("*"),
            Glob::wild("arn:*"),
        ];
        let require = [Glob::wild("?*")];
        let base = cells(&CellProblem {
            globs: &globs,
            require: &require,
            forbid: &[],
            prefer: &[],
            filler: 'x',
            max_states: 1_000_000,
            unions: &[],
        })
        .unwrap();
        let sigs: HashMap<Vec<u32>, u32> = base
            .iter()
            .enumerate()
            .map(|(i, c)| (c.matches.clone(), i as u32))
            .collect();
        let batch: Vec<Glob> = crate::semantics::typing_globs()
            .iter()
            .filter(|t| literal_service(t).as_deref() == Some("apigateway"))
            .cloned()
            .collect();
        assert!(batch.len() > 20, "{}", batch.len());
        let budget = 50_000;
        // Together they pass the budget: the split is what this test exercises.
        let mut together = globs.clone();
        together.extend(batch.iter().cloned());
        let whole = cells(&CellProblem {
            globs: &together,
            require: &require,
            forbid: &[],
            prefer: &[],
            filler: 'x',
            max_states: budget,
            unions: &[],
        });
        assert!(whole.is_err(), "the batch fits the budget: test nothing");
        // The S3 pattern cannot meet an API Gateway type: left out.
        let rel = [0, 2, 3];
        let maps = typed_batch(&globs, &rel, &require, &sigs, &batch, budget).unwrap();
        assert_eq!(maps.len(), batch.len());
        let mut met = 0;
        for (t, m) in batch.iter().zip(&maps) {
            let mut alone = globs.clone();
            alone.push(t.clone());
            let want: BTreeSet<u32> = cells(&CellProblem {
                globs: &alone,
                require: &require,
                forbid: &[],
                prefer: &[],
                filler: 'x',
                max_states: 1_000_000,
                unions: &[],
            })
            .unwrap()
            .into_iter()
            .filter(|c| c.matches.contains(&(globs.len() as u32)))
            .map(|c| {
                let sig: Vec<u32> = c
                    .matches
                    .iter()
                    .copied()
                    .filter(|&i| (i as usize) < globs.len())
                    .collect();
                sigs[&sig]
            })
            .collect();
            let got: BTreeSet<u32> = m.keys().copied().collect();
            assert_eq!(got, want, "{t}");
            for (&cell, w) in m {
                assert!(t.matches(w, false), "{t}: {w}");
                let sig: Vec<u32> = (0..globs.len() as u32)
                    .filter(|&i| globs[i as usize].matches(w, false))
                    .collect();
                assert_eq!(sigs.get(&sig), Some(&cell), "{t}: {w}");
            }
            met += usize::from(m.len() > 1);
        }
        // The session pattern splits the types: some strings of them are in its cell.
        assert!(met > 0);
    }

    /// `may_hold` says "cannot hold" only for a formula false under every assignment of its
    /// atoms, and sees through what constant folding does not.
    #[test]
    fn may_hold_is_false_only_for_unsatisfiable_formulas() {
        let b = Builder::default();
        let x = b.atom(Atom::Scope(crate::logic::ir::ScopeAtom::SameAccount));
        let y = b.atom(Atom::Scope(crate::logic::ir::ScopeAtom::Root));
        let z = b.atom(Atom::Present("k".into()));
        let xy = b.and(vec![x.clone(), y.clone()]);
        let contradiction = b.and(vec![xy.clone(), b.not(xy.clone())]);
        assert_eq!(contradiction.as_const(), None, "folding alone decides it");
        assert!(!may_hold(&b, &contradiction, &mut LIVE_SPLITS.clone()));
        let open = b.and(vec![b.or(vec![xy.clone(), z.clone()]), b.not(xy.clone())]);
        assert!(may_hold(&b, &open, &mut LIVE_SPLITS.clone()));
        // Out of splits: "may hold", never "cannot".
        assert!(may_hold(&b, &contradiction, &mut 0));
        // Brute force over the three atoms agrees on a few formulas.
        let fs = [
            contradiction.clone(),
            open,
            b.or(vec![
                b.and(vec![x.clone(), b.not(x.clone())]),
                b.and(vec![y.clone(), b.not(z.clone()), z.clone()]),
            ]),
            b.and(vec![
                b.or(vec![x.clone(), y.clone()]),
                b.not(x.clone()),
                b.not(y.clone()),
            ]),
            b.and(vec![b.or(vec![x.clone(), y.clone()]), b.not(x.clone())]),
        ];
        let ids = [x, y, z].map(|f| match f {
            Formula::Atom(a) => a,
            _ => unreachable!(),
        });
        for f in &fs {
            let sat = (0..8u32).any(|bits| {
                f.eval_with(&mut |a| {
                    let i = ids.iter().position(|&x| x == a).unwrap();
                    bits & (1 << i) != 0
                })
            });
            assert_eq!(may_hold(&b, f, &mut LIVE_SPLITS.clone()), sat, "{f:?}");
        }
    }

    #[test]
    fn type_globs_meet_patterns_exactly() {
        let object = arn_glob("arn:${Partition}:s3:::${BucketName}/${ObjectName}");
        let user = arn_glob("arn:${Partition}:iam::${Account}:user/${UserNameWithPath}");
        let p = |s: &str| Glob::wild(s).arn_segments();
        assert!(meets(&object, &p("arn:aws:s3:::confidential-data*")));
        assert!(!meets(&user, &p("arn:aws:s3:::confidential-data*")));
        // A partition field holds no ':', so a user ARN cannot hide inside an S3 key.
        let dash = arn_glob("arn:${Partition}:cloudwatch::${Account}:dashboard/${DashboardName}");
        assert!(!meets(&dash, &p("arn:aws:s3:::CompanyConfidential/*")));
        assert!(meets(&Glob::literal("*"), &Glob::wild("*")));
        assert!(!meets(&Glob::literal("*"), &Glob::wild("arn:*")));
        assert!(within(&object, &Glob::wild("arn:*")));
        assert!(!within(&object, &p("arn:aws:s3:::*")));
        let s = type_sample(&object);
        assert!(object.matches(&s, false), "{s}");
        assert_eq!(type_sample(&user), "arn:aws:iam::999900000001:user/example");
    }

    /// Almost every resource type's ARN format has `${Account}` or an empty account field,
    /// but a few AWS-owned ones name the account `aws` (and some have more fields): those look
    /// at the account field, which is why the typed question keeps the owner rules.
    #[test]
    fn every_resource_type_is_owner_blind_but_aws_owned_ones() {
        let all = crate::semantics::typing_globs();
        assert!(all.len() > 2000, "{}", all.len());
        let seeing: Vec<String> = all
            .iter()
            .filter(|t| !owner_blind(&t.0))
            .map(|t| t.to_string())
            .collect();
        assert!(
            seeing.contains(&"arn:?*:iam::aws:role-template/*/*:*".to_string()),
            "{seeing:#?}"
        );
        assert!(seeing.len() < 40, "{seeing:#?}");
        use crate::catalog::arn_glob;
        for blind in [
            "arn:${Partition}:s3:::${BucketName}/${ObjectName}",
            "arn:${Partition}:sqs:${Region}:${Account}:${QueueName}",
            "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}",
        ] {
            assert!(owner_blind(&arn_glob(blind).0), "{blind}");
        }
    }

    /// `owner_blind` is a sufficient condition: every pattern it calls blind is checked by
    /// brute force (strings with every kind of account field, every variable value, every
    /// replacement account); patterns that look at the account field are not called blind.
    #[test]
    fn owner_blindness_holds_where_claimed() {
        use crate::logic::ir::{template_glob, TemplateMode};
        use crate::template::Template;
        let blind = [
            "*",
            "arn:*",
            "arn:aws:s3:::b/*",
            "arn:aws:ec2:*:*:instance/*",
            "arn:aws:sqs:*:*:q*",
            "arn:aws:sqs:us-east-1:*",
            "arn:aws:s3:::b/home/${aws:username}/*",
            "arn:aws:s3:::b/home/${aws:username}/k*",
            "arn:aws:sqs:*:*:${aws:username}",
            "arn:aws:iam::*:user/${aws:username}",
        ];
        let seeing = [
            "arn:aws:sqs:*:111111111111:*",
            "arn:aws:sqs:us-east-1:1*",
            "arn:aws:sqs:*:*1:q",
            "arn:aws:sqs:r?1:q",
            "arn:*1*",
            "*:111111111111:*",
            "arn:aws:iam::111111111111:user/${aws:username}",
            "arn:aws:sqs:*:${aws:PrincipalAccount}:q",
            "arn:${aws:username}",
        ];
        let toks = |s: &str| -> Vec<PatTok> {
            let (t, _) = Template::parse(s, true);
            template_tokens(&t)
        };
        for s in blind {
            assert!(owner_blind(&toks(s)), "{s}");
        }
        for s in seeing {
            assert!(!owner_blind(&toks(s)), "{s}");
        }
        // Brute force over the blind ones, with glob tokens as the solver reads them.
        let a_glob = Glob::wild("arn:aws:ec2:*:*:instance/*").arn_segments();
        assert!(owner_blind(&a_glob.0));
        assert!(!owner_blind(
            &Glob::wild("arn:aws:sqs:*:111111111111:*").arn_segments().0
        ));
        let fields = ["", "aws", "sqs", "ec2", "us-east-1", "*", "r"];
        let accounts = ["1", "111111111111", "222222222222", "q", "instance"];
        let rests = [
            "q",
            "instance/i",
            "b/home/bob/k",
            "x:y",
            "",
            "111111111111:q",
        ];
        let users = ["bob", "", "a:b", "111111111111"];
        let mut checked = 0;
        for s in blind {
            let (t, _) = Template::parse(s, true);
            for user in users {
                let lookup = |k: &str| (k == "aws:username").then(|| user.to_string());
                let Some(g) = template_glob(&t, TemplateMode::Resource, &lookup) else {
                    continue;
                };
                for svc in &fields[1..4] {
                    for region in fields {
                        for a in accounts {
                            for rest in rests {
                                let x = format!("arn:aws:{svc}:{region}:{a}:{rest}");
                                for b in accounts {
                                    let y = with_owner(&x, b);
                                    checked += 1;
                                    assert_eq!(
                                        g.matches(&x, false),
                                        g.matches(&y, false),
                                        "{s} with user {user:?}: {x} / {y}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }
}
