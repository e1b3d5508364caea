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

    /// The request this point stands for. Only keys the goal mentions appear in the context.
    pub fn to_request(&self, p: &Problem, goal_atoms: &[AtomId]) -> Witness {
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
        if let Some(why) = &p.untyped {
            notes.push(format!("the request space was not narrowed to the resource types AWS sends with each action ({why}): this request may be one AWS never sends"));
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
    let caller = tarski_compiler::request::Caller::of(&req.principal);
    if caller.account.as_deref() == Some(chosen.as_str()) {
        req.principal = with_owner(&req.principal, &owner);
    }
}

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
