// curate's library surface: what a program may use without the CLI.
export { loadConfig, type ConfigOverrides, type ResolvedConfig } from './config/load.js';
export * from './errors.js';
export { createProfile } from './mapping/profiles/index.js';
export { emitYaml, renderFrontmatterFile, YamlDate, YamlTimestamp, type YamlValue } from './mapping/yaml/index.js';
export { createOpenProjectClient, credentialsFromEnv, type OpenProjectClient, type OpenProjectClientOptions } from './openproject/index.js';
export { changedFiles, filesOf, renderDiff, renderPatch, renderPlanSummary, runSync, type PlannedFiles, type SyncEvent, type SyncOptions, type SyncReport } from './sync/index.js';
export type * from './types.js';
