// FAKE WebSocket: a hand-written stand-in for the browser WebSocket, used only
// by unit tests, because no Paymon server runs inside a unit test. It records
// the URL and every frame the client sends, and lets a test play the server
// (open, push frames, close with a code). Real sockets are exercised by the
// browser end-to-end tests against a running binary.
import { WebSocketLike } from '../app/core/stream.service';

export class FakeWebSocket implements WebSocketLike {
  static instances: FakeWebSocket[] = [];

  static reset(): void {
    FakeWebSocket.instances = [];
  }

  static last(): FakeWebSocket {
    const ws = FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
    if (!ws) {
      throw new Error('no FakeWebSocket was created');
    }
    return ws;
  }

  readyState = 0; // CONNECTING
  readonly sent: string[] = [];
  closedByClient: { code?: number; reason?: string } | null = null;

  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;

  constructor(readonly url: string) {
    FakeWebSocket.instances.push(this);
  }

  /** Frames the client sent, parsed. */
  get frames(): Record<string, unknown>[] {
    return this.sent.map((s) => JSON.parse(s) as Record<string, unknown>);
  }

  send(data: string): void {
    if (this.readyState !== 1) {
      throw new Error('FakeWebSocket.send while not open');
    }
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedByClient = { code, reason };
    this.readyState = 3;
  }

  // ---- the "server" side, driven by tests ----

  serverOpen(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }

  serverSend(frame: unknown): void {
    this.onmessage?.({ data: JSON.stringify(frame) } as MessageEvent);
  }

  serverClose(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason, wasClean: code === 1000 } as CloseEvent);
  }
}
