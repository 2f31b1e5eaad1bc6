// Faults injected into the real simulator: every transient fault is retried and the
// result equals a fault-free read; permanent errors are clear and never retried; the
// key never shows up in an error message or an onRequest event.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenProjectError } from '../../src/errors.js';
import { createOpenProjectClient, type DownloadSink, type OpenProjectClient, type OpenProjectClientOptions, type RequestEvent } from '../../src/openproject/index.js';
import { startSimulator, type FaultSpec, type RouteName, type Simulator } from '../../src/simulator/index.js';
import type { Attachment, WorkPackage } from '../../src/types.js';
import { FIXTURE_DATASET, TEST_TMP } from '../helpers/env.js';

const KEY = 'opapi-9d7e1f-client-faults-secret';
const BASIC = Buffer.from(`apikey:${KEY}`).toString('base64');

// Everything the client said, for the secret grep at the end.
const said: string[] = [];

function memorySink(): DownloadSink & { bytes(): Buffer } {
  let chunks: Buffer[] = [];
  return {
    bytes: () => Buffer.concat(chunks),
    open: () => {
      chunks = [];
      return { write: (c: Uint8Array) => void chunks.push(Buffer.from(c)), end: () => undefined, abort: () => void (chunks = []) };
    },
  };
}

interface Snapshot {
  wps: WorkPackage[];
  invalid: unknown[];
  ids: number[];
  attachments: Attachment[];
  contents: string[];
}

async function snapshot(client: OpenProjectClient, withAttachments: number[]): Promise<Snapshot> {
  const wps: WorkPackage[] = [];
  const invalid: unknown[] = [];
  for await (const page of client.listWorkPackages({})) {
    wps.push(...page.workPackages);
    invalid.push(...page.invalid);
  }
  const ids = (await client.listWorkPackageIds({})).ids;
  const attachments: Attachment[] = [];
  for (const id of withAttachments) attachments.push(...(await client.listAttachments(id)));
  const contents: string[] = [];
  for (const att of attachments) {
    const sink = memorySink();
    const r = await client.downloadAttachment(att, sink);
    contents.push(`${r.bytes}:${r.md5}:${createHash('sha256').update(sink.bytes()).digest('hex')}`);
  }
  return { wps, invalid, ids, attachments, contents };
}

