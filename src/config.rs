//! `tarski.toml`: what a team decides about its findings (docs/ci.md). Found from the working
//! directory up, or named with `--config`. It holds suppressions (check, subject or path
//! pattern, reason, optional expiry), per-check severities, which severities block the run,
//! and template values; `--baseline-findings FILE` (a JSON
//! report of an earlier run) makes only new findings block.
//!
//! Nothing here changes an answer: a suppressed or baselined finding is still reported (with
//! severity `info` and why), and an expired suppression is itself a finding.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use tarski_compiler::glob::Glob;
use tarski_compiler::spec::ast::Level;

use crate::run::{Location, Record, Status};

/// The file name looked for from the working directory up.
pub const FILE_NAME: &str = "tarski.toml";

/// One `[[suppress]]` entry.
#[derive(Debug, Clone)]
pub struct Suppression {
    pub check: Option<String>,
    pub subject: Option<String>,
    pub path: Option<String>,
    pub reason: String,
    /// `YYYY-MM-DD`: the last day the suppression holds.
    pub expires: Option<String>,
    /// 1-based line of its `[[suppress]]` header in the file.
    pub line: usize,
}

/// A loaded configuration (`Config::default()` when there is none).
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from.
    pub path: Option<PathBuf>,
    pub suppressions: Vec<Suppression>,
    /// Check name -> severity.
    pub severity: BTreeMap<String, Level>,
    /// Severities that make the run fail (exit code); default `["error"]`.
    pub fail_on: BTreeSet<Level>,
    pub parameters: BTreeMap<String, String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub partition: Option<String>,
    /// `[trusted] accounts`: 12-digit account IDs inside the zone of trust.
    pub trusted_accounts: Vec<String>,
    /// `[trusted] organizations`: organization IDs (`o-...`) inside the zone of trust.
    pub trusted_orgs: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            path: None,
            suppressions: Vec::new(),
            severity: BTreeMap::new(),
            fail_on: [Level::Error].into_iter().collect(),
            parameters: BTreeMap::new(),
            account_id: None,
            region: None,
            partition: None,
            trusted_accounts: Vec::new(),
            trusted_orgs: Vec::new(),
        }
    }
}

fn level(s: &str, at: &str) -> Result<Level> {
    match s {
        "error" => Ok(Level::Error),
        "warning" => Ok(Level::Warning),
        "info" => Ok(Level::Info),
        _ => bail!("{at}: `{s}` is not a severity (error, warning, info)"),
    }
}

/// `tarski.toml` in `dir` or the nearest directory above it, as a path relative to `dir`
/// (`tarski.toml`, `../tarski.toml`, ...), so reports name it as a user would.
pub fn find(dir: &Path) -> Option<PathBuf> {
    let mut up = PathBuf::new();
    for x in dir.ancestors() {
        if x.join(FILE_NAME).is_file() {
            return Some(up.join(FILE_NAME));
        }
        up.push("..");
    }
    None
}

/// The configuration named by `--config`, else the one found from the working directory up,
/// else the defaults.
pub fn load(explicit: Option<&Path>) -> Result<Config> {
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => std::env::current_dir().ok().and_then(|d| find(&d)),
    };
    match path {
        None => Ok(Config::default()),
        Some(p) => {
            let text = crate::load::read_text(&p)?;
            parse(&text)
                .with_context(|| format!("{}", p.display()))
                .map(|mut c| {
                    c.path = Some(p);
                    c
                })
        }
    }
}

fn strings(v: &toml::Value, at: &str) -> Result<Vec<String>> {
    match v {
        toml::Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(String::from)
                    .ok_or_else(|| anyhow!("{at}: expected a list of strings"))
            })
            .collect(),
        _ => bail!("{at}: expected a list of strings"),
    }
}

