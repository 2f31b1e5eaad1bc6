// Profile registry: config names a profile, the registry builds it from its options.
import { ConfigError } from '../../errors.js';
import type { Profile } from '../../types.js';
import { createDefaultProfile } from './default.js';
import { createMedigyProfile } from './medigy.js';

export const PROFILES: Record<string, (options: unknown) => Profile> = {
  default: createDefaultProfile,
  medigy: createMedigyProfile,
};

export function createProfile(name: string, options: unknown): Profile {
  const factory = PROFILES[name];
  if (!factory) throw new ConfigError(`unknown profile "${name}"`, [`profile.name: expected one of ${Object.keys(PROFILES).join(', ')}`]);
  // The options travel with the profile: they are part of each source's fingerprint, so
  // changing one re-maps what it shapes.
  return { ...factory(options), options };
}
