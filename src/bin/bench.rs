//! `bench`: Tarski on the real corpus (issue 5). See docs/performance.md.
//!
//! ```text
//! cargo run --release --bin bench -- [--jobs 1,2] [--workload w1,w2,w3,w4,baseline]
//!                                    [--repeat N] [--quick] [--only NAME] [--dump FILE]
//! ```
//!
//! `--dump FILE` (W5): one tab-separated line per question, with the passes that ran
//! (`Stats::passes`), for finding where the slow questions spend their time.
//!
//! The parent process re-executes itself once per (workload, jobs, repetition) so that each
//! measurement has its own peak RSS (VmHWM) and a cold Z3; it prints every child's summary
//! line and then one `BENCH` line per (workload, jobs) with the median of each number over the
//! repetitions. Inputs: `.cache/aws-managed-history/` (from
//! `python3 corpus/scripts/refresh-managed.py --history`), `corpus/aws-managed/`, and
//! `../shared/corpus/quacky`.
// A measuring harness, not the product: a failed step ends the measurement.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use tarski_compiler::load::load;
use tarski_compiler::policy::{Effect, PolicyKind};
use tarski_compiler::policy_set::PolicySet;
use tarski_compiler::query::{parse_expr, Expr};
use tarski_solver::{can, escapes, Options, Report, Verdict};

const ALL: [&str; 7] = ["w1", "w2", "w3", "w4", "w5", "baseline", "profile"];
const TIMEOUT: Duration = Duration::from_secs(10);

