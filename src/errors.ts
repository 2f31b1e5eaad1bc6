// Typed errors. Library code throws these; only the CLI boundary (src/cli/main.ts)
// turns them into messages and exit codes. Messages must never contain secrets:
// URLs are passed through `redactUrl` before they reach a message.

export type ErrorCode =
  | 'CONFIG'
  | 'OPENPROJECT'
  | 'NETWORK'
  | 'MAPPING'
  | 'OUTPUT'
  | 'LOCKED'
  | 'SAFETY'
  | 'INTERNAL';

export class CurateError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Invalid configuration: `problems` are `path: message` lines (file and line where known). */
export class ConfigError extends CurateError {
  readonly problems: string[];
  constructor(message: string, problems: string[] = []) {
    super('CONFIG', problems.length ? `${message}\n${problems.map((p) => `  - ${p}`).join('\n')}` : message);
    this.problems = problems;
  }
}

/** An HTTP-level failure from OpenProject: names method, URL (redacted), status, errorIdentifier. */
export class OpenProjectError extends CurateError {
  readonly method: string;
  readonly url: string;
  readonly status: number | null;
  readonly errorIdentifier: string | null;
  constructor(init: {
    method: string;
    url: string;
    status: number | null;
    errorIdentifier?: string | null;
    message: string;
    cause?: unknown;
  }) {
    const id = init.errorIdentifier ? ` [${init.errorIdentifier}]` : '';
    const status = init.status === null ? '' : ` → ${init.status}`;
    super('OPENPROJECT', `${init.method} ${redactUrl(init.url)}${status}${id}: ${init.message}`, { cause: init.cause });
    this.method = init.method;
    this.url = redactUrl(init.url);
    this.status = init.status;
    this.errorIdentifier = init.errorIdentifier ?? null;
  }
}

/** A payload that does not have the shape curate reads: names the item and the field. */
export class PayloadError extends CurateError {
  constructor(
    readonly item: string,
    readonly field: string,
    detail: string,
  ) {
    super('OPENPROJECT', `${item}: field "${field}" ${detail}`);
  }
}

/**
 * An attachment whose bytes are not available YET: `prepared` (a direct upload that has not
 * finished: no file, empty digest) or pending a virus scan (`uploaded` while scanning is on:
 * the content answers 403 to everyone but the uploader until the scan ends). Nothing was
 * written for it (never a partial or empty file).
 *
 * Contract for the sync engine: this is "not yet", not a failure of the work package's
 * data. Keep the work package's last good files, do not advance past it (put it on the
 * retry list: the scan finishing does not change the work package's `updatedAt`, so only a
 * retry picks it up), and report it as pending, naming the work package and the attachment.
 */
export class AttachmentNotReadyError extends CurateError {
  constructor(
    readonly attachmentId: number,
    readonly fileName: string,
    readonly workPackageId: number,
    readonly status: string,
    detail: string,
  ) {
    super('OPENPROJECT', `work package #${workPackageId}: attachment #${attachmentId} (${JSON.stringify(fileName)}) is not available yet (${status}): ${detail}`);
  }
}

/**
 * An attachment the server quarantined (a virus was found: status `quarantined`, its content
 * answers 403). Nothing was written for it.
 *
 * Contract for the sync engine: an item error for the work package, naming the work package
 * and the attachment; it will not resolve by waiting (an administrator has to act), so it is
 * reported every run until the attachment is deleted or released.
 */
export class AttachmentQuarantinedError extends CurateError {
  constructor(
    readonly attachmentId: number,
    readonly fileName: string,
    readonly workPackageId: number,
  ) {
    super('OPENPROJECT', `work package #${workPackageId}: attachment #${attachmentId} (${JSON.stringify(fileName)}) is quarantined by the server's virus scanner and cannot be downloaded`);
  }
}

/** A work package that cannot be mapped: names the work package and the field. */
export class MappingError extends CurateError {
  constructor(
    readonly workPackageId: number,
    readonly field: string,
    detail: string,
  ) {
    super('MAPPING', `work package #${workPackageId}: ${field}: ${detail}`);
  }
}

/** Disk-side failure (permissions, paths escaping the output root, …). */
export class OutputError extends CurateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OUTPUT', message, options);
  }
}

/** Another sync holds the lock on this output root. */
export class LockedError extends CurateError {
  constructor(message: string) {
    super('LOCKED', message);
  }
}

/** The safety brake refused a mass deletion. */
export class SafetyError extends CurateError {
  constructor(message: string) {
    super('SAFETY', message);
  }
}

/** Strip credentials and secret-looking query parameters from a URL for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    for (const key of [...u.searchParams.keys()]) {
      if (/key|token|secret|signature|password|credential/i.test(key)) u.searchParams.set(key, 'REDACTED');
    }
    return u.toString();
  } catch {
    return url;
  }
}
