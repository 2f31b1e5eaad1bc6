// The one private request helper of the client: keep-alive pool, bounded concurrency,
// timeouts, retries with exponential backoff and full jitter, Retry-After and
// RateLimit-Reset, typed errors without secrets.
import pLimit from 'p-limit';
import { Agent, request, type Dispatcher } from 'undici';
import { CurateError, OpenProjectError, redactUrl } from '../errors.js';
import type { OpenProjectClientOptions, RequestEvent } from './types.js';

/** Statuses worth another try for an idempotent GET. 500 is included: GETs are safe to repeat and proxies emit it for transient upstream failures. */
export const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
const RETRY_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_ABORTED',
]);

export function isRetryableError(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  return typeof code === 'string' && RETRY_CODES.has(code);
}

/**
 * How long the server asked us to wait, in ms: `Retry-After` (seconds or an HTTP
 * date) or `RateLimit-Reset` (OpenProject's rack-attack sends epoch seconds; the IETF
 * draft uses delta seconds — values above 1e9 are taken as epoch). null = no hint.
 */
export function serverWaitMs(headers: Record<string, string | string[] | undefined>, now = Date.now()): number | null {
  const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
  const retryAfter = one(headers['retry-after']);
  if (retryAfter !== undefined) {
    const secs = Number(retryAfter);
    if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const reset = one(headers['ratelimit-reset']);
  if (reset !== undefined && Number.isFinite(Number(reset))) {
    const v = Number(reset);
    return Math.max(0, v > 1e9 ? v * 1000 - now : v * 1000);
  }
  return null;
}

/** Exponential backoff with full jitter, never below what the server asked for, capped. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, serverHint: number | null, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** attempt);
  const jitter = random() * exp;
  return Math.min(maxMs, Math.max(jitter, serverHint ?? 0));
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

export function checkBaseUrl(baseUrl: string, insecureHttp: boolean): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new CurateError('CONFIG', `OpenProject URL ${JSON.stringify(redactUrl(baseUrl))} is not a valid URL; set openproject.url or OPENPROJECT_URL`);
  }
  if (url.username || url.password) throw new CurateError('CONFIG', 'the OpenProject URL must not contain credentials; use OPENPROJECT_API_KEY or OPENPROJECT_TOKEN');
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new CurateError('CONFIG', `OpenProject URL must be https (got ${url.protocol})`);
  if (url.protocol === 'http:' && !LOOPBACK.test(url.hostname) && !insecureHttp) {
    throw new CurateError('CONFIG', `refusing plain http to ${url.host}: use https, or pass --insecure-http if you really mean it`);
  }
  return url;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

export class Http {
  readonly origin: string;
  readonly basePath: string;
  readonly agent: Agent;
  readonly limit: ReturnType<typeof pLimit>;
  readonly stats = { total: 0, byRoute: {} as Record<string, number>, bytes: 0, retries: 0 };
  private readonly authorization: string | null;

  constructor(private readonly options: OpenProjectClientOptions & { retries: number; backoffBaseMs: number; maxBackoffMs: number; timeoutMs: number; concurrency: number }) {
    const url = checkBaseUrl(options.baseUrl, options.insecureHttp ?? false);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.agent = new Agent({
      connections: options.concurrency + 2,
      keepAliveTimeout: 30_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: { timeout: options.timeoutMs },
    });
    this.limit = pLimit(options.concurrency);
    if (options.apiKey) this.authorization = `Basic ${Buffer.from(`apikey:${options.apiKey}`).toString('base64')}`;
    else if (options.token) this.authorization = `Bearer ${options.token}`;
    else this.authorization = null;
  }

  /** Absolute URL for a path we build (`/api/v3/...`), under the instance's sub-path. */
  api(path: string): string {
    return `${this.origin}${this.basePath}${path}`;
  }

  /** Absolute URL for an href the server gave us (already carries any sub-path). */
  resolve(href: string): string {
    return new URL(href, `${this.origin}/`).toString();
  }

  /** Credentials go to the configured OpenProject origin only — never to a redirect target elsewhere. */
  headersFor(url: string, accept: string): Record<string, string> {
    const h: Record<string, string> = { accept, 'user-agent': 'curate (+https://www.npmjs.com/package/curate)' };
    if (this.authorization && new URL(url).origin === this.origin) h.authorization = this.authorization;
    return h;
  }

  emit(event: RequestEvent): void {
    this.stats.total += 1;
    this.stats.byRoute[event.route] = (this.stats.byRoute[event.route] ?? 0) + 1;
    this.stats.bytes += event.bytes;
    if (event.attempt > 0) this.stats.retries += 1;
    this.options.onRequest?.(event);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }

  async backoff(attempt: number, hint: number | null): Promise<void> {
    await this.sleep(backoffMs(attempt, this.options.backoffBaseMs, this.options.maxBackoffMs, hint));
  }

  get retries(): number {
    return this.options.retries;
  }

  /** One raw GET (no retries), inside the concurrency limit. The caller consumes the body. */
  async rawGet(url: string, accept: string): Promise<HttpResponse> {
    const res = await request(url, { method: 'GET', headers: this.headersFor(url, accept), dispatcher: this.agent });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  }

  /** GET a JSON resource with retries; returns the parsed body. */
  async getJson(url: string, route: string): Promise<unknown> {
    let attempt = 0;
    for (;;) {
      const started = Date.now();
      let hint: number | null = null;
      let failure: unknown;
      try {
        const res = await this.limit(async () => {
          const r = await this.rawGet(url, 'application/hal+json, application/json');
          const text = await r.body.text();
          return { ...r, text };
        });
        const bytes = Buffer.byteLength(res.text);
        this.emit({ method: 'GET', route, url: redactUrl(url), status: res.status, attempt, ms: Date.now() - started, bytes });
        const contentType = String(res.headers['content-type'] ?? '');
        if (res.status >= 200 && res.status < 300) {
          if (!/json/i.test(contentType)) {
            failure = new OpenProjectError({ method: 'GET', url, status: res.status, message: `expected JSON, got ${contentType || 'no content type'}: ${JSON.stringify(res.text.slice(0, 80))}` });
          } else {
            try {
              return JSON.parse(res.text) as unknown;
            } catch (e) {
              failure = new OpenProjectError({ method: 'GET', url, status: res.status, message: `invalid JSON (${(e as Error).message}): ${JSON.stringify(res.text.slice(0, 80))}` });
            }
          }
        } else {
          const err = errorFromBody(url, res.status, res.text, contentType);
          if (!RETRY_STATUSES.has(res.status)) throw err;
          failure = err;
          hint = serverWaitMs(res.headers);
        }
      } catch (e) {
        if (e instanceof OpenProjectError && !RETRY_STATUSES.has(e.status ?? 0)) throw e;
        if (!(e instanceof OpenProjectError) && !isRetryableError(e)) throw e;
        failure = failure ?? e;
        if (!(e instanceof OpenProjectError)) {
          this.emit({ method: 'GET', route, url: redactUrl(url), status: null, attempt, ms: Date.now() - started, bytes: 0, error: (e as { code?: string }).code ?? 'error' });
        }
      }
      if (attempt >= this.options.retries) throw asFinalError(url, failure, attempt);
      await this.backoff(attempt, hint);
      attempt += 1;
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** An OpenProject error object (`_type: Error`) → OpenProjectError with identifier and message. */
export function errorFromBody(url: string, status: number, text: string, contentType: string): OpenProjectError {
  let identifier: string | null = null;
  let message = '';
  if (/json/i.test(contentType)) {
    try {
      const body = JSON.parse(text) as { errorIdentifier?: unknown; message?: unknown };
      if (typeof body.errorIdentifier === 'string') identifier = body.errorIdentifier.replace(/^urn:openproject-org:api:v3:errors:/, '');
      if (typeof body.message === 'string') message = body.message;
    } catch {
      /* not an error object; fall through */
    }
  }
  if (!message) message = text ? `unexpected ${contentType || 'response'}: ${JSON.stringify(text.slice(0, 80))}` : 'empty response';
  if (status === 401) message += ' Check OPENPROJECT_API_KEY (or OPENPROJECT_TOKEN) and that the key belongs to a user who can see these projects.';
  if (status === 403) message += ' The API key lacks a permission needed here (view work packages?).';
  if (status === 404) message += ' Check the URL and that the project/type exists and is visible to this key.';
  return new OpenProjectError({ method: 'GET', url, status, errorIdentifier: identifier, message });
}

function asFinalError(url: string, failure: unknown, attempt: number): Error {
  if (failure instanceof OpenProjectError) {
    return new OpenProjectError({ method: failure.method, url, status: failure.status, errorIdentifier: failure.errorIdentifier, message: `${failure.message.replace(/^.*?: /, '')} (gave up after ${attempt + 1} attempts)` });
  }
  const code = (failure as { code?: string } | null)?.code ?? 'network error';
  return new OpenProjectError({ method: 'GET', url, status: null, message: `${code}: ${(failure as Error)?.message ?? ''} (gave up after ${attempt + 1} attempts)`, cause: failure });
}
