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
  return factory(options);
}