describe('transient faults', () => {
  let sim: Simulator;
  let clean: Snapshot;
  let withAttachments: number[];
  const fast: Partial<OpenProjectClientOptions> = { backoffBaseMs: 2, maxBackoffMs: 2000, timeoutMs: 300, retries: 4 };

  const client = (events: RequestEvent[], extra: Partial<OpenProjectClientOptions> = {}): OpenProjectClient =>
    createOpenProjectClient({
      baseUrl: sim.url,
      apiKey: KEY,
      ...fast,
      ...extra,
      onRequest: (e) => {
        events.push(e);
        said.push(JSON.stringify(e));
      },
    });

  beforeAll(async () => {
    sim = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: KEY, maxPageSize: 10 });
    // Three work packages with attachments: enough to cross every route several times.
    const containers = new Set<number>();
    for (const { meta } of sim.dataset.attachments.values()) containers.add(Number(/\d+$/.exec((meta._links as { container: { href: string } }).container.href)![0]));
    withAttachments = [...containers].sort((a, b) => a - b).slice(0, 3);
    const c = client([]);
    clean = await snapshot(c, withAttachments);
    await c.close();
    expect(clean.wps.length).toBe(sim.dataset.workPackages.size);
    expect(clean.wps.length).toBeGreaterThan(20); // several pages of 10
    expect(clean.invalid).toEqual([]);
    expect(clean.contents.length).toBeGreaterThan(2);
  });
  afterAll(async () => {
    await sim.close();
  });

  // Each fault hits the work package list, the id listing, the attachment list and a download.
  const routes: RouteName[] = ['work_packages', 'attachments', 'content'];
  const cases: [string, Omit<FaultSpec, 'route' | 'times'>][] = [
    ['500', { kind: 'status', status: 500 }],
    ['502', { kind: 'status', status: 502 }],
    ['503', { kind: 'status', status: 503 }],
    ['504', { kind: 'status', status: 504 }],
    ['429 + Retry-After', { kind: 'status', status: 429, retryAfter: 0 }],
    ['429 + RateLimit-Reset (epoch seconds, no Retry-After)', { kind: 'status', status: 429, rateLimitReset: 0 }],
    ['connection reset', { kind: 'reset' }],
    ['stall past the timeout', { kind: 'stall', stallMs: 5000 }],
    ['truncated body', { kind: 'truncate' }],
    ['corrupted body', { kind: 'corrupt' }],
    ['HTML maintenance page', { kind: 'html' }],
    ['invalid JSON', { kind: 'invalid-json' }],
  ];
  it.each(cases)('%s: retried, result identical to a fault-free read', async (_name, fault) => {
    const events: RequestEvent[] = [];
    const c = client(events);
    try {
      sim.clearFaults();
      sim.resetCounts();
      // Two hits on list pages (page 1 and a parallel later page), one on each other route.
      // Stalls (undici's timers tick at ~1 s) and epoch-second resets cost up to a second
      // each: those hit one list page and one download only, to keep the suite fast.
      const slow = fault.kind === 'stall' || fault.rateLimitReset !== undefined;
      sim.inject({ ...fault, route: 'work_packages', times: slow ? 1 : 2 });
      for (const route of slow ? ['content' as const] : routes.slice(1)) sim.inject({ ...fault, route, times: 1 });
      const hits = slow ? 2 : 4;
      const t0 = Date.now();
      const again = await snapshot(c, withAttachments);
      expect(again).toEqual(clean);
      // The faults really happened and were retried: one retry per injected fault at least.
      expect(c.stats().retries).toBe(hits);
      expect(events.filter((e) => e.attempt > 0).length).toBeGreaterThanOrEqual(hits);
      if (fault.kind === 'status') expect(sim.log().filter((l) => l.status === fault.status).length).toBe(hits);
      if (fault.kind === 'stall') {
        expect(events.filter((e) => e.error === 'UND_ERR_HEADERS_TIMEOUT').length).toBe(hits);
        expect(Date.now() - t0).toBeLessThan(4500); // gave up after timeoutMs (~1 s granularity), not stallMs (5 s)
      }
    } finally {
      sim.clearFaults();
      await c.close();
    }
  });

  it('redirected downloads: faults at the storage origin are retried too', async () => {
    const redirectSim = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: KEY, downloads: 'redirect' });
    const c = createOpenProjectClient({ baseUrl: redirectSim.url, apiKey: KEY, ...fast, onRequest: (e) => said.push(JSON.stringify(e)) });
    try {
      redirectSim.inject({ kind: 'truncate', route: 'storage', times: 1 });
      redirectSim.inject({ kind: 'status', status: 503, route: 'storage', times: 1 });
      redirectSim.inject({ kind: 'corrupt', route: 'storage', times: 1 });
      const contents: string[] = [];
      for (const att of clean.attachments) {
        const sink = memorySink();
        const r = await c.downloadAttachment(att, sink);
        contents.push(`${r.bytes}:${r.md5}:${createHash('sha256').update(sink.bytes()).digest('hex')}`);
      }
      expect(contents).toEqual(clean.contents);
      expect(c.stats().retries).toBe(3);
      expect(redirectSim.log().filter((l) => l.origin === 'storage').every((l) => !l.authorization)).toBe(true);
    } finally {
      await c.close();
      await redirectSim.close();
    }
  });

  it('Retry-After is honoured (seconds), and capped at maxBackoffMs', async () => {
    const c = client([], { backoffBaseMs: 1 });
    try {
      sim.inject({ kind: 'status', status: 503, retryAfter: 1, route: 'types', times: 1 });
      let t0 = Date.now();
      await c.listTypes();
      expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
      sim.inject({ kind: 'status', status: 429, rateLimitReset: 1, route: 'statuses', times: 1 });
      t0 = Date.now();
      await c.listStatuses();
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900); // epoch reset ≥ 1 s ahead
    } finally {
      await c.close();
    }
    const capped = client([], { backoffBaseMs: 1, maxBackoffMs: 200 });
    try {
      sim.inject({ kind: 'status', status: 429, retryAfter: 3600, route: 'types', times: 1 });
      const t0 = Date.now();
      await capped.listTypes();
      expect(Date.now() - t0).toBeLessThan(1500);
    } finally {
      await capped.close();
    }
  });

  it('gives up after `retries` with a clear error', async () => {
    const c = client([], { retries: 2 });
    try {
      sim.resetCounts();
      sim.inject({ kind: 'status', status: 503, route: 'types', times: 10 });
      const e = (await c.listTypes().catch((x: unknown) => x)) as OpenProjectError;
      said.push(e.message);
      expect(e).toBeInstanceOf(OpenProjectError);
      expect(e.status).toBe(503);
      expect(e.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/api\/v3\/types → 503 \[\w+\]: .*\(gave up after 3 attempts\)$/);
      expect(sim.counts().byRoute.types).toBe(3);
      sim.clearFaults();
      sim.inject({ kind: 'html', route: 'projects', times: 10 });
      const h = (await c.listProjects().catch((x: unknown) => x)) as Error;
      said.push(h.message);
      expect(h.message).toMatch(/\/api\/v3\/projects\?.* → 200: expected JSON, got text\/html; charset=utf-8: ".*Maintenance.*" \(gave up after 3 attempts\)/);
    } finally {
      sim.clearFaults();
      await c.close();
    }
  });

  it.each([400, 403, 404, 409, 422])('%i is not retried', async (status) => {
    const c = client([]);
    try {
      sim.resetCounts();
      sim.inject({ kind: 'status', status, route: 'attachments', times: 1 });
      const e = (await c.listAttachments(withAttachments[0]!).catch((x: unknown) => x)) as OpenProjectError;
      said.push(e.message);
      expect(e).toBeInstanceOf(OpenProjectError);
      expect(e.status).toBe(status);
      expect(sim.counts().byRoute.attachments).toBe(1);
      expect(c.stats().retries).toBe(0);
    } finally {
      sim.clearFaults();
      await c.close();
    }
  });
});

