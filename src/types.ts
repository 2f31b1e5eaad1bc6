// Domain types shared by every layer. This file is the contract between the
// OpenProject client (network), the mapping profiles (pure), the planner (pure)
// and the output layer (disk). Nothing here does I/O.

/** A project as curate knows it (from GET /api/v3/projects). */
export interface Project {
  id: number;
  identifier: string;
  name: string;
}

/** A type or status reference, resolved from a work package's `_links`. */
export interface NamedRef {
  id: number;
  name: string;
}

/** OpenProject custom-field formats (`fieldFormat` / schema `type`). */
export type CustomFieldFormat =
  | 'string'
  | 'text'
  | 'link'
  | 'int'
  | 'float'
  | 'bool'
  | 'date'
  | 'list'
  | 'user'
  | 'version'
  /** `hierarchy` and `weighted_item_list` fields: links to `CustomField::Hierarchy::Item`s. */
  | 'hierarchy'
  /** `department` fields: links to groups. */
  | 'group'
  /** `calculated_value` fields: a number (or text) the server computes from a formula. */
  | 'calculated'
  | 'unknown';

/** Definition of a custom field, resolved from the embedded schemas (or the schema endpoint). */
export interface CustomFieldDef {
  id: number;
  /** Human name, e.g. "Clean URL". The rest of curate speaks names, never `customField5`. */
  name: string;
  format: CustomFieldFormat;
  multiValue: boolean;
}

/** A link value of a list/user/version/hierarchy/group custom field. */
export interface LinkValue {
  href: string | null;
  title: string | null;
}

/**
 * Value of one custom field as carried by the work package:
 * - string/link/date: string | null
 * - text (Formattable): its `raw` string | null
 * - int/float: number | null
 * - bool: boolean | null
 * - list/user/version/hierarchy/group: LinkValue (single) or LinkValue[] (multi)
 * - calculated: number, or the string the server sent
 */
export type CustomFieldValue = string | number | boolean | null | LinkValue | LinkValue[];

export interface CustomFieldEntry {
  field: CustomFieldDef;
  value: CustomFieldValue;
}

/**
 * A work package after boundary validation. Custom fields are listed in the
 * order the work package JSON carries them, and ONLY those it carries: a field
 * active in the schema but absent from the JSON is "not set" and is not listed;
 * one present with `null` is listed with value `null` (MAPPING.md §5.4).
 */
export interface WorkPackage {
  id: number;
  lockVersion: number;
  subject: string;
  /** `description.raw`; '' when the description is empty or null. */
  description: string;
  /** `createdAt` / `updatedAt` exactly as the server sent them (precision kept). */
  createdAt: string;
  updatedAt: string;
  startDate: string | null;
  dueDate: string | null;
  type: NamedRef;
  status: NamedRef & { isClosed?: boolean };
  project: NamedRef;
  /** `_links.author.title`, or null when not disclosed. */
  author: string | null;
  customFields: CustomFieldEntry[];
}

/** OpenProject's attachment states (app/models/attachment.rb `enum :status`). */
export type AttachmentStatus = 'uploaded' | 'scanned' | 'prepared' | 'quarantined' | 'rescan';

/** Attachment metadata (GET /api/v3/work_packages/:id/attachments). */
export interface Attachment {
  id: number;
  fileName: string;
  fileSize: number;
  contentType: string;
  /** md5 hex digest, or null when the server did not compute one. */
  md5: string | null;
  createdAt: string;
  /**
   * `staticDownloadLocation` (`/api/v3/attachments/:id/content`), never `downloadLocation`:
   * with external storage the latter is a pre-signed URL that expires, while the static one
   * redirects to a freshly signed URL at every request. Without that link: the relative
   * reference `api/v3/attachments/:id/content`, resolved under the instance's URL (sub-path kept).
   */
  downloadHref: string;
  /**
   * The server's attachment status: `uploaded` / `scanned` (downloadable), `prepared` (a direct
   * upload not finished), `quarantined` (virus found), `rescan`; servers that predate the field
   * send none, which reads as `uploaded` (so does an absent value here: hand-built metadata in tests).
   */
  status?: AttachmentStatus;
  /** The work package this attachment belongs to. */
  containerId: number;
}

/** What a mapping profile needs to know about an attachment's bytes. */
export type ContentProbe =
  | { kind: 'image'; valid: true; format: ImageFormat; width: number; height: number }
  | { kind: 'image'; valid: false }
  | { kind: 'file' }
  | { kind: 'json'; value: unknown }
  | { kind: 'json-invalid'; error: string };

export type ImageFormat = 'JPEG' | 'PNG' | 'GIF' | 'WEBP' | 'ICO';

/**
 * How a profile wants an attachment handled:
 * - 'image': download, probe the image header (format/size/validity), may become an asset file;
 * - 'file': download, becomes an asset file as is (e.g. a PDF);
 * - 'json': download and parse; its value feeds the frontmatter (never an asset file).
 */
export type AttachmentUse = 'image' | 'file' | 'json';

/** An attachment with its probed content, as handed to a profile's `map`. */
export interface ProbedAttachment {
  attachment: Attachment;
  use: AttachmentUse;
  probe: ContentProbe;
}

