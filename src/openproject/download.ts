// Streamed, verified attachment downloads. Redirects are followed here (not by undici) so
// that every hop is checked: http/https only, no loops, at most 5 hops, and the
// Authorization header only ever goes to the configured OpenProject origin — a signed
// storage URL on another origin gets no credentials (README §4: S3/fog answers 302).
import { createHash } from 'node:crypto';
import { AttachmentNotReadyError, AttachmentQuarantinedError, OpenProjectError, redactUrl } from '../errors.js';
import type { Attachment } from '../types.js';
import { RETRY_STATUSES, errorDetail, errorObject, isRetryableError, serverWaitMs, type Http } from './http.js';
import type { DownloadResult, DownloadSink, DownloadWriter } from './types.js';

export const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** What went wrong with a download, for callers that react to it (and for tests). */
export type DownloadFailure = 'too-large' | 'size' | 'md5' | 'redirect' | 'status' | 'network' | 'deadline' | 'expired';

/**
 * The overall time one download attempt may take, from its request to its last byte:
 * `minSeconds + secondsPerMiB × size in MiB`. The per-request timeout only bounds idle
 * time, so a server trickling a byte every few seconds would otherwise hold a download (and
 * the sync) forever; on expiry the attempt is retried, then the download fails.
 */
export interface DownloadDeadline {
  minSeconds: number;
  secondsPerMiB: number;
}

/** The one place the default lives (≈ 35 KB/s at worst, after a minute's grace). */
export const DEFAULT_DOWNLOAD_DEADLINE: DownloadDeadline = { minSeconds: 60, secondsPerMiB: 30 };

export function deadlineMs(d: DownloadDeadline, bytes: number): number {
  return Math.round((d.minSeconds + (d.secondsPerMiB * bytes) / (1024 * 1024)) * 1000);
}

/** A download that failed for good: names the attachment id, its file name and what mismatched. */
export class AttachmentDownloadError extends OpenProjectError {
  constructor(
    readonly attachmentId: number,
    readonly fileName: string,
    readonly reason: DownloadFailure,
    init: { url: string; status: number | null; errorIdentifier?: string | null; message: string; cause?: unknown },
  ) {
    super({ method: 'GET', ...init, message: `attachment #${attachmentId} (${JSON.stringify(fileName)}): ${init.message}` });
  }
}

/** One failed attempt that deserves another (truncated, corrupted, transient status, reset). */
class RetryableAttempt extends Error {
  constructor(
    readonly reason: DownloadFailure,
    readonly url: string,
    readonly status: number | null,
    message: string,
    readonly hint: number | null = null,
  ) {
    super(message);
  }
}

export async function downloadAttachment(http: Http, att: Attachment, sink: DownloadSink, maxBytes: number, deadline: DownloadDeadline = DEFAULT_DOWNLOAD_DEADLINE): Promise<DownloadResult> {
  // Never a request (so never a partial file) for what the metadata says is not there.
  if (att.status === 'quarantined') throw new AttachmentQuarantinedError(att.id, att.fileName, att.containerId);
  if (att.status === 'prepared') throw new AttachmentNotReadyError(att.id, att.fileName, att.containerId, 'prepared', 'its upload has not finished');
  if (att.status === 'rescan') throw new AttachmentNotReadyError(att.id, att.fileName, att.containerId, 'rescan', 'it is being scanned for viruses again');
  const start = http.resolve(att.downloadHref);
  const fail = (reason: DownloadFailure, url: string, status: number | null, message: string, extra: { errorIdentifier?: string | null; cause?: unknown } = {}) =>
    new AttachmentDownloadError(att.id, att.fileName, reason, { url, status, message, ...extra });
  // Refuse up front what the metadata already declares too big; the stream is counted too.
  if (att.fileSize > maxBytes) throw fail('too-large', start, null, `is ${att.fileSize} bytes, over the ${maxBytes}-byte limit (declared size; not downloaded)`);
  for (let attempt = 0; ; attempt++) {
    let last: RetryableAttempt;
    try {
      const done = await http.limit(() => attemptDownload(http, att, sink, maxBytes, attempt, fail, deadlineMs(deadline, att.fileSize)));
      // The bytes are in and verified: finishing the file (disk work) happens after the
      // request slot is given back, so it never holds up the next request.
      try {
        await done.writer.end();
      } catch (e) {
        await Promise.resolve(done.writer.abort()).catch(() => undefined);
        throw new SinkFailure(e);
      }
      return done.result;
    } catch (e) {
      const code = (e as { code?: unknown } | null)?.code;
      // The client was aborted (Ctrl-C): the abort, not a download failure to retry.
      http.throwIfAborted();
      // The sink's own failure (disk full, …) is not the network's: no retry, its own error.
      if (e instanceof SinkFailure) throw e.cause;
      if (e instanceof AttachmentNotReadyError) throw e;
      if (e instanceof RetryableAttempt) last = e;
      else if (isRetryableError(e)) last = new RetryableAttempt('network', start, null, http.scrub(`${String(code)}: ${(e as Error).message}`));
      else if (typeof code === 'string' && !(e instanceof OpenProjectError)) throw fail('network', start, null, http.scrub(`${code}: ${(e as Error).message}`), { cause: e });
      else throw e;
    }
    if (attempt >= http.retries) throw fail(last.reason, last.url, last.status, `${last.message} (gave up after ${attempt + 1} attempts)`, { cause: last });
    await http.backoff(attempt, last.hint);
  }
}

