//! A concrete request: who asks, for what action on which resource, with which context keys.
//! Context key names compare case-insensitively; values are strings, possibly several for a
//! multivalued key ("Multivalued context keys").

use std::collections::BTreeMap;

use crate::value::split_arn;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// The caller: an IAM user ARN, a role session ARN (`arn:aws:sts::ACCT:assumed-role/R/S`),
    /// a federated user ARN, an account root ARN, a service principal (`ec2.amazonaws.com`),
    /// or `anonymous`.
    pub principal: String,
    pub action: String,
    pub resource: String,
    /// The account that owns a resource whose ARN does not name its owner (S3 buckets and
    /// objects, `*`). The account field of an ARN is the owner and always wins
    /// (`semantics::resource_owner`); without either, the caller's account.
    pub resource_account: Option<String>,
    pub context: Context,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// Lower-cased key → (key as given, values).
    entries: BTreeMap<String, (String, Vec<String>)>,
}

impl Context {
    /// Add one value to a key (repeating a key builds a multivalued key).
    pub fn push(&mut self, key: &str, value: impl Into<String>) {
        self.entries
            .entry(key.to_ascii_lowercase())
            .or_insert_with(|| (key.to_string(), Vec::new()))
            .1
            .push(value.into());
    }

    /// Set a key to exactly these values (an empty list is the same as an absent key).
    pub fn set(&mut self, key: &str, values: Vec<String>) {
        self.entries
            .insert(key.to_ascii_lowercase(), (key.to_string(), values));
    }

    /// The key's values; `None` when absent or empty (AWS treats an empty multivalued key like
    /// a missing one for `ForAllValues`/`ForAnyValue`; Tarski does so everywhere).
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.entries
            .get(&key.to_ascii_lowercase())
            .map(|(_, v)| v.as_slice())
            .filter(|v| !v.is_empty())
    }

    /// A key's value for substitution into a policy variable: only single-valued keys qualify.
    pub fn single(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            [one] => Some(one.clone()),
            _ => None,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.entries
            .values()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

/// A session of the role `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`:
/// `arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION` (the path is not part of a session
/// ARN); `None` when `arn` is not a role ARN.
pub fn role_session(arn: &str, session: &str) -> Option<String> {
    match split_arn(arn)? {
        [_, part, "iam", "", acct, res] if res.starts_with("role/") => {
            let name = res.rsplit('/').next().unwrap_or("");
            Some(format!(
                "arn:{part}:sts::{acct}:assumed-role/{name}/{session}"
            ))
        }
        _ => None,
    }
}

/// What Tarski knows about a caller from its ARN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub kind: CallerKind,
    /// The 12-digit account, for IAM principals.
    pub account: Option<String>,
    /// For a role session, the role's ARN (`arn:aws:iam::ACCT:role/R`); its path is not part of
    /// the session ARN, so roles are compared by account and name.
    pub role_name: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallerKind {
    User,
    RoleSession,
    FederatedUser,
    Root,
    Service,
    Anonymous,
    Other,
}

impl Caller {
    pub fn of(principal: &str) -> Caller {
        if principal == "anonymous" || principal == "*" {
            return Caller {
                kind: CallerKind::Anonymous,
                account: None,
                role_name: None,
            };
        }
        if let Some([_, _, svc, _, acct, res]) = split_arn(principal) {
            let account = (!acct.is_empty()).then(|| acct.to_string());
            let (kind, role_name) = match (svc, res) {
                ("iam", "root") => (CallerKind::Root, None),
                ("iam", r) if r.starts_with("user/") => (CallerKind::User, None),
                ("sts", r) if r.starts_with("assumed-role/") => {
                    let role = r["assumed-role/".len()..].split('/').next().unwrap_or("");
                    (CallerKind::RoleSession, Some(role.to_string()))
                }
                ("sts", r) if r.starts_with("federated-user/") => (CallerKind::FederatedUser, None),
                _ => (CallerKind::Other, None),
            };
            return Caller {
                kind,
                account,
                role_name,
            };
        }
        if principal.ends_with(".amazonaws.com") || principal.ends_with(".amazonaws.com.cn") {
            return Caller {
                kind: CallerKind::Service,
                account: None,
                role_name: None,
            };
        }
        Caller {
            kind: CallerKind::Other,
            account: None,
            role_name: None,
        }
    }
}

impl Request {
    /// The account owning the resource: the ARN's account field when it has one
    /// (`semantics::resource_owner`), else the explicit `resource_account`, else the caller's.
    pub fn resource_account(&self) -> Option<String> {
        if let Some(owner) = crate::semantics::resource_owner(&self.resource) {
            return Some(owner.to_string());
        }
        if let Some(a) = &self.resource_account {
            return Some(a.clone());
        }
        Caller::of(&self.principal).account
    }

    /// An explicit `resource_account` that contradicts the account field of the resource ARN:
    /// no request AWS makes has one (`semantics::resource_owner`).
    pub fn owner_conflict(&self) -> Option<String> {
        let given = self.resource_account.as_deref()?;
        // `aws` is not an account ID: AWS owns the resources whose ARN names it so
        // (`semantics::aws_owned`), and no other.
        if given == crate::semantics::AWS_OWNER && !crate::semantics::aws_owned(&self.resource) {
            return Some(format!(
                "the resource account `{given}` is not an account ID: only a resource whose ARN has `{given}` in its account field is owned by AWS (`{}` is not)",
                self.resource
            ));
        }
        let owner = crate::semantics::resource_owner(&self.resource)?;
        (given != owner).then(|| {
            format!(
                "the resource `{}` is owned by account {owner} (the account field of its ARN), not by the resource account {given} given with it",
                self.resource
            )
        })
    }
}

impl Request {
    /// Read a request from JSON: `{"principal", "action", "resource", "resource_account",
    /// "context": {key: string | number | bool | [..]}}`.
    pub fn from_json(v: &serde_json::Value) -> Result<Request, String> {
        let obj = v.as_object().ok_or("a request must be a JSON object")?;
        for k in obj.keys() {
            // `notes` is accepted (and ignored) so that a witness from `--format json` replays
            // with `tarski eval --request` as it is.
            if ![
                "principal",
                "action",
                "resource",
                "resource_account",
                "context",
                "notes",
            ]
            .contains(&k.as_str())
            {
                return Err(format!("unknown request field `{k}`"));
            }
        }
        let field = |k: &str| -> Result<Option<String>, String> {
            match obj.get(k) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("request field `{k}` must be a string")),
            }
        };
        let mut req = Request {
            principal: field("principal")?.ok_or("the request has no `principal`")?,
            action: field("action")?.ok_or("the request has no `action`")?,
            resource: field("resource")?.ok_or("the request has no `resource`")?,
            resource_account: field("resource_account")?,
            context: Context::default(),
        };
        if let Some(ctx) = obj.get("context") {
            req.context = Context::from_json(ctx)?;
        }
        Ok(req)
    }
}

