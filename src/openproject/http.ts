// The one private request helper of the client: keep-alive pool, bounded concurrency,
// timeouts, retries with exponential backoff and full jitter, Retry-After and
// RateLimit-Reset, typed errors without secrets.
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent, request, type Dispatcher } from './undici-core.js';
import { CurateError, OpenProjectError, redactUrl } from '../errors.js';
import type { OpenProjectClientOptions, RequestEvent } from './types.js';
import { requestSlots } from './slots.js';

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

export function isRetryableError(e: unknown, url?: string): boolean {
  const code = (e as { code?: string } | null)?.code;
  // Nothing listens on that port of this machine: no restart to wait for, so fail at once.
  if (code === 'ECONNREFUSED' && url !== undefined && LOOPBACK.test(new URL(url).hostname)) return false;
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
  /** The Authorization value this request carried (to tell, after a 401, whether it was the current one). */
  sentWith: string | null;
}

export class Http {
  readonly origin: string;
  readonly basePath: string;
  readonly agent: Agent;
  /**
   * The request slots: a function queued here runs only if the client was not aborted
   * meanwhile; an urgent one (a changes walk's page) before every queued one that is not.
   */
  readonly limit: <T>(fn: () => Promise<T>, urgent?: boolean) => Promise<T>;
  /** The client's abort signal (options.signal), if any. */
  readonly signal: AbortSignal | undefined;
  readonly stats = { total: 0, byRoute: {} as Record<string, number>, bytes: 0, retries: 0 };
  /** The server's `Date` header (ms since epoch) at the most recent successful JSON response. */
  serverDate: number | null = null;
  private authorization: string | null = null;
  /** The secret in every form it travels in (every token read so far too), for scrubbing server-echoed text. */
  private readonly secrets: string[] = [];
  /** Added to a 401's message: what is wrong with the kind of credential configured, if anything. */
  private authHint = '';
  /** options.tokenFile when no API key is set: read again after a 401 (an expired token renewed there). */
  private readonly tokenFile: string | undefined;
  private token: string | undefined;

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
    // An own signal that follows the caller's: every request in flight and every retry wait
    // listens to it (one listener each, so no max-listeners warning on the caller's signal).
    if (options.signal) {
      const own = new AbortController();
      setMaxListeners(0, own.signal);
      const outer = options.signal;
      if (outer.aborted) own.abort(outer.reason);
      else outer.addEventListener('abort', () => own.abort(outer.reason), { once: true });
      this.signal = own.signal;
    } else this.signal = undefined;
    const slots = requestSlots(options.concurrency);
    // Queued requests are not cleared on abort (their promises would never settle): each
    // one, given its slot, throws the abort reason at once instead of sending anything.
    this.limit = (fn, urgent) =>
      slots(() => {
        this.throwIfAborted();
        return fn();
      }, urgent);
    this.tokenFile = options.apiKey ? undefined : options.tokenFile;
    this.setCredentials(options.apiKey, this.tokenFile ? readTokenFile(this.tokenFile) : options.token);
  }

  private setCredentials(apiKey: string | undefined, token: string | undefined): void {
    this.token = token;
    if (apiKey) this.authorization = `Basic ${Buffer.from(`apikey:${apiKey}`).toString('base64')}`;
    else if (token) this.authorization = `Bearer ${token}`;
    else this.authorization = null;
    // OpenProject takes a bearer value for one of its own API tokens only with their
    // `opapi-` prefix; anything else goes to OAuth / OIDC token validation and fails there.
    // Such an access token expires (after an hour or a few): say how to renew it.
    const source = this.tokenFile ? `The bearer token read from OPENPROJECT_TOKEN_FILE (${this.tokenFile})` : 'OPENPROJECT_TOKEN';
    if (apiKey || !token) this.authHint = '';
    else if (this.tokenFile) {
      this.authHint = ` ${source} was refused, also as read again after this 401: an OAuth access token expires (after an hour or a few); renew the token in that file (curate reads it again after every 401, no restart needed).`;
    } else if (!token.startsWith('opapi-')) {
      this.authHint =
        ' OPENPROJECT_TOKEN is sent as a bearer token but does not start with "opapi-": OpenProject treats such a value as an OAuth/OIDC access token, which expires (after an hour or a few): renew it, or, for a long-running `curate watch`, put it in a file named by OPENPROJECT_TOKEN_FILE, which curate reads again after every 401 (a sidecar can keep it fresh). An API token from "My account → Access tokens" starts with "opapi-" (copy it whole), or set the key as OPENPROJECT_API_KEY (HTTP Basic) instead.';
    } else this.authHint = '';
    const secret = apiKey || token;
    if (secret) for (const form of [secret, Buffer.from(`apikey:${secret}`).toString('base64')]) if (!this.secrets.includes(form)) this.secrets.push(form);
  }

  /**
   * After a 401 of a request sent with `sentWith`: read the token file again. True when the
   * client now has another token than the refused one (renewed by this call, or by a
   * parallel request's), which is then used: the request is worth repeating once. False
   * without a token file, or when the file still holds the refused token.
   */
  renewToken(sentWith: string | null): boolean {
    if (!this.tokenFile) return false;
    if (sentWith !== this.authorization) return true;
    let next: string;
    try {
      next = readTokenFile(this.tokenFile);
    } catch {
      return false;
    }
    if (next === this.token) return false;
    this.setCredentials(undefined, next);
    return true;
  }

  /** Absolute URL for a path we build (`/api/v3/...`), under the instance's sub-path. */
  api(path: string): string {
    return `${this.origin}${this.basePath}${path}`;
  }

  /**
   * Absolute URL for an href: one the server gave us (absolute, or a path from the origin
   * that already carries any sub-path) as it is; a relative reference (no leading slash,
   * built by curate, e.g. the fallback attachment content route) under the instance's URL,
   * sub-path included.
   */
  resolve(href: string): string {
    return new URL(href, `${this.origin}${this.basePath}/`).toString();
  }

  /** Credentials go to the configured OpenProject origin only — never to a redirect target elsewhere. */
  headersFor(url: string, accept: string): Record<string, string> {
    const h: Record<string, string> = { accept, 'user-agent': 'curate (+https://www.npmjs.com/package/curate)' };
    if (this.authorization && new URL(url).origin === this.origin) h.authorization = this.authorization;
    return h;
  }

  /**
   * Remove the key from text that came from a server (error bodies, excerpts): a
   * misbehaving proxy may echo request headers back into its error page.
   */
  scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('[REDACTED]');
    return out;
  }

  emit(event: RequestEvent): void {
    this.stats.total += 1;
    this.stats.byRoute[event.route] = (this.stats.byRoute[event.route] ?? 0) + 1;
    this.stats.bytes += event.bytes;
    this.options.onRequest?.(event);
  }

  /** Throws the abort reason once the client's signal is aborted. */
  throwIfAborted(): void {
    if (this.signal?.aborted) throw this.signal.reason ?? new Error('aborted');
  }

  /** A wait that ends (rejecting with the abort reason) when the client is aborted. */
  sleep(ms: number): Promise<void> {
    const signal = this.signal;
    if (!signal) return new Promise((r) => setTimeout(r, ms));
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        if (signal.aborted) reject(signal.reason);
        else resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Wait before retry number `attempt + 1` (this is what stats().retries counts). */
  async backoff(attempt: number, hint: number | null): Promise<void> {
    this.stats.retries += 1;
    await this.sleep(backoffMs(attempt, this.options.backoffBaseMs, this.options.maxBackoffMs, hint));
  }

  get retries(): number {
    return this.options.retries;
  }

  /**
   * One raw GET (no retries), inside the concurrency limit. The caller consumes the body.
   * `signal` (a download's attempt) replaces the client's: it must follow it.
   */
  async rawGet(url: string, accept: string, signal?: AbortSignal): Promise<HttpResponse> {
    this.throwIfAborted();
    const both = signal ?? this.signal;
    const headers = this.headersFor(url, accept);
    try {
      const res = await request(url, { method: 'GET', headers, dispatcher: this.agent, ...(both ? { signal: both } : {}) });
      return { status: res.statusCode, headers: res.headers, body: res.body, sentWith: headers.authorization ?? null };
    } catch (e) {
      this.throwIfAborted();
      throw e;
    }
  }

  /**
   * GET a JSON resource with retries; returns the parsed body. `resource` says what was
   * asked for (e.g. "work package #5") so a 404 can name it.
   */
  async getJson(url: string, route: string, resource?: string, opts: { signal?: AbortSignal; urgent?: boolean } = {}): Promise<unknown> {
    const { signal, urgent = false } = opts;
    let renewed = false;
    // A request of its own that the caller may drop (an early listing whose query the server's
    // names did not confirm, sync/early-listings.ts): it follows the client's signal too.
    const own = signal ? (this.signal ? AbortSignal.any([signal, this.signal]) : signal) : undefined;
    for (let attempt = 0; ; attempt++) {
      own?.throwIfAborted();
      const started = Date.now();
      let failure: Failure;
      try {
        const res = await this.limit(async () => {
          own?.throwIfAborted();
          const r = await this.rawGet(url, 'application/hal+json, application/json', own);
          return { ...r, raw: await r.body.text() };
        }, urgent);
        const contentType = headerValue(res.headers['content-type']);
        const event = { method: 'GET', route, url: redactUrl(url), status: res.status, attempt, ms: Date.now() - started, bytes: Buffer.byteLength(res.raw) };
        const ok = res.status >= 200 && res.status < 300;
        // Data is used as the server sent it (scrubbing it would alter content that merely
        // contains the key's characters); only bodies that end up excerpted in an error are
        // scrubbed, before excerpting, since a cut-off secret would escape a later scrub.
        const parsed = ok ? parseJsonBody(res.raw, contentType) : null;
        if (parsed?.ok) {
          const date = Date.parse(headerValue(res.headers.date));
          if (!Number.isNaN(date)) this.serverDate = date;
          this.emit(event);
          return parsed.value;
        }
        const text = this.scrub(res.raw);
        if (ok) {
          // Proxies serve maintenance pages and cut bodies short: worth another try.
          this.emit({ ...event, error: 'not JSON' });
          const bad = parseJsonBody(text, contentType);
          failure = { status: res.status, identifier: null, detail: bad.ok ? 'the response changed while it was scrubbed' : bad.detail, hint: null };
        } else {
          this.emit(event);
          // A token file renewed meanwhile (an expired OAuth token): once more with the new token, no wait.
          if (res.status === 401 && !renewed && this.renewToken(res.sentWith)) {
            renewed = true;
            attempt -= 1;
            continue;
          }
          const detail = errorDetail(res.status, text, contentType, resource) + (res.status === 401 ? this.authHint : '');
          const identifier = errorObject(text, contentType)?.identifier ?? null;
          if (!RETRY_STATUSES.has(res.status)) throw new OpenProjectError({ method: 'GET', url, status: res.status, errorIdentifier: identifier, message: detail });
          failure = { status: res.status, identifier, detail, hint: serverWaitMs(res.headers) };
        }
      } catch (e) {
        // An aborted client (or request): the abort itself, not a network failure to retry or report.
        this.throwIfAborted();
        own?.throwIfAborted();
        if (e instanceof OpenProjectError) throw e;
        const code = (e as { code?: string }).code ?? 'network error';
        // DNS, TLS (certificates are always verified) and the like: final, but named.
        if (!isRetryableError(e, url)) {
          if (typeof (e as { code?: unknown }).code !== 'string') throw e;
          this.emit({ method: 'GET', route, url: redactUrl(url), status: null, attempt, ms: Date.now() - started, bytes: 0, error: code });
          throw new OpenProjectError({ method: 'GET', url, status: null, message: this.scrub(`${code}: ${(e as Error).message}`), cause: e });
        }
        this.emit({ method: 'GET', route, url: redactUrl(url), status: null, attempt, ms: Date.now() - started, bytes: 0, error: code });
        failure = { status: null, identifier: null, detail: this.scrub(`${code}: ${(e as Error).message}`), hint: null, cause: e };
      }
      if (attempt >= this.options.retries) {
        throw new OpenProjectError({ method: 'GET', url, status: failure.status, errorIdentifier: failure.identifier, message: `${failure.detail} (gave up after ${attempt + 1} attempts)`, cause: failure.cause });
      }
      await this.backoff(attempt, failure.hint);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

interface Failure {
  status: number | null;
  identifier: string | null;
  detail: string;
  hint: number | null;
  cause?: unknown;
}

function headerValue(v: string | string[] | undefined): string {
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

/** A short, single-line excerpt of a body for messages (never headers). */
export function excerpt(text: string, max = 80): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max)}…` : flat);
}

/** A 2xx body that should be JSON: the value, or what came back instead. */
export function parseJsonBody(text: string, contentType: string): { ok: true; value: unknown } | { ok: false; detail: string } {
  const what = contentType || 'no content type';
  if (!/json/i.test(contentType)) return { ok: false, detail: `expected JSON, got ${what}: ${excerpt(text)}` };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, detail: `expected JSON, got invalid ${what} (${(e as Error).message}; ${text.length} bytes): ${excerpt(text)}` };
  }
}

/** The OpenProject error object (`_type: Error`) of a body, if it is one. */
export function errorObject(text: string, contentType: string): { identifier: string | null; message: string } | null {
  if (!/json/i.test(contentType)) return null;
  try {
    const body = JSON.parse(text) as { errorIdentifier?: unknown; message?: unknown } | null;
    if (!body || typeof body !== 'object') return null;
    return {
      identifier: typeof body.errorIdentifier === 'string' ? body.errorIdentifier.replace(/^urn:openproject-org:api:v3:errors:/, '') : null,
      message: typeof body.message === 'string' ? body.message : '',
    };
  } catch {
    return null;
  }
}

export function errorDetail(status: number, text: string, contentType: string, resource?: string): string {
  let message = errorObject(text, contentType)?.message || (text ? `unexpected ${contentType || 'response'}: ${excerpt(text)}` : 'empty response');
  if (status === 401) message += ' Check OPENPROJECT_API_KEY (or OPENPROJECT_TOKEN) and that the key belongs to a user who can see these projects.';
  if (status === 403) message += ` The API key lacks a permission needed to read ${resource ?? 'this resource'} (view work packages?).`;
  if (status === 404) message += ` ${resource ? `${resource[0]!.toUpperCase()}${resource.slice(1)} does not exist or is not visible to this key` : 'Check the URL and that the resource exists and is visible to this key'}.`;
  return message;
}

/** An error response → OpenProjectError with identifier and message. `resource` names what was asked for. */
export function errorFromBody(url: string, status: number, text: string, contentType: string, resource?: string): OpenProjectError {
  return new OpenProjectError({ method: 'GET', url, status, errorIdentifier: errorObject(text, contentType)?.identifier ?? null, message: errorDetail(status, text, contentType, resource) });
}

/** The bearer token in a file (OPENPROJECT_TOKEN_FILE), trimmed; a missing, unreadable or empty file is a configuration error naming it. */
export function readTokenFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CurateError('CONFIG', `cannot read the token file ${file} (OPENPROJECT_TOKEN_FILE): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const token = text.trim();
  if (!token) throw new CurateError('CONFIG', `the token file ${file} (OPENPROJECT_TOKEN_FILE) is empty`);
  return token;
}
