// Building the pieces a command needs from the resolved configuration.
import type { ResolvedConfig } from '../config/load.js';
import { createOpenProjectClient, credentialsFromEnv, type OpenProjectClient } from '../openproject/index.js';

/** `signal`: the command's interrupt; aborting it cancels every request of the client (see OpenProjectClientOptions.signal). */
export function clientFor(config: ResolvedConfig['openproject'], env: NodeJS.ProcessEnv = process.env, onRequest?: Parameters<typeof createOpenProjectClient>[0]['onRequest'], signal?: AbortSignal): OpenProjectClient {
  return createOpenProjectClient({
    baseUrl: config.url,
    ...credentialsFromEnv(env),
    pageSize: config.pageSize,
    concurrency: config.concurrency,
    timeoutMs: config.timeoutMs,
    retries: config.retries,
    ...(config.downloadDeadline ? { downloadDeadline: config.downloadDeadline } : {}),
    insecureHttp: config.insecureHttp,
    onRequest,
    ...(signal ? { signal } : {}),
  });
}
