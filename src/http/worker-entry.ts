/**
 * The operator worker's module when running from source under Deno (the bundle is its own worker: see jobs.ts).
 */
import { serveJobs } from '../platform/worker-pool.ts';
import { handleOperatorJob } from './jobs.ts';

serveJobs(handleOperatorJob);
