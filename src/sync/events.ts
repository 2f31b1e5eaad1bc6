// Progress events the sync core emits; the CLI decides how to show them (spinner,
// timestamped lines, nothing).
export type SyncEvent =
  | { type: 'phase'; phase: 'resolve' | 'list' | 'map' | 'plan' | 'apply' | 'done' }
  | { type: 'page'; source: string; offset: number; total: number; workPackages: number }
  | { type: 'workPackage'; source: string; id: number; skipped: boolean }
  | { type: 'download'; attachmentId: number; bytes: number }
  | { type: 'write'; path: string; action: 'create' | 'update' | 'delete' }
  | { type: 'itemError'; error: ItemError }
  | { type: 'warning'; message: string };

export interface ItemError {
  source?: string;
  workPackageId?: number;
  attachmentId?: number;
  message: string;
}
