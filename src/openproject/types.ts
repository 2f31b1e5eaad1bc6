// The OpenProject client's public contract. The sync engine depends only on this
// interface, so tests can hand it a fake and the implementation can change freely.
import type { Attachment, CustomFieldDef, NamedRef, Project, WorkPackage } from '../types.js';

export interface OpenProjectClientOptions {
  /** Instance root, e.g. https://openproject.example.com (a sub-path is allowed). */
  baseUrl: string;
  /** API key: sent as HTTP Basic `apikey:<key>`. Never logged. */
  apiKey?: string;
  /** Bearer token (OAuth / `opapi-` tokens). Used when apiKey is absent. Never logged. */
  token?: string;
  /**
   * A file holding the bearer token (used instead of `token` when apiKey is absent). Read when
   * the client is made and again after every 401, so a token renewed there (an OAuth access
   * token expires after hours; a sidecar refreshes the file) is used without a restart.
   */
  tokenFile?: string;
  /** Requested page size; the server clamps it (default setting: 1000). @default 1000 */
  pageSize?: number;
  /**
   * Full work package pages asked for ahead of the one being consumed (after page 1 has
   * told the total). Bounds memory: the consumer's pace sets how fast pages are fetched. @default 2
   */
  pageLookahead?: number;
  /** Parallel requests in flight (p-limit). @default 8 */
  concurrency?: number;
  /** Per-request timeout (headers and body idle time), ms. @default 30000 */
  timeoutMs?: number;
  /** Retries after the first attempt for 429/502/503/504/resets/timeouts/bad downloads. @default 5 */
  retries?: number;
  /** Base backoff in ms (exponential with full jitter). Tests set it low. @default 500 */
  backoffBaseMs?: number;
  /** Upper bound for a single wait (Retry-After included). @default 60000 */
  maxBackoffMs?: number;
  /**
   * Overall deadline of one download attempt: minSeconds + secondsPerMiB × size in MiB
   * (a trickling server cannot hold a download forever); on expiry it is retried.
   * @default DEFAULT_DOWNLOAD_DEADLINE (download.ts)
   */
  downloadDeadline?: { minSeconds?: number; secondsPerMiB?: number };
  /** Allow plain http to a non-loopback host. @default false */
  insecureHttp?: boolean;
  /** Called after every HTTP exchange (for progress and request counting). */
  onRequest?: (event: RequestEvent) => void;
  /**
   * Ends every request of this client once aborted (Ctrl-C, SIGTERM): requests in flight are
   * cancelled, queued ones and retry waits end at once, all rejecting with the signal's
   * reason. Without it, a slow answer holds an interrupted run (and the process) until it comes.
   */
  signal?: AbortSignal;
}

export interface RequestEvent {
  method: string;
  /** Route name: 'work_packages' | 'work_package_ids' | 'schema' | 'attachments' | 'content' | 'projects' | 'types' | 'statuses' | 'other'. */
  route: string;
  /** Redacted URL. */
  url: string;
  status: number | null;
  attempt: number;
  ms: number;
  bytes: number;
  error?: string;
}

export interface WorkPackageQuery {
  /** Project ids. Empty/absent = all projects. */
  projectIds?: number[];
  /** Type ids. Empty/absent = all types. */
  typeIds?: number[];
  /** Status ids. Empty/absent = ALL statuses, open and closed (an explicit filter is always sent). */
  statusIds?: number[];
  /** Only work packages with updatedAt >= this ISO instant (server clock). */
  updatedSince?: string;
  /** Only work packages with updatedAt within [from, to] (inclusive ISO instants). */
  updatedBetween?: [string, string];
  /** Only these ids. Ids that no longer exist (or are not visible) are simply absent from the result. */
  ids?: number[];
  /**
   * Also the work packages of the named projects' subprojects. Always sent explicitly
   * (`includeSubprojects=false` by default): a server's own default includes them.
   * @default false
   */
  includeSubprojects?: boolean;
}

export interface WorkPackagePage {
  /** 1-based page number. */
  offset: number;
  total: number;
  workPackages: WorkPackage[];
  /** Elements of this page that failed boundary validation: reported per item, the rest of the page is kept. */
  invalid: { id: number | null; message: string }[];
}

export interface IdListing {
  /** Ascending. */
  ids: number[];
  /** The same ids as a set, iterated in ascending order, when the client built one anyway (saves the caller making its own). */
  idSet?: ReadonlySet<number>;
  total: number;
  /**
   * With `withAuthors`: each listed id's author as `<user id>\u0000<name>` (the link's id and
   * title). Absent when the server refuses to select the author link (older or stricter
   * servers): the caller then knows nothing about author names from this listing.
   */
  authors?: Map<number, string>;
}

