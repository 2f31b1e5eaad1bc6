// `curate watch`: a long-running process that turns OpenProject webhooks into targeted
// syncs and reconciles periodically. Flags and environment → startWatcher; signals →
// a bounded, lock-releasing shutdown. Returns the exit status.
import { isIP } from 'node:net';
import { loadConfig } from '../../config/load.js';
import { ConfigError } from '../../errors.js';
import { loadProfile } from '../../mapping/profiles/load.js';
import { startWatcher, type LogLevel } from '../../watch/watcher.js';
import { clientFor } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { commitFiles, commitMessage } from '../git.js';
import { collector, memoryPolicy } from '../memory.js';
import type { Output } from '../output.js';

export interface WatchFlags {
  config?: string;
  out?: string;
  listen?: string;
  reconcileMinutes?: string;
  gitCommit?: boolean;
  now?: string;
  /** false with --no-signature. */
  signature?: boolean;
  insecureHttp?: boolean;
}

/** The whole shutdown (stop accepting, abort or finish the apply, release the lock) fits in this. */
const SHUTDOWN_MS = 4000;

/** `HOST:PORT` or `[v6]:PORT` → parts; null when malformed. */
export function parseListen(value: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: (m[1] ?? m[2])!, port };
}

/** Only this machine can reach it: 127.0.0.0/8, ::1 or localhost. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

export async function watchCommand(flags: WatchFlags, out: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const listen = parseListen(flags.listen ?? '127.0.0.1:4040');
  if (!listen) {
    out.error(`error: --listen ${JSON.stringify(flags.listen)} is not HOST:PORT (e.g. 127.0.0.1:4040 or [::1]:4040)`);
    return EXIT.USAGE;
  }
  const minutes = Number(flags.reconcileMinutes ?? '15');
  if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 7 * 24 * 60) {
    out.error('error: --reconcile-minutes must be a number of minutes above 0 (fractions allowed), at most a week');
    return EXIT.USAGE;
  }
  const secret = env.OPENPROJECT_WEBHOOK_SECRET ?? '';
  if (flags.signature === false) {
    if (secret) {
      out.error('error: --no-signature was given but OPENPROJECT_WEBHOOK_SECRET is set; drop one of them');
      return EXIT.USAGE;
    }
    if (!isLoopback(listen.host)) {
      out.error(`error: --no-signature is only allowed on a loopback address (127.0.0.1, ::1, localhost), not ${listen.host}: anyone who can reach the port could trigger syncs`);
      return EXIT.USAGE;
    }
  } else if (!secret) {
    out.error('error: set OPENPROJECT_WEBHOOK_SECRET to the secret configured on the webhook in OpenProject (or pass --no-signature on a loopback address for local testing)');
    return EXIT.USAGE;
  }

  const config = await loadConfig({ configPath: flags.config, overrides: { out: flags.out, now: flags.now, insecureHttp: flags.insecureHttp } });
  const profile = await loadProfile(config.profile.name, config.profile.options);
  // Stopping cancels the client's requests too: a slow answer must not hold the shutdown.
  const stopping = new AbortController();
  const client = clientFor(config.openproject, env, undefined, stopping.signal);
  const json = !!out.flags.json;
  const log = (level: LogLevel, message: string, fields: Record<string, unknown>): void => {
    if (json) {
      process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })}\n`);
      return;
    }
    if (level === 'error') out.error(message);
    else if (level === 'warn') out.error(message);
    else out.info(message);
  };
  const pinned = flags.now !== undefined ? config.now : null;
  let watcher;
  try {
    watcher = await startWatcher({
      sync: {
        outputRoot: config.outputRoot,
        sources: config.sources,
        profile,
        client,
        deleteThreshold: config.sync.deleteThreshold,
        overlapSeconds: config.sync.overlapSeconds,
        auditIntervalMs: config.sync.auditHours * 3_600_000,
        maxAttachmentBytes: config.openproject.maxAttachmentBytes,
        concurrency: config.openproject.concurrency,
      },
      clock: () => pinned ?? new Date(),
      host: listen.host,
      port: listen.port,
      secret: flags.signature === false ? null : secret,
      reconcileEveryMs: minutes * 60_000,
      log,
      onSyncEvent: memoryPolicy(),
      // Between syncs the watcher idles for minutes: give back what a large reconciliation left.
      afterRun: () => collector()?.(),
      commit: flags.gitCommit
        ? (files, report, kind, ids) => {
            const base = commitMessage(report.counts.total, report.counts.bySource).replace(/^curate sync:/, 'curate watch:');
            const why = kind === 'reconcile' ? 'reconciliation' : `webhook: ${ids!.map((id) => `#${id}`).join(', ')}`;
            return commitFiles(config.outputRoot, files, `${base}\n\n(${why})`);
          }
        : undefined,
    });
  } catch (e) {
    await client.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
      throw new ConfigError(`--listen ${listen.host}:${listen.port}: cannot listen there (${code}); pick another address or port`);
    }
    throw e;
  }
  const w = watcher;
  log('info', `curate watch listening on ${w.url} (POST /webhook, GET /healthz, GET /metrics); output root ${config.outputRoot}; reconciling every ${minutes} min${flags.signature === false ? '; signatures NOT checked' : ''}`, {
    event: 'listening',
    url: w.url,
    outputRoot: config.outputRoot,
    reconcileMinutes: minutes,
    signature: flags.signature !== false,
  });

  const stopped = await new Promise<NodeJS.Signals>((resolve) => {
    const onHup = (): void => {
      log('info', 'SIGHUP: reconciling now', { event: 'signal', signal: 'SIGHUP' });
      w.reconcile();
    };
    const onStop = (signal: NodeJS.Signals): void => {
      process.off('SIGHUP', onHup);
      process.off('SIGINT', onStop);
      process.off('SIGTERM', onStop);
      // A second signal while stopping: the user means it.
      const again = (): void => process.exit(signal === 'SIGINT' ? 130 : 143);
      process.once('SIGINT', again);
      process.once('SIGTERM', again);
      resolve(signal);
    };
    process.on('SIGHUP', onHup);
    process.on('SIGINT', onStop);
    process.on('SIGTERM', onStop);
  });
  log('info', `${stopped}: stopping (the current sync is aborted safely and the lock released)`, { event: 'signal', signal: stopped });
  // Whatever still holds the event loop open (a stalled socket) must not outlive the deadline.
  setTimeout(() => process.exit(EXIT.OK), SHUTDOWN_MS + 800).unref();
  const stoppingRun = w.stop(SHUTDOWN_MS);
  stopping.abort(new Error(`curate watch is stopping (${stopped})`));
  await stoppingRun;
  await client.close();
  log('info', 'stopped', { event: 'stopped' });
  return EXIT.OK;
}
