/**
 * @module
 * The operator read model: what operators see of and ask of a running EXAS (`OperatorDeps`), built on the sync
 * stage (which never depends on it), and the records it serves.
 */
export { createOperatorReadModel, withOperatorSurface, type OperatedConnector, type OperatorReadModelOptions } from './read-model.ts';
export type * from './types.ts';