fn string(v: &toml::Value, at: &str) -> Result<String> {
    v.as_str()
        .map(String::from)
        .ok_or_else(|| anyhow!("{at}: expected a string"))
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Parse the text of a `tarski.toml`. Unknown keys are errors (a misspelt key would silently
/// do nothing), and so are duplicate keys (TOML forbids them; the `toml` reader rejects them).
pub fn parse(text: &str) -> Result<Config> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let (line, col) = e
            .span()
            .map(|s| {
                let before = text.get(..s.start).unwrap_or(text);
                (
                    before.matches('\n').count() + 1,
                    before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1,
                )
            })
            .unwrap_or((0, 0));
        anyhow!("{line}:{col}: {}", e.message())
    })?;
    let mut c = Config::default();
    // Lines of the `[[suppress]]` headers, in order.
    let headers: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("[[suppress]]"))
        .map(|(i, _)| i + 1)
        .collect();
    for (k, v) in &table {
        match k.as_str() {
            "fail-on" => {
                c.fail_on = strings(v, "fail-on")?
                    .iter()
                    .map(|s| level(s, "fail-on"))
                    .collect::<Result<_>>()?
            }
            "severity" => {
                let t = v
                    .as_table()
                    .ok_or_else(|| anyhow!("[severity]: expected a table of check = severity"))?;
                for (check, s) in t {
                    let at = format!("severity.{check}");
                    c.severity
                        .insert(check.clone(), level(&string(s, &at)?, &at)?);
                }
            }
            "template" => {
                let t = v
                    .as_table()
                    .ok_or_else(|| anyhow!("[template]: expected a table"))?;
                for (tk, tv) in t {
                    match tk.as_str() {
                        "parameters" => {
                            let ps = tv.as_table().ok_or_else(|| {
                                anyhow!("template.parameters: expected a table NAME = VALUE")
                            })?;
                            for (n, pv) in ps {
                                let value = match pv {
                                    toml::Value::String(s) => s.clone(),
                                    toml::Value::Integer(i) => i.to_string(),
                                    toml::Value::Boolean(b) => b.to_string(),
                                    toml::Value::Array(_) => strings(pv, "template.parameters")?.join(","),
                                    _ => bail!("template.parameters.{n}: expected a string"),
                                };
                                c.parameters.insert(n.clone(), value);
                            }
                        }
                        "account-id" => c.account_id = Some(string(tv, "template.account-id")?),
                        "region" => c.region = Some(string(tv, "template.region")?),
                        "partition" => c.partition = Some(string(tv, "template.partition")?),
                        other => bail!("template.{other}: unknown key (parameters, account-id, region, partition)"),
                    }
                }
            }
            "trusted" => {
                let t = v
                    .as_table()
                    .ok_or_else(|| anyhow!("[trusted]: expected a table"))?;
                for (tk, tv) in t {
                    match tk.as_str() {
                        "accounts" => {
                            for a in strings(tv, "trusted.accounts")? {
                                if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                                    bail!("trusted.accounts: `{a}` is not a 12-digit account ID");
                                }
                                c.trusted_accounts.push(a);
                            }
                        }
                        "organizations" => {
                            for o in strings(tv, "trusted.organizations")? {
                                // Organization IDs: `o-` and 10 to 32 lower-case letters or
                                // digits (Organizations API reference, Organization.Id).
                                let body = o.strip_prefix("o-").unwrap_or("");
                                if !(10..=32).contains(&body.len())
                                    || !body
                                        .bytes()
                                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                                {
                                    bail!("trusted.organizations: `{o}` is not an organization ID (o-xxxxxxxxxx)");
                                }
                                c.trusted_orgs.push(o);
                            }
                        }
                        other => bail!("trusted.{other}: unknown key (accounts, organizations)"),
                    }
                }
                if c.trusted_accounts.is_empty() && c.trusted_orgs.is_empty() {
                    bail!("[trusted]: name at least one of `accounts`, `organizations`");
                }
            }
            "suppress" => {
                let items = v
                    .as_array()
                    .ok_or_else(|| anyhow!("suppress: write each as a [[suppress]] table"))?;
                for (i, it) in items.iter().enumerate() {
                    let at = format!("suppression {}", i + 1);
                    let t = it
                        .as_table()
                        .ok_or_else(|| anyhow!("{at}: expected a table"))?;
                    let mut s = Suppression {
                        check: None,
                        subject: None,
                        path: None,
                        reason: String::new(),
                        expires: None,
                        line: headers.get(i).copied().unwrap_or(0),
                    };
                    for (sk, sv) in t {
                        let val = string(sv, &format!("{at}.{sk}"))?;
                        match sk.as_str() {
                            "check" => s.check = Some(val),
                            "subject" => s.subject = Some(val),
                            "path" => s.path = Some(val),
                            "reason" => s.reason = val,
                            "expires" => {
                                if !is_date(&val) {
                                    bail!("{at}.expires: `{val}` is not a date YYYY-MM-DD");
                                }
                                s.expires = Some(val)
                            }
                            other => bail!("{at}.{other}: unknown key (check, subject, path, reason, expires)"),
                        }
                    }
                    if s.reason.trim().is_empty() {
                        bail!("{at} (line {}): a suppression needs a `reason`", s.line);
                    }
                    if s.check.is_none() && s.subject.is_none() && s.path.is_none() {
                        bail!(
                            "{at} (line {}): a suppression needs `check`, `subject` or `path` (it would hide everything)",
                            s.line
                        );
                    }
                    c.suppressions.push(s);
                }
            }
            other => bail!(
                "`{other}`: unknown key (fail-on, severity, template, trusted, suppress; docs/ci.md)"
            ),
        }
    }
    Ok(c)
}

