/** The writer moved to src/sync/writer/ (issue 17: in parts); this path keeps its importers working. */
export * from './writer/index.ts';
