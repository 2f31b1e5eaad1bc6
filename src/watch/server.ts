// The watcher's HTTP face, on node:http: POST /webhook, GET /healthz, GET /metrics.
// Order of checks for a webhook: route and method, size (413 before reading more than the
// limit), signature over the raw bytes (401, nothing parsed or queued), JSON (400), then
// 202 at once: the sync runs later, so OpenProject's delivery never waits on it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseWebhook, PayloadProblem, type WebhookEvent } from './payload.js';
import type { Metrics, RejectReason } from './metrics.js';
import { verifySignature } from './signature.js';

export const MAX_BODY_BYTES = 1024 * 1024;

export interface WebhookServerOptions {
  host: string;
  port: number;
  /** null: signatures are not checked (only allowed on loopback, see the command). */
  secret: string | null;
  metrics: Metrics;
  /** A verified, parsed event: 'queued' or 'ignored' (both answered 202). */
  onEvent(e: WebhookEvent): 'queued' | 'ignored';
  /** A refused request, for the log. Never given the body. */
  onReject(reason: RejectReason, detail: string): void;
  /** A bug in a handler (answered 500). */
  onError(e: unknown): void;
  /** `ready` false (starting) or `failing` true answer 503, so a health check sees it. */
  health(): { ready: boolean; failing?: boolean; body: Record<string, unknown> };
  queued(): number;
}

export interface WebhookServer {
  /** `http://host:port` as bound (port 0 → the port chosen). */
  url: string;
  /** Stops accepting, ends idle keep-alive connections, waits (bounded) for requests in flight. */
  close(): Promise<void>;
}

const ROUTES: Record<string, string[]> = { '/webhook': ['POST'], '/healthz': ['GET', 'HEAD'], '/metrics': ['GET', 'HEAD'] };

function reply(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

class ClientGone extends Error {}

/** Reads at most `limit` bytes; null when the body is larger (the rest is discarded). */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      resolve(null);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        resolve(null);
        return;
      }
      chunks.push(c);
    });
    let ended = false;
    req.on('end', () => {
      ended = true;
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
    // A sender that goes away mid-body: nothing to answer, nothing kept.
    req.on('close', () => {
      if (!ended && !over) reject(new ClientGone());
    });
  });
}

export async function startWebhookServer(o: WebhookServerOptions): Promise<WebhookServer> {
  const reject = (res: http.ServerResponse, status: number, reason: RejectReason, detail: string, headers: Record<string, string> = {}): void => {
    o.metrics.reject(reason);
    o.onReject(reason, detail);
    reply(res, status, { error: detail }, headers);
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const pathname = new URL(req.url ?? '/', 'http://watch.invalid').pathname;
      const methods = ROUTES[pathname];
      const method = req.method ?? 'GET';
      if (!methods) {
        req.resume();
        return reject(res, 404, 'not_found', `no such path: ${pathname.slice(0, 100)}`);
      }
      if (!methods.includes(method)) {
        req.resume();
        return reject(res, 405, 'method_not_allowed', `${method} is not allowed on ${pathname}`, { allow: methods.join(', ') });
      }
      if (pathname === '/healthz') {
        const h = o.health();
        return reply(res, h.ready && !h.failing ? 200 : 503, h.body);
      }
      if (pathname === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
        res.end(method === 'HEAD' ? undefined : o.metrics.render({ queued: o.queued(), ready: o.health().ready }));
        return;
      }
      const body = await readBody(req, MAX_BODY_BYTES);
      if (body === null) {
        // The sender may still be writing: answer, then close rather than read the rest.
        return reject(res, 413, 'too_large', `the body is larger than ${MAX_BODY_BYTES} bytes`, { connection: 'close' });
      }
      if (o.secret !== null) {
        const check = verifySignature(body, req.headers['x-op-signature'], o.secret);
        if (check === 'missing') return reject(res, 401, 'signature_missing', 'the X-OP-Signature header is missing');
        if (check !== 'ok') return reject(res, 401, 'signature_invalid', 'the X-OP-Signature header does not match the body');
      }
      let event: WebhookEvent;
      try {
        event = parseWebhook(JSON.parse(body.toString('utf8')) as unknown);
      } catch (e) {
        const detail = e instanceof PayloadProblem ? e.message : 'the body is not JSON';
        return reject(res, 400, 'malformed', detail);
      }
      const outcome = o.onEvent(event);
      if (outcome === 'queued') o.metrics.accepted += 1;
      else o.metrics.ignored += 1;
      reply(res, 202, { status: outcome });
    })().catch((e: unknown) => {
      if (e instanceof ClientGone || res.destroyed) return void res.destroy();
      if (!res.headersSent) reply(res, 500, { error: 'internal error' });
      else res.destroy();
      o.onError(e);
    });
  });
  // A webhook body is small: a client that trickles it is cut off rather than held forever.
  server.requestTimeout = 15_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(o.port, o.host, () => {
      server.off('error', rejectListen);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests in flight are tiny; whatever is still open after a moment is cut.
        setTimeout(() => server.closeAllConnections(), 500).unref();
      }),
  };
}