export interface DownloadResult {
  bytes: number;
  md5: string;
}

/**
 * Where a download's bytes go. The client may retry a download (truncated,
 * corrupted, reset): each attempt calls `open()` again, which must discard what a
 * previous attempt wrote. `commit` is not the client's business: the caller decides
 * what to do with a verified download.
 */
export interface DownloadSink {
  open(): Promise<DownloadWriter> | DownloadWriter;
}
export interface DownloadWriter {
  write(chunk: Uint8Array): Promise<void> | void;
  /** All bytes written and verified (size + md5). */
  end(): Promise<void> | void;
  /** The attempt failed; drop partial data. */
  abort(): Promise<void> | void;
  /**
   * The file the writer puts the bytes in, when it keeps them in one (the engine's
   * staging): complete once end() resolved. Lets a wrapper keep a link to the bytes
   * instead of writing a second copy as they stream (src/cli/download-cache.ts).
   */
  readonly file?: string;
}

export interface OpenProjectClient {
  readonly baseUrl: string;
  listProjects(): Promise<Project[]>;
  listTypes(): Promise<NamedRef[]>;
  listStatuses(): Promise<(NamedRef & { isClosed: boolean })[]>;
  /**
   * Every matching work package, sorted by id asc, de-duplicated. After the first
   * page reports `total`, the remaining pages are requested in parallel (bounded by
   * concurrency) and yielded in page order as they complete. Custom fields come
   * resolved by name from the embedded schemas (schema endpoint as a fallback).
   */
  listWorkPackages(query: WorkPackageQuery): AsyncIterable<WorkPackagePage>;
  /**
   * Work packages of `query` changed at or after `since` (server clock), walked by key
   * (`updatedAt`, `id`) rather than by page number: each page is asked for from the last
   * key received (inclusive), so an edit or deletion during the walk cannot shift a row out
   * of it. A row edited during the walk may come again with its newer `updatedAt`; it is
   * handed on once (its first version), and the next run's walk sees the newer one.
   */
  listChanges(query: WorkPackageQuery, since: string): AsyncIterable<WorkPackagePage>;
  /** One work package by id; null when the server answers 404 (deleted, or not visible to this key). */
  getWorkPackage(id: number): Promise<WorkPackage | null>;
  /** The server's clock (`Date` header) at the most recent response, or null before any. */
  lastServerDate(): Date | null;
  /** How many work packages match (one `pageSize=0` request: the server counts, renders nothing). */
  countWorkPackages(query: WorkPackageQuery): Promise<number>;
  /**
   * Cheap id-only listing (`select=total,elements/id`) for finding deletions and moves.
   * `withAuthors` also selects each element's author link (its title is the user's name,
   * which changes with no work package's updatedAt when the user is renamed).
   */
  /**
   * `authorsAnsweredBefore`: the caller knows this server answered the author select (an
   * earlier run's state says so), so this listing does not wait for another one's first
   * page to find out; a server that refuses it now still gets the plain listing.
   * `signal`: drops this listing (its requests queued or in flight reject with the reason).
   */
  listWorkPackageIds(query: WorkPackageQuery, options?: { withAuthors?: boolean; authorsAnsweredBefore?: boolean; signal?: AbortSignal }): Promise<IdListing>;
  /** Custom fields active for a project and type (schema endpoint). */
  getSchemaFields(projectId: number, typeId: number): Promise<CustomFieldDef[]>;
  /**
   * The custom fields of many `{projectId}-{typeId}` schemas in bulk (the schemas collection
   * with an id filter), read fresh from the server (never from the client's cache): their
   * names change with no work package's updatedAt when an admin renames a field.
   */
  listSchemaFields(keys: readonly string[]): Promise<Map<string, CustomFieldDef[]>>;
  listAttachments(workPackageId: number): Promise<Attachment[]>;
  /**
   * Stream an attachment's content into `sink`, following a redirect to another
   * origin WITHOUT credentials; verify size and md5 (when known); refuse more than
   * `maxBytes`. Retries faults by reopening the sink.
   */
  downloadAttachment(attachment: Attachment, sink: DownloadSink, options?: { maxBytes?: number }): Promise<DownloadResult>;
  /** The server's effective maximum page size (asks for a huge page of nothing and reads `pageSize`). */
  maxPageSize(): Promise<number>;
  /** Requests made so far, by route. */
  stats(): { total: number; byRoute: Record<string, number>; bytes: number; retries: number };
  close(): Promise<void>;
}
