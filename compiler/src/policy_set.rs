//! A policy set: every policy that takes part in deciding one request, by role, and the
//! manifest format that names them (JSON or TOML):
//!
//! ```json
//! { "identity": ["role.json"], "boundary": "boundary.json",
//!   "scps": [["root.json"], ["ou.json"]], "rcps": [["rcp.json"]],
//!   "session": "session.json", "resource": "bucket-policy.json" }
//! ```
//! Each entry is a file path (relative to the manifest) or an inline policy document.

use std::sync::Arc;

use crate::policy::{Policy, PolicyKind};
use crate::source::SourceFile;

/// A parsed policy with the file it came from.
#[derive(Clone, Debug)]
pub struct LoadedPolicy {
    pub source: Arc<SourceFile>,
    pub policy: Policy,
    /// The policy's bounds when it is known only within them (a template policy with values
    /// known only at deploy time that may hold wildcards, docs/iac.md "Bounds"): `policy` is
    /// then its widened (over-approximating) reading and this its narrowed
    /// (under-approximating) one. `None`: the policy is exact. The bound travels with the
    /// policy as data, through clones and sets (`PolicySet::bounds`).
    pub narrowed: Option<Box<LoadedPolicy>>,
}

impl LoadedPolicy {
    /// An exact policy (no bounds).
    pub fn exact(source: Arc<SourceFile>, policy: Policy) -> LoadedPolicy {
        LoadedPolicy {
            source,
            policy,
            narrowed: None,
        }
    }

    /// `over` (the widened reading) with `under` (the narrowed one) as its bounds; a policy
    /// whose two readings are the same is exact.
    pub fn bounded(over: LoadedPolicy, under: LoadedPolicy) -> LoadedPolicy {
        if over.policy == under.policy {
            return over;
        }
        LoadedPolicy {
            narrowed: Some(Box::new(LoadedPolicy {
                narrowed: None,
                ..under
            })),
            ..over
        }
    }

    /// Read as `kind` (both bounds).
    pub fn set_kind(&mut self, kind: PolicyKind) {
        self.policy.kind = kind;
        if let Some(n) = &mut self.narrowed {
            n.policy.kind = kind;
        }
    }

    /// The narrowed reading: the policy itself when it is exact.
    pub fn under(&self) -> &LoadedPolicy {
        self.narrowed.as_deref().unwrap_or(self)
    }
}

/// A policy set known only within bounds: every deployment's set allows at most what `over`
/// allows and at least what `under` allows (docs/iac.md, "Bounds").
#[derive(Clone, Debug)]
pub struct Bounded<T> {
    pub over: T,
    pub under: T,
}

#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    pub identity: Vec<LoadedPolicy>,
    pub boundary: Option<LoadedPolicy>,
    /// SCP layers from the organization root down to the account; each must allow.
    pub scps: Vec<Vec<LoadedPolicy>>,
    /// RCP layers; each must allow.
    pub rcps: Vec<Vec<LoadedPolicy>>,
    pub session: Option<LoadedPolicy>,
    pub resource: Option<LoadedPolicy>,
}

impl PolicySet {
    /// Whether some policy of the set is known only within bounds.
    pub fn is_bounded(&self) -> bool {
        self.all().iter().any(|(_, p)| p.narrowed.is_some())
    }

    /// The set's bounds: `over` has every bounded policy widened, `under` narrowed, neither
    /// carrying bounds any more. `None`: every policy is exact (the set is its own answer).
    pub fn bounds(&self) -> Option<Bounded<PolicySet>> {
        if !self.is_bounded() {
            return None;
        }
        let side = |under: bool| {
            let pick = |lp: &LoadedPolicy| LoadedPolicy {
                narrowed: None,
                ..if under {
                    lp.under().clone()
                } else {
                    lp.clone()
                }
            };
            PolicySet {
                identity: self.identity.iter().map(pick).collect(),
                boundary: self.boundary.as_ref().map(pick),
                scps: self
                    .scps
                    .iter()
                    .map(|l| l.iter().map(pick).collect())
                    .collect(),
                rcps: self
                    .rcps
                    .iter()
                    .map(|l| l.iter().map(pick).collect())
                    .collect(),
                session: self.session.as_ref().map(pick),
                resource: self.resource.as_ref().map(pick),
            }
        };
        Some(Bounded {
            over: side(false),
            under: side(true),
        })
    }

