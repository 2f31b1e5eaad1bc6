// link.brand and the slug base (MAPPING.md §6.2) with tldextract 3.x semantics over the
// Public Suffix List (ICANN section only), using tldts for the suffix lookup.
import type * as Tldts from 'tldts';
import { lazyRequire } from './lazy-require.js';

const tldts = lazyRequire<typeof Tldts>('tldts');

export interface Extracted {
  subdomain: string;
  domain: string;
  suffix: string;
}

const SCHEME = /^[A-Za-z0-9+\-.]+:\/\/|^\/\//;

/** tldextract's netloc extraction, then a PSL lookup of its labels. */
export function tldExtract(url: string): Extracted {
  let netloc = url.replace(/^([A-Za-z0-9+\-.]+:)?\/\//, '');
  void SCHEME;
  netloc = netloc.split('/')[0]!.split('?')[0]!.split('#')[0]!;
  netloc = netloc.split('@').pop()!.split(':')[0]!;
  netloc = netloc.replace(/^[\s]+|[\s]+$/g, '').replace(/\.+$/, '');
  const labels = netloc.split('.');
  let suffixLabels = 0;
  if (netloc) {
    const info = tldts().parse(netloc.toLowerCase(), { allowPrivateDomains: false, extractHostname: false, validateHostname: false });
    if (info.isIcann && info.publicSuffix) suffixLabels = info.publicSuffix.split('.').length;
    if (suffixLabels > labels.length) suffixLabels = 0;
  }
  const suffixIndex = labels.length - suffixLabels;
  const suffix = labels.slice(suffixIndex).join('.');
  if (!suffix) return { subdomain: '', domain: labels.length === 1 ? labels[0]! : labels[labels.length - 1]!, suffix: '' };
  return {
    subdomain: suffixIndex > 0 ? labels.slice(0, suffixIndex - 1).join('.') : '',
    domain: suffixIndex > 0 ? labels[suffixIndex - 1]! : '',
    suffix,
  };
}

/** tldextract's `fqdn`: '' unless both a domain and a public suffix were found. */
export function fqdn(url: string): string {
  const e = tldExtract(url);
  if (!e.domain || !e.suffix) return '';
  return [e.subdomain, e.domain, e.suffix].filter((p) => p).join('.');
}

/** `link.brand`: the fqdn of the href with one leading "www." removed. */
export function brandOf(href: string): string {
  const f = fqdn(href);
  return f.startsWith('www.') ? f.slice(4) : f;
}

/** The slug base: the brand without its public suffix (subdomain and domain joined). */
export function slugBaseOf(brand: string): string {
  if (!brand) return '';
  const e = tldExtract(brand);
  return [e.subdomain, e.domain].filter((p) => p).join('.');
}
