//! `tarski expand PATTERN`: the catalog's actions that an action pattern matches.

use anyhow::Result;
use serde_json::json;
use tarski_compiler::catalog::catalog;

use crate::cli::{ExpandArgs, Format};
use crate::exit;

pub fn run(args: &ExpandArgs) -> Result<u8> {
    if let Some(why) = tarski_compiler::parse::action_syntax_error(&args.pattern) {
        anyhow::bail!("invalid action pattern `{}`: {why}", args.pattern);
    }
    let cat = catalog();
    let actions = cat.expand(&args.pattern);
    match args.format {
        Format::Text => {
            for a in &actions {
                println!("{}\t{}", a.full_name(), a.access_level);
            }
            eprintln!(
                "{} action{} match `{}` (catalog {})",
                actions.len(),
                if actions.len() == 1 { "" } else { "s" },
                args.pattern,
                cat.package_version()
            );
            if actions.is_empty() {
                if let Some(s) = cat.suggest(&args.pattern) {
                    eprintln!("help: did you mean `{s}`?");
                }
            }
        }
        Format::Json => {
            let v: Vec<_> = actions
                .iter()
                .map(|a| json!({"action": a.full_name(), "access_level": a.access_level, "resource_types": a.resource_types.iter().map(|r| &r.name).collect::<Vec<_>>(), "condition_keys": a.condition_keys}))
                .collect();
            println!(
                "{}",
                json!({"pattern": args.pattern, "catalog": cat.package_version(), "actions": v})
            );
        }
    }
    Ok(if actions.is_empty() {
        exit::NO
    } else {
        exit::OK
    })
}