struct Args {
    jobs: Vec<usize>,
    workloads: Vec<String>,
    repeat: usize,
    quick: bool,
    /// `--only TEXT` (W2, W5): only the pairs whose policy name contains TEXT.
    only: Option<String>,
    /// `--dump FILE` (W4, W5): one tab-separated line per question (policy, versions, direction,
    /// answer, ms, backend, the passes that ran, the reason of an unknown).
    dump: Option<PathBuf>,
    child: bool,
    /// `--solver` (W5): z3, cvc5 or portfolio.
    solver: tarski_solver::SolverChoice,
    root: PathBuf,
    quacky: PathBuf,
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn parse_args() -> Result<Args, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut a = Args {
        jobs: vec![1, cores()],
        workloads: ALL.iter().map(|s| s.to_string()).collect(),
        repeat: 1,
        quick: false,
        only: None,
        dump: None,
        child: false,
        solver: tarski_solver::SolverChoice::Portfolio,
        quacky: root.join("../shared/corpus/quacky"),
        root,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut val = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match x.as_str() {
            "--jobs" => {
                a.jobs = val("--jobs")?
                    .split(',')
                    .map(|s| {
                        s.trim()
                            .parse::<usize>()
                            .map_err(|e| format!("--jobs: {e}"))
                    })
                    .collect::<Result<_, _>>()?;
                a.jobs.dedup();
            }
            "--workload" => {
                a.workloads = val("--workload")?
                    .split(',')
                    .map(|s| s.trim().to_ascii_lowercase())
                    .collect();
                for w in &a.workloads {
                    if !ALL.contains(&w.as_str()) {
                        return Err(format!("unknown workload {w} (known: {})", ALL.join(",")));
                    }
                }
            }
            "--repeat" => {
                a.repeat = val("--repeat")?
                    .parse()
                    .map_err(|e| format!("--repeat: {e}"))?
            }
            "--quacky" => a.quacky = PathBuf::from(val("--quacky")?),
            "--quick" => a.quick = true,
            "--only" => a.only = Some(val("--only")?),
            "--dump" => a.dump = Some(PathBuf::from(val("--dump")?)),
            "--solver" => {
                a.solver = match val("--solver")?.as_str() {
                    "z3" => tarski_solver::SolverChoice::Z3,
                    "cvc5" => tarski_solver::SolverChoice::Cvc5,
                    "portfolio" => tarski_solver::SolverChoice::Portfolio,
                    other => return Err(format!("--solver {other}: z3, cvc5 or portfolio")),
                }
            }
            "--child" => a.child = true,
            "-h" | "--help" => {
                println!("usage: bench [--jobs 1,2] [--workload w1,w2,w3,w4,baseline,profile] [--repeat N] [--quick] [--only POLICY-NAME-PART] [--dump FILE] [--quacky DIR] [--solver z3|cvc5|portfolio]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.jobs.is_empty() || a.jobs.contains(&0) {
        return Err("--jobs needs positive numbers".into());
    }
    Ok(a)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    };
    if args.child {
        let w = args.workloads[0].clone();
        let jobs = args.jobs[0];
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build_global()
            .expect("thread pool");
        let line = run_workload(&args, &w, jobs);
        println!("{line}");
        return;
    }
    println!(
        "# machine: {} cores (available_parallelism), Z3 {}, load average at start: {}",
        cores(),
        tarski_solver::z3_version(),
        loadavg()
    );
    let exe = std::env::current_exe().expect("own path");
    for w in &args.workloads {
        for &jobs in &args.jobs {
            let mut runs: Vec<Vec<(String, String)>> = Vec::new();
            for r in 0..args.repeat {
                let mut cmd = Command::new(&exe);
                cmd.args(["--child", "--workload", w, "--jobs", &jobs.to_string()]);
                cmd.args(["--quacky", &args.quacky.to_string_lossy()]);
                cmd.args([
                    "--solver",
                    match args.solver {
                        tarski_solver::SolverChoice::Z3 => "z3",
                        tarski_solver::SolverChoice::Cvc5 => "cvc5",
                        tarski_solver::SolverChoice::Portfolio => "portfolio",
                    },
                ]);
                if args.quick {
                    cmd.arg("--quick");
                }
                if let Some(o) = &args.only {
                    cmd.args(["--only", o]);
                }
                if let Some(d) = &args.dump {
                    cmd.arg("--dump").arg(d);
                }
                let out = cmd.output().expect("run child");
                let text = String::from_utf8_lossy(&out.stdout);
                for l in text.lines() {
                    // Details once; every run's summary line.
                    if r == 0 || l.starts_with("BENCH") {
                        println!(
                            "{}{l}",
                            if l.starts_with("BENCH") {
                                "# run: "
                            } else {
                                ""
                            }
                        );
                    }
                }
                if !out.status.success() {
                    eprintln!(
                        "bench: child {w} jobs={jobs} failed: {}\n{}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr)
                    );
                    continue;
                }
                if let Some(l) = text.lines().find(|l| l.starts_with("BENCH")) {
                    runs.push(fields(l));
                }
            }
            if !runs.is_empty() {
                println!("{}", median_line(w, &runs));
            }
        }
    }
    println!("# load average at end: {}", loadavg());
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn fields(line: &str) -> Vec<(String, String)> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// One line with the median of every numeric field over the runs, keys in the first run's
/// order.
fn median_line(w: &str, runs: &[Vec<(String, String)>]) -> String {
    let mut out = format!("BENCH {w} runs={}", runs.len());
    for (k, v0) in &runs[0] {
        let vals: Vec<f64> = runs
            .iter()
            .filter_map(|r| {
                r.iter()
                    .find(|(k2, _)| k2 == k)
                    .and_then(|(_, v)| v.parse::<f64>().ok())
            })
            .collect();
        if vals.len() == runs.len() && k != "jobs" {
            let m = median(vals);
            if let Some((_, frac)) = v0.split_once('.') {
                let _ = write!(out, " {k}={m:.*}", frac.len());
            } else {
                let _ = write!(out, " {k}={}", m.round() as i64);
            }
        } else {
            let _ = write!(out, " {k}={v0}");
        }
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return 0.0;
    }
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The common part of every summary line.
fn summary(w: &str, jobs: usize, total: Duration, lat_ms: &mut [f64], unknown: usize) -> String {
    lat_ms.sort_by(|a, b| a.total_cmp(b));
    format!(
        "BENCH {w} jobs={jobs} queries={} total_s={:.3} p50_ms={:.3} p90_ms={:.3} p99_ms={:.3} max_ms={:.3} unknown={unknown}",
        lat_ms.len(),
        total.as_secs_f64(),
        pct(lat_ms, 50.0),
        pct(lat_ms, 90.0),
        pct(lat_ms, 99.0),
        lat_ms.last().copied().unwrap_or(0.0),
    )
}

fn run_workload(a: &Args, w: &str, jobs: usize) -> String {
    let body = match w {
        "w1" => w1(a, jobs),
        "w2" => w2(a, jobs),
        "w3" => w3(a, jobs),
        "w4" => w4(a, jobs),
        "w5" => w5(a, jobs),
        "baseline" => baseline(a, jobs),
        "profile" => profile(a, jobs),
        _ => unreachable!(),
    };
    format!(
        "{body} rss_mb={:.1} loadavg={}",
        rss_mb(),
        loadavg().replace(' ', "/")
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------- inputs

struct Doc {
    name: String,
    text: String,
}

/// Every cached version, grouped by policy, oldest first (INDEX.tsv order).
fn history(root: &Path) -> Vec<(String, Vec<Doc>)> {
    let dir = root.join(".cache/aws-managed-history");
    let index = std::fs::read_to_string(dir.join("INDEX.tsv")).unwrap_or_else(|e| {
        eprintln!(
            "bench: {}: {e}; run `python3 corpus/scripts/refresh-managed.py --history`",
            dir.display()
        );
        std::process::exit(2)
    });
    index
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (name, vs) = l.split_once('\t')?;
            let docs = vs
                .split_whitespace()
                .map(|v| {
                    let p = dir.join(name).join(format!("{v}.json"));
                    Doc {
                        name: format!("{name}/{v}"),
                        text: std::fs::read_to_string(&p)
                            .unwrap_or_else(|e| panic!("{}: {e}", p.display())),
                    }
                })
                .collect();
            Some((name.to_string(), docs))
        })
        .collect()
}

fn latest(root: &Path) -> Vec<Doc> {
    let dir = root.join("corpus/aws-managed");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus/aws-managed")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| Doc {
            name: p.file_stem().unwrap_or_default().to_string_lossy().into(),
            text: std::fs::read_to_string(&p).expect("read policy"),
        })
        .collect()
}

fn identity_set(d: &Doc) -> Result<PolicySet, String> {
    let l = load(&d.name, &d.text, Some(PolicyKind::Identity), false);
    if l.has_errors() || l.policies.is_empty() {
        return Err(l.first_error().unwrap_or_else(|| "no policy".into()));
    }
    Ok(PolicySet {
        identity: l.policies,
        ..PolicySet::default()
    })
}

fn opts() -> Options {
    Options {
        timeout: TIMEOUT,
        witnesses: 1,
        known_actions: false,
        syntactic: true,
        ..Options::default()
    }
}

/// One timed solver call.
struct Q {
    ms: f64,
    /// CPU time of the calling thread (Z3 runs in it; a cvc5 process is not counted): less
    /// sensitive to other processes on the machine than `ms` (W4's `cpu_s`, `--dump`).
    cpu_ms: f64,
    verdict: Result<Report, String>,
}

/// The calling thread's CPU time in milliseconds (`/proc/thread-self/schedstat`, nanoseconds
/// on a CPU; 0 where there is none).
fn thread_cpu_ms() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e6)
}

