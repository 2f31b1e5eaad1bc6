#!/bin/sh
# One nightly `curate sync` for cron in the site repository SITE_DIR:
#
#   curate-cron.sh SITE_DIR
#
# - No lock of its own: curate locks the output root. A run that finds another one
#   still going (exit 3) is logged and skipped, without a mail.
# - Logs every run, with timestamps, to $CURATE_LOG
#   (default ~/.local/state/curate/curate.log): a place the cron user can write.
# - Prints (so cron mails it) only when a person is needed: exit 1 (an error before
#   anything was applied, or some items failed: what was applied is committed, the
#   failed ones keep their last good files), any other status but 0 and 3, or a failed push.
# - Commits with curate's --git-commit (every file curate owns that differs from HEAD),
#   and pushes only after a run that exited 0, after `git pull --rebase` (a run with
#   failed items is committed locally and pushed by the next good run).
#
# Settings come from the environment or from $CURATE_ENV (default
# ~/.config/curate/env: lines of VAR=value; chmod 600, it holds the key):
#   OPENPROJECT_URL       the instance (or openproject.url in the config)
#   OPENPROJECT_API_KEY   the API key (or OPENPROJECT_TOKEN)
#   CURATE_NODE           node's absolute path, e.g. ~/.nvm/versions/node/v22.12.0/bin/node
#                         (cron's PATH is /usr/bin:/bin: nvm, fnm and asdf are not on it)
#   CURATE                the curate command (default: SITE_DIR/node_modules/.bin/curate)
#   CURATE_PUSH           0: commit, never push (default 1)
set -u

site=${1:?usage: curate-cron.sh SITE_DIR}
env_file=${CURATE_ENV:-$HOME/.config/curate/env}
if [ -r "$env_file" ]; then
  set -a # every VAR=value in the file is exported to curate
  . "$env_file"
  set +a
fi
if [ -n "${CURATE_NODE:-}" ]; then
  PATH=$(dirname "$CURATE_NODE"):$PATH
  export PATH
fi

log=${CURATE_LOG:-${XDG_STATE_HOME:-$HOME/.local/state}/curate/curate.log}
mkdir -p "$(dirname "$log")" || exit 1
note() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$log"; }
alert() {
  note "$*"
  printf 'curate-cron (%s): %s\n' "$site" "$*" >&2
}

cd "$site" || {
  alert "no site repository at $site"
  exit 1
}
curate=${CURATE:-$site/node_modules/.bin/curate}

note "curate sync starts"
# Off a terminal curate writes plain timestamped lines: its summary, failures, a
# progress line every 10 s. Not --quiet: a good run's summary belongs in the log.
# This run's lines also go to a temporary file, to tell what it applied.
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
"$curate" sync --git-commit >"$out" 2>&1
status=$?
cat "$out" >>"$log"

case $status in
  0)
    note "curate sync exited 0"
    if [ "${CURATE_PUSH:-1}" = 1 ]; then
      # A commit pushed from elsewhere meanwhile: replay curate's on top of it.
      if git pull --rebase --quiet >>"$log" 2>&1 && git push --quiet >>"$log" 2>&1; then
        note "pushed"
      else
        git rebase --abort >/dev/null 2>&1
        alert "git pull --rebase or git push failed; the commit is local. See $log"
        exit 1
      fi
    fi
    ;;
  3)
    note "another curate sync holds the lock on this output root; skipped"
    ;;
  1)
    # Items failed (the rest was applied and committed), the commit failed (applied,
    # committed by the next run), or the run failed before applying anything: its
    # summary line says which.
    if grep -q ' sync finished with [0-9]* failed item' "$out"; then
      alert "curate sync exited 1: some items failed (they keep their last good files and are retried next run); what was applied is committed, not pushed. From $log:"
    elif grep -q ' sync applied, not committed: ' "$out"; then
      alert "curate sync exited 1: the changes were applied but git commit failed (see the error); the next run commits them. Nothing was pushed. From $log:"
    else
      alert "curate sync exited 1: an error before anything was applied; nothing was committed or pushed. From $log:"
    fi
    tail -n 20 "$log" >&2
    exit 1
    ;;
  *)
    alert "curate sync failed with status $status; nothing was pushed. From $log:"
    tail -n 20 "$log" >&2
    exit "$status"
    ;;
esac
