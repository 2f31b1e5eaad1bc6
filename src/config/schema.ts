// The configuration file's schema (pure). Every key, its default and its meaning;
// README "Configuration reference" mirrors this file.
import * as z from '../zod.js';
import { DEFAULTS } from '../defaults.js';

const name = z.string().min(1, 'must not be empty');
const nameOrId = z.union([name, z.number().int().positive()]).transform((v) => String(v));

export const configSchema = z
  .object({
    openproject: z
      .object({
        /** Instance URL; OPENPROJECT_URL overrides it. */
        url: z.string().min(1).optional(),
        /** Page size asked for; the server clamps it to its apiv3_max_page_size (1000 by default). */
        pageSize: z.number().int().min(1).max(10000).default(DEFAULTS.pageSize),
        /** Parallel HTTP requests. */
        concurrency: z.number().int().min(1).max(64).default(DEFAULTS.concurrency),
        timeoutSeconds: z.number().positive().max(3600).default(DEFAULTS.timeoutSeconds),
        retries: z.number().int().min(0).max(20).default(DEFAULTS.retries),
        maxAttachmentMB: z.number().positive().max(10240).default(DEFAULTS.maxAttachmentMB),
        /** Overall time a download may take: minSeconds + secondsPerMiB × size (defaults: DEFAULT_DOWNLOAD_DEADLINE in src/openproject/download.ts). */
        downloadDeadline: z.object({ minSeconds: z.number().positive().max(86400).optional(), secondsPerMiB: z.number().min(0).max(3600).optional() }).strict().optional(),
        /** Allow plain http to a non-loopback host (never needed for https). */
        insecureHttp: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    output: z
      .object({
        /** Output root, relative to the config file's folder; --out overrides it. */
        root: name.default('content'),
      })
      .strict()
      .prefault({}),
    sync: z
      .object({
        /** Largest share of synced files one run may delete without --allow-mass-delete. */
        deleteThreshold: z.number().min(0).max(1).default(DEFAULTS.deleteThreshold),
        /** Seconds subtracted from the watermark of an incremental sync, against clock skew. */
        overlapSeconds: z.number().int().min(0).max(86400 * 30).default(DEFAULTS.overlapSeconds),
        /** Hours between two walks of every work package of a source (what no incremental signal shows, e.g. a renamed custom option). */
        auditHours: z.number().min(0).max(24 * 366).default(DEFAULTS.auditHours),
      })
      .strict()
      .prefault({}),
    profile: z
      .object({
        name: z.enum(['default', 'medigy']).default('default'),
        options: z.record(z.string(), z.unknown()).default({}),
      })
      .strict()
      .prefault({}),
    sources: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, ".", "_" or "-"'),
            projects: z.array(nameOrId).min(1, 'name at least one project'),
            types: z.array(name).min(1, 'name at least one work package type'),
            /** [] = every status, open and closed. */
            statuses: z.array(name).default([]),
            /** Folder under the output root. */
            path: z.string().default(''),
            options: z.record(z.string(), z.unknown()).default({}),
            /** Also the work packages of the projects' subprojects (a server includes them unless told not to). */
            includeSubprojects: z.boolean().default(false),
          })
          .strict(),
      )
      .min(1, 'configure at least one source'),
  })
  .strict();

export type ConfigFile = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;

/** Keys allowed at each object path, for "did you mean" on unknown keys. */
export const KNOWN_KEYS: Record<string, string[]> = {
  '': ['openproject', 'output', 'sync', 'profile', 'sources'],
  openproject: ['url', 'pageSize', 'concurrency', 'timeoutSeconds', 'retries', 'maxAttachmentMB', 'downloadDeadline', 'insecureHttp'],
  output: ['root'],
  sync: ['deleteThreshold', 'overlapSeconds', 'auditHours'],
  profile: ['name', 'options'],
  'sources.*': ['name', 'projects', 'types', 'statuses', 'path', 'options', 'includeSubprojects'],
};
