//! Cells of a string variable: given wildcard patterns over one string, the non-empty sets of
//! strings that match exactly a given subset of the patterns.
//!
//! The symbolic side uses cells instead of a string theory: a variable ranges over the cells
//! (finitely many), and each pattern becomes the finite disjunction of the cells that match it.
//! Exactness matters in both directions: every realisable signature must be returned (else the
//! solver misses requests), and every witness must really have its signature (else a reported
//! counterexample is wrong). `Glob::matches` (with `fold_case = false`) is the ground truth.
//!
//! Algorithm: breadth-first search over the product of the patterns' automata. Each distinct
//! pattern gets a lazily determinised automaton (states are sets of token positions) over a
//! reduced alphabet of character classes: characters that behave identically against every
//! `Char`/`Fold` token and against `:` (the only character `StarSeg` treats specially) are one
//! class, and every character in no token forms the "other" class. A product state lists only
//! the live patterns (a dead pattern can never match again), with pruning when a `require`
//! pattern dies or a `forbid` pattern becomes universal. Each product state is reached first by
//! a shortest, then smallest (filler first) string; the first string per signature is its
//! witness.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use crate::glob::{Glob, Tok};

pub struct CellProblem<'a> {
    /// The patterns; signatures index into this slice.
    pub globs: &'a [Glob],
    /// The string must match every one of these (domain restrictions, query constraints).
    pub require: &'a [Glob],
    /// ...and none of these.
    pub forbid: &'a [Glob],
    /// Strings to prefer as representatives (e.g. real AWS action names), tried in order:
    /// a cell whose signature a preferred string has gets that string as its witness.
    pub prefer: &'a [String],
    /// Character used for "any other character" positions in generated witnesses (e.g. 'x').
    pub filler: char,
    /// Upper bound on explored automaton states; beyond it, return Err(CellError::Budget).
    pub max_states: usize,
    /// Groups of `globs` indices of which only the union matters to the caller (patterns that
    /// occur only side by side in the same disjunctions, `logic::problem`): a signature lists
    /// every member of a group when any member matches (`close_unions`), so strings are told
    /// apart by the union alone. Once a member matches every extension, the other members'
    /// automata are dropped from the product state, which is what keeps many `*word*`
    /// patterns of one statement from multiplying states (issue 12). Empty: none.
    pub unions: &'a [Vec<u32>],
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    /// Indices into `globs` of the patterns this cell's strings match (sorted ascending).
    pub matches: Vec<u32>,
    /// A string in the cell (matches all `require`, none of `forbid`, and exactly `matches`).
    pub witness: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CellError {
    #[error("string cell enumeration gave up after {states} automaton states")]
    Budget { states: usize },
}

/// Every non-empty cell, once, sorted by `matches`.
pub fn cells(p: &CellProblem) -> Result<Vec<Cell>, CellError> {
    let mut out = match literal_cells(p) {
        Some(out) => out,
        None => search(p)?,
    };
    out.sort_by(|a, b| a.matches.cmp(&b.matches));
    apply_prefer(p, &mut out);
    debug_assert!(out
        .iter()
        .all(|c| signature(p, &c.witness) == Some(c.matches.clone())));
    Ok(out)
}

/// A string with a given signature, found without enumerating cells: one that matches every
/// `(glob, true)` of `lits` and no `(glob, false)`, every `require` pattern, and at least one
/// of the `domain` patterns (tried in order; an empty `domain` restricts nothing). `Ok(None)`
/// when there is none (each search is exhaustive, so this is a proof of emptiness); `Err` when
/// a search passes `max_states` product states. The shortest such string is returned (filler
/// `x`).
///
/// This is how the resource is decided when its patterns have too many cells to enumerate
/// (docs/encoding.md §3, "Too many cells"): the solver chooses the truth value of each
/// pattern, and each choice is checked here.
pub fn realize(
    lits: &[(Glob, bool)],
    require: &[Glob],
    domain: &[Glob],
    max_states: usize,
) -> Result<Option<String>, CellError> {
    let mut req: Vec<Glob> = require.to_vec();
    let mut forbid: Vec<Glob> = Vec::new();
    for (g, want) in lits {
        if *want {
            req.push(g.clone());
        } else {
            forbid.push(g.clone());
        }
    }
    let base = req.len();
    let unrestricted = [None];
    let alternatives: Vec<Option<&Glob>> = if domain.is_empty() {
        unrestricted.to_vec()
    } else {
        domain.iter().map(Some).collect()
    };
    for d in alternatives {
        req.truncate(base);
        req.extend(d.cloned());
        // A literal alternative needs no automaton.
        if let Some(l) = d.and_then(Glob::as_literal) {
            let ok = req.iter().all(|g| g.matches(&l, false))
                && !forbid.iter().any(|g| g.matches(&l, false));
            if ok {
                return Ok(Some(l));
            }
            continue;
        }
        let found = search_impl(
            &CellProblem {
                globs: &[],
                require: &req,
                forbid: &forbid,
                prefer: &[],
                filler: 'x',
                max_states,
                unions: &[],
            },
            true,
        )?;
        if let Some(c) = found.into_iter().next() {
            return Ok(Some(c.witness));
        }
    }
    Ok(None)
}

/// For `lits` that no string realizes (`realize` gave `Ok(None)`): indices of a subset that no
/// string realizes either, minimal under deletion as far as each check stays within
/// `max_states` (a check that passes the budget keeps its literal: the subset stays a proven
/// empty one). Literals are tried for deletion negative ones first, so that cores tend to be
/// the few patterns a string would have to match.
pub fn core(
    lits: &[(Glob, bool)],
    require: &[Glob],
    domain: &[Glob],
    max_states: usize,
) -> Vec<usize> {
    // Most conflicts are one pattern inside or outside another: try the positive literals
    // alone and in pairs first (small products), then delete literals one by one.
    let unrealized = |idx: &[usize]| {
        let sub: Vec<(Glob, bool)> = idx.iter().map(|&i| lits[i].clone()).collect();
        matches!(realize(&sub, require, domain, max_states), Ok(None))
    };
    let pos: Vec<usize> = (0..lits.len()).filter(|&i| lits[i].1).collect();
    for &i in &pos {
        if unrealized(&[i]) {
            return vec![i];
        }
    }
    for &i in &pos {
        for j in 0..lits.len() {
            if j != i && unrealized(&[i, j]) {
                return vec![i.min(j), i.max(j)];
            }
        }
    }
    let mut keep: Vec<usize> = (0..lits.len()).collect();
    let mut order: Vec<usize> = keep.clone();
    order.sort_by_key(|&i| lits[i].1);
    for i in order {
        let trial: Vec<(Glob, bool)> = keep
            .iter()
            .filter(|&&j| j != i)
            .map(|&j| lits[j].clone())
            .collect();
        if let Ok(None) = realize(&trial, require, domain, max_states) {
            keep.retain(|&j| j != i);
        }
    }
    keep
}

