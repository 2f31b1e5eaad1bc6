// What besides the server's data shapes a source's output. Stored per source in the
// manifest: when it differs, the source is mapped again in full, so a config edit or a
// curate upgrade with a mapping change can never leave a tree half in the old shape.
import { createHash } from 'node:crypto';
import { stableJson } from '../output/manifest.js';
import type { Profile, SourceSpec } from '../types.js';

export function sourceFingerprint(profile: Profile, spec: SourceSpec): string {
  const { name: _name, ...shape } = spec; // the name is the manifest key, not part of the output
  const value = { profile: profile.name, version: profile.version, options: profile.options ?? null, source: shape };
  return createHash('sha256').update(stableJson(value)).digest('hex').slice(0, 16);
}
