/**
 * The CometD side of the Statistics API: the maintained `cometd` client (9.x) running on Node and Deno
 * through `cometd-nodejs-client`, long-polling only (the transport the Statistics API serves; custom headers
 * cannot ride a WebSocket upgrade from this client), with one cookie jar shared by CometD and the REST calls
 * so `STATISTICS_SESSIONID` travels on both, as the official clients do.
 *
 * `cometd-nodejs-client`'s `adapt()` installs a process-wide `window.XMLHttpRequest`; EXAS adapts once, with
 * a cookie store keyed by host:port (the library's own store keys by host name only, which would mix a
 * primary and a backup on one host).
 */
import { CometD, type Message } from 'cometd';
import { adapt } from 'cometd-nodejs-client';
import { createLogger } from '../log.ts';

const cometdLog = createLogger('statserver.cometd');

const jars = new Map<string, Map<string, string>>();
let adapted = false;

function ensureAdapted(): void {
  if (adapted) return;
  adapt({
    cookies: {
      storeCookie(uri: { host: string }, header: string, callback: (failure: Error | null, cookie: unknown) => void) {
        storeSetCookie(uri.host, header);
        callback(null, null);
      },
      retrieveCookies(_context: unknown, uri: { host: string }, callback: (failure: Error | null, cookies: string[]) => void) {
        callback(null, cookiesFor(uri.host));
      },
    },
  });
  // CometD writes its own diagnostics to `window.console`; route them to EXAS's structured log (debug), since
  // EXAS reports connection failures itself, once, with the endpoint.
  const shim = (globalThis as { window?: { console?: unknown } }).window;
  if (shim !== undefined) {
    const write = (...parts: unknown[]): void => cometdLog.debug(parts.map((part) => (typeof part === 'string' ? part : JSON.stringify(part) ?? String(part))).join(' '));
    shim.console = { log: write, debug: write, info: write, warn: write, error: write };
  }
  adapted = true;
}

/** Stores one `Set-Cookie` header value for `hostPort` (attributes are ignored: path `/`, session cookies). */
export function storeSetCookie(hostPort: string, header: string): void {
  const nameValue = header.split(';')[0]?.trim() ?? '';
  const equal = nameValue.indexOf('=');
  if (equal <= 0) return;
  let jar = jars.get(hostPort);
  if (jar === undefined) {
    jar = new Map();
    jars.set(hostPort, jar);
  }
  jar.set(nameValue.slice(0, equal), nameValue);
}

/** `name=value` pairs to send to `hostPort`. */
export function cookiesFor(hostPort: string): string[] {
  return [...(jars.get(hostPort)?.values() ?? [])];
}

/** Forgets the cookies of `hostPort` (a new session after a failover or a dropped session). */
export function clearCookies(hostPort: string): void {
  jars.delete(hostPort);
}

export interface CometdSessionOptions {
  /** `{base}/statistics/v3/notifications`. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** How long a request may go unanswered beyond the server's long-poll timeout. */
  readonly maxNetworkDelayMs: number;
  readonly onMessage: (channel: string, data: unknown) => void;
  /** The connection failed after the handshake (a failed /meta/connect or re-handshake). */
  readonly onLost: (reason: string) => void;
}

/** One CometD connection: handshake, subscribe to the channels, report loss once. */
export class CometdSession {
  private readonly cometd: CometD;
  private lost = false;
  private established = false;

  constructor(private readonly options: CometdSessionOptions) {
    ensureAdapted();
    this.cometd = new CometD();
    // Long-polling only: the Statistics API's transport, and the only one that carries our headers.
    this.cometd.unregisterTransport('websocket');
    this.cometd.unregisterTransport('callback-polling');
    this.cometd.configure({
      url: options.url,
      requestHeaders: { ...options.headers },
      maxNetworkDelay: options.maxNetworkDelayMs,
      // EXAS runs its own backoff across endpoints; CometD's own retry is cut short by `close()`.
      backoffIncrement: 1000,
      maxBackoff: 5000,
      logLevel: 'warn',
    });
    const lose = (reason: string): void => {
      if (this.lost || !this.established) return;
      this.lost = true;
      options.onLost(reason);
    };
    this.cometd.addListener('/meta/connect', (message: Message) => {
      if (!message.successful) lose(`connect failed: ${describeFailure(message)}`);
    });
    this.cometd.addListener('/meta/handshake', (message: Message) => {
      // A re-handshake means the server forgot this client: its subscriptions are gone too.
      if (this.established) lose(message.successful ? 'server asked for a new handshake' : `handshake failed: ${describeFailure(message)}`);
    });
  }

  /** Handshakes and subscribes to `channels`; rejects with the failure when either does not succeed. */
  open(channels: readonly string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.cometd.handshake((reply: Message) => {
        if (!reply.successful) {
          this.close();
          reject(new Error(`CometD handshake failed: ${describeFailure(reply)}`));
          return;
        }
        let pending = channels.length;
        let failed = false;
        this.cometd.batch(() => {
          for (const channel of channels) {
            this.cometd.subscribe(
              channel,
              (message: Message) => this.options.onMessage(channel, message.data),
              (result: Message) => {
                if (failed) return;
                if (!result.successful) {
                  failed = true;
                  this.close();
                  reject(new Error(`CometD subscribe to ${channel} failed: ${describeFailure(result)}`));
                  return;
                }
                pending -= 1;
                if (pending === 0) {
                  this.established = true;
                  resolve();
                }
              },
            );
          }
        });
      });
    });
  }

  /** Ends the session without reporting it as lost. */
  close(): void {
    this.lost = true;
    try {
      this.cometd.disconnect();
    } catch {
      // A session that never connected has nothing to disconnect.
    }
    this.cometd.clearListeners();
    this.cometd.clearSubscriptions();
  }
}

function describeFailure(message: Message): string {
  const record = message as Message & { error?: string; failure?: { reason?: string; httpCode?: number; exception?: unknown } };
  const failure = record.failure;
  const parts = [record.error, failure?.reason, failure?.httpCode !== undefined ? `HTTP ${failure.httpCode}` : undefined];
  return parts.filter((part): part is string => typeof part === 'string' && part !== '').join(', ') || 'no reason given';
}
