/**
 * @module
 * The agent id scheme both emulators share, so a Stat Server emulator agent and its GC emulator user line up:
 * agent i (0-based) has Engage agent id `String(1001 + i)`. The GC emulator derives each user's external id,
 * username / email (`agent<agentId>@exas.example`) and `employerInfo.employeeId` from it.
 */

/** The Engage agent id of emulated agent `index` (0-based): 1001, 1002, … */
export function emulatedAgentId(index: number): string {
  if (!Number.isInteger(index) || index < 0) throw new Error(`agent index must be an integer ≥ 0 (got ${index})`);
  return String(1001 + index);
}

/** The first `count` emulated agent ids. */
export function emulatedAgentIds(count: number): string[] {
  return Array.from({ length: count }, (_, index) => emulatedAgentId(index));
}

/** The GC emulator's username and email for an Engage agent id. */
export function emulatedUsername(agentId: string): string {
  return `agent${agentId}@exas.example`;
}
