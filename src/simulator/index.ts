// The OpenProject simulator: test support shipped in dist/ for the demo and benchmarks.
export { loadDataset, writeDataset } from './dataset.js';
export { generateDataset } from './generate.js';
export { startSimulator } from './server.js';
export type * from './types.js';
export type { SimulatorWebhooks, WebhookDelivery, WebhookTarget } from './webhooks.js';