impl Context {
    /// Context keys from a JSON object; arrays make multivalued keys.
    pub fn from_json(v: &serde_json::Value) -> Result<Context, String> {
        let obj = v.as_object().ok_or("`context` must be a JSON object")?;
        let mut c = Context::default();
        for (k, v) in obj {
            let scalar = |x: &serde_json::Value| -> Result<String, String> {
                match x {
                    serde_json::Value::String(s) => Ok(s.clone()),
                    serde_json::Value::Number(n) => Ok(n.to_string()),
                    serde_json::Value::Bool(b) => Ok(b.to_string()),
                    _ => Err(format!(
                        "context key `{k}`: values must be strings, numbers or booleans"
                    )),
                }
            };
            let values = match v {
                serde_json::Value::Array(items) => {
                    items.iter().map(scalar).collect::<Result<_, _>>()?
                }
                other => vec![scalar(other)?],
            };
            c.set(k, values);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keys_are_case_insensitive_and_empty_is_absent() {
        let mut c = Context::default();
        c.push("aws:TagKeys", "a");
        c.push("AWS:tagkeys", "b");
        assert_eq!(c.get("aws:tagKeys").unwrap(), ["a", "b"]);
        c.set("aws:SourceIp", vec![]);
        assert!(c.get("aws:sourceip").is_none());
        assert_eq!(c.single("aws:tagkeys"), None);
    }

    #[test]
    fn callers_are_classified_from_arns() {
        assert_eq!(
            role_session("arn:aws:iam::111122223333:role/ops/Admin", "s").as_deref(),
            Some("arn:aws:sts::111122223333:assumed-role/Admin/s")
        );
        assert_eq!(
            role_session("arn:aws:iam::111122223333:user/bob", "s"),
            None
        );
        let s = Caller::of("arn:aws:sts::111122223333:assumed-role/Admin/alice");
        assert_eq!(s.kind, CallerKind::RoleSession);
        assert_eq!(s.role_name.as_deref(), Some("Admin"));
        assert_eq!(s.account.as_deref(), Some("111122223333"));
        assert_eq!(
            Caller::of("arn:aws:iam::111122223333:user/a").kind,
            CallerKind::User
        );
        assert_eq!(Caller::of("ec2.amazonaws.com").kind, CallerKind::Service);
        assert_eq!(Caller::of("anonymous").kind, CallerKind::Anonymous);
    }
}
