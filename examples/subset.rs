//! Does everything A allows get through B too? `cargo run --example subset -- A.json B.json`
use tarski::{Answer, Engine, PolicyKind};

fn subset(a: &str, b: &str) -> Result<Answer, tarski::Error> {
    let engine = Engine::builder().timeout_secs(60.0).build()?;
    let a = engine.policy_file(a.as_ref(), PolicyKind::Identity)?; // a file, manifest or FILE#SELECTOR
    let b = engine.policy_file(b.as_ref(), PolicyKind::Identity)?;
    Ok(engine.subset(&a, &b, None)?.answer)
}

fn main() -> Result<(), tarski::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [a, b] = &args[..] else {
        return Err(tarski::Error::Options("usage: subset A.json B.json".into()));
    };
    match subset(a, b)? {
        Answer::Proved => println!("holds: everything {a} allows, {b} allows too (proved)"),
        Answer::Witnesses(ws) => println!("does not hold: {a} allows {:?}", ws[0].request),
        Answer::Unknown(why) => println!("unknown: {why}"),
    }
    Ok(())
}

#[test]
fn boundary_example() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/corpus/examples/boundary-confidential/"
    );
    let (set, identity) = (format!("{dir}set.json"), format!("{dir}identity.json"));
    assert!(matches!(subset(&set, &identity), Ok(Answer::Proved)));
    assert!(
        matches!(subset(&identity, &set), Ok(Answer::Witnesses(w)) if w[0].request.resource.contains("CompanyConfidential"))
    );
}
