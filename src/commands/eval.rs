//! `tarski eval`: decide one request against a policy set and explain why.

use anyhow::{anyhow, bail, Result};
use serde_json::json;
use tarski_compiler::request::{Context, Request};

use crate::cli::{EvalArgs, Format};
use crate::exit;
use crate::render::clean;

fn request(args: &EvalArgs) -> Result<Request> {
    let mut req = match &args.request {
        Some(p) => {
            let text = crate::load::read_text(p)?;
            let v = tarski_compiler::json::parse_value(&text)
                .map_err(|e| anyhow!("{}: {e}", p.display()))?;
            Request::from_json(&v).map_err(|e| anyhow!("{}: {e}", p.display()))?
        }
        None => Request::default(),
    };
    if let Some(p) = &args.principal {
        req.principal = p.clone();
    } else if req.principal.is_empty() {
        if let Some(p) = crate::iac::default_principal(&args.principal_of)? {
            req.principal = p;
        }
    }
    if let Some(a) = &args.action {
        req.action = a.clone();
    }
    if let Some(r) = &args.resource {
        req.resource = r.clone();
    }
    if let Some(a) = &args.resource_account {
        req.resource_account = Some(a.clone());
    }
    if let Some(p) = &args.context_json {
        let text = crate::load::read_text(p)?;
        let v = tarski_compiler::json::parse_value(&text)
            .map_err(|e| anyhow!("{}: {e}", p.display()))?;
        let c = Context::from_json(&v).map_err(|e| anyhow!("{}: {e}", p.display()))?;
        for (k, vals) in c.iter() {
            req.context.set(k, vals.to_vec());
        }
    }
    let mut from_flags = Context::default();
    for kv in &args.context {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--context `{kv}`: expected KEY=VALUE");
        };
        if k.is_empty() {
            bail!("--context `{kv}`: empty key");
        }
        from_flags.push(k, v);
    }
    for (k, vals) in from_flags.iter() {
        req.context.set(k, vals.to_vec());
    }
    for (what, v) in [
        ("--principal", &req.principal),
        ("--action", &req.action),
        ("--resource", &req.resource),
    ] {
        if v.is_empty() {
            bail!("the request needs {what} (or --request FILE)");
        }
    }
    if let Some(why) = tarski_compiler::parse::action_syntax_error(&req.action) {
        bail!("invalid action `{}`: {why}", req.action);
    }
    // A typed key's value outside its type (docs/semantics.md, "Request values").
    if let Some(why) = tarski_compiler::atoms::request_domain_error(&req) {
        bail!("not a request AWS can make: {why}");
    }
    Ok(req)
}

pub fn run(args: &EvalArgs) -> Result<u8> {
    let set = crate::iac::policy_set(&args.set.files(), &args.principal_of)?;
    let req = request(args)?;
    // A set with bounded template policies (docs/iac.md, "Bounds"): Allow when the narrowed set
    // allows, a denial when the widened set does not; otherwise it depends on the values.
    let ev = match tarski::Engine::builder().build()?.eval(&set, &req) {
        tarski::EvalReport::Decided(ev) => ev,
        tarski::EvalReport::Unknown(why) => {
            match args.format {
                Format::Text => println!("Unknown: {why}"),
                Format::Json => println!(
                    "{}",
                    json!({"decision": "Unknown", "reason": why.to_string()})
                ),
            }
            return Ok(exit::UNKNOWN);
        }
    };
    // A request AWS never sends (the typed request space, issue 10): decided, with a warning.
    let ill_typed = tarski_compiler::semantics::ill_typed(&req.action, &req.resource);
    if let Some(w) = &ill_typed {
        eprintln!(
            "warning[{}]: {}",
            tarski_compiler::diagnostic::Code::IllTypedRequest,
            clean(w)
        );
    }
    match args.format {
        Format::Text => {
            println!("{}", ev.decision.as_str());
            for m in &ev.matched {
                println!(
                    "  {:<5} {}:{} statement {} ({})",
                    match m.effect {
                        tarski_compiler::policy::Effect::Allow => "allow",
                        tarski_compiler::policy::Effect::Deny => "deny",
                    },
                    clean(&m.file),
                    m.line,
                    clean(&m.statement.to_string()),
                    m.role.describe()
                );
            }
            for b in &ev.blocked_by {
                println!("  blocked: {}", clean(&b.to_string()));
            }
        }
        Format::Json => {
            let matched: Vec<_> = ev
                .matched
                .iter()
                .map(|m| json!({"effect": format!("{:?}", m.effect), "file": m.file, "line": m.line, "statement": m.statement, "policy_type": m.role.describe()}))
                .collect();
            println!(
                "{}",
                json!({"decision": ev.decision.as_str(), "matched": matched, "blocked_by": ev.blocked_by,
                    "warnings": ill_typed.iter().map(|w| json!({"code": tarski_compiler::diagnostic::Code::IllTypedRequest.as_str(), "message": w})).collect::<Vec<_>>()})
            );
        }
    }
    Ok(if ev.decision == tarski::Decision::Allow {
        exit::OK
    } else {
        exit::NO
    })
}
