//! A point in the problem's finite domain (which cell each string variable is in, the numeric
//! values, which key slots hold values, the principal and resource account), and its
//! concretization into a `Request` a person can read and the evaluator can replay.

use std::collections::BTreeMap;

use tarski_compiler::catalog::catalog;
use tarski_compiler::logic::ir::{eval_atom, Atom, AtomId, StrVar};
use tarski_compiler::logic::problem::{type_sample, Problem, VarKind};
use tarski_compiler::request::{Context, Request};
use tarski_compiler::semantics::{resource_types, well_typed};
use tarski_compiler::value::{format_date, Decimal};

/// A value chosen for one string variable.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Cell(usize),
    /// Numeric value `mantissa * 10^-scale`, or `None` when the value is not a number.
    Number(Option<Decimal>),
    /// Nanoseconds since the epoch, or `None` when not a date.
    Date(Option<i128>),
    Ip(Option<std::net::IpAddr>),
    Text(String),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Assignment {
    pub values: BTreeMap<StrVar, Value>,
    /// Keys present, with which slots hold values.
    pub members: BTreeMap<String, Vec<bool>>,
    pub principal: usize,
    pub resource_account: usize,
}

/// A witness request, with remarks for the reader.
#[derive(Clone, Debug, PartialEq)]
pub struct Witness {
    pub request: Request,
    pub notes: Vec<String>,
}

impl Assignment {
    fn string_of(&self, p: &Problem, var: &StrVar) -> Option<String> {
        match (self.values.get(var), p.vars.get(var)) {
            (Some(Value::Cell(i)), Some(VarKind::Cells(cs))) => {
                cs.get(*i).map(|c| c.witness.clone())
            }
            (Some(Value::Number(n)), _) => {
                Some(n.map_or_else(|| "not-a-number".to_string(), |d| d.to_string()))
            }
            (Some(Value::Date(d)), _) => {
                Some(d.map_or_else(|| "not-a-date".to_string(), format_date))
            }
            (Some(Value::Ip(ip)), _) => {
                Some(ip.map_or_else(|| "not-an-ip".to_string(), |a| a.to_string()))
            }
            (Some(Value::Text(s)), _) => Some(s.clone()),
            // Unconstrained: the first cell, or a placeholder.
            (None, Some(VarKind::Cells(cs))) => cs.first().map(|c| c.witness.clone()),
            _ => None,
        }
    }

    /// The request this point stands for. Only keys the goal mentions appear in the context;
    /// the caller and the keys AWS derives from it agree (`derive_keys`).
    pub fn to_request(&self, p: &Problem, goal_atoms: &[AtomId]) -> Witness {
        self.build(p, goal_atoms, true)
    }

    /// `to_request` with the derived keys as the solver's cells give them (no renaming): the
    /// fallback when the derived request does not replay (then `check` reports the keys'
    /// contradiction, never a false answer).
    pub fn to_request_free(&self, p: &Problem, goal_atoms: &[AtomId]) -> Witness {
        self.build(p, goal_atoms, false)
    }

