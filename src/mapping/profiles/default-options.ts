// Options of the default profile (`profile.options` in the config), validated once at start-up.
import * as z from '../../zod.js';
import { ConfigError } from '../../errors.js';

/** Keys the profile writes at the top level (Hugo's own plus ours), lower-cased. */
export const RESERVED_KEYS = new Set(['title', 'date', 'lastmod', 'slug', 'summary', 'description', 'draft', 'tags', 'weight', 'aliases', 'images', 'featuredimage']);

const optionsSchema = z
  .object({
    /** Status names that make a page public (`draft: false`); every other status is a draft. */
    publishedStatuses: z.array(z.string().min(1)).default(['Published', 'Closed']),
    /** Custom field whose value (JSON array string or comma list) becomes `tags`; null = no tags. */
    tagsField: z.string().min(1).nullable().default('Tags'),
    /** Custom field (integer) whose value becomes Hugo's `weight`; null = no weight. */
    weightField: z.string().min(1).nullable().default(null),
    /** Top-level key of the OpenProject block (id, type, status, project, author, url, fields). */
    customFieldsKey: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'expected an identifier ([A-Za-z][A-Za-z0-9_]*)')
      .refine((k) => !RESERVED_KEYS.has(k.toLowerCase()), 'collides with a key this profile writes')
      .default('openproject'),
    /** File-name prefix of attachments used as featured images (`images`, `featuredImage`); null = none. */
    featuredImage: z.string().min(1).nullable().default('Curated_Featured_Image'),
    /** Hugo leaf bundles ({id}/index.md with assets beside it). */
    bundle: z.boolean().default(true),
    /** Length limit of the `summary` / `description` excerpt. */
    descriptionLength: z.number().int().min(20).max(1000).default(160),
    /** `convert`: descriptions become markdown without HTML; `keep`: as written (for sites with `unsafe = true`). */
    html: z.enum(['convert', 'keep']).default('convert'),
    /** The OpenProject address readers can open (links to work packages that are not synced, embedded tables). */
    openprojectUrl: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//i.test(u), 'expected an http(s) URL')
      .transform((u) => u.replace(/\/+$/, ''))
      .nullable()
      .default(null),
    /** References to work packages that are not synced: a link to OpenProject (needs `openprojectUrl`) or plain text. */
    workPackageLinks: z.enum(['openproject', 'text']).default('openproject'),
  })
  .strict();

export type DefaultProfileOptions = z.infer<typeof optionsSchema>;

export function parseDefaultOptions(raw: unknown): DefaultProfileOptions {
  const parsed = optionsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new ConfigError(
      'invalid default profile options',
      parsed.error.issues.map((i) => `${['profile.options', ...i.path.map(String)].join('.')}: ${i.message}`),
    );
  }
  return parsed.data;
}
