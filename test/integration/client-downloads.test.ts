// Attachment downloads over real loopback HTTP: redirects to storage without
// credentials, hop limits and schemes, size caps, verification and retries by
// reopening the sink.
import { createHash } from 'node:crypto';
import { getEventListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttachmentDownloadError, createOpenProjectClient, type DownloadSink, type OpenProjectClient, type RequestEvent } from '../../src/openproject/index.js';
import { downloadAttachment } from '../../src/openproject/download.js';
import { Http } from '../../src/openproject/http.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import type { Attachment } from '../../src/types.js';
import { FIXTURE_DATASET } from '../helpers/env.js';

const KEY = 'opapi-77aa03-client-downloads-secret';
const said: string[] = [];

function recordingSink(): DownloadSink & { bytes(): Buffer; opens: number; aborts: number; ends: number } {
  let chunks: Buffer[] = [];
  const sink = {
    opens: 0,
    aborts: 0,
    ends: 0,
    bytes: () => Buffer.concat(chunks),
    open: () => {
      sink.opens++;
      chunks = [];
      return {
        write: (c: Uint8Array) => void chunks.push(Buffer.from(c)),
        end: () => void sink.ends++,
        abort: () => {
          sink.aborts++;
          chunks = [];
        },
      };
    },
  };
  return sink;
}

/** A second origin ("elsewhere") whose answers each test scripts. */
async function otherOrigin(handler: http.RequestListener): Promise<{ url: string; seen: { path: string; authorization: boolean }[]; close(): Promise<void> }> {
  const seen: { path: string; authorization: boolean }[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization !== undefined });
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function failure(p: Promise<unknown>): Promise<AttachmentDownloadError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(AttachmentDownloadError);
  said.push((e as Error).message);
  return e as AttachmentDownloadError;
}

