export { renderPlanSummary } from '../plan/render.js';
export { changedFiles, filesOf, type PlannedFiles } from '../plan/planned.js';
export { countPlan, hasChanges, type FileAction, type PlannedFile, type SyncPlan } from '../plan/types.js';
export type { ItemError, SyncEvent } from './events.js';
export { renderDiff, renderPatch } from './render.js';
export { runSync, type SyncOptions, type SyncReport } from './run.js';
export { createStateCache, type StateCache } from '../output/manifest.js';
