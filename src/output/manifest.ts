// The sync state: `.curate/manifest.json` under the output root (docs/manifest.md).
// Pretty-printed with sorted keys so it diffs cleanly and can be committed with the site.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { OutputError } from '../errors.js';
import type { ContentProbe } from '../types.js';
import { writeFileAtomic } from './writer.js';

export const STATE_DIR = '.curate';
export const MANIFEST_FILE = `${STATE_DIR}/manifest.json`;
export const MANIFEST_VERSION = 1;
/** Temp files of atomic writes: inside the state folder, never beside the files a site reads. */
export const TMP_DIR = `${STATE_DIR}/tmp`;

const probeSchema = z.union([
  z.object({ kind: z.literal('image'), valid: z.literal(true), format: z.enum(['JPEG', 'PNG', 'GIF', 'WEBP', 'ICO']), width: z.number(), height: z.number() }),
  z.object({ kind: z.literal('image'), valid: z.literal(false) }),
  z.object({ kind: z.literal('file') }),
]);

const manifestSchema = z.object({
  version: z.literal(MANIFEST_VERSION),
  profile: z.string(),
  sources: z.record(
    z.string(),
    z.object({
      /** Newest updatedAt seen (server clock) once a run applied everything for the source. */
      watermark: z.string().nullable(),
      /** Work packages whose last attempt failed: asked for again whatever their updatedAt. */
      retry: z.array(z.number()),
    }),
  ),
  workPackages: z.record(
    z.string(),
    z.object({
      source: z.string(),
      updatedAt: z.string(),
      lockVersion: z.number(),
      /** Output path → sha256 of its bytes. */
      files: z.record(z.string(), z.string()),
      /** Attachment id → what we know of it, so unchanged attachments need no download. */
      attachments: z.record(z.string(), z.object({ md5: z.string().nullable(), size: z.number(), sha256: z.string(), probe: probeSchema })),
    }),
  ),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestWorkPackage = Manifest['workPackages'][string];
export type CachedAttachment = ManifestWorkPackage['attachments'][string] & { probe: ContentProbe };

export function emptyManifest(profile: string): Manifest {
  return { version: MANIFEST_VERSION, profile, sources: {}, workPackages: {} };
}

export async function readManifest(root: string, profile: string): Promise<Manifest | null> {
  let text: string;
  try {
    text = await readFile(path.join(root, MANIFEST_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new OutputError(`cannot read ${MANIFEST_FILE}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new OutputError(`${MANIFEST_FILE} is not valid JSON (${(e as Error).message}); fix it or delete it and run \`curate sync --full\``);
  }
  const r = manifestSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new OutputError(`${MANIFEST_FILE}: ${i.path.join('.')}: ${i.message}; delete it and run \`curate sync --full\` to rebuild it`);
  }
  if (r.data.profile !== profile) {
    throw new OutputError(`${MANIFEST_FILE} was written by the "${r.data.profile}" profile, the config now says "${profile}"; run \`curate sync --full\` in a fresh output root`);
  }
  return r.data;
}

/** JSON with keys sorted at every level: stable bytes for the same state. */
export function stableJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return `${JSON.stringify(sort(value), null, 2)}\n`;
}

export async function writeManifest(root: string, manifest: Manifest): Promise<boolean> {
  await mkdir(path.join(root, STATE_DIR), { recursive: true });
  return writeFileAtomic(path.join(root, MANIFEST_FILE), Buffer.from(stableJson(manifest)), path.join(root, TMP_DIR));
}
