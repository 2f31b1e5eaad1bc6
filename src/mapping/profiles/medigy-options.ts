// Options of the medigy profile: the legacy pipeline's tables (MAPPING.md §3, §5, §7),
// shipped as defaults so `profile: {name: medigy}` alone reproduces the corpus, and
// overridable from curate.config.yaml.
import * as z from '../../zod.js';
import { ConfigError } from '../../errors.js';

const typeRow = z
  .object({
    archetype: z.string(),
    sub: z.string(),
    searchCategory: z.string(),
    tags: z.array(z.string()),
    aliasPrefix: z.string(),
    lastMod: z.boolean(),
    /** "Curated Event" semantics: dates from startDate/dueDate, publishDate, status buckets. */
    event: z.boolean().default(false),
  })
  .strict();

export type MedigyTypeRow = z.infer<typeof typeRow>;

const row = (
  archetype: string,
  sub: string,
  searchCategory: string,
  tag: string,
  aliasPrefix: string,
  lastMod: boolean,
  event = false,
): MedigyTypeRow => ({ archetype, sub, searchCategory, tags: [tag], aliasPrefix, lastMod, event });

export const DEFAULT_TYPES: Record<string, MedigyTypeRow> = {
  'Curated Content': row('curate-content', 'brief', 'News', 'news', '/news', true),
  'Curated News': row('news', 'brief', 'News', 'news', '/news', true),
  'Curated Video': row('media-video', 'brief', 'News', 'videos', '/videos', true),
  Ideas: row('curate-ideas', 'brief', 'News', 'ideas', '/ideas', true),
  'Recent Updates & Reports': row('recent-update', 'brief', 'News', 'recentUpdates', '/news', true),
  'Vaccine/Drugs in the Pipeline': row('vaccine-drugs', 'brief', 'News', 'vaccineDrugs', '/news', true),
  'Curated Offering': row('profile-offering', 'Offerings', 'Offerings', 'news', '/Offerings', false),
  Infographics: row('curate-infographics', 'infographics', 'Infographics', 'infographics', '/infographics', false),
  'Contributed Content': row('contribute-content', 'contributed', 'Contributed Content', 'news', '/Contributed', false),
  'Curated Event': row('event', 'events', 'Events', 'events', '/events', false, true),
  'Curated Recognition': row('recognition', 'Recognition', 'Award', 'awards', '/recognition/award', false),
};

export const medigyOptionsSchema = z
  .object({
    types: z.record(z.string(), typeRow).default(DEFAULT_TYPES),
    fields: z
      .object({
        cleanUrl: z.string().default('Clean URL'),
        sourceUrl: z.string().default('Source URL'),
        topics: z.string().default('Medigy Topics'),
        eventCancelled: z.string().default('Event Cancelled'),
      })
      .strict()
      .default({ cleanUrl: 'Clean URL', sourceUrl: 'Source URL', topics: 'Medigy Topics', eventCancelled: 'Event Cancelled' }),
    attachments: z
      .object({
        featuredImagePrefix: z.string().default('Curated_Featured_Image.'),
        favIconPrefix: z.string().default('Curated_Source_FavIcon.'),
        featuredPdf: z.string().default('Curated_Featured_Image.pdf'),
        metadataJson: z.string().default('Lectio_Extension_Curation.json'),
      })
      .strict()
      .default({
        featuredImagePrefix: 'Curated_Featured_Image.',
        favIconPrefix: 'Curated_Source_FavIcon.',
        featuredPdf: 'Curated_Featured_Image.pdf',
        metadataJson: 'Lectio_Extension_Curation.json',
      }),
  })
  .strict();

export type MedigyOptions = z.infer<typeof medigyOptionsSchema>;

export const medigySourceOptionsSchema = z.object({ variant: z.enum(['community', 'news', 'events']) }).strict();
export type MedigyVariant = z.infer<typeof medigySourceOptionsSchema>['variant'];

/** Zod issues → `path: message` lines under a prefix (e.g. `profile.options`). */
export function zodProblems(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((issue) => {
    const p = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    return `${p}: ${issue.message}`;
  });
}

export function parseMedigyOptions(options: unknown): MedigyOptions {
  const result = medigyOptionsSchema.safeParse(options ?? {});
  if (!result.success) throw new ConfigError('invalid medigy profile options', zodProblems(result.error, 'profile.options'));
  return result.data;
}