    /// Every policy with its role in the set.
    pub fn all(&self) -> Vec<(Role, &LoadedPolicy)> {
        let mut v: Vec<(Role, &LoadedPolicy)> = Vec::new();
        v.extend(self.identity.iter().map(|p| (Role::Identity, p)));
        v.extend(self.boundary.iter().map(|p| (Role::Boundary, p)));
        for (i, layer) in self.scps.iter().enumerate() {
            v.extend(layer.iter().map(|p| (Role::Scp(i), p)));
        }
        for (i, layer) in self.rcps.iter().enumerate() {
            v.extend(layer.iter().map(|p| (Role::Rcp(i), p)));
        }
        v.extend(self.session.iter().map(|p| (Role::Session, p)));
        v.extend(self.resource.iter().map(|p| (Role::Resource, p)));
        v
    }
}

/// The role a policy plays in a set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Identity,
    Boundary,
    Scp(usize),
    Rcp(usize),
    Session,
    Resource,
}

impl Role {
    /// The policy kind a document in this role is read as.
    pub fn kind(self) -> PolicyKind {
        match self {
            Role::Identity => PolicyKind::Identity,
            Role::Boundary => PolicyKind::Boundary,
            Role::Scp(_) => PolicyKind::Scp,
            Role::Rcp(_) => PolicyKind::Rcp,
            Role::Session => PolicyKind::Session,
            Role::Resource => PolicyKind::Resource,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Role::Identity => "identity policy".into(),
            Role::Boundary => "permissions boundary".into(),
            Role::Scp(i) => format!("SCP (layer {})", i + 1),
            Role::Rcp(i) => format!("RCP (layer {})", i + 1),
            Role::Session => "session policy".into(),
            Role::Resource => "resource-based policy".into(),
        }
    }
}

/// One manifest entry: where a policy comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    Path(String),
    /// An inline document, as JSON text.
    Inline(String),
}

/// The manifest, before its files are read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Manifest {
    pub identity: Vec<Entry>,
    pub boundary: Option<Entry>,
    pub scps: Vec<Vec<Entry>>,
    pub rcps: Vec<Vec<Entry>>,
    pub session: Option<Entry>,
    pub resource: Option<Entry>,
}

const MANIFEST_KEYS: &[&str] = &[
    "identity", "boundary", "scps", "rcps", "session", "resource",
];

impl Manifest {
    /// Read a manifest from JSON (`.json`) or TOML text.
    pub fn parse(text: &str, toml: bool) -> Result<Manifest, String> {
        let v: serde_json::Value = if toml {
            let t: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
            serde_json::to_value(t).map_err(|e| e.to_string())?
        } else {
            crate::json::parse_value(text)?
        };
        Manifest::from_value(&v)
    }

    pub fn from_value(v: &serde_json::Value) -> Result<Manifest, String> {
        let obj = v
            .as_object()
            .ok_or("a policy-set manifest must be an object")?;
        for k in obj.keys() {
            if !MANIFEST_KEYS.contains(&k.as_str()) {
                return Err(format!(
                    "unknown manifest key `{k}`; expected one of {}",
                    MANIFEST_KEYS.join(", ")
                ));
            }
        }
        let one = |key: &str| -> Result<Option<Entry>, String> {
            obj.get(key).map(|v| entry(key, v)).transpose()
        };
        let list = |key: &str, v: &serde_json::Value| -> Result<Vec<Entry>, String> {
            match v {
                serde_json::Value::Array(items) => items.iter().map(|i| entry(key, i)).collect(),
                other => Ok(vec![entry(key, other)?]),
            }
        };
        let layers = |key: &str| -> Result<Vec<Vec<Entry>>, String> {
            match obj.get(key) {
                None => Ok(Vec::new()),
                Some(serde_json::Value::Array(ls)) => ls.iter().map(|l| list(key, l)).collect(),
                Some(_) => Err(format!(
                    "`{key}` must be a list of layers, each a list of policies"
                )),
            }
        };
        Ok(Manifest {
            identity: match obj.get("identity") {
                Some(v) => list("identity", v)?,
                None => Vec::new(),
            },
            boundary: one("boundary")?,
            scps: layers("scps")?,
            rcps: layers("rcps")?,
            session: one("session")?,
            resource: one("resource")?,
        })
    }
}

