// Shapes of a dataset (../shared/medigy/DATASET.md) as the simulator holds it.
import type { SimulatorWebhooks, WebhookTarget } from './webhooks.js';
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface InstanceJson {
  format?: string;
  projects: JsonObject[];
  types: JsonObject[];
  statuses: JsonObject[];
  users?: JsonObject[];
  /** `adminOnly`: visible to administrators only (OpenProject's `admin_only`); other users' schemas and work packages leave it out. */
  customFields: { id: number; name: string; fieldFormat: string; multiValue?: boolean; adminOnly?: boolean }[];
  schemas: Record<string, number[]>;
}

/** A work package as GET /api/v3/work_packages/:id returns it, without _embedded. */
export type WorkPackageJson = JsonObject & { id: number; updatedAt: string; createdAt: string; _links: JsonObject };
/** attachment.rb `enum :status`: `prepared` (direct upload unfinished), `uploaded`, `scanned`, `quarantined` (plus `rescan`). */
export type AttachmentStatus = 'prepared' | 'uploaded' | 'scanned' | 'quarantined' | 'rescan';
export type AttachmentJson = JsonObject & { id: number; fileName: string; fileSize: number };

/** Attachment bytes made on demand (synthetic datasets), so big datasets stay small in memory. */
export interface LazyContent {
  size: number;
  md5: string;
  read(): Buffer;
}

export interface Dataset {
  instance: InstanceJson;
  workPackages: Map<number, WorkPackageJson>;
  attachments: Map<number, { meta: AttachmentJson; content: Buffer | LazyContent }>;
}

export type RouteName =
  | 'root'
  | 'projects'
  | 'project'
  | 'types'
  | 'statuses'
  | 'work_packages'
  | 'work_package'
  | 'schema'
  | 'schemas'
  | 'attachments'
  | 'attachment'
  | 'content'
  | 'storage'
  | 'custom_field'
  | 'other';

export interface RequestRecord {
  method: string;
  path: string;
  route: RouteName;
  status: number;
  authorization: boolean;
  origin: 'api' | 'storage';
  /** performance.now() when the request arrived and when its response closed (bench: requests in flight). */
  startMs: number;
  endMs?: number;
}

export type FaultKind = 'status' | 'reset' | 'stall' | 'truncate' | 'corrupt' | 'html' | 'invalid-json' | 'trickle';

export interface FaultSpec {
  route?: RouteName | RouteName[];
  kind: FaultKind;
  /** 'status': the HTTP status to answer with (HAL Error body). */
  status?: number;
  /** Seconds → Retry-After. */
  retryAfter?: number;
  /** Seconds from now → RateLimit-Reset as epoch seconds (OpenProject's rack-attack style). */
  rateLimitReset?: number;
  /** 'stall': hold the response this long without a byte. @default 120000 */
  stallMs?: number;
  /** 'trickle': send the body one byte per this many ms. @default 1000 */
  trickleMs?: number;
  /** Hit the next N matching requests … */
  times?: number;
  /** … or each matching request with this probability (seeded RNG). */
  rate?: number;
  match?: (req: { path: string; route: RouteName }) => boolean;
}

