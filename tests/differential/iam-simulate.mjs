#!/usr/bin/env node
// Differential check of tests/conformance/*.json against the npm package
// @cloud-copilot/iam-simulate (AGPL; installed OUTSIDE this repository and only
// called, never copied). See tests/differential/README.md.
//
// Usage:
//   IAM_SIMULATE_NODE_MODULES=/tmp/iamsim/node_modules node tests/differential/iam-simulate.mjs [--verbose] [--json OUT] [FILTER]
//   node tests/differential/iam-simulate.mjs --modules /tmp/iamsim/node_modules
//   ... --cases FILE   run the cases of FILE (same format) instead of tests/conformance/, e.g.
//                      the questions, witnesses and attack requests that
//                      solver/tests/proof_attack.rs writes with PROOF_ATTACK_DUMP=FILE; every
//                      disagreement is then classified against the documented differences
//                      (`classify` below), and only unclassified ones fail.
//
// FILTER (optional) is a substring; only cases whose name contains it run.
// Exit status: 0 if every case either agrees or is marked "reference_disagrees": true
// (and really disagrees); 1 otherwise.

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
let modules = process.env.IAM_SIMULATE_NODE_MODULES;
let verbose = false;
let jsonOut = null;
let filter = null;
let casesFile = null;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--modules') modules = args[++i];
  else if (a === '--verbose' || a === '-v') verbose = true;
  else if (a === '--json') jsonOut = args[++i];
  else if (a === '--cases') casesFile = args[++i];
  else filter = a;
}
if (!modules) {
  console.error('Set IAM_SIMULATE_NODE_MODULES or pass --modules <path to node_modules containing @cloud-copilot/iam-simulate>');
  process.exit(2);
}
const entry = path.join(modules, '@cloud-copilot', 'iam-simulate', 'dist', 'esm', 'index.js');
if (!fs.existsSync(entry)) {
  console.error(`not found: ${entry}`);
  process.exit(2);
}
const sim = await import(pathToFileURL(entry).href);
const pkgVersion = JSON.parse(
  fs.readFileSync(path.join(modules, '@cloud-copilot', 'iam-simulate', 'package.json'), 'utf8')
).version;

const here = path.dirname(fileURLToPath(import.meta.url));
const confDir = path.resolve(here, '..', 'conformance');
const files = casesFile
  ? [path.resolve(casesFile)]
  : fs.readdirSync(confDir).filter((f) => f.endsWith('.json')).sort().map((f) => path.join(confDir, f));

const RESULT_MAP = { Allowed: 'Allow', ExplicitlyDenied: 'ExplicitDeny', ImplicitlyDenied: 'ImplicitDeny' };

function accountOfArn(arn) {
  if (typeof arn !== 'string' || !arn.startsWith('arn:')) return undefined;
  const parts = arn.split(':');
  return parts.length > 4 && parts[4] !== '' ? parts[4] : undefined;
}

function resourceAccount(req) {
  return req.resource_account ?? accountOfArn(req.resource) ?? accountOfArn(req.principal) ?? '';
}

// iam-simulate always attaches RCPFullAWSAccess to every RCP level itself and rejects
// RCP documents with Effect Allow, so an exact "allow everything" RCP in a case is
// dropped before the case is handed over (it is what the reference already assumes).
function isRcpFullAccess(policy) {
  const stmts = Array.isArray(policy?.Statement) ? policy.Statement : [policy?.Statement];
  const star = (v) => v === '*' || (Array.isArray(v) && v.length === 1 && v[0] === '*');
  return stmts.length > 0 && stmts.every((st) => st && st.Effect === 'Allow' && star(st.Principal) &&
    star(st.Action) && star(st.Resource) && !st.Condition);
}

function toSimulation(c) {
  const p = c.policies ?? {};
  const req = c.request;
  const layers = (ls, kind) =>
    (ls ?? []).map((layer, i) => ({
      orgIdentifier: `${kind}-layer-${i}`,
      policies: layer
        .map((policy, j) => ({ name: `${kind}-${i}-${j}`, policy }))
        .filter((p) => kind !== 'rcp' || !isRcpFullAccess(p.policy)),
    }));
  const s = {
    request: {
      principal: req.principal === 'anonymous' ? sim.anonymousPrincipal : req.principal,
      action: req.action,
      resource: { resource: req.resource, accountId: resourceAccount(req) },
      contextVariables: req.context ?? {},
    },
    identityPolicies: (p.identity ?? []).map((policy, i) => ({ name: `identity-${i}`, policy })),
    serviceControlPolicies: layers(p.scps, 'scp'),
    resourceControlPolicies: layers(p.rcps, 'rcp'),
  };
  if (p.boundary) s.permissionBoundaryPolicies = [{ name: 'boundary', policy: p.boundary }];
  if (p.session) s.sessionPolicy = p.session;
  if (p.resource) s.resourcePolicy = p.resource;
  return s;
}

