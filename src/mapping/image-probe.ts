// Identify an image from its bytes the way Pillow's Image.open(...).verify() did for the
// legacy pipeline (MAPPING.md §7.1): the format comes from the bytes, never from the
// file name, and anything Pillow could not open is `valid: false`. Only the header is
// read, so the first 1 MiB of a file is always enough (JPEG SOF markers sit right after
// the APPn/EXIF segments, which are at most 64 KiB each and rarely many).
import type { ContentProbe, ImageFormat } from '../types.js';

const INVALID: ContentProbe = { kind: 'image', valid: false };

function valid(format: ImageFormat, width: number, height: number): ContentProbe {
  if (!(width > 0 && height > 0)) return INVALID;
  return { kind: 'image', valid: true, format, width, height };
}

const u16be = (b: Uint8Array, i: number): number => (b[i]! << 8) | b[i + 1]!;
const u16le = (b: Uint8Array, i: number): number => b[i]! | (b[i + 1]! << 8);
const u24le = (b: Uint8Array, i: number): number => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
const u32be = (b: Uint8Array, i: number): number => ((b[i]! << 24) >>> 0) + (b[i + 1]! << 16) + (b[i + 2]! << 8) + b[i + 3]!;
const ascii = (b: Uint8Array, start: number, end: number): string => String.fromCharCode(...b.subarray(start, end));

function probePng(b: Uint8Array): ContentProbe {
  // PngImagePlugin: the first chunk must be IHDR.
  if (b.length < 24 || ascii(b, 12, 16) !== 'IHDR') return INVALID;
  return valid('PNG', u32be(b, 16), u32be(b, 20));
}

function probeGif(b: Uint8Array): ContentProbe {
  if (b.length < 10) return INVALID;
  return valid('GIF', u16le(b, 6), u16le(b, 8));
}

function probeJpeg(b: Uint8Array): ContentProbe {
  // Walk the marker segments up to the first SOFn (C0–CF except C4 DHT, C8 JPG, CC DAC).
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return INVALID;
    let marker = b[i + 1]!;
    // Fill bytes: any number of 0xFF before a marker.
    while (marker === 0xff && i + 2 < b.length) {
      i += 1;
      marker = b[i + 1]!;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return INVALID; // image data before any frame header
    const length = u16be(b, i + 2);
    if (length < 2) return INVALID;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > b.length) return INVALID;
      return valid('JPEG', u16be(b, i + 7), u16be(b, i + 5));
    }
    i += 2 + length;
  }
  return INVALID;
}

function probeWebp(b: Uint8Array): ContentProbe {
  if (b.length < 30) return INVALID;
  const chunk = ascii(b, 12, 16);
  if (chunk === 'VP8 ') {
    // Key frame start code 9d 01 2a, then 14-bit width and height.
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return INVALID;
    return valid('WEBP', u16le(b, 26) & 0x3fff, u16le(b, 28) & 0x3fff);
  }
  if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) return INVALID;
    const bits = b[21]! | (b[22]! << 8) | (b[23]! << 16) | (b[24]! << 24);
    return valid('WEBP', (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (chunk === 'VP8X') return valid('WEBP', u24le(b, 24) + 1, u24le(b, 27) + 1);
  return INVALID;
}

function probeIco(b: Uint8Array): ContentProbe {
  // IcoImagePlugin: the directory's entries sorted by area, the largest one wins; a stored 0 means 256.
  const count = u16le(b, 4);
  if (count === 0 || b.length < 6 + 16 * count) return INVALID;
  let best: { w: number; h: number; area: number } | null = null;
  for (let k = 0; k < count; k++) {
    const o = 6 + 16 * k;
    const w = b[o] || 256;
    const h = b[o + 1] || 256;
    const area = w * h;
    // sorted(..., key=square) then reverse(): among equal areas the LAST entry comes first.
    if (!best || area >= best.area) best = { w, h, area };
  }
  return valid('ICO', best!.w, best!.h);
}

export function probeImage(bytes: Uint8Array): ContentProbe {
  const b = bytes;
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, 4) === 'PNG' && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) {
    return probePng(b);
  }
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return probeJpeg(b);
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return probeGif(b);
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return probeWebp(b);
  if (b.length >= 6 && b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0) return probeIco(b);
  return INVALID;
}
