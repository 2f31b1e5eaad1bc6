// The curate command line: commands and flags, and the single error boundary that turns
// typed errors into messages and exit statuses. Commands return their exit status and
// are imported lazily, so `--help` and `--version` start fast (cron runs them too).
import { Command, CommanderError, Option } from 'commander';
import { findConfigFile } from '../config/find.js';
import { EXIT } from './exit-codes.js';
import { Interrupted, listenForSignals } from './interrupt.js';
import { setProcessV8Flags } from './v8-flags.js';
import { Output, type GlobalFlags } from './output.js';
import { describeError, secretsFromEnv } from './report-error.js';
import { stdoutClosed, watchStdio } from './stdout.js';
import { VERSION } from './version.js';

const EXIT_HELP = `
Exit status:
  0   success (for --dry-run: nothing to change)
  1   error, including failed work packages or attachments (the rest was applied)
  2   --dry-run found changes pending
  3   another sync holds the lock on this output root
  64  bad usage
  130 interrupted (Ctrl-C, SIGINT); 143 terminated (SIGTERM)`;

const ENV_HELP = `
Environment:
  OPENPROJECT_URL       instance URL (overrides openproject.url)
  OPENPROJECT_API_KEY   API key (HTTP basic auth, user "apikey")
  OPENPROJECT_TOKEN     bearer token (used when no API key is set)
  OPENPROJECT_TOKEN_FILE  file holding the bearer token, read again after every 401
                        (an OAuth token renewed there is used without a restart)
  NO_COLOR              set (non-empty): no colour, like --no-color
  FORCE_COLOR           set: colour even when not on a terminal ("0": never)
  CI                    set: plain progress lines instead of a spinner`;

const CONFIG_HELP = 'configuration file (default: curate.config.yaml in this folder or the nearest parent, up to the git repository root)';

/** Global flags work before or after the command name (`curate --json sync` = `curate sync --json`). */
function withGlobals(cmd: Command): Command {
  return cmd
    .option('--verbose', 'show stack traces and progress phases')
    .option('-q, --quiet', 'print only errors')
    .option('--json', 'print one machine-readable JSON report on stdout, nothing else')
    .option('--no-color', 'never colour the output');
}

/**
 * `graceful`: the command stops cleanly on its AbortSignal, so the first Ctrl-C waits for
 * it; `ownsSignals`: the command handles SIGINT/SIGTERM itself (watch), none are installed.
 */
type Runner = (flags: GlobalFlags & { config?: string }, fn: (out: Output, signal: AbortSignal) => Promise<number>, options?: { graceful?: boolean; findsConfig?: boolean; ownsSignals?: boolean }) => Promise<void>;