impl Q {
    fn run(f: impl FnOnce() -> Result<Report, Box<tarski_solver::ReplayMismatch>>) -> Q {
        let t = Instant::now();
        let c = thread_cpu_ms();
        let r = f();
        Q {
            ms: ms(t.elapsed()),
            cpu_ms: thread_cpu_ms() - c,
            verdict: r.map_err(|m| m.to_string()),
        }
    }
    /// Some(true) = witness, Some(false) = proved none, None = unknown or error.
    fn sat(&self) -> Option<bool> {
        match &self.verdict {
            Ok(r) => match r.verdict {
                Verdict::Witnesses(_) => Some(true),
                Verdict::Proved => Some(false),
                Verdict::Unknown(_) => None,
            },
            Err(_) => None,
        }
    }
    fn unknown(&self) -> bool {
        matches!(&self.verdict, Ok(r) if matches!(r.verdict, Verdict::Unknown(_)))
    }
    fn error(&self) -> bool {
        self.verdict.is_err()
    }
    fn used_z3(&self) -> bool {
        matches!(&self.verdict, Ok(r) if r.stats.used_z3)
    }
    /// Which backend's answer was used (`no-solver`: fast paths and the enumeration).
    fn who(&self) -> &'static str {
        match &self.verdict {
            Ok(r) if r.stats.used_z3 => r.stats.backend.unwrap_or("z3"),
            Ok(_) => "no-solver",
            Err(_) => "error",
        }
    }
}

/// `answered_by=no-solver:N,z3:N,cvc5:N`.
fn wins_text<'a>(qs: impl Iterator<Item = &'a Q>) -> String {
    let mut wins: BTreeMap<&str, usize> = BTreeMap::new();
    for q in qs {
        *wins.entry(q.who()).or_default() += 1;
    }
    let w: Vec<String> = wins.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!("answered_by={}", w.join(","))
}

// ---------------------------------------------------------------- W1

/// W1: parse and validate every version (the target), then, separately timed, the linter's
/// warnings (`tarski check` does both).
fn w1(a: &Args, jobs: usize) -> String {
    let t_read = Instant::now();
    let docs: Vec<Doc> = history(&a.root).into_iter().flat_map(|(_, v)| v).collect();
    let read = t_read.elapsed();
    let errors = AtomicUsize::new(0);
    let t = Instant::now();
    let parsed: Vec<(f64, Vec<tarski_compiler::policy_set::LoadedPolicy>)> = docs
        .par_iter()
        .map(|d| {
            let t = Instant::now();
            let l = load(&d.name, &d.text, Some(PolicyKind::Identity), false);
            let el = ms(t.elapsed());
            if l.has_errors() {
                errors.fetch_add(1, Ordering::Relaxed);
            }
            (el, l.policies)
        })
        .collect();
    let total = t.elapsed();
    let mut lat: Vec<f64> = parsed.iter().map(|p| p.0).collect();
    let t = Instant::now();
    let mut lint_lat: Vec<(f64, usize)> = parsed
        .par_iter()
        .map(|(_, ps)| {
            let t = Instant::now();
            let n: usize = ps
                .iter()
                .map(|p| tarski_compiler::lint::lint(&p.policy).len())
                .sum();
            (ms(t.elapsed()), n)
        })
        .collect();
    let lint_total = t.elapsed();
    let warnings: usize = lint_lat.iter().map(|x| x.1).sum();
    let mut slow: Vec<(f64, &str)> = lint_lat
        .iter()
        .zip(&docs)
        .map(|(l, d)| (l.0, d.name.as_str()))
        .collect();
    slow.sort_by(|x, y| y.0.total_cmp(&x.0));
    for (t, n) in slow.iter().take(5) {
        println!("W1-LINT-SLOW {t:.1} ms {n}");
    }
    lint_lat.sort_by(|x, y| x.0.total_cmp(&y.0));
    let ll: Vec<f64> = lint_lat.iter().map(|x| x.0).collect();
    let bytes: usize = docs.iter().map(|d| d.text.len()).sum();
    format!(
        "{} docs_with_errors={} mib={:.1} read_s={:.3} lint_total_s={:.3} lint_p50_ms={:.3} lint_p99_ms={:.3} lint_max_ms={:.3} warnings={warnings}",
        summary("w1", jobs, total, &mut lat, 0),
        errors.into_inner(),
        bytes as f64 / (1024.0 * 1024.0),
        read.as_secs_f64(),
        lint_total.as_secs_f64(),
        pct(&ll, 50.0),
        pct(&ll, 99.0),
        ll.last().copied().unwrap_or(0.0),
    )
}

// ---------------------------------------------------------------- W2

/// Consecutive version pairs, parsed. Returns (pair names, old set, new set) and the parse time.
type Pair = (String, PolicySet, PolicySet);