async function runCase(c) {
  const s = toSimulation(c);
  let res;
  try {
    res = await sim.runSimulation(s, {});
  } catch (e) {
    return { actual: 'ERROR', detail: `threw: ${e.message}` };
  }
  if (res.resultType === 'error') {
    return { actual: 'ERROR', detail: JSON.stringify(res.errors) };
  }
  const detail = [];
  const ignored = res.resultType === 'single' ? res.result?.ignoredContextKeys ?? [] : [];
  if (ignored.length) detail.push(`reference ignored context keys: ${ignored.join(', ')}`);
  if (res.resultType === 'wildcard') detail.push('reference ran a wildcard-resource simulation');
  return { actual: RESULT_MAP[res.overallResult] ?? String(res.overallResult), detail: detail.join('; ') };
}

// A disagreement on a generated case is "known" when the case shows the feature of one of the
// documented differences (the conformance cases marked reference_disagrees, each with the AWS
// text that decides it). Anything else is UNCLASSIFIED: a new difference to investigate.
const KNOWN = [
  // The reference refuses requests that are not typed (issue 10 makes Tarski's request space
  // typed too): unknown actions and services, a resource outside the action's resource types,
  // an action without resource types on anything but "*".
  ['reference refuses an action or service not in its catalog', (c, d, a) => a === 'ERROR' && /invalid\.(action|service)/.test(d)],
  ["reference refuses a resource outside the action's resource types", (c, d, a) => a === 'ERROR' && /no\.resource\.types/.test(d)],
  ['reference requires "*" for an action without resource types', (c, d, a) => a === 'ERROR' && /must\.use\.wildcard/.test(d)],
  ['resource "*": the reference runs a wildcard-resource simulation', (c, d) => /wildcard-resource/.test(d)],
  ['reference ignores context keys the action does not document',
    (c, d) => /ignored context keys/.test(d)],
  ['ForAnyValue...IfExists on a missing key (for-any-value-if-exists-missing-key-is-true)',
    (c) => { const t = JSON.stringify(c.policies); const ctx = Object.keys(c.request.context ?? {}).map((k) => k.toLowerCase());
      return [...t.matchAll(/"ForAnyValue:[A-Za-z]+IfExists"\s*:\s*\{\s*"([^"]+)"/g)].some((m) => !ctx.includes(m[1].toLowerCase())); }],
  // Open: seen only here, not yet settled by a conformance case (README, "Open differences").
  ['OPEN: an empty-string value (the reference reads it as missing)',
    (c) => Object.values(c.request.context ?? {}).some((v) => v === '') || /\/$/.test(c.request.principal)],
  ['OPEN: a resource that is not an ARN', (c) => !String(c.request.resource).startsWith('arn:') && c.request.resource !== '*'],
  ['OPEN: an IPv6 request address against IPv4 entries', (c) => /:/.test(String(c.request.context?.['aws:SourceIp'] ?? '')) && /IpAddress/.test(JSON.stringify(c.policies))],
  ['epoch seconds read as milliseconds (date-iso-policy-value-on-epoch-key)',
    (c) => /"Date[A-Za-z]*"\s*:\s*\{[^}]*"-?\d+"/.test(JSON.stringify(c.policies)) ||
      Object.values(c.request.context ?? {}).some((v) => /^-?\d+$/.test(String(v)) ) ],
  ['IPv4 /0 mask (ip-address-v4-slash-zero-matches-all)', (c) => /\/0"/.test(JSON.stringify(c.policies))],
  ['an empty list is a missing key (for-any-value-if-exists-empty-list-is-absent)',
    (c) => Object.values(c.request.context ?? {}).some((v) => Array.isArray(v) && v.length === 0)],
  ['numbers as doubles (numeric-large-integers-compare-exactly)',
    (c) => /\d{16,}/.test(JSON.stringify(c.policies) + JSON.stringify(c.request.context ?? {}))],
  ['a missing policy variable under a negated operator (variable-missing-in-string-not-equals-is-true)',
    (c) => { const t = JSON.stringify(c.policies); const ctx = Object.keys(c.request.context ?? {}).map((k) => k.toLowerCase());
      return [...t.matchAll(/\$\{([^},]+)\}/g)].some((m) => !['*', '?', '$'].includes(m[1]) && !ctx.includes(m[1].toLowerCase())); }],
  ['a variable in ArnLike (variable-in-arn-like-condition)', (c) => /"Arn(Not)?(Like|Equals)[A-Za-z]*"\s*:\s*\{[^}]*\$\{/.test(JSON.stringify(c.policies))],
  ['${$} and ${*} escapes (variable-special-dollar-is-literal)', (c) => /\$\{[$*?]\}/.test(JSON.stringify(c.policies))],
  ['a plain operator on a multivalued key (plain-operator-on-multivalued-key-any-value-matches)',
    (c) => Object.values(c.request.context ?? {}).some((v) => Array.isArray(v) && v.length > 1)],
  ['not a number in a request (exponents, numbers parseInt reads a prefix of)',
    (c) => Object.values(c.request.context ?? {}).some((v) => /^-?\d*\.?\d*(e\d+)?$/i.test(String(v)) && /e|\.\d{16,}|^\d+\.$/i.test(String(v)))],
];
function classify(c, detail, actual) {
  for (const [name, test] of KNOWN) if (test(c, detail ?? '', actual)) return name;
  return '';
}
const classes = {};

let agree = 0, disagree = 0, expectedDisagree = 0, unexpectedAgree = 0, errors = 0, total = 0;
const rows = [];
for (const f of files) {
  const doc = JSON.parse(fs.readFileSync(f, 'utf8'));
  for (const c of doc.cases) {
    if (filter && !c.name.includes(filter)) continue;
    total++;
    const { actual, detail } = await runCase(c);
    const marked = c.reference_disagrees === true;
    let status;
    if (actual === 'ERROR' && marked) { status = 'KNOWN-DISAGREE'; expectedDisagree++; }
    else if (actual === 'ERROR') { status = 'ERROR'; errors++; }
    else if (actual === c.expect) {
      if (marked) { status = 'AGREE-BUT-MARKED'; unexpectedAgree++; } else { status = 'AGREE'; agree++; }
    } else if (marked) { status = 'KNOWN-DISAGREE'; expectedDisagree++; }
    else { status = 'DISAGREE'; disagree++; }
    const file = path.basename(f);
    let klass = '';
    if (casesFile && (status === 'DISAGREE' || status === 'ERROR')) {
      klass = classify(c, detail, actual);
      if (klass && status === 'DISAGREE') { status = 'KNOWN-DISAGREE'; disagree--; expectedDisagree++; }
      if (klass && status === 'ERROR') { status = 'KNOWN-DISAGREE'; errors--; expectedDisagree++; }
      classes[klass || 'UNCLASSIFIED'] = (classes[klass || 'UNCLASSIFIED'] ?? 0) + 1;
    }
    rows.push({ file, name: c.name, expect: c.expect, actual, status, detail, klass });
    if ((status !== 'AGREE' && !(casesFile && klass)) || verbose) {
      console.log(`${status.padEnd(16)} ${file}:${c.name} expect=${c.expect} reference=${actual}${detail ? ' [' + detail + ']' : ''}${klass ? ' (' + klass + ')' : ''}`);
      if (casesFile && !klass) console.log(JSON.stringify(c));
    }
  }
}
console.log(`\n@cloud-copilot/iam-simulate ${pkgVersion}: ${total} cases`);
console.log(`agree: ${agree}`);
console.log(`known disagreements (reference_disagrees): ${expectedDisagree}`);
console.log(`unexpected disagreements: ${disagree}`);
console.log(`marked reference_disagrees but agree: ${unexpectedAgree}`);
console.log(`reference errors: ${errors}`);
if (casesFile) {
  console.log('disagreements by documented difference:');
  for (const [k, n] of Object.entries(classes).sort()) console.log(`  ${String(n).padStart(6)}  ${k}`);
}
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(rows, null, 2));
process.exit(disagree === 0 && unexpectedAgree === 0 && errors === 0 ? 0 : 1);