/// The signature of a concrete string, or `None` when it fails `require`/`forbid`.
fn signature(p: &CellProblem, s: &str) -> Option<Vec<u32>> {
    let ok = p.require.iter().all(|g| g.matches(s, false))
        && !p.forbid.iter().any(|g| g.matches(s, false));
    ok.then(|| {
        let mut sig: Vec<u32> = (0..p.globs.len() as u32)
            .filter(|&i| p.globs[i as usize].matches(s, false))
            .collect();
        close_unions(p.unions, &mut sig);
        sig
    })
}

/// A signature as `CellProblem::unions` reads it: every member of a group one of whose members
/// is in `sig` is added. `sig` ends sorted and without repeats.
pub fn close_unions(unions: &[Vec<u32>], sig: &mut Vec<u32>) {
    for g in unions {
        if g.iter().any(|i| sig.contains(i)) {
            sig.extend_from_slice(g);
        }
    }
    sig.sort_unstable();
    sig.dedup();
}

/// Fast path: literal patterns, no `require`, literal `forbid`. Each literal is its own cell
/// (unless forbidden), and the strings equal to no literal form one more cell (they exist:
/// the set of literals is finite).
fn literal_cells(p: &CellProblem) -> Option<Vec<Cell>> {
    if !p.require.is_empty() {
        return None;
    }
    let mut lits: HashMap<String, Vec<u32>, Fx> = HashMap::default();
    for (i, g) in p.globs.iter().enumerate() {
        lits.entry(g.as_literal()?).or_default().push(i as u32);
    }
    let forbid = (p.forbid.iter().map(|g| g.as_literal())).collect::<Option<BTreeSet<String>>>()?;
    // Finitely many literals: some run of the filler is none of them.
    let mut outside = String::new();
    while lits.contains_key(&outside) || forbid.contains(&outside) {
        outside.push(p.filler);
    }
    let mut out: Vec<Cell> = lits
        .into_iter()
        .filter(|(s, _)| !forbid.contains(s))
        .map(|(witness, mut matches)| {
            close_unions(p.unions, &mut matches);
            Cell { matches, witness }
        })
        .collect();
    // Literals of one union share a signature: one cell each (the smallest witness).
    if !p.unions.is_empty() {
        out.sort_by(|a, b| a.matches.cmp(&b.matches).then(a.witness.cmp(&b.witness)));
        out.dedup_by(|a, b| a.matches == b.matches);
    }
    out.push(Cell {
        matches: Vec::new(),
        witness: outside,
    });
    Some(out)
}