fn w2_pairs(a: &Args) -> (Vec<Pair>, Duration, usize) {
    let hist = history(&a.root);
    let t = Instant::now();
    let mut failures = 0;
    let parsed: Vec<Vec<(String, Option<PolicySet>)>> = hist
        .par_iter()
        .map(|(_, docs)| {
            docs.iter()
                .map(|d| (d.name.clone(), identity_set(d).ok()))
                .collect()
        })
        .collect();
    let mut pairs = Vec::new();
    for versions in parsed {
        for w in versions.windows(2) {
            if a.only
                .as_ref()
                .is_some_and(|o| !w[0].0.contains(o.as_str()))
            {
                continue;
            }
            match (&w[0].1, &w[1].1) {
                (Some(x), Some(y)) => {
                    pairs.push((format!("{} -> {}", w[0].0, w[1].0), x.clone(), y.clone()))
                }
                _ => failures += 1,
            }
        }
    }
    (pairs, t.elapsed(), failures)
}

fn w2(a: &Args, jobs: usize) -> String {
    let t = Instant::now();
    let (mut pairs, parse, parse_failures) = w2_pairs(a);
    if a.quick {
        pairs = pairs.into_iter().step_by(10).collect();
    }
    let results: Vec<(Q, Q)> = pairs
        .par_iter()
        .map(|(_, old, new)| {
            let more = Q::run(|| escapes(new, old, None, &opts()));
            let less = Q::run(|| escapes(old, new, None, &opts()));
            (more, less)
        })
        .collect();
    let total = t.elapsed();
    let mut class: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut unknown, mut errors, mut z3) = (0, 0, 0);
    let mut lat = Vec::new();
    let mut slow: Vec<(f64, &str)> = Vec::new();
    for ((name, _, _), (more, less)) in pairs.iter().zip(&results) {
        let c = match (more.sat(), less.sat()) {
            (Some(false), Some(false)) => "equivalent",
            (Some(true), Some(false)) => "more",
            (Some(false), Some(true)) => "less",
            (Some(true), Some(true)) => "incomparable",
            _ => "unknown",
        };
        *class.entry(c).or_default() += 1;
        for q in [more, less] {
            lat.push(q.ms);
            unknown += q.unknown() as usize;
            errors += q.error() as usize;
            z3 += q.used_z3() as usize;
            if let Err(e) = &q.verdict {
                println!("W2-ERROR {name}: {e}");
            }
            if let Ok(Report {
                verdict: Verdict::Unknown(why),
                ..
            }) = &q.verdict
            {
                println!("W2-UNKNOWN {name}: {why}");
            }
            slow.push((q.ms, name));
        }
    }
    slow.sort_by(|x, y| y.0.total_cmp(&x.0));
    for (t, n) in slow.iter().take(5) {
        println!("W2-SLOW {t:.1} ms {n}");
    }
    format!(
        "{} errors={errors} used_z3={z3} {} pairs={} equivalent={} more={} less={} incomparable={} parse_failures={parse_failures} parse_s={:.3}",
        summary("w2", jobs, total, &mut lat, unknown),
        wins_text(results.iter().flat_map(|(a, b)| [a, b])),
        pairs.len(),
        class.get("equivalent").unwrap_or(&0),
        class.get("more").unwrap_or(&0),
        class.get("less").unwrap_or(&0),
        class.get("incomparable").unwrap_or(&0),
        parse.as_secs_f64(),
    )
}

// ---------------------------------------------------------------- W5