function buildProgram(run: Runner): Command {
  const program = new Command('curate')
    .description('Sync curated content out of OpenProject (API v3) into Hugo-ready markdown with normalized YAML frontmatter.')
    .version(VERSION, '-v, --version')
    .option('--verbose', 'show stack traces and progress phases')
    .option('-q, --quiet', 'print only errors')
    .option('--json', 'print one machine-readable JSON report on stdout, nothing else')
    .option('--no-color', 'never colour the output')
    .showHelpAfterError('(run with --help for usage)')
    // Set before the commands are added: subcommands inherit these settings when created.
    .exitOverride()
    .configureOutput({ writeErr: (str) => process.stderr.write(str) })
    .addHelpText('after', `${ENV_HELP}\n${EXIT_HELP}`);

  withGlobals(program.command('sync'))
    .description('pull work packages and attachments and write markdown + assets under the output root')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('-o, --out <dir>', 'output root (overrides output.root)')
    .option('--now <iso>', 'pin the clock (event buckets), e.g. 2021-02-19T00:00:00Z')
    .option('-n, --dry-run', 'build the plan, print the summary and the diff, write nothing')
    .option('--patch <file>', 'write the plan as a git patch to FILE ("-" = stdout); implies --dry-run')
    .option('--full', 'ignore the watermark: re-read every work package (unchanged files are still not rewritten)')
    .option('--allow-mass-delete', 'allow deleting more than sync.deleteThreshold of the synced files, or all of a source')
    .option('--git-commit', 'commit every file curate owns that differs from HEAD (this run\'s and any an earlier run left uncommitted), nothing else; checks identity, index and merge state before syncing')
    .option('--summary <file>', 'write a markdown summary (pages created/updated/deleted/failed with title, site path, OpenProject link) to FILE ("-" = stdout)')
    .option('--insecure-http', 'allow plain http to a non-loopback OpenProject')
    .addOption(new Option('--concurrency <n>', 'parallel requests (overrides openproject.concurrency)'))
    .addHelpText(
      'after',
      `
Examples:
  $ curate sync --dry-run                      # what would change, as a diff; exit 2 if anything
  $ curate sync --patch changes.patch          # the plan as a patch; prints the git apply command
  $ curate sync                                # apply (incremental once a manifest exists)
  $ curate sync --full --git-commit            # re-read everything and commit the result
  $ curate sync --json > report.json           # for cron/CI: one JSON report
  $ curate sync --summary - >> "$GITHUB_STEP_SUMMARY"   # the pages that changed, as markdown
${ENV_HELP}
${EXIT_HELP}`,
    )
    .action((flags) => run(flags, async (out, signal) => (await import('./commands/sync.js')).syncCommand(flags, out, signal), { graceful: true, findsConfig: true }));

  withGlobals(program.command('init'))
    .description('ask the server for its projects, types and custom fields and write a commented curate.config.yaml')
    .option('--url <url>', 'OpenProject URL (default: OPENPROJECT_URL)')
    .option('-o, --out <file>', 'file to write (default: curate.config.yaml)')
    .addOption(new Option('--output <file>', 'the same as --out').hideHelp())
    .option('--root <dir>', 'output root to put in the file', 'content')
    .option('-p, --project <identifier...>', 'projects to sync (default: ask, or all without a terminal)')
    .option('-t, --type <name...>', 'work package types to sync, any case (default: ask on a terminal; without one or with --yes, the types whose names look like content — News, Page, Blog Post, … — and an error listing the types when none does)')
    .option('--profile <name>', 'mapping profile: default | medigy', 'default')
    .option('-y, --yes', 'never ask; take defaults for what the flags leave open')
    .option('--force', 'overwrite an existing file')
    .option('--insecure-http', 'allow plain http to a non-loopback OpenProject')
    .addHelpText('after', `\nExamples:\n  $ OPENPROJECT_URL=https://op.example.com OPENPROJECT_API_KEY=… curate init\n  $ curate init --url https://op.example.com -p news -t "Curated Content" --yes\n${ENV_HELP}\n\nExit status: 0 written, 1 error, 64 bad usage, 130 Ctrl-C or Ctrl-D at a prompt.`)
    .action((flags) => run(flags, async (out) => (await import('./commands/init.js')).initCommand(flags, out)));

  withGlobals(program.command('doctor'))
    .description('check configuration, reachability, TLS, authentication, projects/types/fields and the output root')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--insecure-http', 'allow plain http to a non-loopback OpenProject')
    .addHelpText('after', `\nExit status 0 only when every check passes.\n\nExample:\n  $ curate doctor --config site/curate.config.yaml\n${ENV_HELP}`)
    .action((flags) => run(flags, async (out) => (await import('./commands/doctor.js')).doctorCommand(flags, out), { findsConfig: true }));

  withGlobals(program.command('fields'))
    .description('print the custom fields of a project and type, with ids, formats and frontmatter keys')
    .requiredOption('-p, --project <identifier>', 'project identifier, name or id')
    .requiredOption('-t, --type <name>', 'work package type name (any case) or id')
    .option('-c, --config <file>', `${CONFIG_HELP}; for the URL`)
    .option('--url <url>', 'OpenProject URL (wins over OPENPROJECT_URL and the config file; without it: OPENPROJECT_URL, then openproject.url of the config file)')
    .option('--insecure-http', 'allow plain http to a non-loopback OpenProject')
    .addHelpText('after', `\nExample:\n  $ curate fields --project news --type "Curated Content"\n${ENV_HELP}`)
    .action((flags) => run(flags, async (out) => (await import('./commands/fields.js')).fieldsCommand(flags, out), { findsConfig: true }));

  withGlobals(program.command('watch'))
    .description('serve OpenProject webhooks: sync each changed work package as it changes, reconcile periodically')
    .option('-c, --config <file>', 'configuration file', 'curate.config.yaml')
    .option('-o, --out <dir>', 'output root (overrides output.root)')
    .option('--listen <host:port>', 'address for POST /webhook, GET /healthz, GET /metrics', '127.0.0.1:4040')
    .option('--reconcile-minutes <n>', 'minutes between ordinary incremental syncs (catch deletions and lost deliveries)', '15')
    .option('--git-commit', 'after each sync, commit every file curate owns that differs from HEAD (message names the pages)')
    .option('--now <iso>', 'pin the clock (event buckets), e.g. 2021-02-19T00:00:00Z')
    .option('--no-signature', 'accept unsigned webhooks (loopback addresses only; for local testing)')
    .option('--insecure-http', 'allow plain http to a non-loopback OpenProject')
    .addHelpText(
      'after',
      `
Output: one line per webhook, sync and commit on stderr; with --json, one JSON object per
line on stdout ({"time","level","message","event",…}), not a single report.

Health: GET /healthz answers 200 "ok"/"degraded", 503 "starting", and 503 "failing"
while syncs (2 in a row) or --git-commit commits keep failing, with the last error.

Environment:
  OPENPROJECT_WEBHOOK_SECRET   the webhook's secret (required unless --no-signature)
  OPENPROJECT_URL              instance URL (overrides openproject.url)
  OPENPROJECT_API_KEY          API key (HTTP basic auth, user "apikey")
  OPENPROJECT_TOKEN            bearer token (used when no API key is set)
  GIT_AUTHOR_NAME, GIT_AUTHOR_EMAIL, GIT_COMMITTER_NAME, GIT_COMMITTER_EMAIL
                               the identity of --git-commit's commits, if git has none configured

Signals: SIGTERM/SIGINT stop within 5 s (exit 0); SIGHUP reconciles now.

Example:
  $ OPENPROJECT_WEBHOOK_SECRET=… curate watch --config site/curate.config.yaml --git-commit`,
    )
    .action((flags) => run(flags, async (out) => (await import('./commands/watch.js')).watchCommand(flags, out), { ownsSignals: true }));

  program
    .command('completion')
    .description('print a shell completion script: bash, zsh or fish')
    .argument('<shell>', 'bash | zsh | fish')
    .addHelpText('after', '\nInstall:\n  bash: eval "$(curate completion bash)"            (in ~/.bashrc)\n  zsh:  curate completion zsh > "${fpath[1]}/_curate"   (then restart zsh)\n  fish: curate completion fish > ~/.config/fish/completions/curate.fish')
    .action(async (shell: string) => {
      const { completionScript, SHELLS } = await import('./commands/completion.js');
      if (!(SHELLS as readonly string[]).includes(shell)) {
        process.stderr.write(`error: unknown shell ${JSON.stringify(shell)}: bash, zsh or fish\n`);
        completionExit = EXIT.USAGE;
        return;
      }
      const commands = program.commands
        .filter((c) => c.name() !== 'completion')
        .map((c) => ({
          name: c.name(),
          description: c.description(),
          options: c.options
            .filter((o) => !o.hidden && !GLOBAL_FLAGS.has(o.long ?? '') && o.long !== '--no-color' && o.long !== '--verbose')
            .map((o) => ({ flags: [o.long, o.short].filter((f): f is string => !!f), description: o.description, value: o.required || o.optional, files: /<(file|dir)>/.test(o.flags) })),
        }));
      process.stdout.write(completionScript(shell as 'bash', commands));
    });

  return program;
}

