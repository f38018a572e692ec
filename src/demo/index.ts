/**
 * @module
 * The demo (`npm start`, `exas demo`): both emulators and the real sidecar in one process on loopback, the
 * default rules, a few hundred simulated agents. Wires emulators to product code, so product code never
 * imports it.
 */
export { startDemo, demoOptions, DEMO_DEFAULTS, type DemoOptions, type DemoUrls, type RunningDemo } from './start.ts';
export { demoConfig, DemoConfigError, type DemoConfigInput } from './config.ts';
export { demoProgress, formatProgress, type DemoProgress } from './progress.ts';
export { readyLine, parseReadyLine } from './ready-line.ts';
