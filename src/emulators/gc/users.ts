/**
 * The emulated org's users: generated from the shared agent id scheme (`--users-count N`) or read from a
 * file (`--users FILE`), with deterministic UUID-shaped ids so runs and tests are reproducible.
 */
import { readFile } from 'node:fs/promises';
import { emulatedAgentIds, emulatedUsername } from '../agent-ids.ts';

export interface EmulatedUserSeed {
  readonly id: string;
  readonly name: string;
  readonly username: string;
  readonly email: string;
  readonly externalId: string | undefined;
  readonly employeeId: string | undefined;
}

/** A UUID-shaped (version 4 layout) id for user `index`: `00000000-0000-4000-8000-000000001001`-like. */
export function emulatedUserId(index: number): string {
  const hex = (index + 1).toString(16).padStart(12, '0');
  return `e0a5e000-0000-4000-8000-${hex}`;
}

/** Users for the first `count` emulated agents: external id, username, email and employee id all from the agent id. */
export function generateUsers(count: number): EmulatedUserSeed[] {
  return emulatedAgentIds(count).map((agentId, index) => ({
    id: emulatedUserId(index),
    name: `Agent ${agentId}`,
    username: emulatedUsername(agentId),
    email: emulatedUsername(agentId),
    externalId: agentId,
    employeeId: agentId,
  }));
}

/**
 * Reads users from a JSON file: an array of `{agentId}` (derived like `--users-count`) or of
 * `{id?, name?, username, email?, externalId?, employeeId?}`.
 */
export async function loadUsersFile(path: string): Promise<EmulatedUserSeed[]> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
  if (!Array.isArray(parsed)) throw new Error(`${path}: expected a JSON array of users`);
  return parsed.map((entry: unknown, index: number) => {
    if (entry === null || typeof entry !== 'object') throw new Error(`${path}[${index}]: expected an object`);
    const record = entry as Record<string, unknown>;
    const text = (key: string): string | undefined => (typeof record[key] === 'string' || typeof record[key] === 'number' ? String(record[key]) : undefined);
    const agentId = text('agentId');
    const username = text('username') ?? (agentId ? emulatedUsername(agentId) : undefined);
    if (username === undefined) throw new Error(`${path}[${index}]: needs 'username' or 'agentId'`);
    return {
      id: text('id') ?? emulatedUserId(index),
      name: text('name') ?? username,
      username,
      email: text('email') ?? username,
      externalId: text('externalId') ?? agentId,
      employeeId: text('employeeId') ?? agentId,
    };
  });
}