export interface SimulatorOptions {
  /** In-memory dataset or a DATASET.md folder. */
  dataset: Dataset | string;
  /** When set, /api/v3 needs Basic `apikey:<key>` or Bearer `<key>`, else 401 Unauthenticated. */
  apiKey?: string;
  /**
   * A second accepted key, of a user who is not an administrator: custom fields marked
   * `adminOnly` are left out of its schemas and work packages entirely, as OpenProject does.
   */
  userApiKey?: string;
  /** 'redirect': /content answers 302 to a signed, expiring URL on a second origin (S3-like). @default 'inline' */
  downloads?: 'inline' | 'redirect';
  /** apiv3_max_page_size. @default 1000 */
  maxPageSize?: number;
  /** Fixed delay added to every API request. @default 0 */
  latencyMs?: number;
  /**
   * Answer the later pages of a listing from the rows its first page filtered and sorted
   * (a real server's query with LIMIT/OFFSET, not a scan of every work package per page),
   * until the store changes. Only for datasets changed through the simulator's methods
   * (`updateWorkPackage`, hooks…): an edit made to a dataset object directly is not seen.
   * The benchmarks use it so that their figures are curate's, not the simulator's filter
   * loop (at 30,000 work packages, ~20 ms of simulator CPU per page). With it, a query
   * filtering `updatedAt <>d from` also looks only at the rows updated from a day before
   * `from` on (an index on updated_at), not at every work package. @default false
   */
  cacheListings?: boolean;
  /** Extra delay per work package rendered in full in a list response. @default 0 */
  perElementMs?: number;
  /** Server clock: updatedAt on mutations, signed download URL expiry. @default real time */
  clock?: () => Date;
  /** Seed of the RNG behind rate-based faults. @default 1 */
  seed?: number;
  /** @default 0 (ephemeral) */
  port?: number;
  /** Lifetime of signed storage URLs in redirect mode. @default 21590 (OpenProject: 6 h − 10 s) */
  signedUrlTtlSeconds?: number;
  /**
   * Render timestamps (`createdAt`, `updatedAt`, new stamps) with this many fractional
   * digits, like a server's `iso8601(N)`; by default they are rendered as the dataset holds
   * them (the legacy corpus: 6, a current server: 3) and new stamps get 3.
   */
  timestampDigits?: number;
  /**
   * Virus scanning is on (Setting.antivirus_scan_mode): a newly added attachment stays
   * `uploaded` and its content answers 403 to the API user until `finishScan(id)`.
   * @default false
   */
  virusScanning?: boolean;
  /**
   * The server refuses `select` on work package lists with 400 InvalidQuery (a release or a
   * proxy that does not take it), as it refuses an unknown filter. @default false
   */
  refuseSelect?: boolean;
  /**
   * Where the real server is stricter than this simulator used to be, the strict behaviour is
   * the default; a test that needs the old leniency names it here.
   */
  lenient?: Lenience[];
  /** Send OpenProject-style webhooks for mutations made through the Simulator methods (webhooks.ts). */
  webhooks?: WebhookTarget;
}

/**
 * Old, lenient behaviours a test may ask for by name:
 * - `filter-values`: unknown ids / projects / types / statuses in a filter match nothing (real server: 400).
 * - `date-operators`: `>=`, `<=`, `*`, `!*` on `updatedAt` / `createdAt` (real server: 400).
 * - `select-shape`: a `select` answer also carries `_type`, `count`, `pageSize`, `offset`, `_links`.
 * - `custom-field-union`: a list page renders only each work package's own custom fields.
 * - `subprojects`: a project filter matches only the project itself, whatever `includeSubprojects` says.
 * - `bearer-any`: any bearer value equal to the key is accepted, without the `opapi-` prefix.
 */
export type Lenience = 'filter-values' | 'date-operators' | 'select-shape' | 'custom-field-union' | 'subprojects' | 'bearer-any';

export interface Simulator {
  readonly url: string;
  readonly storageUrl: string;
  readonly dataset: Dataset;
  /** Outgoing webhooks: target, deliveries, flush. */
  readonly webhooks: SimulatorWebhooks;
  counts(): { total: number; byRoute: Partial<Record<RouteName, number>> };
  log(): RequestRecord[];
  resetCounts(): void;
  inject(fault: FaultSpec): void;
  clearFaults(): void;
  /**
   * End every response held by a `stall` fault now, as its `stallMs` running out would (the
   * connection closes without an answer). Lets a test hold a request until an event of its
   * own instead of guessing how long to hold it.
   */
  endStalls(): void;
  /** Called as each work package list page is requested (with its URL: `select` tells an id listing). */
  onListPage(hook: ((page: number, url: URL) => void) | null): void;
  updateWorkPackage(id: number, change: (wp: WorkPackageJson) => void): void;
  addWorkPackage(wp: WorkPackageJson, attachments?: { meta: AttachmentJson; content: Buffer }[]): void;
  deleteWorkPackage(id: number): void;
  addAttachment(workPackageId: number, meta: Partial<AttachmentJson> & { fileName: string }, content: Buffer): AttachmentJson;
  deleteAttachment(id: number): void;
  setAttachmentContent(id: number, content: Buffer): void;
  /** Set an attachment's `status` (`prepared`, `uploaded`, `scanned`, `quarantined`) without touching its container. */
  setAttachmentStatus(id: number, status: AttachmentStatus): void;
  /** The virus scan of an attachment ends clean (`scanned`); like the real scan job it does not touch the work package. */
  finishScan(id: number): void;
  /** Accept another credential from now on (the old one is refused: an access token that expired and was renewed). */
  setApiKey(key: string): void;
  close(): Promise<void>;
}