fn entry(key: &str, v: &serde_json::Value) -> Result<Entry, String> {
    match v {
        serde_json::Value::String(s) => Ok(Entry::Path(s.clone())),
        serde_json::Value::Object(_) => Ok(Entry::Inline(
            serde_json::to_string_pretty(v).map_err(|e| e.to_string())?,
        )),
        _ => Err(format!(
            "`{key}` entries must be file paths or inline policy documents"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &str, action: &str) -> LoadedPolicy {
        let text = format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "{action}", "Resource": "*"}}]}}"#
        );
        let l = crate::load::load(name, &text, Some(PolicyKind::Identity), false);
        l.policies
            .into_iter()
            .next()
            .expect("the test policy loads")
    }

    /// Bounds are data carried by the policy (no registry keyed by source and span): two
    /// bounded policies with the same name and span keep their own narrowed readings, a set
    /// of exact policies has no bounds, and both sides of a bounded set are exact sets.
    #[test]
    fn bounds_travel_with_the_policy() {
        let exact = one("a.json", "s3:GetObject");
        assert!(PolicySet {
            identity: vec![exact.clone()],
            ..Default::default()
        }
        .bounds()
        .is_none());
        // Same readings: exact.
        assert!(LoadedPolicy::bounded(exact.clone(), exact.clone())
            .narrowed
            .is_none());
        let b1 = LoadedPolicy::bounded(one("t.json", "s3:*"), one("t.json", "s3:GetObject"));
        let b2 = LoadedPolicy::bounded(one("t.json", "ec2:*"), one("t.json", "ec2:RunInstance"));
        let mut set = PolicySet {
            identity: vec![exact.clone(), b1, b2],
            ..Default::default()
        };
        set.identity[1].set_kind(PolicyKind::Identity);
        let b = set.bounds().expect("the set is bounded");
        let actions = |s: &PolicySet| -> Vec<String> {
            s.identity
                .iter()
                .map(|p| format!("{:?}", p.policy.statements[0].action))
                .collect()
        };
        let (over, under) = (actions(&b.over), actions(&b.under));
        assert!(
            over[1].contains("s3:*") && under[1].contains("s3:GetObject"),
            "{over:?} {under:?}"
        );
        assert!(
            over[2].contains("ec2:*") && under[2].contains("ec2:RunInstance"),
            "{over:?} {under:?}"
        );
        assert_eq!(over[0], under[0]);
        assert!(!b.over.is_bounded() && !b.under.is_bounded());
    }

    #[test]
    fn json_and_toml_manifests_agree() {
        let j = Manifest::parse(
            r#"{"identity": ["a.json"], "boundary": "b.json", "scps": [["r.json"], ["o.json"]]}"#,
            false,
        )
        .unwrap();
        let t = Manifest::parse(
            "identity = [\"a.json\"]\nboundary = \"b.json\"\nscps = [[\"r.json\"], [\"o.json\"]]\n",
            true,
        )
        .unwrap();
        assert_eq!(j, t);
        assert_eq!(j.scps.len(), 2);
    }

    /// Issue 15 finding 2: `{"identity": ["A.json"], "identity": ["R.json"]}` kept the last
    /// key; a duplicated `scps` key dropped a Deny layer. Both formats refuse duplicates.
    #[test]
    fn duplicate_keys_are_rejected_in_json_and_toml() {
        let e = Manifest::parse(r#"{"identity": ["A.json"], "identity": ["R.json"]}"#, false)
            .unwrap_err();
        assert!(e.contains("duplicate key `identity`"), "{e}");
        let e =
            Manifest::parse(r#"{"scps": [["a.json"]], "scps": [["b.json"]]}"#, false).unwrap_err();
        assert!(e.contains("duplicate key `scps`"), "{e}");
        let e = Manifest::parse("identity = [\"A.json\"]\nidentity = [\"R.json\"]\n", true)
            .unwrap_err();
        assert!(e.contains("duplicate key"), "{e}");
        // Inside an inline policy too.
        let e = Manifest::parse(
            r#"{"identity": [{"Version": "2012-10-17", "Statement": [], "Statement": []}]}"#,
            false,
        )
        .unwrap_err();
        assert!(e.contains("duplicate key `Statement`"), "{e}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(Manifest::parse(r#"{"identy": []}"#, false)
            .unwrap_err()
            .contains("unknown manifest key"));
        assert!(Manifest::parse(r#"{"scps": "x.json"}"#, false).is_err());
    }
}
