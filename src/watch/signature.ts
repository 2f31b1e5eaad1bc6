// OpenProject signs a webhook body with the webhook's secret: `X-OP-Signature:
// sha1=<hex HMAC-SHA1 of the raw body>` (represented_webhook_job.rb). The check runs over
// the bytes exactly as received, before any parsing, and compares in constant time so the
// answer's timing says nothing about how much of a forged signature was right.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureCheck = 'ok' | 'missing' | 'invalid';

const SHAPE = /^sha1=([0-9a-fA-F]{40})$/;

export function sign(body: Buffer | string, secret: string): string {
  return `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
}

export function verifySignature(body: Buffer, header: string | string[] | undefined, secret: string): SignatureCheck {
  if (header === undefined || header === '') return 'missing';
  // A repeated header is ambiguous: which one did the sender mean? Refuse it.
  if (Array.isArray(header)) return 'invalid';
  const m = SHAPE.exec(header.trim());
  if (!m) return 'invalid';
  const expected = createHmac('sha1', secret).update(body).digest();
  const given = Buffer.from(m[1]!, 'hex');
  // Both are 20 bytes by construction (the pattern fixes the length), as timingSafeEqual needs.
  return timingSafeEqual(expected, given) ? 'ok' : 'invalid';
}