type Fail = (reason: DownloadFailure, url: string, status: number | null, message: string, extra?: { errorIdentifier?: string | null; cause?: unknown }) => AttachmentDownloadError;

/** A verified download whose writer still has to be ended (or aborted) by the caller. */
interface Received {
  result: DownloadResult;
  writer: DownloadWriter;
}

async function attemptDownload(http: Http, att: Attachment, sink: DownloadSink, maxBytes: number, attempt: number, fail: Fail, limitMs: number): Promise<Received> {
  // One signal for the attempt: its deadline, or the client's abort. It follows the
  // client's signal with a listener removed when the attempt ends, not AbortSignal.any:
  // on Node 20 every signal `any` makes stays registered with the client's (a WeakRef in
  // a set that never shrinks), 5 MB over the 100,000 downloads of a cold sync, and
  // without end in `curate watch`.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), limitMs);
  const client = http.signal;
  const follow = (): void => abort.abort(client!.reason);
  if (client?.aborted) follow();
  else client?.addEventListener('abort', follow, { once: true });
  try {
    return await attemptWithin(http, att, sink, maxBytes, attempt, fail, abort.signal, limitMs);
  } finally {
    clearTimeout(timer);
    client?.removeEventListener('abort', follow);
  }
}

async function attemptWithin(http: Http, att: Attachment, sink: DownloadSink, maxBytes: number, attempt: number, fail: Fail, signal: AbortSignal, limitMs: number): Promise<Received> {
  const started = Date.now();
  // The attempt's signal aborted: by its deadline, or by the client's abort (which ends the run, not the attempt).
  const overdue = (url: string, bytes: number): RetryableAttempt => {
    http.throwIfAborted();
    return new RetryableAttempt('deadline', url, null, `took longer than its ${Math.round(limitMs / 1000)} s deadline (${bytes} of ${att.fileSize} bytes received)`);
  };
  const emit = (url: string, status: number | null, bytes: number, error?: string): void =>
    http.emit({ method: 'GET', route: 'content', url: redactUrl(url), status, attempt, ms: Date.now() - started, bytes, ...(error ? { error } : {}) });
  let url = http.resolve(att.downloadHref);
  const visited = new Set<string>([url]);
  for (let redirects = 0; ; ) {
    let res;
    try {
      res = await http.rawGet(url, '*/*', signal);
    } catch (e) {
      http.throwIfAborted();
      emit(url, null, 0, signal.aborted ? 'deadline' : ((e as { code?: string }).code ?? 'error'));
      if (signal.aborted) throw overdue(url, 0);
      throw e;
    }
    if (REDIRECT_STATUSES.has(res.status)) {
      await res.body.dump();
      emit(url, res.status, 0);
      const loc = res.headers.location;
      const location = Array.isArray(loc) ? loc[0] : loc;
      if (!location) throw fail('redirect', url, res.status, 'redirect without a Location header');
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw fail('redirect', url, res.status, 'redirect to an unparsable Location');
      }
      if (next.protocol !== 'https:' && next.protocol !== 'http:') throw fail('redirect', url, res.status, `refusing to follow a redirect to a ${next.protocol} URL`);
      if (visited.has(next.toString())) throw fail('redirect', url, res.status, `redirect loop (back to ${redactUrl(next.toString())})`);
      if (++redirects > MAX_REDIRECTS) throw fail('redirect', url, res.status, `more than ${MAX_REDIRECTS} redirects`);
      visited.add(next.toString());
      url = next.toString();
      continue;
    }
    if (res.status !== 200) {
      const text = http.scrub(await res.body.text().catch(() => ''));
      emit(url, res.status, 0);
      // A token file renewed meanwhile (an expired OAuth token): the next attempt uses it.
      if (res.status === 401 && new URL(url).origin === http.origin && http.renewToken(res.sentWith)) throw new RetryableAttempt('status', url, 401, 'the token was renewed in OPENPROJECT_TOKEN_FILE; trying again with it', 0);
      const contentType = String(res.headers['content-type'] ?? '');
      const detail = errorDetail(res.status, text, contentType, `attachment #${att.id}`);
      if (RETRY_STATUSES.has(res.status)) throw new RetryableAttempt('status', url, res.status, detail, serverWaitMs(res.headers));
      const fromServer = new URL(url).origin === http.origin;
      // The object store refusing a signed URL (expired while queued or retried): the next
      // attempt starts again at staticDownloadLocation, which signs a fresh one.
      if (res.status === 403 && !fromServer) throw new RetryableAttempt('expired', url, 403, `the storage refused the signed URL (${detail}); asking the server for a fresh one`);
      // attachment_renderer.rb: an attachment pending its virus scan answers 403 to everyone
      // but its uploader; quarantined ones too, but the metadata said it was not.
      if (res.status === 403 && fromServer) {
        throw new AttachmentNotReadyError(att.id, att.fileName, att.containerId, att.status ?? 'uploaded', `the server refused its content (403: ${errorObject(text, contentType)?.message || 'forbidden'}); most likely it has not been scanned for viruses yet`);
      }
      throw fail('status', url, res.status, detail, { errorIdentifier: errorObject(text, contentType)?.identifier ?? null });
    }
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      res.body.destroy();
      emit(url, 200, 0, 'too large');
      throw fail('too-large', url, 200, `more than ${maxBytes} bytes announced (Content-Length ${declared}, declared size ${att.fileSize}); not downloaded`);
    }
    return await stream(res.body, url, att, sink, maxBytes, emit, fail, signal, overdue);
  }
}

