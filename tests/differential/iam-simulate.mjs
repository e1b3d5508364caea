#!/usr/bin/env node
// Differential check of tests/conformance/*.json against the npm package
// @cloud-copilot/iam-simulate (AGPL; installed OUTSIDE this repository and only
// called, never copied). See tests/differential/README.md.
//
// Usage:
//   IAM_SIMULATE_NODE_MODULES=/tmp/iamsim/node_modules node tests/differential/iam-simulate.mjs [--verbose] [--json OUT] [FILTER]
//   node tests/differential/iam-simulate.mjs --modules /tmp/iamsim/node_modules
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
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--modules') modules = args[++i];
  else if (a === '--verbose' || a === '-v') verbose = true;
  else if (a === '--json') jsonOut = args[++i];
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
const files = fs.readdirSync(confDir).filter((f) => f.endsWith('.json')).sort();

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

let agree = 0, disagree = 0, expectedDisagree = 0, unexpectedAgree = 0, errors = 0, total = 0;
const rows = [];
for (const f of files) {
  const doc = JSON.parse(fs.readFileSync(path.join(confDir, f), 'utf8'));
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
    rows.push({ file: f, name: c.name, expect: c.expect, actual, status, detail });
    if (status !== 'AGREE' || verbose) {
      console.log(`${status.padEnd(16)} ${f}:${c.name} expect=${c.expect} reference=${actual}${detail ? ' [' + detail + ']' : ''}`);
    }
  }
}
console.log(`\n@cloud-copilot/iam-simulate ${pkgVersion}: ${total} cases`);
console.log(`agree: ${agree}`);
console.log(`known disagreements (reference_disagrees): ${expectedDisagree}`);
console.log(`unexpected disagreements: ${disagree}`);
console.log(`marked reference_disagrees but agree: ${unexpectedAgree}`);
console.log(`reference errors: ${errors}`);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(rows, null, 2));
process.exit(disagree === 0 && unexpectedAgree === 0 && errors === 0 ? 0 : 1);
