// Fault injection: which request gets hit (next N, or a seeded rate), and what a hit
// does to the response on the wire — an error status with the headers a real server
// or proxy sends, a reset, a stall, a truncated or corrupted body, HTML or broken JSON.
import type http from 'node:http';
import { HAL, errorBody, type Reply } from './http-util.js';
import { rng } from './rng.js';
import type { FaultSpec, RouteName } from './types.js';

export class FaultBook {
  private readonly faults: (FaultSpec & { remaining?: number })[] = [];
  private readonly random: () => number;
  constructor(seed: number) {
    this.random = rng(seed);
  }

  inject(fault: FaultSpec): void {
    if (fault.rate !== undefined && !(fault.rate >= 0 && fault.rate <= 1)) throw new Error('fault rate must be within 0..1');
    this.faults.push({ ...fault, ...(fault.times === undefined ? {} : { remaining: fault.times }) });
  }

  clear(): void {
    this.faults.length = 0;
  }

  /** The first fault that hits this request (consuming one of its `times`), or null. */
  pick(route: RouteName, path: string): FaultSpec | null {
    for (const f of this.faults) {
      const routes = f.route === undefined ? null : Array.isArray(f.route) ? f.route : [f.route];
      if (routes && !routes.includes(route)) continue;
      if (f.match && !f.match({ path, route })) continue;
      if (f.remaining !== undefined) {
        if (f.remaining <= 0) continue;
        f.remaining -= 1;
        return f;
      }
      // Neither `times` nor `rate`: every matching request (until clearFaults).
      if (f.rate === undefined || this.random() < f.rate) return f;
    }
    return null;
  }
}

/** The status a request is logged with: 0 when no response is ever sent. */
export function loggedStatus(reply: Reply, fault: FaultSpec | null): number {
  if (!fault) return reply.status;
  if (fault.kind === 'reset' || fault.kind === 'stall') return 0;
  if (fault.kind === 'status') return fault.status ?? 500;
  if (fault.kind === 'html' || fault.kind === 'invalid-json') return 200;
  return reply.status;
}

const MAINTENANCE_PAGE = '<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body><h1>Down for maintenance</h1><p>OpenProject is being updated. Please try again in a few minutes.</p></body></html>\n';

/**
 * Write `reply`, damaged by `fault` if any. `stalls` tracks held responses so close()
 * can end them (a stall must not keep a test process alive for two minutes).
 */
export async function send(req: http.IncomingMessage, res: http.ServerResponse, reply: Reply, fault: FaultSpec | null, stalls: Set<() => void>): Promise<void> {
  let body = reply.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(reply.body, 'utf8');
  let headers: Record<string, string | number> = { ...(reply.headers ?? {}) };
  let status = reply.status;
  if (fault) {
    switch (fault.kind) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'stall':
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(timer);
            stalls.delete(done);
            req.socket.off('close', done);
            resolve();
          };
          const timer = setTimeout(done, fault.stallMs ?? 120_000);
          stalls.add(done);
          req.socket.once('close', done);
        });
        req.socket.destroy();
        return;
      case 'status': {
        status = fault.status ?? 500;
        const throttled = status === 429 && fault.rateLimitReset !== undefined;
        // rack-attack's 429 says Throttled; other 429s (proxies, SaaS) TooManyRequests.
        body = Buffer.from(errorBody(status, throttled ? 'Throttled' : undefined));
        headers = { 'content-type': HAL };
        if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
        if (fault.rateLimitReset !== undefined) {
          headers['ratelimit-limit'] = 6;
          headers['ratelimit-remaining'] = 0;
          // Epoch seconds by the real clock: the client compares it with its own.
          headers['ratelimit-reset'] = Math.ceil(Date.now() / 1000 + fault.rateLimitReset);
        }
        break;
      }
      case 'html':
        status = 200;
        body = Buffer.from(MAINTENANCE_PAGE);
        headers = { 'content-type': 'text/html; charset=utf-8' };
        break;
      case 'invalid-json':
        status = 200;
        body = Buffer.from('{"_type":"WorkPackageCollection","total":12,"_embedded":{"elements":[{"_type":"WorkPackage","id":');
        headers = { 'content-type': HAL };
        break;
      case 'corrupt':
        // Same length, different bytes: only a digest check notices.
        body = Buffer.from(body);
        if (body.length === 0) break;
        for (let i = 0; i < body.length; i += 97) body[i] = body[i]! ^ 0xff;
        break;
      case 'trickle': {
        // The whole body, one byte every `trickleMs`: never idle long enough for an idle
        // timeout, yet it would take forever (issue 12 item 10: only an overall deadline ends it).
        res.writeHead(status, { ...headers, 'content-length': body.length });
        const every = fault.trickleMs ?? 1000;
        for (let i = 0; i < body.length && !req.socket.destroyed; i++) {
          res.write(body.subarray(i, i + 1));
          await new Promise<void>((resolve) => {
            const done = (): void => {
              clearTimeout(timer);
              stalls.delete(done);
              resolve();
            };
            const timer = setTimeout(done, every);
            stalls.add(done);
          });
        }
        res.end();
        return;
      }
      case 'truncate':
        res.writeHead(status, { ...headers, 'content-length': body.length });
        res.write(body.subarray(0, Math.floor(body.length / 2)));
        // Let the partial body reach the client before the connection dies.
        setTimeout(() => req.socket.destroy(), 5);
        return;
    }
  }
  res.writeHead(status, { ...headers, 'content-length': body.length });
  res.end(body);
}
