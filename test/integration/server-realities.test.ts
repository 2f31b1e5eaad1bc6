// Issue 19 failure 14: server realities a simulator written from the docs misses.
// - An instance under a sub-path (https://host/openproject): the fallback content link of an
//   attachment without `staticDownloadLocation` must keep the sub-path.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createOpenProjectClient, type DownloadSink } from '../../src/openproject/index.js';

function memorySink(): DownloadSink & { bytes(): Buffer } {
  let chunks: Buffer[] = [];
  return {
    open: () => ({
      write: (c: Uint8Array) => void chunks.push(Buffer.from(c)),
      end: () => undefined,
      abort: () => void (chunks = []),
    }),
    bytes: () => Buffer.concat(chunks),
  };
}

/** A minimal OpenProject instance served under /openproject: one work package's attachments and their content. */
async function subPathInstance(attachmentLinks: Record<string, { href: string }>): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const content = Buffer.from('the attachment bytes\n');
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const hal = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/hal+json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/openproject/api/v3/work_packages/7/attachments') {
      return hal(200, {
        _type: 'Collection',
        total: 1,
        count: 1,
        _embedded: {
          elements: [
            {
              _type: 'Attachment',
              id: 901,
              fileName: 'report.pdf',
              fileSize: content.length,
              contentType: 'application/pdf',
              digest: { algorithm: 'md5', hash: createHash('md5').update(content).digest('hex') },
              createdAt: '2024-01-01T00:00:00Z',
              _links: { container: { href: '/openproject/api/v3/work_packages/7' }, ...attachmentLinks },
            },
          ],
        },
      });
    }
    if (req.url === '/openproject/api/v3/attachments/901/content') {
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': content.length });
      return res.end(content);
    }
    hal(404, { _type: 'Error', errorIdentifier: 'urn:openproject-org:api:v3:errors:NotFound', message: 'The requested resource could not be found.' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/openproject`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

describe('an instance under a sub-path (issue 19 #14)', () => {
  it.each([
    ['without staticDownloadLocation (the fallback content route)', {}],
    ['with staticDownloadLocation (the server includes the sub-path)', { staticDownloadLocation: { href: '/openproject/api/v3/attachments/901/content' } }],
  ])('downloads an attachment %s under the sub-path', async (_what, links) => {
    const inst = await subPathInstance(links);
    const client = createOpenProjectClient({ baseUrl: inst.url, apiKey: 'k', retries: 0, timeoutMs: 2000 });
    try {
      const [att] = await client.listAttachments(7);
      const sink = memorySink();
      await client.downloadAttachment(att!, sink);
      expect(sink.bytes().toString()).toBe('the attachment bytes\n');
      expect(inst.requests).toContain('/openproject/api/v3/attachments/901/content');
      expect(inst.requests.some((r) => r.startsWith('/api/'))).toBe(false);
    } finally {
      await client.close();
      await inst.close();
    }
  });
});