describe('clear errors', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: KEY });
  });
  afterAll(async () => {
    await sim.close();
  });

  it.each([
    ['a wrong API key (basic)', { apiKey: `${KEY}-wrong` }, 'You did not provide the correct credentials.'],
    ['a wrong token (bearer)', { token: `${KEY}-wrong` }, 'You did not provide the correct credentials.'],
    ['no credentials', {}, 'You need to be authenticated to access this resource.'],
  ])('401 with %s: names the request and what to check, not retried, no secret', async (_name, creds, serverMessage) => {
    const events: RequestEvent[] = [];
    const c = createOpenProjectClient({ baseUrl: sim.url, ...creds, backoffBaseMs: 1, onRequest: (e) => events.push(e) });
    try {
      sim.resetCounts();
      const e = (await c.listProjects().catch((x: unknown) => x)) as OpenProjectError;
      said.push(e.message, ...events.map((x) => JSON.stringify(x)));
      expect(e).toBeInstanceOf(OpenProjectError);
      expect(e.status).toBe(401);
      expect(e.errorIdentifier).toBe('Unauthenticated');
      expect(e.message).toContain(serverMessage);
      expect(e.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/api\/v3\/projects\?.* → 401 \[Unauthenticated\]: .*Check OPENPROJECT_API_KEY \(or OPENPROJECT_TOKEN\)/);
      expect(sim.counts().total).toBe(1);
      expect(events).toHaveLength(1);
    } finally {
      await c.close();
    }
  });

  it('TLS is verified: a self-signed certificate is refused with a named, unretried error', async () => {
    const dir = await mkdtemp(path.join(TEST_TMP, 'curate-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
      let requests = 0;
      const server = https.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) }, (_req, res) => {
        requests++;
        res.writeHead(200, { 'content-type': 'application/hal+json' }).end('{"_embedded":{"elements":[]}}');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const c = createOpenProjectClient({ baseUrl: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: KEY, backoffBaseMs: 1 });
      try {
        const e = (await c.listTypes().catch((x: unknown) => x)) as OpenProjectError;
        said.push(e.message);
        expect(e).toBeInstanceOf(OpenProjectError);
        expect(e.message).toMatch(/^GET https:\/\/127\.0\.0\.1:\d+\/api\/v3\/types: [A-Z_]*(SELF_SIGNED|CERT)[A-Z_]*: /);
        expect(requests).toBe(0);
        expect(c.stats().retries).toBe(0);
      } finally {
        await c.close();
        await new Promise<void>((r) => server.close(() => r()));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('404 says which resource', async () => {
    const c = createOpenProjectClient({ baseUrl: sim.url, apiKey: KEY });
    try {
      const e = (await c.listAttachments(999_999).catch((x: unknown) => x)) as OpenProjectError;
      said.push(e.message);
      expect(e).toBeInstanceOf(OpenProjectError);
      expect(e.message).toMatch(/\/api\/v3\/work_packages\/999999\/attachments → 404 \[NotFound\]: .*Work package #999999 \(its attachments\) does not exist or is not visible to this key\./);
      const s = (await c.getSchemaFields(1, 999).catch((x: unknown) => x)) as OpenProjectError;
      said.push(s.message);
      expect(s.message).toMatch(/schemas\/1-999 → 404 .*The work package schema 1-999 \(project-type\) does not exist/);
    } finally {
      await c.close();
    }
  });
});

describe('secrets', () => {
  it('a server that echoes the Authorization header into its error pages does not leak it', async () => {
    const server = http.createServer((req, res) => {
      const echo = `<html><pre>you sent: ${req.headers.authorization ?? ''}</pre></html>`;
      if (req.url?.startsWith('/api/v3/types')) res.writeHead(400, { 'content-type': 'text/html' }).end(echo);
      else if (req.url?.startsWith('/api/v3/statuses')) res.writeHead(200, { 'content-type': 'text/html' }).end(echo);
      else res.writeHead(403, { 'content-type': 'application/hal+json' }).end(JSON.stringify({ _type: 'Error', errorIdentifier: 'urn:openproject-org:api:v3:errors:MissingPermission', message: `denied for ${req.headers.authorization ?? ''}` }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const creds of [{ apiKey: KEY }, { token: KEY }]) {
        const c = createOpenProjectClient({ baseUrl: url, ...creds, retries: 1, backoffBaseMs: 1 });
        try {
          const messages = await Promise.all([c.listTypes(), c.listStatuses(), c.listProjects(), c.downloadAttachment({ id: 1, fileName: 'a', fileSize: 1, contentType: 'x', md5: null, createdAt: '', downloadHref: '/api/v3/attachments/1/content', containerId: 1 }, { open: () => ({ write: () => undefined, end: () => undefined, abort: () => undefined }) })].map((p) => p.then(() => 'resolved', (e: unknown) => (e as Error).message)));
          said.push(...messages);
          expect(messages.every((m) => m.includes('[REDACTED]'))).toBe(true);
        } finally {
          await c.close();
        }
      }
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('data is used as the server sent it: content that happens to contain the key is not altered', async () => {
    // Scrubbing is for error excerpts only; a short key like "k" must not mangle names.
    for (const key of ['k', KEY]) {
      const server = http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/hal+json' }).end(JSON.stringify({ _type: 'Collection', total: 1, count: 1, _embedded: { elements: [{ _type: 'Type', id: 1, name: `Risk ${key} check` }] } }));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const c = createOpenProjectClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: key, retries: 0 });
      try {
        expect((await c.listTypes())[0]!.name).toBe(`Risk ${key} check`);
      } finally {
        await c.close();
        await new Promise<void>((r) => server.close(() => r()));
      }
    }
  });

  it('the key (plain or base64 in a Basic header) is in no error message or onRequest event', () => {
    expect(said.length).toBeGreaterThan(100);
    const all = said.join('\n');
    expect(all).not.toContain(KEY);
    expect(all).not.toContain(BASIC);
    expect(all).not.toMatch(/(Basic|Bearer) (?!\[REDACTED\])\S/); // only the echo test's scrubbed ones
  });
});
