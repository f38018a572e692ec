/** Placeholder replaced by the bridge adapter commit. */
export type BridgeSourceOptions = never;
export function createBridgeSource(): never {
  throw new Error('not yet');
}