/// W5 (issue 12): every consecutive version pair, both directions, 10 s per query, with the
/// solver choice of `--solver`; counts which backend answered each solver query, and gives
/// the numbers for the pairs whose documents use policy variables (the string-theory queries
/// the portfolio races) on their own.
fn w5(a: &Args, jobs: usize) -> String {
    let t = Instant::now();
    let (mut pairs, _, parse_failures) = w2_pairs(a);
    if a.quick {
        pairs = pairs.into_iter().step_by(10).collect();
    }
    let o = Options {
        solver: a.solver,
        ..opts()
    };
    let results: Vec<(Q, Q)> = pairs
        .par_iter()
        .map(|(_, old, new)| {
            (
                Q::run(|| escapes(new, old, None, &o)),
                Q::run(|| escapes(old, new, None, &o)),
            )
        })
        .collect();
    let total = t.elapsed();
    let uses_vars = |s: &PolicySet| {
        s.all().into_iter().any(|(_, p)| {
            p.policy.statements.iter().any(|st| {
                st.resource
                    .as_ref()
                    .is_some_and(|r| r.patterns.iter().any(|t| t.value.vars().next().is_some()))
                    || st.conditions.iter().any(|c| {
                        c.values.iter().any(|v| {
                            matches!(&v.value, tarski_compiler::policy::CondValue::Text(t) if t.vars().next().is_some())
                        })
                    })
            })
        })
    };
    let (mut unknown, mut errors) = (0, 0);
    let mut wins: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut lat, mut pv_lat, mut pv_unknown) = (Vec::new(), Vec::new(), 0);
    let mut slow: Vec<(f64, String)> = Vec::new();
    let mut dump =
        String::from("# policy\tfrom\tto\tdirection\tanswer\tms\tbackend\tpasses\treason\n");
    for ((name, old, new), (more, less)) in pairs.iter().zip(&results) {
        let pv = uses_vars(old) || uses_vars(new);
        for (q, dir) in [(more, "new-in-old"), (less, "old-in-new")] {
            // `Policy/v3 -> Policy/v4`
            let (from, to) = name.split_once(" -> ").unwrap_or((name, ""));
            let (policy, v_from) = from.rsplit_once('/').unwrap_or((from, ""));
            let v_to = to.rsplit_once('/').map_or(to, |x| x.1);
            let (answer, passes, reason) = match &q.verdict {
                Ok(r) => (
                    match &r.verdict {
                        Verdict::Proved => "proved",
                        Verdict::Witnesses(_) => "witness",
                        Verdict::Unknown(_) => "unknown",
                    },
                    r.stats.passes.join("; "),
                    match &r.verdict {
                        Verdict::Unknown(why) => why.replace(['\t', '\n'], " "),
                        _ => String::new(),
                    },
                ),
                Err(e) => ("error", String::new(), e.replace(['\t', '\n'], " ")),
            };
            let _ = writeln!(
                dump,
                "{policy}\t{v_from}\t{v_to}\t{dir}\t{answer}\t{:.1}\t{}\t{passes}\t{reason}",
                q.ms,
                q.who(),
            );
        }
        // `more`: does the new version escape the old one; `less`: the old the new one.
        for (q, dir) in [(more, "new-in-old"), (less, "old-in-new")] {
            let name = format!("{name} {dir}");
            lat.push(q.ms);
            unknown += q.unknown() as usize;
            errors += q.error() as usize;
            if pv {
                pv_lat.push(q.ms);
                pv_unknown += q.unknown() as usize;
            }
            let who = match &q.verdict {
                Ok(r) if r.stats.used_z3 => r.stats.backend.unwrap_or("z3"),
                Ok(_) => "no-solver",
                Err(_) => "error",
            };
            *wins.entry(who).or_default() += 1;
            if let Err(e) = &q.verdict {
                println!("W5-ERROR {name}: {e}");
            }
            if let Ok(Report {
                verdict: Verdict::Unknown(why),
                ..
            }) = &q.verdict
            {
                println!("W5-UNKNOWN {name}: {why}");
            }
            slow.push((q.ms, name));
        }
    }
    slow.sort_by(|x, y| y.0.total_cmp(&x.0));
    for (t, n) in slow.iter().take(10) {
        println!("W5-SLOW {t:.1} ms {n}");
    }
    if let Some(d) = &a.dump {
        std::fs::write(d, dump).unwrap_or_else(|e| panic!("--dump {}: {e}", d.display()));
    }
    pv_lat.sort_by(|x, y| x.total_cmp(y));
    let win_text: Vec<String> = wins.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!(
        "{} solver={:?} errors={errors} pairs={} parse_failures={parse_failures} answered_by={} pv_queries={} pv_unknown={pv_unknown} pv_p50_ms={:.3} pv_p99_ms={:.3} pv_max_ms={:.3}",
        summary("w5", jobs, total, &mut lat, unknown),
        a.solver,
        pairs.len(),
        win_text.join(","),
        pv_lat.len(),
        pct(&pv_lat, 50.0),
        pct(&pv_lat, 99.0),
        pv_lat.last().copied().unwrap_or(0.0),
    )
}

// ---------------------------------------------------------------- W3

