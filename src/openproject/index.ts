export { buildFilters, createOpenProjectClient } from './client.js';
export { fieldDefsFromSchema, normalizeAttachment, normalizeWorkPackage } from './hal.js';
export type * from './types.js';

/** Credentials from the environment: OPENPROJECT_API_KEY (basic auth, user "apikey") or OPENPROJECT_TOKEN (bearer). */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): { apiKey?: string; token?: string } {
  const apiKey = env.OPENPROJECT_API_KEY?.trim();
  if (apiKey) return { apiKey };
  const token = env.OPENPROJECT_TOKEN?.trim();
  if (token) return { token };
  return {};
}
