// The two parts of undici the client uses: the keep-alive connection pool (Agent) and a
// GET through it. `import 'undici'` evaluates the whole library at every start (fetch,
// WebSocket, EventSource, the mocks, the HTTP caches, cookie parsing: ~1 MB, ~60 ms of
// CPU here) for a CLI that cron and the test suite start hundreds of times. undici has no
// "exports" map, so its files are importable by path; package-lock pins the version, and
// every client test runs through these very files.
import type { Agent as UndiciAgent, Dispatcher } from 'undici';
import AgentClass from 'undici/lib/dispatcher/agent.js';
import dispatchRequest from 'undici/lib/api/api-request.js';

export const Agent: typeof UndiciAgent = AgentClass;
export type Agent = UndiciAgent;
export type { Dispatcher };

/** What undici's top-level `request(url, { dispatcher, … })` does, for an absolute URL. */
export function request(url: string, options: { dispatcher: Dispatcher; method: 'GET'; headers: Record<string, string>; signal?: AbortSignal }): Promise<Dispatcher.ResponseData> {
  const u = new URL(url);
  const { dispatcher, ...rest } = options;
  return dispatchRequest.call(dispatcher, { ...rest, origin: u.origin, path: `${u.pathname}${u.search}` });
}
