// The CLI's way to a profile: only the named one is imported. The default profile brings
// the unified/remark/rehype stack (~0.2 s of CPU to load), which a medigy site never needs.
import { ConfigError } from '../../errors.js';
import type { Profile } from '../../types.js';

const LOADERS: Record<string, () => Promise<(options: unknown) => Profile>> = {
  default: async () => (await import('./default.js')).createDefaultProfile,
  medigy: async () => (await import('./medigy.js')).createMedigyProfile,
};

/** Same as `createProfile` (profiles/index.ts), loading only the profile asked for. */
export async function loadProfile(name: string, options: unknown): Promise<Profile> {
  const loader = LOADERS[name];
  if (!loader) throw new ConfigError(`unknown profile "${name}"`, [`profile.name: expected one of ${Object.keys(LOADERS).join(', ')}`]);
  // The options travel with the profile: they are part of each source's fingerprint.
  return { ...(await loader())(options), options };
}
