//! Mutation fuzzing of the IaC readers: every template, plan and snapshot of `corpus/iac`, with
//! values replaced by intrinsics, wrong types and unknowns, goes through extraction, the
//! attachment linking, bounds and the policy checker without a panic; and every policy found
//! either has a document or an error.
//!
//! Cases: 3,000 mutants, or `IAC_FUZZ_CASES` when set.
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use serde_json::{json, Value};
use tarski_compiler::iac::bounds::Bound;
use tarski_compiler::iac::{self, cloudformation, snapshot, terraform};

/// A small deterministic generator (xorshift), so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn replacement(rng: &mut Rng) -> Value {
    let pick = [
        json!({"Ref": "AWS::AccountId"}),
        json!({"Ref": "NoSuchThing"}),
        json!({"Ref": "AppRole9C1E2B8A"}),
        json!({"Fn::GetAtt": ["DataBucketE3889A50", "Arn"]}),
        json!({"Fn::GetAtt": "Bad"}),
        json!({"Fn::Sub": "arn:${AWS::Partition}:s3:::${X}/*"}),
        json!({"Fn::Sub": ["${A}-${B}", {"A": {"Ref": "AWS::Region"}}]}),
        json!({"Fn::Join": ["", [{"Ref": "AWS::Partition"}, ":x"]]}),
        json!({"Fn::Join": [",", {"Ref": "AWS::NotificationARNs"}]}),
        json!({"Fn::Select": [5, [1, 2]]}),
        json!({"Fn::If": ["Cond", "a", {"Ref": "AWS::NoValue"}]}),
        json!({"Fn::ImportValue": {"Fn::Sub": "${AWS::StackName}-x"}}),
        json!({"Fn::Base64": "x"}),
        json!({"S3ReadPolicy": {"BucketName": {"Ref": "X"}}}),
        json!({"DynamoDBCrudPolicy": {}}),
        json!(null),
        json!(true),
        json!(12),
        json!("*"),
        json!(""),
        json!([]),
        json!({}),
        json!(["s3:*", {"Ref": "P"}]),
        json!({"Statement": [{"Effect": "Allow", "Action": {"Ref": "P"}, "NotResource": {"Ref": "P"}}]}),
        json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "NotPrincipal": {"AWS": {"Ref": "P"}}, "NotAction": "x", "Resource": "*", "Condition": {"StringLike": {"k": {"Ref": "P"}}}}}),
        json!(true),
    ];
    pick[rng.below(pick.len())].clone()
}

/// Replace one random node of `v` (the nodes of objects and arrays, depth first).
fn mutate(v: &mut Value, rng: &mut Rng) {
    let mut count = 0usize;
    fn walk(v: &mut Value, count: &mut usize) {
        *count += 1;
        match v {
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, count)),
            Value::Object(m) => m.values_mut().for_each(|x| walk(x, count)),
            _ => {}
        }
    }
    walk(v, &mut count);
    let target = rng.below(count);
    fn replace(v: &mut Value, i: &mut usize, target: usize, with: &Value) -> bool {
        if *i == target {
            *v = with.clone();
            return true;
        }
        *i += 1;
        match v {
            Value::Array(a) => a.iter_mut().any(|x| replace(x, i, target, with)),
            Value::Object(m) => m.values_mut().any(|x| replace(x, i, target, with)),
            _ => false,
        }
    }
    let with = replacement(rng);
    replace(v, &mut 0, target, &with);
}

fn exercise(ex: &iac::Extraction) {
    for p in &ex.policies {
        assert!(p.document.is_some() || p.failed(), "{:?}", p.origin);
        let _ = iac::check(p, true);
        for b in [Bound::Over, Bound::Under] {
            if let Some(q) = p.bounded(b) {
                let c = iac::check(&q, false);
                // A bound of a valid policy is a valid policy.
                if iac::check(p, false).policy.is_some() && !q.opaque() {
                    assert!(
                        c.policy.is_some() || q.document.is_none(),
                        "{:?}: {:?}",
                        p.origin,
                        c.diagnostics.diagnostics
                    );
                }
            }
        }
    }
    for tp in &ex.principals {
        for &i in tp.identity.iter().chain(tp.boundary.iter()) {
            assert!(i < ex.policies.len());
        }
    }
}

#[test]
fn mutated_iac_inputs_never_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/iac");
    let mut inputs: Vec<(String, Value, u8)> = Vec::new();
    for (dir, file, kind) in [
        ("cdk", "template.json", 0),
        ("cdk-nested", "App.template.json", 0),
        (
            "cdk-nested",
            "AppDataNestedStack4B6C2A1D.nested.template.json",
            0,
        ),
        ("terraform", "plan.json", 1),
        ("terraform-deferred", "plan.json", 1),
        ("snapshot", "account.json", 2),
        ("ci", "account.json", 2),
    ] {
        let text = std::fs::read_to_string(root.join(dir).join(file)).unwrap();
        inputs.push((
            format!("{dir}/{file}"),
            serde_json::from_str(&text).unwrap(),
            kind,
        ));
    }
    let cases: u64 = std::env::var("IAC_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let opts = cloudformation::Options {
        model_unknowns: true,
        ..Default::default()
    };
    for seed in 1..=cases {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let (name, base, kind) = &inputs[rng.below(inputs.len())];
        let mut v = base.clone();
        for _ in 0..1 + rng.below(4) {
            mutate(&mut v, &mut rng);
        }
        let text = v.to_string();
        let run = std::panic::catch_unwind(|| match kind {
            0 => exercise(&cloudformation::extract(name, &text, &opts)),
            1 => exercise(&terraform::extract(name, &text)),
            _ => {
                let ex = snapshot::extract(name, &text);
                exercise(&ex);
                let snap = snapshot::read(name, &text);
                for p in &snap.principals {
                    let _ = snap.principal(&format!("{}/{}", p.kind, p.name));
                }
            }
        });
        assert!(run.is_ok(), "seed {seed} ({name}) panicked on:\n{text}");
    }
}