/// The three sweep questions. "iam:PassRole on *" is PassRole on any resource (the pattern `*`
/// matches every resource, so no resource constraint); "anything outside us-east-1" needs the
/// region key present (StringNotEquals alone also holds when the key is absent, which would
/// count every request that carries no region, e.g. global services).
const W3_QUESTIONS: [(&str, &str); 3] = [
    (
        "s3_confidential_no_mfa",
        r#"action like "s3:GetObject" and resource like "arn:aws:s3:::CompanyConfidential/*" and not aws:MultiFactorAuthPresent"#,
    ),
    ("passrole_any", r#"action like "iam:PassRole""#),
    (
        "outside_us_east_1",
        r#"aws:RequestedRegion present and aws:RequestedRegion != "us-east-1""#,
    ),
];

fn w3(a: &Args, jobs: usize) -> String {
    let docs = latest(&a.root);
    let qs: Vec<Expr> = W3_QUESTIONS
        .iter()
        .map(|(_, q)| parse_expr(q).unwrap_or_else(|e| panic!("{q}: {e}")))
        .collect();
    let t = Instant::now();
    let docs: Vec<&Doc> = if a.quick {
        docs.iter().step_by(10).collect()
    } else {
        docs.iter().collect()
    };
    let results: Vec<Option<Vec<Q>>> = docs
        .par_iter()
        .map(|d| {
            let set = identity_set(d).ok()?;
            Some(
                qs.iter()
                    .map(|q| Q::run(|| can(&set, Some(q), &opts())))
                    .collect(),
            )
        })
        .collect();
    let total = t.elapsed();
    let mut lat = Vec::new();
    let (mut unknown, mut errors, mut z3, mut failures) = (0, 0, 0, 0);
    let mut reach = [0usize; 3];
    for (d, r) in docs.iter().zip(&results) {
        let Some(r) = r else {
            failures += 1;
            continue;
        };
        for (i, q) in r.iter().enumerate() {
            lat.push(q.ms);
            unknown += q.unknown() as usize;
            errors += q.error() as usize;
            z3 += q.used_z3() as usize;
            if q.sat() == Some(true) {
                reach[i] += 1;
            }
            if let Err(e) = &q.verdict {
                println!("W3-ERROR {} {}: {e}", d.name, W3_QUESTIONS[i].0);
            }
            if q.ms > 1000.0 {
                println!("W3-SLOW {:.1} ms {} {}", q.ms, d.name, W3_QUESTIONS[i].0);
            }
            if let Ok(Report {
                verdict: Verdict::Unknown(why),
                ..
            }) = &q.verdict
            {
                println!("W3-UNKNOWN {} {}: {why}", d.name, W3_QUESTIONS[i].0);
            }
        }
    }
    format!(
        "{} errors={errors} used_z3={z3} {} policies={} parse_failures={failures} reach_{}={} reach_{}={} reach_{}={}",
        summary("w3", jobs, total, &mut lat, unknown),
        wins_text(results.iter().flatten().flatten()),
        docs.len(),
        W3_QUESTIONS[0].0,
        reach[0],
        W3_QUESTIONS[1].0,
        reach[1],
        W3_QUESTIONS[2].0,
        reach[2],
    )
}

// ---------------------------------------------------------------- W4

struct QPair {
    p1: String,
    p2: String,
    /// Quacky's answers: P1 ⇏ P2 SAT, P2 ⇏ P1 SAT.
    q12: Option<bool>,
    q21: Option<bool>,
    t12: Option<f64>,
    t21: Option<f64>,
}

fn quacky_pairs(dir: &Path, sub: &str) -> Vec<QPair> {
    let mut out = Vec::new();
    for svc in ["ec2", "iam", "s3"] {
        let p = dir.join(sub).join(format!("{svc}.csv"));
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        for l in text.lines().skip(1) {
            let c: Vec<&str> = l.split(',').collect();
            if c.len() < 11 {
                continue;
            }
            let sat = |s: &str| match s {
                "SAT" => Some(true),
                "UNSAT" => Some(false),
                _ => None,
            };
            out.push(QPair {
                p1: c[0].to_string(),
                p2: c[1].to_string(),
                q12: sat(c[2]),
                t12: c[3].parse().ok(),
                q21: sat(c[9]),
                t21: c[10].parse().ok(),
            });
        }
    }
    out
}

fn quacky_set(dir: &Path, p: &str) -> Result<PolicySet, String> {
    let rel = p.trim_start_matches("/samples/").replace(
        "ec2_actions_region_awsportal",
        "ec2_actions_region_aws-portal",
    );
    let path = dir.join("samples").join(rel);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let l = load(p, &text, None, false);
    if l.has_errors() || l.policies.is_empty() {
        return Err(l.first_error().unwrap_or_else(|| "no policy".into()));
    }
    let mut set = PolicySet::default();
    for pol in l.policies {
        match pol.policy.kind {
            PolicyKind::Resource | PolicyKind::Trust => set.resource = Some(pol),
            _ => set.identity.push(pol),
        }
    }
    Ok(set)
}

fn w4(a: &Args, jobs: usize) -> String {
    let results_dir = a.quacky.join("results");
    let pairs = quacky_pairs(&results_dir, "icse22/raw_csv/encoding_mutations");
    let older: BTreeMap<(String, String), (Option<bool>, Option<bool>)> =
        quacky_pairs(&results_dir, "post-cav21/raw_csv/mutations")
            .into_iter()
            .map(|q| ((q.p1, q.p2), (q.q12, q.q21)))
            .collect();
    let t = Instant::now();
    type Res = Result<(Q, Q), String>;
    let results: Vec<Res> = pairs
        .par_iter()
        .map(|q| {
            let s1 = quacky_set(&a.quacky, &q.p1).map_err(|e| format!("{}: {e}", q.p1))?;
            let s2 = quacky_set(&a.quacky, &q.p2).map_err(|e| format!("{}: {e}", q.p2))?;
            if s1.resource.is_some() != s2.resource.is_some() {
                return Err(format!("{} vs {}: policy kinds differ", q.p1, q.p2));
            }
            let d12 = Q::run(|| escapes(&s1, &s2, None, &opts()));
            let d21 = Q::run(|| escapes(&s2, &s1, None, &opts()));
            Ok((d12, d21))
        })
        .collect();
    let total = t.elapsed();
    let mut lat = Vec::new();
    let (mut unknown, mut errors, mut failures) = (0, 0, 0);
    let (mut agree, mut disagree, mut compared) = (0, 0, 0);
    let (mut agree_old, mut compared_old) = (0, 0);
    let mut ratios = Vec::new();
    let mut dir_ratios = Vec::new();
    let mut failed_files: std::collections::BTreeSet<String> = Default::default();
    let mut cpu_ms = 0.0;
    // `--dump FILE`: the W5 format (issue 12), with the pair's two files and the direction.
    let mut dump =
        String::from("# p1\tp2\tdirection\tanswer\tms\tbackend\tpasses\treason\tsize\tcpu_ms\n");
    for (q, r) in pairs.iter().zip(&results) {
        let (d12, d21) = match r {
            Ok(x) => x,
            Err(e) => {
                failures += 1;
                let f = e.split(": ").next().unwrap_or(e).to_string();
                if failed_files.insert(f) {
                    println!("W4-PARSE-FAILURE {e}");
                }
                continue;
            }
        };
        for (d, qa, qt, label) in [(d12, q.q12, q.t12, "P1=>P2"), (d21, q.q21, q.t21, "P2=>P1")] {
            let (answer, passes, reason) = dump_fields(d);
            let _ = writeln!(
                dump,
                "{}\t{}\t{label}\t{answer}\t{:.2}\t{}\t{passes}\t{reason}\t{}\t{:.2}",
                q.p1,
                q.p2,
                d.ms,
                d.who(),
                match &d.verdict {
                    // The last pass's problem: atoms, cells, goal size.
                    Ok(r) => format!(
                        "atoms={} cells={} goal={}",
                        r.stats.atoms, r.stats.cells, r.stats.goal_size
                    ),
                    Err(_) => String::new(),
                },
                d.cpu_ms,
            );
            cpu_ms += d.cpu_ms;
            lat.push(d.ms);
            unknown += d.unknown() as usize;
            errors += d.error() as usize;
            if let Err(e) = &d.verdict {
                println!("W4-ERROR {} {} {label}: {e}", q.p1, q.p2);
            }
            if let Some(qt) = qt {
                if qt > 0.0 {
                    dir_ratios.push(d.ms / qt);
                }
            }
            if let (Some(x), Some(y)) = (d.sat(), qa) {
                compared += 1;
                if x == y {
                    agree += 1;
                } else {
                    disagree += 1;
                    let w = match &d.verdict {
                        Ok(Report {
                            verdict: Verdict::Witnesses(ws),
                            ..
                        }) => format!("{:?}", ws[0].request),
                        _ => "proved none".into(),
                    };
                    println!(
                        "W4-DIFF {} {} {label}: quacky={} tarski={} witness={w}",
                        q.p1,
                        q.p2,
                        if y { "SAT" } else { "UNSAT" },
                        if x { "SAT" } else { "UNSAT" },
                    );
                }
            }
        }
        if let Some((o12, o21)) = older.get(&(q.p1.clone(), q.p2.clone())) {
            for (d, o) in [(d12, o12), (d21, o21)] {
                if let (Some(x), Some(y)) = (d.sat(), o) {
                    compared_old += 1;
                    agree_old += (x == *y) as usize;
                }
            }
        }
        if let (Some(t12), Some(t21)) = (q.t12, q.t21) {
            if t12 + t21 > 0.0 {
                ratios.push((d12.ms + d21.ms) / (t12 + t21));
            }
        }
    }
    if let Some(f) = &a.dump {
        std::fs::write(f, dump).unwrap_or_else(|e| panic!("--dump {}: {e}", f.display()));
    }
    let m = median(ratios.clone());
    let md = median(dir_ratios);
    let quacky_total_s: f64 = pairs
        .iter()
        .map(|q| q.t12.unwrap_or(0.0) + q.t21.unwrap_or(0.0))
        .sum::<f64>()
        / 1000.0;
    format!(
        "{} cpu_s={:.3} errors={errors} pairs={} parse_failures={failures} failed_files={} compared={compared} agree={agree} disagree={disagree} agree_post_cav21={agree_old}/{compared_old} median_ratio_pair={m:.6} speedup_median={:.0} median_ratio_direction={md:.6} quacky_total_s={quacky_total_s:.1}",
        summary("w4", jobs, total, &mut lat, unknown),
        cpu_ms / 1000.0,
        pairs.len(),
        failed_files.len(),
        if m > 0.0 { 1.0 / m } else { 0.0 },
    )
}

/// `--dump` columns of one question: answer, the passes that ran, the reason of an unknown
/// or the error.
fn dump_fields(q: &Q) -> (&'static str, String, String) {
    match &q.verdict {
        Ok(r) => (
            match &r.verdict {
                Verdict::Proved => "proved",
                Verdict::Witnesses(_) => "witness",
                Verdict::Unknown(_) => "unknown",
            },
            r.stats.passes.join("; "),
            match &r.verdict {
                Verdict::Unknown(why) => why.replace(['\t', '\n'], " "),
                _ => String::new(),
            },
        ),
        Err(e) => ("error", String::new(), e.replace(['\t', '\n'], " ")),
    }
}

// ---------------------------------------------------------------- baseline

/// Deterministic sample: xorshift64 with a fixed seed, without replacement.
fn sample(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut s = seed;
    let mut idx: Vec<usize> = (0..n).collect();
    let k = k.min(n);
    for i in 0..k {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let j = i + (s % (n - i) as u64) as usize;
        idx.swap(i, j);
    }
    idx.truncate(k);
    idx.sort_unstable();
    idx
}

/// The Allow statements' `Action` patterns, lower-cased (NotAction and Deny ignored).
fn allow_actions(s: &PolicySet) -> Vec<String> {
    s.identity
        .iter()
        .flat_map(|p| &p.policy.statements)
        .filter(|st| st.effect == Effect::Allow && !st.action.negated)
        .flat_map(|st| &st.action.patterns)
        .map(|p| p.value.raw.to_lowercase())
        .collect()
}

/// The straightforward encoding (`tarski_solver::baseline`). Some(sat) or None (timeout).
fn baseline_query(a: &[String], b: &[String]) -> (Option<bool>, f64) {
    let t = Instant::now();
    let r = tarski_solver::baseline::action_escapes(a, b, TIMEOUT);
    (r, ms(t.elapsed()))
}

fn baseline(a: &Args, jobs: usize) -> String {
    let (pairs, _, _) = w2_pairs(a);
    let k = if a.quick { 20 } else { 100 };
    let chosen = sample(pairs.len(), k, 0x5EED7A85C1u64);
    let t = Instant::now();
    // Per pair: (baseline more, baseline less, tarski more, tarski less).
    type Row = ((Option<bool>, f64), (Option<bool>, f64), Q, Q);
    let rows: Vec<Row> = chosen
        .par_iter()
        .map(|&i| {
            let (_, old, new) = &pairs[i];
            let (ao, an) = (allow_actions(old), allow_actions(new));
            let bm = baseline_query(&an, &ao);
            let bl = baseline_query(&ao, &an);
            let tm = Q::run(|| escapes(new, old, None, &opts()));
            let tl = Q::run(|| escapes(old, new, None, &opts()));
            (bm, bl, tm, tl)
        })
        .collect();
    let total = t.elapsed();
    let mut lat = Vec::new();
    let mut tlat = Vec::new();
    let mut timeouts = 0;
    let mut per_query_speedup = Vec::new();
    let (mut bsum, mut tsum) = (0.0, 0.0);
    for (&i, (bm, bl, tm, tl)) in chosen.iter().zip(&rows) {
        for (b, tq) in [(bm, tm), (bl, tl)] {
            lat.push(b.1);
            tlat.push(tq.ms);
            bsum += b.1;
            tsum += tq.ms;
            if b.0.is_none() {
                timeouts += 1;
            }
            per_query_speedup.push(b.1 / tq.ms.max(1e-3));
        }
        println!(
            "BASELINE-PAIR {} patterns={}+{} baseline_ms={:.1}/{:.1}{} tarski_ms={:.2}/{:.2}",
            pairs[i].0,
            allow_actions(&pairs[i].1).len(),
            allow_actions(&pairs[i].2).len(),
            bm.1,
            bl.1,
            if bm.0.is_none() || bl.0.is_none() {
                " (timeout)"
            } else {
                ""
            },
            tm.ms,
            tl.ms
        );
    }
    tlat.sort_by(|x, y| x.total_cmp(y));
    format!(
        "{} timeouts={timeouts} baseline_sum_s={:.2} tarski_sum_s={:.4} speedup_sum={:.0} speedup_median={:.0} tarski_p50_ms={:.3} tarski_max_ms={:.3}",
        summary("baseline", jobs, total, &mut lat, timeouts),
        bsum / 1000.0,
        tsum / 1000.0,
        bsum / tsum.max(1e-9),
        median(per_query_speedup),
        pct(&tlat, 50.0),
        tlat.last().copied().unwrap_or(0.0),
    )
}

// ---------------------------------------------------------------- profile

/// Per query: lowering ms, problem ms, full call ms, used Z3, unknown.
type ProfRow = (f64, f64, f64, bool, bool);

/// Where the time of an `escapes` query goes, by re-running its public stages: lowering
/// (`SymbolicView::lower_set`), problem building (`Problem::new`: cells, domains,
/// simplification), and the rest of the call (fast paths or Z3, decoding, minimisation and
/// replay) as the difference to a full `escapes` call. On every 10th W2 pair (every 40th with
/// `--quick`), both directions.
fn profile(a: &Args, jobs: usize) -> String {
    use tarski_compiler::logic::ir::Builder;
    use tarski_compiler::logic::lower::{conditions, Slots, SymbolicView};
    use tarski_compiler::logic::problem::{DomainOptions, Problem};
    use tarski_compiler::semantics::Logic;
    let (pairs, _, _) = w2_pairs(a);
    let step = if a.quick { 40 } else { 10 };
    let chosen: Vec<&Pair> = pairs.iter().step_by(step).collect();
    let t = Instant::now();
    // (lower, problem, total, used_z3, unknown) per query
    let rows: Vec<ProfRow> = chosen
        .par_iter()
        .flat_map(|(_, old, new)| {
            [(new, old), (old, new)]
                .into_iter()
                .map(|(x, y)| {
                    let t0 = Instant::now();
                    let builder = Builder::default();
                    let slots = Slots::for_conditions(conditions(x).chain(conditions(y)));
                    let view = SymbolicView {
                        builder: &builder,
                        slots: &slots,
                    };
                    let in_x = view.lower_set(x).allowed;
                    let in_y = view.lower_set(y).allowed;
                    let goal = builder.and(vec![in_x, builder.not(in_y)]);
                    let lower = ms(t0.elapsed());
                    let t1 = Instant::now();
                    let dopts = DomainOptions {
                        known_actions: false,
                        max_states: 200_000,
                        iam_callers: true,
                        typed: false,
                    };
                    let p = Problem::new(builder, goal, slots, &[], &dopts);
                    let problem = ms(t1.elapsed());
                    drop(p);
                    let q = Q::run(|| escapes(x, y, None, &opts()));
                    (lower, problem, q.ms, q.used_z3(), q.unknown())
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let total = t.elapsed();
    let sum = |f: &dyn Fn(&ProfRow) -> f64| rows.iter().map(f).sum::<f64>();
    let (lower, problem, all) = (sum(&|r| r.0), sum(&|r| r.1), sum(&|r| r.2));
    let rest = (all - lower - problem).max(0.0);
    let rest_z3: f64 = rows
        .iter()
        .filter(|r| r.3)
        .map(|r| (r.2 - r.0 - r.1).max(0.0))
        .sum();
    let unknown_problem: f64 = rows.iter().filter(|r| r.4).map(|r| r.1).sum();
    let mut lat: Vec<f64> = rows.iter().map(|r| r.2).collect();
    format!(
        "{} lower_s={:.3} problem_s={:.3} rest_s={:.3} rest_in_z3_queries_s={:.3} problem_s_in_unknowns={:.3} lower_pct={:.1} problem_pct={:.1} rest_pct={:.1}",
        summary("profile", jobs, total, &mut lat, rows.iter().filter(|r| r.4).count()),
        lower / 1000.0,
        problem / 1000.0,
        rest / 1000.0,
        rest_z3 / 1000.0,
        unknown_problem / 1000.0,
        100.0 * lower / all,
        100.0 * problem / all,
        100.0 * rest / all,
    )
}