fn apply_prefer(p: &CellProblem, out: &mut [Cell]) {
    if p.prefer.is_empty() || out.is_empty() {
        return;
    }
    let mut taken = vec![false; out.len()];
    for s in p.prefer {
        let Some(sig) = signature(p, s) else { continue };
        match out.binary_search_by(|c| c.matches.cmp(&sig)) {
            Ok(i) if !taken[i] => {
                taken[i] = true;
                out[i].witness = s.clone();
            }
            Ok(_) => {}
            Err(_) => debug_assert!(false, "preferred string {s:?} has a missing signature"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Alphabet reduction

/// Every character with a lowercase mapping other than itself is below this (checked by a test
/// over all characters, so a Unicode update that breaks it fails loudly).
const CASED_LIMIT: u32 = 0x2_0000;

/// Characters that compare equal to `x` under `Tok::Fold(x)` (same lowercase mapping).
fn fold_class(x: char) -> Vec<char> {
    static TABLE: OnceLock<HashMap<String, Vec<char>>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut m: HashMap<String, Vec<char>> = HashMap::new();
        for c in (0..CASED_LIMIT).filter_map(char::from_u32) {
            let mut l = c.to_lowercase();
            if l.len() == 1 && l.next() == Some(c) {
                continue;
            }
            m.entry(c.to_lowercase().collect()).or_default().push(c);
        }
        m
    });
    let l: String = x.to_lowercase().collect();
    let mut v = table.get(&l).cloned().unwrap_or_default();
    let mut it = l.chars();
    if let (Some(c0), None) = (it.next(), it.next()) {
        if c0.to_lowercase().eq(std::iter::once(c0)) {
            v.push(c0);
        }
    }
    v.push(x);
    v.sort_unstable();
    v.dedup();
    v
}

fn fold_eq(a: char, b: char) -> bool {
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

/// Does text character `c` advance past token `t` (for the non-star tokens)?
fn tok_accepts(t: Tok, c: char) -> bool {
    match t {
        Tok::Char(x) => x == c,
        Tok::Fold(x) => fold_eq(x, c),
        Tok::One => true,
        Tok::Star => true,
        Tok::StarSeg | Tok::OneSeg => c != ':',
    }
}

/// Character classes: `reps[k]` is the character standing for class `k`, in search order
/// (the filler's class first, then the "other" class, then the rest by character), and the
/// index of the "other" class (characters in no token).
fn alphabet(pats: &[&Glob], filler: char) -> (Vec<char>, usize) {
    let mut tests: BTreeSet<Tok> = BTreeSet::new();
    let mut own: BTreeSet<char> = BTreeSet::new();
    let mut candidates: BTreeSet<char> = BTreeSet::new();
    for g in pats {
        for &t in &g.0 {
            match t {
                Tok::Char(x) => {
                    tests.insert(t);
                    own.insert(x);
                    candidates.insert(x);
                }
                Tok::Fold(x) => {
                    if tests.insert(t) {
                        candidates.extend(fold_class(x));
                    }
                    own.insert(x);
                }
                _ => {}
            }
        }
    }
    tests.insert(Tok::StarSeg);
    candidates.insert(':');
    candidates.insert(filler);
    let behaviour = |c: char| -> Vec<bool> { tests.iter().map(|&t| tok_accepts(t, c)).collect() };
    // A character in no token and not ':' only passes StarSeg.
    let other: Vec<bool> = tests.iter().map(|&t| t == Tok::StarSeg).collect();
    let mut groups: BTreeMap<Vec<bool>, Vec<char>> = BTreeMap::new();
    for &c in &candidates {
        groups.entry(behaviour(c)).or_default().push(c);
    }
    let pick = |members: &[char]| -> char {
        if members.contains(&filler) {
            filler
        } else {
            members
                .iter()
                .copied()
                .find(|c| own.contains(c))
                .unwrap_or(members[0])
        }
    };
    let other_rep = match groups.remove(&other) {
        Some(m) => pick(&m),
        None => "xyzqjkw0123456789_-abcdefghilmnoprstuv"
            .chars()
            .chain((0x100..=char::MAX as u32).filter_map(char::from_u32))
            .find(|c| !candidates.contains(c))
            // The patterns name finitely many characters; the chain offers every one.
            .unwrap_or(char::MAX),
    };
    let mut rest: Vec<char> = groups.values().map(|m| pick(m)).collect();
    rest.sort_unstable();
    let mut reps = vec![other_rep];
    if let Some(i) = rest.iter().position(|&c| c == filler) {
        reps.insert(0, rest.remove(i));
    }
    reps.extend(rest);
    let other = usize::from(reps[0] != other_rep);
    (reps, other)
}

// ---------------------------------------------------------------------------------------------
// Per-pattern lazy DFA

const DEAD: u32 = 0;
const START: u32 = 1;
const UNKNOWN: u32 = u32::MAX;

struct Dfa<'g> {
    toks: &'g [Tok],
    sets: Vec<Box<[u32]>>,
    index: HashMap<Box<[u32]>, u32, Fx>,
    accept: Vec<bool>,
    /// Accepting, and every extension stays accepting.
    universal: Vec<bool>,
    trans: Vec<u32>,
    nclass: usize,
    scratch: Vec<bool>,
    buf: Vec<u32>,
    /// Start of the trailing `*` run (`toks.len()` when there is none).
    tail: usize,
    /// Per state: the classes whose transition differs from the "other" class's (a range of
    /// `differ_pool`; start `UNKNOWN` until computed).
    differ: Vec<(u32, u32)>,
    differ_pool: Vec<u32>,
}

impl<'g> Dfa<'g> {
    fn new(toks: &'g [Tok], nclass: usize) -> Self {
        let mut d = Dfa {
            toks,
            sets: Vec::new(),
            index: HashMap::default(),
            accept: Vec::new(),
            universal: Vec::new(),
            trans: Vec::new(),
            nclass,
            scratch: vec![false; toks.len() + 1],
            buf: Vec::new(),
            tail: toks
                .iter()
                .rposition(|t| *t != Tok::Star)
                .map_or(0, |i| i + 1),
            differ: Vec::new(),
            differ_pool: Vec::new(),
        };
        d.intern(Vec::new());
        d.scratch[0] = true;
        d.close();
        d.intern_buf();
        d
    }

    /// Epsilon-close the marked positions in `scratch`, collect them into `buf` and clear
    /// `scratch`.
    fn close(&mut self) {
        let n = self.toks.len();
        let out = &mut self.buf;
        out.clear();
        for i in 0..=n {
            if self.scratch[i] {
                self.scratch[i] = false;
                out.push(i as u32);
                if i < n && matches!(self.toks[i], Tok::Star | Tok::StarSeg) {
                    self.scratch[i + 1] = true;
                }
            }
        }
    }

    fn intern_buf(&mut self) -> u32 {
        match self.index.get(self.buf.as_slice()) {
            Some(&id) => id,
            None => self.intern(self.buf.clone()),
        }
    }

    fn intern(&mut self, set: Vec<u32>) -> u32 {
        let n = self.toks.len() as u32;
        let id = self.sets.len() as u32;
        let accept = set.last() == Some(&n);
        let universal = set
            .iter()
            .any(|&i| i < n && self.toks[i as usize..].iter().all(|t| *t == Tok::Star));
        let set: Box<[u32]> = set.into();
        self.index.insert(set.clone(), id);
        self.sets.push(set);
        self.accept.push(accept);
        self.universal.push(universal);
        self.trans.extend(std::iter::repeat_n(UNKNOWN, self.nclass));
        self.differ.push((UNKNOWN, 0));
        id
    }

    fn differ(&mut self, s: u32, reps: &[char], other: usize) -> (u32, u32) {
        let d = self.differ[s as usize];
        if d.0 != UNKNOWN {
            return d;
        }
        let base = self.next(s, other, reps[other]);
        let start = self.differ_pool.len() as u32;
        for (c, &rep) in reps.iter().enumerate() {
            if self.next(s, c, rep) != base {
                self.differ_pool.push(c as u32);
            }
        }
        let d = (start, self.differ_pool.len() as u32);
        self.differ[s as usize] = d;
        d
    }

    #[inline]
    fn next(&mut self, s: u32, class: usize, rep: char) -> u32 {
        let t = self.trans[s as usize * self.nclass + class];
        if t != UNKNOWN {
            return t;
        }
        let t = self.compute(s, rep);
        self.trans[s as usize * self.nclass + class] = t;
        t
    }

    fn compute(&mut self, s: u32, c: char) -> u32 {
        let n = self.toks.len();
        let set = std::mem::take(&mut self.sets[s as usize]);
        for &i in set.iter() {
            let i = i as usize;
            if i == n {
                continue;
            }
            let t = self.toks[i];
            if tok_accepts(t, c) {
                let j = if matches!(t, Tok::Star | Tok::StarSeg) {
                    i
                } else {
                    i + 1
                };
                self.scratch[j] = true;
            }
        }
        self.sets[s as usize] = set;
        self.close();
        // Once in the trailing `*` run, the pattern matches every extension: forget the other
        // positions, so that all such states are one (else they multiply product states).
        let tail = self.tail;
        if self
            .buf
            .iter()
            .any(|&i| tail <= i as usize && (i as usize) < n)
        {
            self.buf.clear();
            self.buf.extend(tail as u32..=n as u32);
        }
        if self.buf.is_empty() {
            DEAD
        } else {
            self.intern_buf()
        }
    }
}

/// Patterns with no star, or only a run of `*` at the end (literals, `get*`, `s3:?et*`), are
/// deterministic already: the state is the token position (`i + 1`; 0 is dead), and the trailing
/// `*` run is one absorbing, universal state.
struct Linear<'g> {
    toks: &'g [Tok],
    /// Start of the trailing `*` run (or `toks.len()`).
    stop: usize,
    /// There is a trailing `*` run.
    tail: bool,
    /// Per position before `stop`: the classes accepted by its token, as a range of the shared
    /// pool (empty for `?`, which accepts every class alike).
    spans: Vec<(u32, u32)>,
}

/// Classes accepted by each `Char`/`Fold` token, shared by the linear patterns.
struct TokClasses<'r> {
    reps: &'r [char],
    pool: Vec<u32>,
    spans: HashMap<Tok, (u32, u32), Fx>,
}

impl TokClasses<'_> {
    fn span(&mut self, t: Tok) -> (u32, u32) {
        if !matches!(t, Tok::Char(_) | Tok::Fold(_)) {
            return (0, 0);
        }
        let (reps, pool) = (self.reps, &mut self.pool);
        *self.spans.entry(t).or_insert_with(|| {
            let start = pool.len() as u32;
            pool.extend((0..reps.len() as u32).filter(|&c| tok_accepts(t, reps[c as usize])));
            (start, pool.len() as u32)
        })
    }
}