let completionExit: number | null = null;

const GLOBAL_FLAGS = new Set(['--verbose', '-q', '--quiet', '--json', '--no-color']);

/** Run the CLI; resolves to the exit status (never calls process.exit itself). */
export async function main(argv: string[]): Promise<number> {
  // `-V` was the version flag before `-v` (the common spelling); both work.
  const args = argv.slice(2).map((a) => (a === '-V' ? '--version' : a));
  const json = args.includes('--json');
  // Before anything loads a colour library (ora, chalk): they read this once, at import,
  // and chalk does not know NO_COLOR.
  if (args.includes('--no-color') || (process.env.NO_COLOR && process.env.FORCE_COLOR === undefined)) process.env.FORCE_COLOR = '0';
  let code: number = EXIT.OK;
  const run: Runner = async (flags, fn, options = {}) => {
    const g = program.opts<GlobalFlags>();
    const out = await Output.create({ verbose: g.verbose || flags.verbose, quiet: g.quiet || flags.quiet, json: g.json || flags.json, color: g.color !== false && flags.color !== false });
    // `watch` is a service: a signal is its normal way to end (exit 0), handled by the command.
    const interrupt = options.ownsSignals ? { signal: new AbortController().signal, dispose: () => undefined } : listenForSignals((s) => out.interrupted(s), options.graceful ? undefined : { graceMs: 0 });
    try {
      if (options.findsConfig && flags.config === undefined) flags.config = await findConfigFile(process.cwd());
      code = await fn(out, interrupt.signal);
    } catch (e) {
      code = e instanceof Interrupted ? interrupted(e, out) : interrupt.signal.aborted ? interrupted(interrupt.signal.reason as Interrupted, out) : reportError(e, out);
    } finally {
      interrupt.dispose();
    }
    if (interrupt.signal.aborted && !(code === 130 || code === 143)) code = (interrupt.signal.reason as Interrupted).exitCode;
  };
  const program: Command = buildProgram(run);
  // Bare `curate` (or only global flags): the help, on stdout, as success.
  if (args.every((a) => GLOBAL_FLAGS.has(a))) {
    if (!json) program.outputHelp();
    else process.stdout.write(`${JSON.stringify({ version: VERSION, exitCode: EXIT.OK, commands: program.commands.map((c) => c.name()) }, null, 2)}\n`);
    return EXIT.OK;
  }
  try {
    await program.parseAsync([...argv.slice(0, 2), ...args]);
    if (completionExit !== null) return completionExit;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.OK;
      if (json && !stdoutClosed()) process.stdout.write(`${JSON.stringify({ version: VERSION, exitCode: EXIT.USAGE, error: { code: 'USAGE', message: e.message.replace(/^error: /, '') } }, null, 2)}\n`);
      return EXIT.USAGE;
    }
    throw e;
  }
  return code;
}

/** Stopped by a signal: one line (already printed by Output.interrupted), the shell's status. */
function interrupted(e: Interrupted, out: Output): number {
  if (out.flags.json && !stdoutClosed()) process.stdout.write(`${JSON.stringify({ version: VERSION, exitCode: e.exitCode, error: { code: 'INTERRUPTED', message: e.message } }, null, 2)}\n`);
  return e.exitCode;
}

/** The error boundary: typed errors → a message that says what to do next, and an exit status. */
function reportError(e: unknown, out: Output): number {
  const d = describeError(e, { verbose: out.flags.verbose, secrets: secretsFromEnv() });
  for (const line of d.lines) out.error(line);
  if (out.flags.json && !stdoutClosed()) process.stdout.write(`${JSON.stringify({ version: VERSION, exitCode: d.exitCode, error: d.json }, null, 2)}\n`);
  return d.exitCode;
}

// Run when executed: bin/curate.js runs the bundle built from this module (bin/load-bundle.js),
// as a CommonJS script, so no top-level await.
setProcessV8Flags();
watchStdio();
void main(process.argv).then((code) => {
  process.exitCode = code;
});