describe('downloads', () => {
  let sim: Simulator;
  let client: OpenProjectClient;
  let atts: Attachment[];
  const events: RequestEvent[] = [];
  const content = (id: number): Buffer => sim.dataset.attachments.get(id)!.content as Buffer;

  beforeAll(async () => {
    sim = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: KEY, downloads: 'redirect' });
    client = createOpenProjectClient({
      baseUrl: sim.url,
      apiKey: KEY,
      retries: 2,
      backoffBaseMs: 1,
      timeoutMs: 2000,
      onRequest: (e) => {
        events.push(e);
        said.push(JSON.stringify(e));
      },
    });
    const containers = new Set<number>();
    for (const { meta } of sim.dataset.attachments.values()) containers.add(Number(/\d+$/.exec((meta._links as { container: { href: string } }).container.href)![0]));
    atts = [];
    for (const id of [...containers].slice(0, 4)) atts.push(...(await client.listAttachments(id)));
    expect(atts.length).toBeGreaterThan(3);
  });
  afterAll(async () => {
    await client.close();
    await sim.close();
  });

  it('a redirected download succeeds and carries no credentials to the storage origin', async () => {
    sim.resetCounts();
    for (const att of atts) {
      const sink = recordingSink();
      const r = await client.downloadAttachment(att, sink);
      expect(sink.bytes().equals(content(att.id))).toBe(true);
      expect(r).toEqual({ bytes: att.fileSize, md5: createHash('md5').update(content(att.id)).digest('hex') });
      expect(r.md5).toBe(att.md5);
      expect([sink.opens, sink.ends, sink.aborts]).toEqual([1, 1, 0]);
    }
    const log = sim.log();
    const storage = log.filter((l) => l.origin === 'storage');
    expect(storage).toHaveLength(atts.length);
    expect(storage.every((l) => l.status === 200 && !l.authorization)).toBe(true);
    // The OpenProject origin did get them (it answers 401 otherwise) and answered 302.
    const api = log.filter((l) => l.route === 'content');
    expect(api.every((l) => l.authorization && l.status === 302)).toBe(true);
    // The signed URL's signature is redacted in events.
    expect(events.filter((e) => e.url.includes('/bucket/')).every((e) => e.url.includes('signature=REDACTED'))).toBe(true);
  });

  it('a redirect back to the OpenProject origin may carry credentials; the other origin never sees them', async () => {
    const att = atts[0]!;
    const other = await otherOrigin((_req, res) => res.writeHead(307, { location: `${sim.url}/api/v3/attachments/${att.id}/content` }).end());
    try {
      sim.resetCounts();
      const sink = recordingSink();
      await client.downloadAttachment({ ...att, downloadHref: `${other.url}/hop` }, sink);
      expect(sink.bytes().equals(content(att.id))).toBe(true);
      expect(other.seen).toEqual([{ path: '/hop', authorization: false }]);
      expect(sim.log().map((l) => [l.origin, l.authorization])).toEqual([
        ['api', true],
        ['storage', false],
      ]);
    } finally {
      await other.close();
    }
  });

  it('follows up to 5 redirects; refuses a 6th, loops and non-HTTP schemes', async () => {
    const att = atts[0]!;
    const other = await otherOrigin((req, res) => {
      const m = /^\/chain\/(\d+)$/.exec(req.url ?? '');
      if (m) {
        const n = Number(m[1]);
        res.writeHead(302, { location: n > 1 ? `/chain/${n - 1}` : `${sim.url}/api/v3/attachments/${att.id}/content` }).end();
      } else if (req.url === '/loop-a') res.writeHead(303, { location: '/loop-b' }).end();
      else if (req.url === '/loop-b') res.writeHead(302, { location: '/loop-a' }).end();
      else if (req.url?.startsWith('/to/')) res.writeHead(302, { location: decodeURIComponent(req.url.slice(4)) }).end();
      else if (req.url === '/nowhere') res.writeHead(302).end();
      else res.writeHead(404).end();
    });
    try {
      // chain/4 → 3 → 2 → 1 → OpenProject → storage: 5 redirects, fine.
      const sink = recordingSink();
      await client.downloadAttachment({ ...att, downloadHref: `${other.url}/chain/4` }, sink);
      expect(sink.bytes().equals(content(att.id))).toBe(true);
      // chain/5: 6 redirects.
      const six = await failure(client.downloadAttachment({ ...att, downloadHref: `${other.url}/chain/5` }, recordingSink()));
      expect(six.reason).toBe('redirect');
      expect(six.message).toMatch(/more than 5 redirects/);
      const loop = await failure(client.downloadAttachment({ ...att, downloadHref: `${other.url}/loop-a` }, recordingSink()));
      expect(loop.message).toMatch(new RegExp(`attachment #${att.id} \\(${JSON.stringify(att.fileName)}\\): redirect loop`));
      for (const target of ['file:///etc/passwd', 'data:text/plain,hi', 'ftp://example.com/x', 'javascript:alert(1)']) {
        const e = await failure(client.downloadAttachment({ ...att, downloadHref: `${other.url}/to/${encodeURIComponent(target)}` }, recordingSink()));
        expect(e.message).toContain(`refusing to follow a redirect to a ${new URL(target).protocol} URL`);
      }
      expect((await failure(client.downloadAttachment({ ...att, downloadHref: `${other.url}/nowhere` }, recordingSink()))).message).toMatch(/without a Location/);
      // Redirect refusals are final: not retried.
      expect(other.seen.filter((s) => s.path === '/loop-a')).toHaveLength(1);
      expect(other.seen.every((s) => !s.authorization)).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('maxBytes: refused up front from fileSize (no request), and cut off while streaming', async () => {
    const att = atts.find((a) => a.fileSize > 1000)!;
    sim.resetCounts();
    const upFront = await failure(client.downloadAttachment(att, recordingSink(), { maxBytes: att.fileSize - 1 }));
    expect(upFront.reason).toBe('too-large');
    expect(upFront.message).toContain(`is ${att.fileSize} bytes, over the ${att.fileSize - 1}-byte limit`);
    expect(sim.log()).toHaveLength(0);
    // A server that lies about the size (declares little, streams a lot, no Content-Length).
    const other = await otherOrigin((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 1);
      let sent = 0;
      const pump = (): void => {
        while (sent < 64 && res.write(chunk)) sent++;
        if (sent >= 64) res.end();
        else res.once('drain', pump);
      };
      pump();
    });
    try {
      const sink = recordingSink();
      const e = await failure(client.downloadAttachment({ ...att, fileSize: 10, downloadHref: `${other.url}/liar` }, sink, { maxBytes: 100_000 }));
      expect(e.reason).toBe('too-large');
      expect(e.message).toMatch(/more than 100000 bytes arrived/);
      expect(sink.bytes().length).toBeLessThanOrEqual(100_000);
      expect([sink.ends, sink.aborts]).toEqual([0, 1]);
      expect(other.seen).toHaveLength(1); // not retried
    } finally {
      await other.close();
    }
  });

  it('a truncated or corrupted download is retried with a reopened sink', async () => {
    const att = atts[1]!;
    sim.inject({ kind: 'truncate', route: 'storage', times: 1 });
    sim.inject({ kind: 'corrupt', route: 'storage', times: 1 });
    const sink = recordingSink();
    await client.downloadAttachment(att, sink);
    expect(sink.bytes().equals(content(att.id))).toBe(true);
    expect([sink.opens, sink.aborts, sink.ends]).toEqual([3, 2, 1]);
    sim.clearFaults();
  });

  it('a mismatch that persists fails with a typed error naming id, file name and what mismatched', async () => {
    const att = atts[2]!;
    sim.inject({ kind: 'corrupt', route: 'storage', times: 10 });
    const sink = recordingSink();
    const md5 = await failure(client.downloadAttachment(att, sink));
    sim.clearFaults();
    expect(md5.attachmentId).toBe(att.id);
    expect(md5.fileName).toBe(att.fileName);
    expect(md5.reason).toBe('md5');
    expect(md5.message).toMatch(new RegExp(`attachment #${att.id} \\(${JSON.stringify(att.fileName)}\\): md5 mismatch: got [0-9a-f]{32}, expected ${att.md5} \\(gave up after 3 attempts\\)`));
    expect([sink.opens, sink.aborts, sink.ends]).toEqual([3, 3, 0]);
    // The metadata promises more bytes than the file has.
    const size = await failure(client.downloadAttachment({ ...att, fileSize: att.fileSize + 1 }, recordingSink()));
    expect(size.reason).toBe('size');
    expect(size.message).toContain(`size mismatch: got ${att.fileSize} bytes, expected ${att.fileSize + 1}`);
    // Without a digest, only the size is checked.
    const noDigest = recordingSink();
    await client.downloadAttachment({ ...att, md5: null }, noDigest);
    expect(noDigest.bytes().equals(content(att.id))).toBe(true);
  });

  // The sink fails while writing a chunk, or while finishing the file after the request
  // slot was given back: either way its own error, no retry, the partial file aborted.
  it.each([
    ['write', 'a failing sink (disk full) fails the download with its own error, without retries'],
    ['end', 'a sink that fails to finish the file (disk full at close) fails the download with its own error, without retries'],
  ] as const)('%s: %s', async (failing, _name) => {
    const att = atts[0]!;
    sim.resetCounts();
    let aborts = 0;
    const diskFull = Object.assign(new Error(`ENOSPC: no space left on device, ${failing === 'write' ? 'write' : 'close'}`), { code: 'ENOSPC' });
    const e = await client
      .downloadAttachment(att, {
        open: () => ({
          write: () => (failing === 'write' ? Promise.reject(diskFull) : undefined),
          end: () => (failing === 'end' ? Promise.reject(diskFull) : undefined),
          abort: () => void aborts++,
        }),
      })
      .catch((x: unknown) => x);
    expect(e).toBe(diskFull);
    expect(aborts).toBe(1);
    expect(sim.log().filter((l) => l.origin === 'storage')).toHaveLength(1);
  });

  it('finishing the file happens after the request slot is given back', async () => {
    // One slot: if end() (the sink's disk work) still held it, the request made from
    // inside end() could never start and the download would never finish.
    const one = createOpenProjectClient({ baseUrl: sim.url, apiKey: KEY, concurrency: 1, timeoutMs: 2000 });
    try {
      const att = atts[0]!;
      const sink = recordingSink();
      let projectsSeenFromEnd = -1;
      const download = one.downloadAttachment(att, {
        open: async () => {
          const w = await sink.open();
          return {
            write: w.write,
            abort: w.abort,
            end: async () => {
              projectsSeenFromEnd = (await one.listProjects()).length;
              await w.end();
            },
          };
        },
      });
      const outcome = await Promise.race([download.then(() => 'done'), new Promise((r) => setTimeout(() => r('stuck'), 5000))]);
      expect(outcome).toBe('done');
      expect(projectsSeenFromEnd).toBeGreaterThan(0);
      expect(sink.bytes().equals(content(att.id))).toBe(true);
    } finally {
      await one.close();
    }
  });

  it('inline downloads (local storage: 200 from the OpenProject origin) work the same', async () => {
    const inline = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: KEY, downloads: 'inline' });
    const c = createOpenProjectClient({ baseUrl: inline.url, token: KEY, onRequest: (e) => said.push(JSON.stringify(e)) });
    try {
      for (const att of atts) {
        const sink = recordingSink();
        await c.downloadAttachment(att, sink);
        expect(sink.bytes().equals(inline.dataset.attachments.get(att.id)!.content as Buffer)).toBe(true);
      }
      expect(inline.log().every((l) => l.origin === 'api' && l.status === 200 && l.authorization)).toBe(true);
      expect(c.stats().byRoute.content).toBe(atts.length);
    } finally {
      await c.close();
      await inline.close();
    }
  });

  // Node 20's AbortSignal.any registers each signal it makes with its sources for good (a
  // WeakRef in a set that never shrinks): one per download was 5 MB over a cold sync of
  // 100,000 and grew without end in `curate watch`. Each attempt's signal follows the
  // client's with a listener that goes when the attempt ends.
  it("downloads leave nothing registered on the client's signal, and its abort still ends one mid-body with its reason", async () => {
    const controller = new AbortController();
    const http = new Http({ baseUrl: sim.url, apiKey: KEY, retries: 0, backoffBaseMs: 1, maxBackoffMs: 1, timeoutMs: 2000, concurrency: 2, signal: controller.signal });
    const own = http.signal!;
    /** What the client's signal holds for others: listeners, and (Node 20) signals made from it by AbortSignal.any. */
    const registered = (): number => {
      const dependants = Object.getOwnPropertySymbols(own).find((k) => k.description === 'kDependantSignals');
      return getEventListeners(own, 'abort').length + ((dependants && (own as unknown as Record<symbol, Set<unknown> | undefined>)[dependants]?.size) ?? 0);
    };
    const before = registered();
    for (let round = 0; round < 5; round++) for (const att of atts) await downloadAttachment(http, att, recordingSink(), 1 << 30);
    expect(registered()).toBe(before);

    // A body that never ends: the client's abort ends the download with its reason, not a deadline retry.
    const stalled = await otherOrigin((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('x');
    });
    try {
      const reason = new Error('stopped by the user');
      const sink = recordingSink();
      const pending = downloadAttachment(http, { ...atts[0]!, downloadHref: `${stalled.url}/never-ends`, fileSize: 1000, md5: null }, { open: () => (setTimeout(() => controller.abort(reason), 50), sink.open()) }, 1 << 30).catch((x: unknown) => x);
      expect(await pending).toBe(reason);
      expect(registered()).toBe(0);
    } finally {
      await stalled.close();
      await http.close();
    }
  });

  it('no key in any error message or event', () => {
    expect(said.length).toBeGreaterThan(20);
    const all = said.join('\n');
    expect(all).not.toContain(KEY);
    expect(all).not.toContain(Buffer.from(`apikey:${KEY}`).toString('base64'));
  });
});
