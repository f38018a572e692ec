/**
 * @module
 * The composition root of `exas run`: the sidecar wires Stat Server, rules, GC, the sync stage, the operator
 * read model and HTTP server, and high availability from an `ExasConfig`. It lives outside `src/sync` because it
 * depends on everything downstream of sync too.
 */
export { createSidecar, operatorServerOptions, type Sidecar, type SidecarParts } from './sidecar.ts';
