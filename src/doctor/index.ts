/**
 * @module
 * `exas doctor`: the go-live preflight. Checks a config against the real GC org and Stat Server (token,
 * permissions, presences, presence source, identity, primary source, notification channel, statistics, and
 * the impact of going live) and prints a checklist. Read-only unless `--fix`, which makes EXAS's presence
 * source exist and primary for the synced users.
 */
export { runDoctor } from './run.ts';
export { exitCodeOf, formatChecklist, formatJson, type Check, type CheckGroup, type CheckStatus, type DoctorReport } from './checklist.ts';
export type { DoctorOptions } from './context.ts';
export { PERMISSION_PROBES, type PermissionProbe } from './gc-access.ts';
export { progressFilePath } from './gc-primary-source.ts';