    fn build(&self, p: &Problem, goal_atoms: &[AtomId], derive: bool) -> Witness {
        let mut notes = Vec::new();
        // The resource first when the action is free: an action that takes it.
        let resource_cell = match self.values.get(&StrVar::Resource) {
            Some(Value::Cell(i)) => Some(*i as u32),
            None if matches!(p.vars.get(&StrVar::Resource), Some(VarKind::Cells(_))) => Some(0),
            _ => None,
        };
        let action = match self.string_of(p, &StrVar::Action) {
            Some(a) => a,
            None => {
                let r = self.string_of(p, &StrVar::Resource);
                let takes = |a: &str| r.as_deref().is_none_or(|r| well_typed(a, r));
                // `*` reads best with an action that declares no resource type at all.
                let star_only = |a: &&tarski_compiler::catalog::Action| {
                    r.as_deref() != Some("*") || a.resource_types.is_empty()
                };
                if r.as_deref() != Some("*") && takes("s3:GetObject") {
                    "s3:GetObject".to_string()
                } else if r.as_deref() == Some("*") {
                    "s3:ListAllMyBuckets".to_string()
                } else {
                    catalog()
                        .actions()
                        .filter(star_only)
                        .map(|a| a.full_name())
                        .find(|a| takes(a))
                        .unwrap_or_else(|| "tarski:FutureAction".to_string())
                }
            }
        };
        let action = match catalog().lookup(&action) {
            Some(a) => a.full_name(),
            None => {
                if p.vars.contains_key(&StrVar::Action) {
                    notes.push(format!("`{action}` is not an action in today's catalog: the difference is in actions AWS may add later (use --known-actions to compare over known actions only); its resource is untyped (any ARN or `*`)"));
                } else if action == "tarski:FutureAction" {
                    notes.push("no action in today's catalog takes this resource: the request is one a future action could make (its resource is untyped)".to_string());
                }
                action
            }
        };
        let resource = match (resource_cell, resource_types(&action)) {
            (Some(c), Some(_)) => p
                .typed_resource(&action, c)
                .or_else(|| self.string_of(p, &StrVar::Resource)),
            (None, Some(t)) if !p.vars.contains_key(&StrVar::Resource) => Some(if t.star {
                "*".to_string()
            } else {
                t.arns
                    .first()
                    .map(type_sample)
                    .unwrap_or_else(|| "*".to_string())
            }),
            _ => self.string_of(p, &StrVar::Resource),
        }
        .unwrap_or_else(|| "arn:aws:s3:::tarski-example-bucket/example-object".to_string());
        if let (Some(why), false) = (&p.untyped, well_typed(&action, &resource)) {
            notes.push(format!(
                "{UNTYPED_NOTE} ({why}): this request may be one AWS never sends"
            ));
        }
        let principal = p
            .domains
            .principals
            .get(self.principal)
            .cloned()
            .unwrap_or_else(|| "arn:aws:iam::999900000001:user/tarski-user".to_string());
        let resource_account = p
            .domains
            .resource_accounts
            .get(self.resource_account)
            .cloned();
        // Keys the goal talks about.
        let atoms = p.builder.atoms();
        let mut keys: Vec<String> = Vec::new();
        for id in goal_atoms {
            let k = match atoms.get(*id) {
                Atom::Present(k) | Atom::Member(k, _) => Some(k.clone()),
                Atom::Like(StrVar::Slot(k, _), _)
                | Atom::Cmp {
                    var: StrVar::Slot(k, _),
                    ..
                } => Some(k.clone()),
                Atom::Template { var, template, .. } => {
                    if let StrVar::Slot(k, _) = var {
                        keys.push(k.clone());
                    }
                    keys.extend(template.vars().map(|v| v.key.to_ascii_lowercase()));
                    None
                }
                _ => None,
            };
            keys.extend(k);
        }
        keys.sort();
        keys.dedup();
        let mut context = Context::default();
        for k in keys {
            // A template atom's stand-in (`relax::abstract_templates`), not a request key.
            if k.starts_with(tarski_compiler::logic::relax::ABSTRACT_KEY_PREFIX) {
                continue;
            }
            let Some(slots) = self.members.get(&k) else {
                continue;
            };
            let values: Vec<String> = slots
                .iter()
                .enumerate()
                .filter(|(_, m)| **m)
                .map(|(n, _)| {
                    self.string_of(p, &StrVar::Slot(k.clone(), n as u32))
                        .unwrap_or_else(|| "tarski-value".to_string())
                })
                .collect();
            if !values.is_empty() {
                context.set(&display_key(&k), values);
            }
        }
        let (principal, resource_account) = if derive {
            self.derive_keys(p, principal, resource_account, &mut context)
        } else {
            (principal, resource_account)
        };
        let mut request = Request {
            principal,
            action,
            resource,
            resource_account,
            context,
        };
        own(p, goal_atoms, resource_cell, &mut request);
        Witness { request, notes }
    }
}

/// The caller and the keys AWS derives from it, made one (issue 10): a generic caller of the
/// domain (`logic::domain`: a user or role session the question does not name) takes the name
/// its keys give it (`aws:username`, `aws:PrincipalArn`), and every derived key the request
/// carries gets AWS's value (`semantics::derived_key`). The solver put each such key in a cell
/// holding that value (`Problem::derived`), so no atom of the goal changes; a key compared by
/// equality with others (`logic::keyeq`) takes its equal partners along.
impl Assignment {
    /// A value written into a cell variable stays in the solver's cell (`None`: not a cell
    /// variable, or not known: allowed).
    fn keeps_cell(&self, p: &Problem, key: &str, v: &str) -> bool {
        let var = StrVar::Slot(key.to_ascii_lowercase(), 0);
        match self.values.get(&var) {
            Some(Value::Cell(c)) => p.value_in_cell(&var, v, *c as u32) != Some(false),
            _ => true,
        }
    }

