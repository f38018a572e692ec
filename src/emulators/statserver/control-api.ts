/**
 * The emulator's control API under `/emulator/` (no auth; loopback only): read and set agents, run or pause
 * the simulation, inject faults. Served on every port of the emulator (primary and backup).
 */
import { Hono } from 'hono';
import { isCallType, isEngageState } from '../../vocabulary.ts';
import type { Crowd } from './crowd.ts';

/** Faults the control API accepts; `{}` clears them all. */
export interface FaultRequest {
  disconnect?: boolean;
  refuseSeconds?: number;
  invalidAgents?: string[];
  validAgents?: string[];
  /** These agents become unknown to Stat Server: opening their statistics is refused until `{}` clears it. */
  unknownAgents?: string[];
  /** These agents are known to Stat Server again (undoes `unknownAgents` for them only). */
  knownAgents?: string[];
  primaryDown?: boolean;
  /** Stat Server behind the API unavailable (announced on the service channel) or available again. */
  serviceUnavailable?: boolean;
}

export interface ControlTarget {
  readonly crowd: Crowd;
  setSimulation(running: boolean, eventsPerSecond?: number): void;
  simulation(): { running: boolean; eventsPerSecond: number };
  applyFaults(faults: FaultRequest): void;
  status(): Record<string, unknown>;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');

export function controlRoutes(target: ControlTarget): Hono {
  const app = new Hono();
  app.get('/emulator/agents', (c) => c.json(target.crowd.agents.map((agent) => target.crowd.view(agent))));
  app.get('/emulator/agents/:agentId', (c) => {
    const agent = target.crowd.get(c.req.param('agentId'));
    return agent === undefined ? c.json({ error: 'unknown agent' }, 404) : c.json(target.crowd.view(agent));
  });
  app.put('/emulator/agents/:agentId', async (c) => {
    const agent = target.crowd.get(c.req.param('agentId'));
    if (agent === undefined) return c.json({ error: `unknown agent ${c.req.param('agentId')}` }, 404);
    const body: unknown = await c.req.json().catch(() => undefined);
    if (!isObject(body) || !isEngageState(body['state'])) {
      return c.json({ error: 'body must be {"state": LoggedOff|NotReady|Ready|AfterCallWork, "callType"?, "reason"?}' }, 400);
    }
    const callType = body['callType'] ?? 'None';
    if (!isCallType(callType)) return c.json({ error: 'callType must be None|Internal|Inbound|Outbound|Consult|Unknown' }, 400);
    const reason = body['reason'] ?? null;
    if (reason !== null && typeof reason !== 'string') return c.json({ error: 'reason must be a string or null' }, 400);
    target.crowd.set(agent, { state: body['state'], callType, reason });
    return c.json(target.crowd.view(agent));
  });
  app.get('/emulator/simulation', (c) => c.json(target.simulation()));
  app.post('/emulator/simulation', async (c) => {
    const body: unknown = await c.req.json().catch(() => undefined);
    if (!isObject(body) || typeof body['running'] !== 'boolean') return c.json({ error: 'body must be {"running": boolean, "eventsPerSecond"?: number}' }, 400);
    const rate = body['eventsPerSecond'];
    if (rate !== undefined && (typeof rate !== 'number' || !(rate >= 0))) return c.json({ error: 'eventsPerSecond must be a number >= 0' }, 400);
    target.setSimulation(body['running'], rate);
    return c.json(target.simulation());
  });
  app.post('/emulator/faults', async (c) => {
    const body: unknown = await c.req.json().catch(() => undefined);
    if (!isObject(body)) return c.json({ error: 'body must be a JSON object of faults' }, 400);
    const faults: FaultRequest = {};
    for (const [key, value] of Object.entries(body)) {
      if ((key === 'disconnect' || key === 'primaryDown' || key === 'serviceUnavailable') && typeof value === 'boolean') faults[key] = value;
      else if (key === 'refuseSeconds' && typeof value === 'number' && value >= 0) faults.refuseSeconds = value;
      else if ((key === 'invalidAgents' || key === 'validAgents' || key === 'unknownAgents' || key === 'knownAgents') && isStringList(value)) faults[key] = value;
      else return c.json({ error: `unknown or malformed fault ${key}` }, 400);
    }
    target.applyFaults(faults);
    return c.json({ applied: faults });
  });
  app.get('/emulator/status', (c) => c.json(target.status()));
  return app;
}
