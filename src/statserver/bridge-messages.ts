/** Placeholder replaced by the bridge adapter commit. */
export type BridgeMessage = never;
export function readBridgeMessages(): BridgeMessage[] {
  return [];
}