/** A file a mapped document wants on disk, relative to the output root (POSIX separators). */
export type PlannedContent =
  | { kind: 'text'; path: string; text: string }
  | { kind: 'attachment'; path: string; attachmentId: number };

/** The result of mapping one work package. */
export interface MappedDocument {
  workPackageId: number;
  /** The markdown file; first entry of `files` too. */
  markdownPath: string;
  files: PlannedContent[];
  /**
   * The instant (ISO 8601) after which this output may differ for the same work package
   * (e.g. an event moving from "upcoming" to "past"). The engine maps the work package
   * again on the first run whose `now` is at or past it. Absent: valid until the work
   * package or the config changes.
   */
  validUntil?: string;
  /** The instant before which this output may differ (e.g. an event that is already past). Absent: no lower bound. */
  validFrom?: string;
  /**
   * Ids of other work packages whose membership in the synced set (`MapContext.sourceOf`)
   * or whose shown facts (`MapContext.workPackageFacts`) this output depends on (e.g. links,
   * `##N`). The engine maps the work package again when the answer for any of them changes
   * (a different source, or none; another subject, type or status name).
   */
  references?: number[];
  /**
   * Small JSON value the profile wants back on the next run for this work package
   * (`MapContext.memory`), e.g. previous URLs for `aliases`. Stored in the manifest.
   */
  memory?: unknown;
}

/**
 * What OpenProject's `##N` / `###N` show of another work package: its subject, its type's
 * and status's names (names as the server has them now).
 */
export interface WorkPackageFacts {
  subject: string;
  type: string;
  status: string;
}

/** Facts beyond the work package itself that a profile may read. */
export interface MapContext {
  /**
   * The source that syncs a work package in this run, or undefined when no source of this
   * config matches it (not synced, deleted, not visible). List every id asked about in
   * `MappedDocument.references`.
   */
  sourceOf(id: number): SourceSpec | undefined;
  /**
   * Another work package's shown facts, synced or not; null when the key cannot see it or it
   * does not exist. Pure and synchronous: the engine answers from what it knows, and maps the
   * page again in the same run when its final answer differs (a target read later in the
   * run), so the output always shows the facts at the end of the run. Absent outside a sync.
   */
  workPackageFacts?(id: number): WorkPackageFacts | null;
  /** What this profile returned as `memory` for this work package on its last successful mapping, or undefined. */
  memory: unknown;
}

/** Everything a profile's `map` gets: pure data, no handles. */
export interface MapInput {
  workPackage: WorkPackage;
  project: Project;
  /** Only the attachments the profile selected via `attachmentUse`, each probed. */
  attachments: ProbedAttachment[];
  /** All attachment metadata of the work package (selected or not). */
  allAttachments: Attachment[];
  /** The source (from config) this work package was read for. */
  source: SourceSpec;
  /** Injected clock ("now"): never read the system clock in a profile. */
  now: Date;
  /** Other work packages and the profile's memory; absent when mapping outside a sync (tests). */
  context?: MapContext;
}

/** A mapping profile: pure code, no I/O. */
export interface Profile {
  readonly name: string;
  /**
   * Mapping version: bump it whenever the same input maps to different output (a fix, a new
   * key). It is part of each source's fingerprint in the manifest, so an upgrade re-maps
   * every work package instead of leaving a tree half in the old shape.
   */
  readonly version: string;
  /** The options the profile was built from (config `profile.options`); part of the fingerprint. */
  readonly options?: unknown;
  /**
   * Whether its pages may show other work packages' facts (MapContext.workPackageFacts).
   * `false` is a promise never to ask: a run then remembers no row's subject, type and
   * status. Default: they may.
   */
  readonly showsFacts?: boolean;
  /** Which attachments to download and how; null = ignore it. */
  attachmentUse(attachment: Attachment, workPackage: WorkPackage): AttachmentUse | null;
  /** Map one work package; throws MappingError naming the work package and field on bad data. */
  map(input: MapInput): MappedDocument;
  /**
   * Custom fields the options name (e.g. `tagsField`), with the option that names each: a sync,
   * `doctor` and `fields` say when the key cannot see one instead of silently writing nothing.
   */
  configuredFields?(): { name: string; option: string }[];
  /** Problems with a source's profile-specific settings, as `path: message` lines (checked once, up front). */
  checkSource?(source: SourceSpec, index: number): string[];
}

/** One source of work packages: projects × types (× statuses), written under one folder. */
export interface SourceSpec {
  /** Stable name used in reports and the manifest. */
  name: string;
  /** Project identifiers (or numeric ids as strings). */
  projects: string[];
  /** Work package type names. */
  types: string[];
  /** Status names; empty = all statuses, open AND closed. */
  statuses: string[];
  /** Output folder template, relative to the output root. Profile-specific meaning. */
  path: string;
  /** Free-form profile options for this source (e.g. medigy `variant`). */
  options: Record<string, unknown>;
  /** Also the work packages of the projects' subprojects (default: only the named projects). */
  includeSubprojects?: boolean;
}