/// Today's date (UTC), `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    civil(secs / 86_400)
}

/// Days since 1970-01-01 as a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn matches(pattern: &Option<String>, text: &str) -> bool {
    pattern
        .as_ref()
        .is_none_or(|p| Glob::wild(p).matches(text, false))
}

/// A finding: a record that is not a pass.
fn finding(r: &Record) -> bool {
    r.status != Status::Pass
}

/// The findings of an earlier report (`batch --format json`): (check, subject, status).
pub fn read_baseline(path: &Path) -> Result<BTreeSet<(String, String, String)>> {
    let text = crate::load::read_text(path)?;
    let mut out = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            anyhow!(
                "{}:{}: not a JSON line of a `batch --format json` report: {e}",
                path.display(),
                i + 1
            )
        })?;
        let s = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_str)
                .map(String::from)
                .ok_or_else(|| {
                    anyhow!(
                        "{}:{}: a record without `{k}` (use a `batch --format json` report)",
                        path.display(),
                        i + 1
                    )
                })
        };
        let (check, subject, status) = (s("check")?, s("subject")?, s("status")?);
        if status != "pass" {
            out.insert((check, subject, status));
        }
    }
    Ok(out)
}

impl Config {
    /// Apply severities, suppressions and the findings baseline to a run's records, and add the
    /// findings about the configuration itself (expired suppressions; a baseline stored after
    /// one expired covers it, like any other finding it holds).
    pub fn apply(
        &self,
        records: &mut Vec<Record>,
        baseline: Option<&BTreeSet<(String, String, String)>>,
        today: &str,
    ) {
        for r in records.iter_mut() {
            if let Some(l) = self.severity.get(&r.check) {
                r.severity = *l;
            }
        }
        let mut out = Vec::new();
        let file = self
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| FILE_NAME.to_string());
        for s in &self.suppressions {
            let expired = s.expires.as_deref().is_some_and(|e| e < today);
            let mut hit = 0usize;
            for r in records.iter_mut().filter(|r| finding(r)) {
                if matches(&s.check, &r.check)
                    && matches(&s.subject, &r.subject)
                    && matches(&s.path, &r.file)
                {
                    hit += 1;
                    if !expired && r.severity != Level::Info {
                        r.severity = Level::Info;
                        r.message = format!(
                            "suppressed ({file}:{}: {}{}): {}",
                            s.line,
                            s.reason,
                            s.expires
                                .as_deref()
                                .map(|e| format!(", until {e}"))
                                .unwrap_or_default(),
                            r.message
                        );
                    }
                }
            }
            if expired {
                out.push(Record {
                    file: file.clone(),
                    subject: format!("{file}:{}", s.line),
                    check: "suppression-expired".into(),
                    severity: Level::Error,
                    status: Status::Fail,
                    message: format!(
                        "the suppression `{}` expired on {} ({hit} finding{} it matched now count{}); renew it or fix the findings",
                        s.reason,
                        s.expires.as_deref().unwrap_or(""),
                        if hit == 1 { "" } else { "s" },
                        if hit == 1 { "s" } else { "" },
                    ),
                    witnesses: Vec::new(),
                    location: Some(Location {
                        file: file.clone(),
                        line: s.line,
                        column: 1,
                    }),
                    elapsed: std::time::Duration::ZERO,
                });
            }
        }
        records.append(&mut out);
        if let Some(base) = baseline {
            for r in records.iter_mut().filter(|r| finding(r)) {
                let key = (
                    r.check.clone(),
                    r.subject.clone(),
                    r.status.as_str().to_string(),
                );
                if base.contains(&key) && r.severity != Level::Info {
                    r.severity = Level::Info;
                    r.message = format!("in the baseline findings: {}", r.message);
                }
            }
        }
    }

    /// Whether a record decides the run's exit code: its severity is in `fail-on` (the
    /// command line turns the blocking records into the code).
    pub fn blocks(&self, r: &Record) -> bool {
        self.fail_on.contains(&r.severity)
    }

    /// Fill the template values the command line did not give.
    pub fn template_values(&self, v: &mut crate::iac::IacValueArgs) {
        for (k, val) in &self.parameters {
            if !v.parameters.iter().any(|p| p.split('=').next() == Some(k)) {
                v.parameters.push(format!("{k}={val}"));
            }
        }
        if v.account_id.is_none() {
            v.account_id = self.account_id.clone();
        }
        if v.region.is_none() {
            v.region = self.region.clone();
        }
        if v.partition.is_none() {
            v.partition = self.partition.clone();
        }
        if !self.trusted_accounts.is_empty() || !self.trusted_orgs.is_empty() {
            v.trusted = Some(std::sync::Arc::new((
                self.trusted_accounts.clone(),
                self.trusted_orgs.clone(),
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil(0), "1970-01-01");
        assert_eq!(civil(19_723), "2024-01-01");
        assert_eq!(civil(20_513), "2026-03-01");
    }

    #[test]
    fn bad_configurations_are_errors() {
        for (text, want) in [
            (
                "fail-on = [\"error\"]\nfail-on = [\"warning\"]\n",
                "duplicate",
            ),
            ("[severity]\nno-admin = \"loud\"\n", "not a severity"),
            ("colour = 1\n", "unknown key"),
            ("[[suppress]]\ncheck = \"no-admin\"\n", "reason"),
            ("[[suppress]]\nreason = \"x\"\n", "hide everything"),
            (
                "[[suppress]]\ncheck = \"a\"\nreason = \"x\"\nexpires = \"soon\"\n",
                "date",
            ),
            ("[trusted]\naccounts = [\"1111\"]\n", "12-digit"),
            ("[trusted]\norganizations = [\"org1\"]\n", "organization ID"),
            ("[trusted]\n", "at least one"),
            ("[trusted]\nusers = [\"x\"]\n", "unknown key"),
        ] {
            let e = format!("{:#}", parse(text).unwrap_err());
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn trusted_accounts_and_organizations() {
        let c =
            parse("[trusted]\naccounts = [\"111122223333\"]\norganizations = [\"o-a1b2c3d4e5\"]\n")
                .unwrap();
        assert_eq!(c.trusted_accounts, ["111122223333"]);
        assert_eq!(c.trusted_orgs, ["o-a1b2c3d4e5"]);
    }
}