enum Auto<'g> {
    Linear(Linear<'g>),
    Lazy(Dfa<'g>),
}

impl<'g> Auto<'g> {
    fn new(toks: &'g [Tok], nclass: usize, classes: &mut TokClasses) -> Self {
        let stop = toks
            .iter()
            .rposition(|t| *t != Tok::Star)
            .map_or(0, |i| i + 1);
        if toks[..stop]
            .iter()
            .all(|t| !matches!(t, Tok::Star | Tok::StarSeg))
        {
            Auto::Linear(Linear {
                toks,
                stop,
                tail: stop < toks.len(),
                spans: toks[..stop].iter().map(|&t| classes.span(t)).collect(),
            })
        } else {
            Auto::Lazy(Dfa::new(toks, nclass))
        }
    }

    #[inline]
    fn accept(&self, s: u32) -> bool {
        match self {
            Auto::Linear(l) => s as usize == l.stop + 1,
            Auto::Lazy(d) => d.accept[s as usize],
        }
    }

    #[inline]
    fn universal(&self, s: u32) -> bool {
        match self {
            Auto::Linear(l) => l.tail && s as usize == l.stop + 1,
            Auto::Lazy(d) => d.universal[s as usize],
        }
    }

    #[inline]
    fn next(&mut self, s: u32, class: usize, rep: char) -> u32 {
        match self {
            Auto::Linear(l) => {
                let i = s as usize - 1;
                if i == l.stop {
                    if l.tail {
                        s
                    } else {
                        DEAD
                    }
                } else if tok_accepts(l.toks[i], rep) {
                    s + 1
                } else {
                    DEAD
                }
            }
            Auto::Lazy(d) => d.next(s, class, rep),
        }
    }

    /// Mark the classes whose transition from `s` differs from the "other" class's.
    fn mark(&mut self, s: u32, reps: &[char], other: usize, pool: &[u32], mark: &mut [bool]) {
        match self {
            Auto::Linear(l) => {
                if let Some(&(a, b)) = l.spans.get(s as usize - 1) {
                    for &c in &pool[a as usize..b as usize] {
                        mark[c as usize] = true;
                    }
                }
            }
            Auto::Lazy(d) => {
                let (a, b) = d.differ(s, reps, other);
                for &c in &d.differ_pool[a as usize..b as usize] {
                    mark[c as usize] = true;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Product search

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Glob,
    Require,
    Forbid,
}

struct Pattern<'g> {
    dfa: Auto<'g>,
    /// Indices into `globs` of the patterns equal to this one.
    globs: Vec<u32>,
    require: bool,
    forbid: bool,
    /// The `CellProblem::unions` group all of `globs` belong to (`NO_GROUP`: none, or a
    /// `require`/`forbid` pattern, which is never dropped).
    group: u32,
}

const NO_GROUP: u32 = u32::MAX;

/// Drop from the product state `buf` the patterns of a union group another member of which
/// matches every extension already: they can add only members of the group to a signature,
/// and the group is in every signature from here on (`CellProblem::unions`).
fn collapse_unions(pats: &[Pattern], buf: &mut Vec<u32>, done: &mut Vec<u32>) {
    done.clear();
    for pair in buf.chunks_exact(2) {
        let q = &pats[pair[0] as usize];
        if q.group != NO_GROUP && !done.contains(&q.group) && q.dfa.universal(pair[1]) {
            done.push(q.group);
        }
    }
    if done.is_empty() {
        return;
    }
    let mut kept: Vec<u32> = Vec::new();
    let mut out: Vec<u32> = Vec::with_capacity(buf.len());
    for pair in buf.chunks_exact(2) {
        let q = &pats[pair[0] as usize];
        if q.group != NO_GROUP && done.contains(&q.group) {
            if !kept.contains(&q.group) && q.dfa.universal(pair[1]) {
                kept.push(q.group);
                out.extend_from_slice(pair);
            }
            continue;
        }
        out.extend_from_slice(pair);
    }
    *buf = out;
}

fn search(p: &CellProblem) -> Result<Vec<Cell>, CellError> {
    search_impl(p, false)
}

/// The product search; with `first`, it stops at the first (shortest) string that passes
/// `require` and `forbid` and returns that one cell (an emptiness check with a witness).
fn search_impl(p: &CellProblem, first: bool) -> Result<Vec<Cell>, CellError> {
    // Distinct patterns, each with its roles.
    let mut distinct: Vec<(&Glob, Vec<u32>, bool, bool)> = Vec::new();
    let mut seen: HashMap<&Glob, usize, Fx> = HashMap::default();
    let tagged = (p.globs.iter().map(|g| (g, Role::Glob)))
        .chain(p.require.iter().map(|g| (g, Role::Require)))
        .chain(p.forbid.iter().map(|g| (g, Role::Forbid)));
    for (i, (g, role)) in tagged.enumerate() {
        let k = *seen.entry(g).or_insert_with(|| {
            distinct.push((g, Vec::new(), false, false));
            distinct.len() - 1
        });
        match role {
            Role::Glob => distinct[k].1.push(i as u32),
            Role::Require => distinct[k].2 = true,
            Role::Forbid => distinct[k].3 = true,
        }
    }
    let all: Vec<&Glob> = distinct.iter().map(|d| d.0).collect();
    let (reps, other) = alphabet(&all, p.filler);
    let nclass = reps.len();
    let mut classes = TokClasses {
        reps: &reps,
        pool: Vec::new(),
        spans: HashMap::default(),
    };
    let group_of = |i: u32| {
        p.unions
            .iter()
            .position(|g| g.contains(&i))
            .map(|g| g as u32)
    };
    let mut pats: Vec<Pattern> = distinct
        .into_iter()
        .map(|(g, globs, require, forbid)| {
            let first = globs.first().and_then(|&i| group_of(i));
            let group = match first {
                Some(k) if !require && !forbid && globs.iter().all(|&i| group_of(i) == Some(k)) => {
                    k
                }
                _ => NO_GROUP,
            };
            Pattern {
                dfa: Auto::new(&g.0, nclass, &mut classes),
                globs,
                require,
                forbid,
                group,
            }
        })
        .collect();

    // A product state: (pattern, dfa state) pairs for the live patterns, flattened.
    let mut init: Vec<u32> = (0..pats.len() as u32).flat_map(|k| [k, START]).collect();
    let mut done: Vec<u32> = Vec::new();
    collapse_unions(&pats, &mut init, &mut done);
    if pats.iter().any(|q| q.forbid && q.dfa.universal(START)) {
        return Ok(Vec::new());
    }
    let mut states = StateTable::default();
    states.insert(&init);
    let mut parent: Vec<(u32, u32)> = vec![(u32::MAX, 0)];
    let mut cur: Vec<u32> = Vec::new();
    let mut sigs: HashMap<Vec<u32>, u32, Fx> = HashMap::default();
    let mut buf: Vec<u32> = Vec::new();
    let mut sig: Vec<u32> = Vec::new();
    let pool = classes.pool;
    let mut mark = vec![false; nclass];

    let mut qi = 0;
    while qi < states.len() {
        cur.clear();
        cur.extend_from_slice(states.get(qi));
        // Record the signature of this state.
        sig.clear();
        let mut ok = true;
        for pair in cur.chunks_exact(2) {
            let q = &pats[pair[0] as usize];
            let acc = q.dfa.accept(pair[1]);
            if (q.require && !acc) || (q.forbid && acc) {
                ok = false;
                break;
            }
            if acc {
                sig.extend_from_slice(&q.globs);
            }
        }
        // Patterns required but already dead are pruned on construction.
        if ok && first {
            close_unions(p.unions, &mut sig);
            return Ok(vec![Cell {
                matches: sig,
                witness: path(&parent, &reps, qi as u32),
            }]);
        }
        if ok {
            close_unions(p.unions, &mut sig);
            if !sigs.contains_key(sig.as_slice()) {
                sigs.insert(sig.clone(), qi as u32);
            }
        }
        // Successors. Classes that no live pattern tells apart from the "other" class all lead
        // to the same state: only the first of them (in search order) is followed.
        for pair in cur.chunks_exact(2) {
            pats[pair[0] as usize]
                .dfa
                .mark(pair[1], &reps, other, &pool, &mut mark);
        }
        let mut default_done = false;
        'class: for (class, &rep) in reps.iter().enumerate() {
            if !mark[class] {
                if default_done {
                    continue;
                }
                default_done = true;
            }
            buf.clear();
            for pair in cur.chunks_exact(2) {
                let q = &mut pats[pair[0] as usize];
                let t = q.dfa.next(pair[1], class, rep);
                if t == DEAD {
                    if q.require {
                        continue 'class;
                    }
                    continue;
                }
                if q.forbid && q.dfa.universal(t) {
                    continue 'class;
                }
                buf.push(pair[0]);
                buf.push(t);
            }
            collapse_unions(&pats, &mut buf, &mut done);
            if states.insert(&buf) {
                if states.len() > p.max_states {
                    return Err(CellError::Budget {
                        states: states.len(),
                    });
                }
                parent.push((qi as u32, class as u32));
            }
        }
        mark.fill(false);
        qi += 1;
    }

    Ok(sigs
        .into_iter()
        .map(|(matches, s)| Cell {
            matches,
            witness: path(&parent, &reps, s),
        })
        .collect())
}

/// The string that reached product state `s` (following `parent` back to the start).
fn path(parent: &[(u32, u32)], reps: &[char], mut s: u32) -> String {
    let mut chars = Vec::new();
    while parent[s as usize].0 != u32::MAX {
        let (up, class) = parent[s as usize];
        chars.push(reps[class as usize]);
        s = up;
    }
    chars.iter().rev().collect()
}

/// Interned product states, stored flat (no allocation per state), numbered in insertion order.
#[derive(Default)]
struct StateTable {
    arena: Vec<u32>,
    /// Per state: end offset in `arena` (the start is the previous state's end).
    ends: Vec<u32>,
    hashes: Vec<u64>,
    /// Open addressing, linear probing: state id + 1, or 0 when empty.
    slots: Vec<u32>,
}

impl StateTable {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, id: usize) -> &[u32] {
        let start = if id == 0 { 0 } else { self.ends[id - 1] };
        &self.arena[start as usize..self.ends[id] as usize]
    }

    fn hash(key: &[u32]) -> u64 {
        let mut h = FxHasher::default();
        for pair in key.chunks(2) {
            h.add(u64::from(pair[0]) | u64::from(*pair.get(1).unwrap_or(&0)) << 32);
        }
        h.finish()
    }

    /// Adds `key` unless present; true when it was new.
    fn insert(&mut self, key: &[u32]) -> bool {
        if self.slots.len() < 2 * (self.len() + 1) {
            self.grow();
        }
        let h = Self::hash(key);
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            match self.slots[i] {
                0 => break,
                id => {
                    let id = id as usize - 1;
                    if self.hashes[id] == h && self.get(id) == key {
                        return false;
                    }
                }
            }
            i = (i + 1) & mask;
        }
        self.arena.extend_from_slice(key);
        self.ends.push(self.arena.len() as u32);
        self.hashes.push(h);
        self.slots[i] = self.len() as u32;
        true
    }

    fn grow(&mut self) {
        let n = (self.slots.len() * 2).max(64);
        self.slots = vec![0; n];
        let mask = n - 1;
        for (id, &h) in self.hashes.iter().enumerate() {
            let mut i = h as usize & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = id as u32 + 1;
        }
    }
}

/// The Fx hash (rustc's): fast for short integer keys, no DoS concern here.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

type Fx = BuildHasherDefault<FxHasher>;

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(b));
        }
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // The multiply leaves the low bits (hashbrown's bucket index) depending only on the
        // low input bits; rotate the well-mixed high bits down (as rustc-hash 2 does).
        self.0.rotate_left(26)
    }
}

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn globs(ps: &[&str]) -> Vec<Glob> {
        ps.iter().map(|p| Glob::wild(p)).collect()
    }

    fn run(g: &[Glob], require: &[Glob], forbid: &[Glob]) -> Vec<Cell> {
        let p = CellProblem {
            globs: g,
            require,
            forbid,
            prefer: &[],
            filler: 'x',
            max_states: 100_000,
            unions: &[],
        };
        let out = cells(&p).unwrap();
        check_witnesses(&p, &out);
        out
    }

    fn check_witnesses(p: &CellProblem, out: &[Cell]) {
        for c in out {
            assert_eq!(
                signature(p, &c.witness),
                Some(c.matches.clone()),
                "witness {:?}",
                c.witness
            );
        }
        for w in out.windows(2) {
            assert!(w[0].matches < w[1].matches, "sorted and distinct");
        }
    }

    fn sigs(out: &[Cell]) -> Vec<Vec<u32>> {
        out.iter().map(|c| c.matches.clone()).collect()
    }

    #[test]
    fn prefix_and_suffix_give_four_cells() {
        let out = run(&globs(&["a*", "*b"]), &[], &[]);
        assert_eq!(sigs(&out), vec![vec![], vec![0], vec![0, 1], vec![1]]);
        assert_eq!(out[0].witness, "");
    }

    #[test]
    fn nested_prefixes_give_three_cells() {
        let out = run(&globs(&["a*", "ab*"]), &[], &[]);
        assert_eq!(sigs(&out), vec![vec![], vec![0], vec![0, 1]]);
        assert_eq!(out[1].witness, "a");
        assert_eq!(out[2].witness, "ab");
    }

    #[test]
    fn universal_pattern_is_one_cell() {
        let out = run(&globs(&["*"]), &[], &[]);
        assert_eq!(sigs(&out), vec![vec![0]]);
        assert_eq!(out[0].witness, "");
        // No patterns: one cell, everything.
        assert_eq!(sigs(&run(&[], &[], &[])), vec![Vec::<u32>::new()]);
    }

    #[test]
    fn duplicate_patterns_share_cells() {
        let out = run(&globs(&["a*", "a*", "b"]), &[], &[]);
        assert_eq!(sigs(&out), vec![vec![], vec![0, 1], vec![2]]);
    }

    #[test]
    fn filler_is_used_for_free_characters() {
        let out = run(&globs(&["?", "a?"]), &[], &[]);
        let w: Vec<&str> = out.iter().map(|c| c.witness.as_str()).collect();
        assert_eq!(sigs(&out), vec![vec![], vec![0], vec![1]]);
        assert_eq!(w, vec!["", "x", "ax"]);
    }

    #[test]
    fn segment_star_stops_at_colon() {
        let g = vec![Glob(vec![Tok::Char('a'), Tok::StarSeg]), Glob::wild("a*")];
        let out = run(&g, &[], &[]);
        // "" -> {}, "a" / "ax" -> {0,1}, "a:" -> {1}.
        assert_eq!(sigs(&out), vec![vec![], vec![0, 1], vec![1]]);
        assert_eq!(out[2].witness, "a:");
        let arn = Glob::wild("arn:*:x").arn_segments();
        let out = run(&[arn, Glob::wild("arn:*")], &[], &[]);
        assert_eq!(sigs(&out), vec![vec![], vec![0, 1], vec![1]]);
    }

    #[test]
    fn fold_is_case_insensitive_char_is_not() {
        let g = vec![Glob::literal("a").fold_case(), Glob::literal("A")];
        let out = run(&g, &[], &[]);
        assert_eq!(sigs(&out), vec![vec![], vec![0], vec![0, 1]]);
        // The Kelvin sign lowercases to 'k': a string matching only the Fold pattern exists.
        let g = vec![
            Glob::literal("k").fold_case(),
            Glob::literal("K"),
            Glob::literal("k"),
        ];
        let out = run(&g, &[], &[]);
        assert_eq!(sigs(&out), vec![vec![], vec![0], vec![0, 1], vec![0, 2]]);
        assert_eq!(out[1].witness, "\u{212A}");
    }

    #[test]
    fn cased_characters_are_below_the_limit() {
        for c in (CASED_LIMIT..=char::MAX as u32).filter_map(char::from_u32) {
            assert!(c.to_lowercase().eq(std::iter::once(c)), "{c:?}");
        }
    }

    #[test]
    fn require_and_forbid_restrict() {
        let g = globs(&["a*", "*b"]);
        let out = run(&g, &globs(&["a*"]), &[]);
        assert_eq!(sigs(&out), vec![vec![0], vec![0, 1]]);
        let out = run(&g, &globs(&["a*"]), &globs(&["*b"]));
        assert_eq!(sigs(&out), vec![vec![0]]);
        assert!(run(&g, &globs(&["a*"]), &globs(&["*"])).is_empty());
        assert!(run(&g, &globs(&["a*"]), &globs(&["a*"])).is_empty());
        assert!(run(&g, &globs(&["a"]), &globs(&["?"])).is_empty());
        let out = run(&g, &globs(&["ab"]), &[]);
        assert_eq!(sigs(&out), vec![vec![0, 1]]);
        assert_eq!(out[0].witness, "ab");
    }

    #[test]
    fn prefer_replaces_witnesses() {
        let g = globs(&["s3:get*", "s3:*"]);
        let prefer: Vec<String> = [
            "iam:getuser",
            "s3:getobject",
            "s3:getbucket",
            "s3:putobject",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let p = CellProblem {
            globs: &g,
            require: &[],
            forbid: &globs(&["iam:*"]),
            prefer: &prefer,
            filler: 'x',
            max_states: 10_000,
            unions: &[],
        };
        let out = cells(&p).unwrap();
        check_witnesses(&p, &out);
        let w: Vec<&str> = out.iter().map(|c| c.witness.as_str()).collect();
        assert_eq!(w, vec!["", "s3:getobject", "s3:putobject"]);
    }

    #[test]
    fn budget_is_enforced() {
        let g = globs(&["*a??????????"]);
        let p = CellProblem {
            globs: &g,
            require: &[],
            forbid: &[],
            prefer: &[],
            filler: 'x',
            max_states: 100,
            unions: &[],
        };
        assert!(matches!(cells(&p), Err(CellError::Budget { .. })));
    }

    /// ~300 action patterns of one service, the shape of a big real call.
    pub(crate) fn service_actions() -> Vec<Glob> {
        let verbs = [
            "get", "list", "describe", "put", "delete", "create", "update", "tag", "untag",
            "batchget", "start", "stop",
        ];
        let nouns = [
            "object",
            "bucket",
            "bucketpolicy",
            "bucketacl",
            "objectacl",
            "objecttagging",
            "lifecycleconfiguration",
            "replicationconfiguration",
            "accesspoint",
            "job",
            "multiregionaccesspoint",
            "storagelensconfiguration",
            "encryptionconfiguration",
            "inventoryconfiguration",
            "metricsconfiguration",
            "analyticsconfiguration",
            "bucketversioning",
            "objectversion",
            "objectretention",
            "objectlegalhold",
            "bucketwebsite",
            "bucketcors",
            "bucketlogging",
            "bucketnotification",
        ];
        let mut g: Vec<Glob> = ["describe*", "get*", "list*", "put*", "*", "getobject*"]
            .iter()
            .map(|s| Glob::wild(s))
            .collect();
        'outer: for n in nouns {
            for v in verbs {
                if g.len() >= 300 {
                    break 'outer;
                }
                g.push(Glob::literal(&format!("{v}{n}")));
            }
        }
        g
    }

    #[test]
    fn three_hundred_action_patterns() {
        let g = service_actions();
        assert_eq!(g.len(), 294);
        let out = run(&g, &[], &[]);
        // One cell per literal plus the no-literal cells under each prefix.
        assert!(out.len() > 288);
        // Timing, for information only (`cargo test --release -- --nocapture`).
        let p = CellProblem {
            globs: &g,
            require: &[],
            forbid: &[],
            prefer: &[],
            filler: 'x',
            max_states: 1_000_000,
            unions: &[],
        };
        let t = std::time::Instant::now();
        let n = 20;
        for _ in 0..n {
            std::hint::black_box(cells(&p).unwrap());
        }
        eprintln!(
            "{} patterns: {} cells, {:?} per call",
            g.len(),
            out.len(),
            t.elapsed() / n
        );
    }

    fn tok() -> impl Strategy<Value = Tok> {
        prop_oneof![
            3 => prop_oneof![Just('a'), Just('b'), Just(':')].prop_map(Tok::Char),
            1 => prop_oneof![Just('a'), Just('A')].prop_map(Tok::Fold),
            1 => Just(Tok::One),
            2 => Just(Tok::Star),
            2 => Just(Tok::StarSeg),
        ]
    }

    fn glob() -> impl Strategy<Value = Glob> {
        prop::collection::vec(tok(), 0..5).prop_map(Glob)
    }

    fn strings(alphabet: &[char], max_len: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut layer = vec![String::new()];
        for _ in 0..max_len {
            layer = layer
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(layer.iter().cloned());
        }
        all
    }

    proptest! {
        #[test]
        fn literal_fast_path_agrees_with_search(
            g in prop::collection::vec("[ab]{0,3}", 0..6),
            forbid in prop::collection::vec("[abx]{0,2}", 0..3),
            filler in prop_oneof![Just('x'), Just('a')],
        ) {
            let g: Vec<Glob> = g.iter().map(|s| Glob::literal(s)).collect();
            let forbid: Vec<Glob> = forbid.iter().map(|s| Glob::literal(s)).collect();
            let p = CellProblem {
                globs: &g,
                require: &[],
                forbid: &forbid,
                prefer: &[],
                filler,
                max_states: 100_000,
                unions: &[],
            };
            let fast = cells(&p).unwrap();
            check_witnesses(&p, &fast);
            let mut slow = search(&p).unwrap();
            slow.sort();
            prop_assert_eq!(sigs(&fast), sigs(&slow));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Unions (`CellProblem::unions`): the cells are exactly the plain cells with each
        /// signature closed over the groups (`close_unions`), merged where they meet, and each
        /// witness has its cell's closed signature; with `require` and `forbid`, which are
        /// never dropped from the product.
        #[test]
        fn unions_are_the_plain_cells_closed(
            g in prop::collection::vec(glob(), 1..6),
            require in prop::collection::vec(glob(), 0..2),
            forbid in prop::collection::vec(glob(), 0..2),
            group in prop::collection::vec(0..3u32, 6),
        ) {
            // Each pattern in group 0, 1 or none (2).
            let unions: Vec<Vec<u32>> = (0..2)
                .map(|k| (0..g.len() as u32).filter(|&i| group[i as usize] == k).collect())
                .collect();
            let p = CellProblem {
                globs: &g,
                require: &require,
                forbid: &forbid,
                prefer: &[],
                filler: 'x',
                max_states: 100_000,
                unions: &unions,
            };
            let grouped = cells(&p).unwrap();
            check_witnesses(&p, &grouped);
            let plain = cells(&CellProblem { unions: &[], ..p }).unwrap();
            let closed: BTreeSet<Vec<u32>> = plain
                .into_iter()
                .map(|c| {
                    let mut m = c.matches;
                    close_unions(&unions, &mut m);
                    m
                })
                .collect();
            prop_assert_eq!(sigs(&grouped), closed.into_iter().collect::<Vec<_>>());
        }
    }

    /// Many `*word*` patterns of one statement: apart, every subset of words is a signature and
    /// the product passes a 2,000-state budget; as one union it fits within that budget, and
    /// the cells are "some word" and "no word".
    #[test]
    fn a_union_of_many_infix_patterns_stays_small() {
        let words = [
            "endpoint",
            "model",
            "context",
            "artifact",
            "action",
            "association",
            "job",
            "feature",
            "record",
            "pipeline",
            "trial",
            "experiment",
        ];
        let g: Vec<Glob> = words
            .iter()
            .map(|w| Glob::wild(&format!("*{w}*")))
            .collect();
        let p = CellProblem {
            globs: &g,
            require: &[],
            forbid: &[],
            prefer: &[],
            filler: 'x',
            max_states: 2_000,
            unions: &[],
        };
        assert!(matches!(cells(&p), Err(CellError::Budget { .. })));
        let all: Vec<u32> = (0..g.len() as u32).collect();
        let unions = [all.clone()];
        let out = cells(&CellProblem {
            unions: &unions,
            ..p
        })
        .unwrap();
        assert_eq!(sigs(&out), vec![vec![], all]);
    }

    fn arns(ps: &[&str]) -> Vec<Glob> {
        ps.iter().map(|p| Glob::wild(p).arn_segments()).collect()
    }

    #[test]
    fn realize_finds_strings_that_cross_colons() {
        let g = arns(&["arn:aws:iam::*:role/A*", "arn:aws:iam::*:role/B*"]);
        let dom = [Glob::literal("*"), Glob::wild("arn:*")];
        let lits = vec![(g[0].clone(), true), (g[1].clone(), true)];
        let w = realize(&lits, &[], &dom, 10_000).unwrap().unwrap();
        assert!(g[0].matches(&w, false) && g[1].matches(&w, false), "{w}");
        // Different literal services: no string matches both.
        let h = arns(&[
            "arn:aws:iam::*:role/A*",
            "arn:aws:s3:::b/*",
            "arn:aws:s3:::*",
        ]);
        let lits = vec![(h[0].clone(), true), (h[1].clone(), true)];
        assert_eq!(realize(&lits, &[], &dom, 10_000), Ok(None));
        // The literal `*` is in the domain: it matches `*` and no ARN pattern.
        let star = vec![(Glob::wild("*"), true), (h[2].clone(), false)];
        assert_eq!(realize(&star, &[], &dom, 10_000), Ok(Some("*".into())));
        assert_ne!(realize(&star, &[], &dom[1..], 10_000), Ok(Some("*".into())));
        // ... unless a requirement excludes it.
        let w = realize(&star, &[Glob::wild("?*:*")], &dom, 10_000)
            .unwrap()
            .unwrap();
        assert!(w.starts_with("arn:") && !h[2].matches(&w, false), "{w}");
        // Containment: in `b/*` but not in `*` of the same bucket service.
        let lits = vec![(h[1].clone(), true), (h[2].clone(), false)];
        assert_eq!(realize(&lits, &[], &dom, 10_000), Ok(None));
    }

    #[test]
    fn core_keeps_only_the_conflict() {
        let g = arns(&[
            "arn:aws:ec2:*:*:vpc/*",
            "arn:aws:iam::*:role/A*",
            "arn:aws:iam::*:role/B*",
            "arn:aws:s3:::x*",
            "arn:aws:iam::*:role/Ab*",
        ]);
        let dom = [Glob::literal("*"), Glob::wild("arn:*")];
        // In role/Ab* but not in role/A*: impossible, whatever the others say.
        let lits = vec![
            (g[0].clone(), false),
            (g[1].clone(), false),
            (g[2].clone(), true),
            (g[3].clone(), false),
            (g[4].clone(), true),
        ];
        assert_eq!(realize(&lits, &[], &dom, 100_000), Ok(None));
        let c = core(&lits, &[], &dom, 100_000);
        assert_eq!(c, vec![1, 4]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// `realize` agrees with the enumeration: a signature is realized iff it is a cell's,
        /// and its string has it; a core is unrealizable on its own.
        #[test]
        fn realize_agrees_with_cells(
            g in prop::collection::vec(glob(), 1..5),
            require in prop::collection::vec(glob(), 0..2),
            pick in prop::collection::vec(any::<bool>(), 5),
            domain in prop::collection::vec(glob(), 0..3),
        ) {
            let p = CellProblem {
                globs: &g,
                require: &require,
                forbid: &[],
                prefer: &[],
                filler: 'x',
                max_states: 100_000,
                unions: &[],
            };
            // The cells of the strings in some domain pattern: with the domain as extra
            // patterns, the signatures that include one of them.
            let mut all = g.clone();
            all.extend(domain.iter().cloned());
            let p = CellProblem { globs: &all, ..p };
            let n = g.len() as u32;
            let have: BTreeSet<Vec<u32>> = cells(&p)
                .unwrap()
                .into_iter()
                .filter(|c| domain.is_empty() || c.matches.iter().any(|&i| i >= n))
                .map(|c| c.matches.into_iter().filter(|&i| i < n).collect())
                .collect();
            let lits: Vec<(Glob, bool)> = g.iter().cloned().zip(pick.iter().copied()).collect();
            let want: Vec<u32> = (0..g.len() as u32).filter(|&i| pick[i as usize]).collect();
            match realize(&lits, &require, &domain, 100_000).unwrap() {
                Some(w) => {
                    prop_assert!(have.contains(&want), "{w:?} realizes a signature the cells lack");
                    prop_assert!(require.iter().all(|r| r.matches(&w, false)));
                    prop_assert!(domain.is_empty() || domain.iter().any(|d| d.matches(&w, false)));
                    for (gl, b) in &lits {
                        prop_assert_eq!(gl.matches(&w, false), *b, "{:?}", w);
                    }
                }
                None => {
                    prop_assert!(!have.contains(&want), "signature {want:?} has a cell");
                    let c = core(&lits, &require, &domain, 100_000);
                    let sub: Vec<(Glob, bool)> = c.iter().map(|&i| lits[i].clone()).collect();
                    prop_assert_eq!(realize(&sub, &require, &domain, 100_000).unwrap(), None);
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn cells_are_exact(
            g in prop::collection::vec(glob(), 0..5),
            require in prop::collection::vec(glob(), 0..2),
            forbid in prop::collection::vec(glob(), 0..2),
            filler in prop_oneof![Just('x'), Just('a'), Just(':')],
            prefer in prop::collection::vec("[ab:xA]{0,4}", 0..4),
        ) {
            let p = CellProblem {
                globs: &g,
                require: &require,
                forbid: &forbid,
                prefer: &prefer,
                filler,
                max_states: 100_000,
                unions: &[],
            };
            let out = cells(&p).unwrap();
            check_witnesses(&p, &out);
            let have: BTreeSet<Vec<u32>> = out.iter().map(|c| c.matches.clone()).collect();
            for s in strings(&['a', 'b', ':', 'x', 'A'], 5) {
                if let Some(sig) = signature(&p, &s) {
                    prop_assert!(have.contains(&sig), "{s:?} has missing signature {sig:?}");
                }
            }
            // The first preferred string of each signature is that cell's witness.
            let mut first: BTreeMap<Vec<u32>, &String> = BTreeMap::new();
            for s in &prefer {
                if let Some(sig) = signature(&p, s) {
                    first.entry(sig).or_insert(s);
                }
            }
            for c in &out {
                if let Some(s) = first.get(&c.matches) {
                    prop_assert_eq!(&c.witness, *s);
                }
            }
        }
    }
}

#[cfg(test)]
mod timing {
    use super::*;

    fn time(name: &str, g: &[Glob], require: &[Glob]) {
        let p = CellProblem {
            globs: g,
            require,
            forbid: &[],
            prefer: &[],
            filler: 'x',
            max_states: 100_000,
            unions: &[],
        };
        let t = std::time::Instant::now();
        let first = cells(&p);
        let t1 = t.elapsed();
        let t = std::time::Instant::now();
        let n = 20;
        for _ in 0..n {
            std::hint::black_box(cells(&p).ok());
        }
        eprintln!(
            "{name}: {} patterns, {:?} cells, first {:?}, then {:?} per call",
            g.len(),
            first.map(|c| c.len()),
            t1,
            t.elapsed() / n
        );
    }

    #[test]
    #[ignore]
    fn shapes() {
        let acts = super::tests::service_actions();
        let lits: Vec<Glob> = acts.iter().filter(|g| g.is_literal()).cloned().collect();
        time("fold", &[Glob::literal("true").fold_case()], &[]);
        time("literals", &lits, &[]);
        time("actions", &acts, &[]);
        let qualified: Vec<Glob> = acts
            .iter()
            .map(|g| {
                let mut q = Glob::literal("s3:");
                q.0.extend(g.0.iter().copied());
                q
            })
            .collect();
        time("qualified", &qualified, &[Glob::wild("s3:*")]);
        let small: Vec<Glob> = ["s3:Get*", "s3:*", "ec2:Describe*", "iam:PassRole", "*"]
            .iter()
            .map(|s| Glob::wild(s))
            .collect();
        time("small", &small, &[]);
        let arns: Vec<Glob> = (0..30)
            .map(|i| Glob::wild(&format!("arn:aws:s3:::bucket{i}/*")).arn_segments())
            .chain(
                (0..20).map(|i| Glob::wild(&format!("arn:aws:s3:::b*{i}/home/*")).arn_segments()),
            )
            .collect();
        time("arns", &arns[..30], &[]);
        // 2^20 signatures really exist here (`b1/home/2/home/...` matches any subset).
        time("arns-exponential", &arns, &[]);
        let infix: Vec<Glob> = [
            "*object*", "*bucket*", "*policy*", "*acl*", "get*", "*tagging",
        ]
        .iter()
        .map(|s| Glob::wild(s))
        .collect();
        time("infix", &infix, &[]);
    }
}