class SinkFailure extends Error {
  constructor(override readonly cause: unknown) {
    super('sink failed');
  }
}

async function stream(
  body: AsyncIterable<Buffer> & { destroy(): void },
  url: string,
  att: Attachment,
  sink: DownloadSink,
  maxBytes: number,
  emit: (url: string, status: number | null, bytes: number, error?: string) => void,
  fail: Fail,
  signal: AbortSignal,
  overdue: (url: string, bytes: number) => RetryableAttempt,
): Promise<Received> {
  // Each attempt reopens the sink: the contract says open() discards earlier partial data.
  let writer: DownloadWriter;
  try {
    writer = await sink.open();
  } catch (e) {
    body.destroy();
    throw new SinkFailure(e);
  }
  const hash = createHash('md5');
  let bytes = 0;
  let handedOver = false;
  try {
    try {
      for await (const chunk of body) {
        bytes += chunk.length;
        if (bytes > maxBytes) {
          body.destroy();
          throw fail('too-large', url, 200, `more than ${maxBytes} bytes arrived (declared size ${att.fileSize}); aborted`);
        }
        hash.update(chunk);
        try {
          await writer.write(chunk);
        } catch (e) {
          throw new SinkFailure(e);
        }
      }
    } catch (e) {
      emit(url, 200, bytes, e instanceof SinkFailure ? 'sink' : signal.aborted ? 'deadline' : ((e as { code?: string }).code ?? 'body'));
      body.destroy();
      if (e instanceof SinkFailure || e instanceof OpenProjectError) throw e;
      if (signal.aborted) throw overdue(url, bytes);
      throw new RetryableAttempt('network', url, 200, `connection lost after ${bytes} of ${att.fileSize} bytes (${(e as { code?: string }).code ?? (e as Error).message})`);
    }
    emit(url, 200, bytes);
    const md5 = hash.digest('hex');
    if (bytes !== att.fileSize) throw new RetryableAttempt('size', url, 200, `size mismatch: got ${bytes} bytes, expected ${att.fileSize}`);
    if (att.md5 && md5 !== att.md5) throw new RetryableAttempt('md5', url, 200, `md5 mismatch: got ${md5}, expected ${att.md5}`);
    handedOver = true;
    return { result: { bytes, md5 }, writer };
  } finally {
    if (!handedOver) await Promise.resolve(writer.abort()).catch(() => undefined);
  }
}
