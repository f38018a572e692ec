import { describe, expect, it } from 'vitest';
import { startGcEmulator } from '../../../src/emulators/gc/index.ts';
import { createGcClient, createNotificationChannel, type NotificationEvents, type NotificationChannel } from '../../../src/gc/index.ts';
import { started } from '../../helpers/servers.ts';

function next<E extends keyof NotificationEvents>(channel: NotificationChannel, event: E): Promise<NotificationEvents[E]> {
  return new Promise((resolve) => {
    const off = channel.on(event, (payload) => {
      off();
      resolve(payload);
    });
  });
}

describe('notification channel healing', () => {
  it('reconnects after GC revokes the token and closes the socket, and keeps delivering', async () => {
    const gc = await started(() => startGcEmulator({ usersCount: 3, heartbeatMs: 0 }));
    const client = createGcClient({ baseUrl: gc.url, clientId: 'exas-demo', clientSecret: 'exas-demo-secret' });
    const channel = createNotificationChannel(client, { reconnectDelayMs: 10 });
    await channel.open();
    const [user] = gc.userIds() as [string];
    await channel.subscribe([user]);
    const reconnected = next(channel, 'reconnected');
    gc.setFaults({ revokeTokens: true });
    const event = await reconnected;
    expect(event.newChannel).toBe(false);
    expect(client.stats().tokenRequests).toBe(2);
    const routing = next(channel, 'routingStatus');
    gc.setUserState(user, { routingStatus: 'Idle' });
    expect(await routing).toMatchObject({ userId: user, routingStatus: 'Idle' });
    await channel.close();
  });

  it('moves to a new channel with the same topics when the old one has expired', async () => {
    let clock = Date.now();
    const gc = await started(() => startGcEmulator({ usersCount: 3, heartbeatMs: 0, channelTtlMs: 60_000, now: () => clock }));
    const client = createGcClient({ baseUrl: gc.url, clientId: 'exas-demo', clientSecret: 'exas-demo-secret' });
    const channel = createNotificationChannel(client, { reconnectDelayMs: 10 });
    await channel.open();
    const [, user] = gc.userIds() as [string, string];
    await channel.subscribe([user]);
    const firstId = channel.id;
    const reconnected = next(channel, 'reconnected');
    clock += 61_000;
    // The emulator notices expiry when it next looks at the channel (this HEAD), and closes the socket.
    expect(await client.channelExists(firstId as string)).toBe(false);
    const createdAgain = await reconnected;
    expect(createdAgain.newChannel).toBe(true);
    expect(channel.id).not.toBe(firstId);
    const presence = next(channel, 'presence');
    gc.setUserState(user, { presence: 'Break' });
    expect((await presence).userId).toBe(user);
    await channel.close();
  });

  it('refuses to subscribe more users than one channel holds', async () => {
    const gc = await started(() => startGcEmulator({ usersCount: 3, heartbeatMs: 0 }));
    const client = createGcClient({ baseUrl: gc.url, clientId: 'exas-demo', clientSecret: 'exas-demo-secret' });
    const channel = createNotificationChannel(client, { maxTopics: 4 });
    await expect(channel.subscribe(gc.userIds())).rejects.toThrow(/topics/);
    await channel.subscribe(gc.userIds().slice(0, 2));
    expect(channel.capacity).toBe(0);
    await channel.close();
  });
});