    /// A 12-digit account in the key's cell, from the solver's value (`1` for the cell of `1*`
    /// becomes `111111111111`), if there is one among a few tries.
    fn account_value(&self, p: &Problem, key: &str, v: &str) -> Option<String> {
        let ok = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
        if ok(v) {
            return Some(v.to_string());
        }
        for d in ['1', '0', '2', '3', '4', '5', '6', '7', '8', '9'] {
            let mut t: String = v
                .chars()
                .take(12)
                .map(|c| if c.is_ascii_digit() { c } else { d })
                .collect();
            while t.len() < 12 {
                t.push(d);
            }
            if ok(&t) && self.keeps_cell(p, key, &t) {
                return Some(t);
            }
        }
        None
    }

    fn derive_keys(
        &self,
        p: &Problem,
        principal: String,
        resource_account: Option<String>,
        context: &mut Context,
    ) -> (String, Option<String>) {
        use tarski_compiler::logic::domain::is_fresh;
        use tarski_compiler::logic::problem::is_generic_caller;
        use tarski_compiler::request::{role_session, Caller, CallerKind};
        use tarski_compiler::semantics::{
            derived_key, is_iam_name, CallerClass, Derived, PRINCIPAL_KEYS,
        };
        let mut principal = principal;
        let mut resource_account = resource_account;
        // An unmentioned account stands for any account no policy names: the keys say which.
        let named: Vec<&String> = p
            .domains
            .resource_accounts
            .iter()
            .filter(|a| !is_fresh(a))
            .collect();
        let pick = |key: &str, v: Option<String>| {
            v.and_then(|v| self.account_value(p, key, &v))
                .filter(|a| !named.contains(&a))
        };
        let mut map: Vec<(String, String)> = Vec::new();
        if let Some(a) = Caller::of(&principal).account.filter(|a| is_fresh(a)) {
            let from_arn = context
                .single("aws:PrincipalArn")
                .and_then(|arn| Caller::of(&arn).account);
            if let Some(n) = pick(
                "aws:PrincipalAccount",
                context.single("aws:PrincipalAccount"),
            )
            .or_else(|| from_arn.filter(|n| n.len() == 12 && n.bytes().all(|b| b.is_ascii_digit())))
            {
                map.push((a, n));
            }
        }
        if let Some(a) = resource_account.clone().filter(|a| is_fresh(a)) {
            if let Some(n) = pick("aws:ResourceAccount", context.single("aws:ResourceAccount")) {
                map.push((a, n));
            }
        }
        // One account, one number; two accounts, two numbers.
        let consistent = map.iter().all(|(a, n)| {
            map.iter()
                .all(|(b, m)| (a == b) == (n == m) || (a == b && n == m))
        });
        // The goal's principal atoms must keep their truth (a question naming the stand-in
        // account's principal keeps it; the keys then say the account, or contradict it).
        let principal_atoms_hold = |from: &str, to: &str| {
            let atoms = p.builder.atoms();
            let at = |pr: &str| Request {
                principal: pr.to_string(),
                ..Request::default()
            };
            (0..atoms.len() as AtomId).all(|id| {
                let a = atoms.get(id);
                !matches!(a, Atom::Principal(..))
                    || eval_atom(a, &at(from)) == eval_atom(a, &at(to))
            })
        };
        if consistent {
            let mut renamed = principal.clone();
            for (a, n) in &map {
                renamed = renamed.replace(a.as_str(), n);
            }
            if principal_atoms_hold(&principal, &renamed) {
                principal = renamed;
                for (a, n) in &map {
                    if resource_account.as_deref() == Some(a.as_str()) {
                        resource_account = Some(n.clone());
                    }
                }
            }
        }
        if is_generic_caller(&principal) {
            let c = Caller::of(&principal);
            let acct = c.account.clone().unwrap_or_default();
            let mut arn = context.single("aws:PrincipalArn");
            let user = context.single("aws:username").filter(|u| is_iam_name(u));
            // The solver's value for aws:PrincipalArn is any string of its cell (the shortest:
            // `arn:aws:iam:::role/Admin`); the same cell holds the ARN in the caller's account
            // with the same name, if the patterns allow it.
            // A generic user stands for the account's federated users too (`CallerClass`).
            let fed = c.kind == CallerKind::User
                && (context.single("aws:PrincipalType").as_deref() == Some("FederatedUser")
                    || arn
                        .as_deref()
                        .is_some_and(|a| a.contains(":federated-user/")));
            if let Some(a) = arn.clone() {
                let (kind, form) = match (c.kind, fed) {
                    (CallerKind::User, false) => ("user", "iam::{acct}:user"),
                    (CallerKind::User, true) => ("federated", "sts::{acct}:federated-user"),
                    _ => ("role", "iam::{acct}:role"),
                };
                let form = form.replace("{acct}", &acct);
                let name = a.rsplit('/').next().unwrap_or("").to_string();
                let mut names = vec![name];
                names.extend(user.clone());
                names.push(format!("tarski-{kind}"));
                let fits = |x: &str| {
                    Caller::of(x).account.as_deref() == Some(acct.as_str())
                        && x.contains(&format!("{form}/"))
                };
                if !fits(&a) {
                    if let Some(b) = names
                        .iter()
                        .filter(|n| is_iam_name(n))
                        .map(|n| format!("arn:aws:{form}/{n}"))
                        .find(|b| self.keeps_cell(p, "aws:PrincipalArn", b))
                    {
                        context.set("aws:PrincipalArn", vec![b.clone()]);
                        arn = Some(b);
                    }
                }
            }
            let in_account = |a: &str| Caller::of(a).account.as_deref() == Some(acct.as_str());
            match c.kind {
                CallerKind::User if fed => {
                    principal = arn
                        .filter(|a| {
                            in_account(a)
                                && a.contains(":federated-user/")
                                && a.rsplit('/').next().is_some_and(is_iam_name)
                        })
                        .unwrap_or_else(|| {
                            format!("arn:aws:sts::{acct}:federated-user/tarski-federated")
                        });
                }
                CallerKind::User => {
                    let from_arn = arn.filter(|a| {
                        let o = Caller::of(a);
                        o.kind == CallerKind::User
                            && in_account(a)
                            && a.rsplit('/').next().is_some_and(|n| {
                                is_iam_name(n) && user.as_deref().is_none_or(|u| u == n)
                            })
                    });
                    if let Some(a) = from_arn {
                        principal = a;
                    } else if let Some(u) = user {
                        principal = format!("arn:aws:iam::{acct}:user/{u}");
                    }
                }
                CallerKind::RoleSession => {
                    if let Some(s) = arn
                        .filter(|a| in_account(a))
                        .and_then(|a| role_session(&a, "tarski-session"))
                        .filter(|s| Caller::of(s).role_name.is_some_and(|r| is_iam_name(&r)))
                    {
                        principal = s;
                    }
                }
                _ => {}
            }
        }
        let mut wanted: Vec<(String, String)> = Vec::new();
        for key in PRINCIPAL_KEYS {
            if let Some(Derived::Is(v)) = derived_key(key, &principal, CallerClass::One) {
                wanted.push((key.to_string(), v));
            }
        }
        if let Some(a) = &resource_account {
            wanted.push(("aws:resourceaccount".to_string(), a.to_string()));
        }
        for (key, v) in wanted {
            let Some((shown, old)) = context
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&key))
                .map(|(k, vs)| (k.to_string(), vs.to_vec()))
            else {
                continue;
            };
            if old.len() != 1 || old[0] == v || !self.keeps_cell(p, &key, &v) {
                continue;
            }
            // The key's equal partners (a shared partition) hold the same string: they follow.
            let var = StrVar::Slot(key.clone(), 0);
            let partners: Vec<String> = p
                .key_groups
                .iter()
                .filter(|g| g.vars.contains(&var))
                .flat_map(|g| g.vars.iter())
                .filter_map(|w| match w {
                    StrVar::Slot(k, 0) if *k != key => Some(k.clone()),
                    _ => None,
                })
                .collect();
            let follow: Vec<String> = context
                .iter()
                .filter(|(k, vs)| {
                    partners.iter().any(|x| x.eq_ignore_ascii_case(k)) && *vs == old.as_slice()
                })
                .map(|(k, _)| k.to_string())
                .collect();
            for k in follow {
                context.set(&k, vec![v.clone()]);
            }
            context.set(&shown, vec![v]);
        }
        (principal, resource_account)
    }
}

