/**
 * @module
 * The operator surface of EXAS over HTTP (Hono): /metrics, /livez, /readyz, POST /dry-run, /agents,
 * /-/reload, /-/pause, /-/resume and the status page, built on an `OperatorDeps` the connector implements.
 */
export { createOperatorApp } from './app.ts';
export { checkOperatorServerOptions, startOperatorServer, type OperatorServer, type OperatorServerOptions } from './server.ts';
export { createOfflineDeps, type OfflineDepsOptions } from './offline-deps.ts';
export { createOperatorJobPool, handleOperatorJob, OPERATOR_WORKER, type OperatorJob, type OperatorJobPool, type OperatorJobResult } from './jobs.ts';
export { DEFAULT_BODY_LIMIT_BYTES, type OperatorAppOptions } from './options.ts';
export { CANDIDATE_FILE, type DryRunResponse, type DryRunResultView } from './dry-run.ts';
export { previewImpact, type ImpactPreview, type ImpactSample, type ImpactTransition } from './rules-engine.ts';
export { OperatorHttpError, type DiagnosticDetail, type ErrorBody } from './errors.ts';
export type * from './types.ts';
