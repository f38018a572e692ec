// The part of faye 1.4's (untyped) server API the Stat Server emulator uses.
declare module 'faye' {
  import type { IncomingMessage, ServerResponse } from 'node:http';
  interface FayeEngine {
    publish(message: { channel: string; data: unknown; id?: string }): void;
    destroyClient(clientId: string): void;
  }
  export class NodeAdapter {
    constructor(options: { mount: string; timeout?: number; ping?: number });
    handle(request: IncomingMessage, response: ServerResponse): void;
    bind(event: 'handshake' | 'disconnect', listener: (clientId: string) => void): void;
    bind(event: 'subscribe' | 'unsubscribe', listener: (clientId: string, channel: string) => void): void;
    close(): void;
    readonly _server: { readonly _engine: FayeEngine };
  }
  const faye: { NodeAdapter: typeof NodeAdapter };
  export default faye;
}
