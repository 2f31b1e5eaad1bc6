// The "S3" origin for redirect-mode downloads (README §4: fog storage answers /content
// with a 302 to a pre-signed, expiring URL). Like S3 it refuses a request that carries
// an Authorization header next to the signature — which is how tests prove a client
// does not forward its OpenProject credentials to another origin.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Reply } from './http-util.js';
import type { AttachmentJson, LazyContent } from './types.js';

export class UrlSigner {
  private readonly key = randomBytes(16);

  sign(id: number, expires: number): string {
    return createHmac('sha256', this.key).update(`${id}:${expires}`).digest('hex');
  }

  verify(id: number, expires: number, signature: string): boolean {
    const want = Buffer.from(this.sign(id, expires), 'hex');
    const got = Buffer.from(signature, 'hex');
    return got.length === want.length && timingSafeEqual(got, want);
  }
}

const xml = (status: number, code: string, message: string): Reply => ({
  status,
  headers: { 'content-type': 'application/xml' },
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>SIMULATOR</RequestId></Error>`,
});

export function storageReply(
  url: URL,
  hasAuthorization: boolean,
  nowSeconds: number,
  signer: UrlSigner,
  lookup: (id: number) => { meta: AttachmentJson; content: Buffer | LazyContent } | undefined,
  bytesOf: (content: Buffer | LazyContent) => Buffer,
): Reply {
  if (hasAuthorization) {
    return xml(400, 'InvalidArgument', 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified');
  }
  const m = /^\/bucket\/(\d+)$/.exec(url.pathname);
  const expires = Number(url.searchParams.get('expires'));
  const signature = url.searchParams.get('signature') ?? '';
  if (!m || !Number.isInteger(expires) || !signer.verify(Number(m[1]), expires, signature)) {
    return xml(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }
  if (expires < nowSeconds) return xml(403, 'AccessDenied', 'Request has expired');
  const entry = lookup(Number(m[1]));
  if (!entry) return xml(404, 'NoSuchKey', 'The specified key does not exist.');
  const bytes = bytesOf(entry.content);
  return {
    status: 200,
    headers: { 'content-type': String(entry.meta.contentType ?? 'application/octet-stream'), etag: `"${String((entry.meta.digest as { hash?: unknown } | undefined)?.hash ?? '')}"` },
    body: bytes,
  };
}
