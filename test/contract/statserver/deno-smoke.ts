/**
 * Runtime smoke test for Deno (and Node): the Stat Server emulator (faye) and the Statistics API adapter
 * (cometd + cometd-nodejs-client) in one process: open 200 agents, get every first snapshot, survive a
 * dropped CometD connection, and follow a change; then the bridge adapter (ws) with the bridge simulator.
 * Exits 0 on success.
 *
 *   npx deno run -A test/contract/statserver/deno-smoke.ts
 */
import process from 'node:process';
import { BridgeSimulator, Crowd, startStatServerEmulator, emulatedAgentIds } from '../../../src/emulators/statserver/index.ts';
import { createBridgeSource, createStatisticsApiSource, type AgentObservation } from '../../../src/statserver/index.ts';
import { setLogSink } from '../../../src/log.ts';

setLogSink(() => undefined);
const runtime = 'Deno' in globalThis ? 'deno' : 'node';
const emulator = await startStatServerEmulator({ agents: 200, seed: 5 });
const source = createStatisticsApiSource({ endpoints: [{ baseUrl: emulator.url }], apiKey: 'exas-demo', bearerToken: 'exas-demo', reconnect: { initialMs: 20, maxMs: 200 } });
const latest = new Map<string, AgentObservation>();
const waiters = new Set<() => void>();
source.onObservation((observation) => {
  if (observation.kind === 'snapshot') latest.set(observation.snapshot.agentId, observation);
  for (const waiter of [...waiters]) waiter();
});
source.onConnection(() => {
  for (const waiter of [...waiters]) waiter();
});
function until(predicate: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 15_000);
    const check = (): void => {
      if (!predicate()) return;
      waiters.delete(check);
      clearTimeout(timer);
      resolve();
    };
    waiters.add(check);
    check();
  });
}
const mirrors = (): boolean =>
  emulator.agents().every((agent) => {
    const observation = latest.get(agent.agentId);
    return observation?.kind === 'snapshot' && observation.snapshot.state === agent.state && observation.snapshot.callType === agent.callType && observation.snapshot.reason === agent.reason;
  });
try {
  await source.open(emulatedAgentIds(200));
  await source.start();
  await until(mirrors, 'first snapshots');
  emulator.applyFaults({ disconnect: true });
  emulator.setAgent('1001', { state: 'NotReady', callType: 'None', reason: 'Meal' });
  await until(() => source.stats().reconnects === 1 && source.isConnected(), 'reconnect');
  await until(mirrors, 'resync after reconnect');
  emulator.setAgent('1002', { state: 'Ready', callType: 'Inbound', reason: null });
  await until(mirrors, 'a live update');
  await source.stop();
  await emulator.close();

  const crowd = new Crowd(50, 8);
  const bridgeSource = createBridgeSource({ port: 0, token: 'smoke', settleMs: 5 });
  const bridged = new Map<string, AgentObservation>();
  bridgeSource.onObservation((observation) => {
    if (observation.kind === 'snapshot') bridged.set(observation.snapshot.agentId, observation);
    for (const waiter of [...waiters]) waiter();
  });
  await bridgeSource.open(emulatedAgentIds(50));
  await bridgeSource.start();
  const bridge = new BridgeSimulator({ url: bridgeSource.url!, token: 'smoke', crowd });
  await bridge.connect();
  await until(
    () => crowd.agents.every((agent) => {
      const observation = bridged.get(agent.agentId);
      return observation?.kind === 'snapshot' && observation.snapshot.state === agent.state && observation.snapshot.callType === agent.callType && observation.snapshot.reason === agent.reason;
    }),
    'bridge snapshot',
  );
  await bridge.close();
  await bridgeSource.stop();
  process.stdout.write(`statserver smoke on ${runtime}: ok (${JSON.stringify(source.stats())}; bridge ${JSON.stringify(bridgeSource.stats())})\n`);
  process.exit(0);
} catch (error) {
  process.stderr.write(`statserver smoke on ${runtime}: FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
