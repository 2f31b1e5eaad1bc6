export { buildFilters, createOpenProjectClient, listQuery } from './client.js';
export { AttachmentDownloadError, MAX_REDIRECTS, type DownloadFailure } from './download.js';
export { describeInvisible, invisibleFields, invisibleIn, WHY_INVISIBLE, type ConfiguredField, type InvisibleField } from './field-visibility.js';
export { fieldDefsFromSchema, formatFromSchemaType, normalizeAttachment, normalizeWorkPackage } from './hal.js';
export type * from './types.js';

/**
 * Credentials from the environment: OPENPROJECT_API_KEY (HTTP Basic, user "apikey")
 * wins over OPENPROJECT_TOKEN (Bearer). Blank values count as unset.
 */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): { apiKey?: string; token?: string; tokenFile?: string } {
  const apiKey = env.OPENPROJECT_API_KEY?.trim();
  if (apiKey) return { apiKey };
  // The renewable form first: a file a sidecar keeps fresh, read again after every 401.
  const tokenFile = env.OPENPROJECT_TOKEN_FILE?.trim();
  if (tokenFile) return { tokenFile };
  const token = env.OPENPROJECT_TOKEN?.trim();
  if (token) return { token };
  return {};
}