/// Tie the witness's resource account to its ARN (`semantics::resource_owner`): the solver
/// chose the account; an ARN that names another one gets the chosen account written into it
/// when that changes no other atom of the goal (the resource stays in its cell), else —
/// the ARN's account is then one no policy names, like the chosen fresh account — a caller in
/// the chosen account is moved to the ARN's account (nothing in the question tells the two
/// unmentioned accounts apart: `logic::problem`, owner rules). An ARN without an account
/// field keeps the chosen account as its owner.
fn own(p: &Problem, goal_atoms: &[AtomId], cell: Option<u32>, req: &mut Request) {
    use tarski_compiler::logic::problem::with_owner;
    use tarski_compiler::semantics::resource_owner;
    let Some(chosen) = req.resource_account.clone() else {
        return;
    };
    let Some(owner) = resource_owner(&req.resource).map(str::to_string) else {
        return;
    };
    req.resource_account = None;
    if owner == chosen {
        return;
    }
    let atoms = p.builder.atoms();
    let same_elsewhere = |a: &Request, b: &Request| {
        goal_atoms.iter().all(|id| {
            let atom = atoms.get(*id);
            matches!(atom, Atom::Scope(_)) || eval_atom(atom, a) == eval_atom(atom, b)
        })
    };
    let mut moved = req.clone();
    moved.resource = with_owner(&req.resource, &chosen);
    if well_typed(&moved.action, &moved.resource) == well_typed(&req.action, &req.resource)
        && same_elsewhere(req, &moved)
        && cell.is_none_or(|c| p.resource_in_cell(&moved.resource, c) != Some(false))
    {
        *req = moved;
        return;
    }
    // Writing the account into the ARN changed another atom: the ARN's fields are read across
    // colons (`arn:aws:eks:aps:ec2:cluster/:workspace/...`, where `ec2` is both the account
    // field and part of another pattern's match). Another string of the same signature over
    // every pattern of the goal, with the chosen account in its account field, if one exists
    // (`cells::realize`, an exhaustive search).
    let lits: Vec<(tarski_compiler::glob::Glob, bool)> = goal_atoms
        .iter()
        .filter_map(|id| match atoms.get(*id) {
            a @ Atom::Like(StrVar::Resource, g) => Some((g.clone(), eval_atom(a, req))),
            _ => None,
        })
        .collect();
    let require = [tarski_compiler::logic::problem::owner_glob(Some(&chosen))];
    // A well-typed resource stays one: an ARN of one of the action's resource types.
    let domain: Vec<tarski_compiler::glob::Glob> = match resource_types(&req.action) {
        Some(t) if well_typed(&req.action, &req.resource) => t.arns.clone(),
        _ => vec![tarski_compiler::glob::Glob::wild("arn:*")],
    };
    if let Ok(Some(r)) = tarski_compiler::logic::cells::realize(&lits, &require, &domain, 200_000) {
        let mut moved = req.clone();
        moved.resource = r;
        if resource_owner(&moved.resource) == Some(chosen.as_str())
            && well_typed(&moved.action, &moved.resource) == well_typed(&req.action, &req.resource)
            && same_elsewhere(req, &moved)
            && cell.is_none_or(|c| p.resource_in_cell(&moved.resource, c) != Some(false))
        {
            *req = moved;
            return;
        }
    }
    let caller = tarski_compiler::request::Caller::of(&req.principal);
    if caller.account.as_deref() == Some(chosen.as_str()) {
        req.principal = with_owner(&req.principal, &owner);
    }
}

/// The start of the note on a request the untyped encoding found where the typed one could not
/// be built (`Problem::untyped`); `check` drops it once the request is one AWS sends.
pub const UNTYPED_NOTE: &str =
    "the request space was not narrowed to the resource types AWS sends with each action";

/// The key as AWS documents it (`aws:MultiFactorAuthPresent`), for readable witnesses.
fn display_key(k: &str) -> String {
    let cat = catalog();
    for g in cat.global_condition_keys() {
        if g.key.eq_ignore_ascii_case(k) {
            return g.key.clone();
        }
        // Tag keys: keep the documented prefix's case, the tag as written.
        if let Some(prefix) = g.key.strip_suffix("/tag-key") {
            if k.len() > prefix.len() && k[..prefix.len()].eq_ignore_ascii_case(prefix) {
                return format!("{prefix}{}", &k[prefix.len()..]);
            }
        }
    }
    k.to_string()
}

/// Truth of an atom at a concrete request (for fast paths and checks).
pub fn atom_at(p: &Problem, id: AtomId, req: &Request) -> bool {
    eval_atom(p.builder.atoms().get(id), req)
}
