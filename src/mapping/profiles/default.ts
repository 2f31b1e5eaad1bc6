import type { Profile } from '../../types.js';
export function createDefaultProfile(_options: unknown): Profile {
  throw new Error('default profile: being written');
}
