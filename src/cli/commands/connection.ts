// Commands that talk to the server without a full sync (fields, init) take the URL
// from --url, the config file, or OPENPROJECT_URL.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, type ResolvedConfig } from '../../config/load.js';
import { ConfigError } from '../../errors.js';
import { DEFAULTS } from '../../defaults.js';

export interface ConnectionFlags {
  config?: string;
  url?: string;
  insecureHttp?: boolean;
}

export async function connectionFromFlags(flags: ConnectionFlags): Promise<ResolvedConfig['openproject']> {
  const configPath = path.resolve(flags.config ?? 'curate.config.yaml');
  let fromFile: ResolvedConfig['openproject'] | null = null;
  const hasFile = await access(configPath).then(
    () => true,
    () => false,
  );
  if (hasFile && !flags.url) fromFile = (await loadConfig({ configPath, overrides: { insecureHttp: flags.insecureHttp } })).openproject;
  if (fromFile) return fromFile;
  const url = flags.url ?? process.env.OPENPROJECT_URL;
  if (!url) throw new ConfigError('no OpenProject URL: pass --url, set OPENPROJECT_URL, or run where curate.config.yaml is');
  return {
    url,
    pageSize: DEFAULTS.pageSize,
    concurrency: DEFAULTS.concurrency,
    timeoutMs: DEFAULTS.timeoutSeconds * 1000,
    retries: DEFAULTS.retries,
    maxAttachmentBytes: DEFAULTS.maxAttachmentBytes,
    insecureHttp: !!flags.insecureHttp,
    credentials: process.env.OPENPROJECT_API_KEY ? 'apiKey' : process.env.OPENPROJECT_TOKEN ? 'token' : 'none',
  };
}
