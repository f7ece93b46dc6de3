import { DestroyRef, effect, inject, Injectable, InjectionToken, signal, untracked } from '@angular/core';
import { Observable, Subject } from 'rxjs';
import { AuthService } from './auth.service';

/** Server → client frame `{"type":"event",…}` (DESIGN.md "Streaming protocol"). */
export interface StreamEvent<T = unknown> {
  topic: string;
  id: string;
  event: string;
  data: T;
}

export type StreamTopic = 'payments' | 'logs' | 'alerts';

export interface LogFilter {
  levels?: string[];
  service?: string;
}

export type StreamState = 'idle' | 'connecting' | 'open' | 'reconnecting';

/** The part of the browser WebSocket the stream service uses. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export const WS_OPEN = 1;

export const WEBSOCKET_FACTORY = new InjectionToken<(url: string) => WebSocketLike>('WEBSOCKET_FACTORY', {
  providedIn: 'root',
  factory: () => (url: string) => new WebSocket(url),
});

/** Base URL of the stream endpoint: same origin, ws: or wss: after the page's scheme. */
export const STREAM_BASE_URL = new InjectionToken<() => string>('STREAM_BASE_URL', {
  providedIn: 'root',
  factory: () => () => `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/v1/stream`,
});

export const MAX_BACKOFF_MS = 30_000;
export const BASE_BACKOFF_MS = 1_000;

interface TopicEntry {
  refs: number;
  filter?: LogFilter;
  subject: Subject<StreamEvent>;
}

function cleanFilter(f?: LogFilter): LogFilter | undefined {
  if (!f) {
    return undefined;
  }
  const out: LogFilter = {};
  if (f.levels && f.levels.length > 0) {
    out.levels = [...f.levels];
  }
  if (f.service && f.service.trim() !== '') {
    out.service = f.service.trim();
  }
  return out.levels || out.service ? out : undefined;
}

/**
 * One shared WebSocket to /api/v1/stream for the whole app. Components ask
 * for a topic with `topic()`; the first subscriber sends the `subscribe`
 * frame, the last one leaving sends `unsubscribe`. After a drop it reconnects
 * with exponential backoff and resubscribes with `since` = the last event id
 * seen on each topic, so nothing in the server's replay buffer is missed.
 * When the access token is refreshed it reconnects with the new token.
 */
@Injectable({ providedIn: 'root' })
export class StreamService {
  private readonly auth = inject(AuthService);
  private readonly factory = inject(WEBSOCKET_FACTORY);
  private readonly baseUrl = inject(STREAM_BASE_URL);

  /** Connection state, for the header indicator. */
  readonly state = signal<StreamState>('idle');
  /** Topics the server acknowledged with `subscribed` on the current connection. */
  readonly subscribed = signal<ReadonlySet<string>>(new Set());
  /** Last `error` frame or close reason from the server. */
  readonly lastError = signal<string | null>(null);

  private ws: WebSocketLike | null = null;
  private wsToken: string | null = null;
  private readonly topics = new Map<string, TopicEntry>();
  private readonly lastIds = new Map<string, string>();
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;

  constructor() {
    effect(() => {
      const token = this.auth.accessToken();
      untracked(() => this.onToken(token));
    });
    inject(DestroyRef).onDestroy(() => this.disconnect());
  }

  /** Events of one topic. For `logs`, `filter` selects levels and service (the latest filter wins). */
  topic<T = unknown>(topic: StreamTopic, filter?: LogFilter): Observable<StreamEvent<T>> {
    return new Observable<StreamEvent<T>>((subscriber) => {
      let entry = this.topics.get(topic);
      const f = cleanFilter(filter);
      if (!entry) {
        entry = { refs: 0, filter: f, subject: new Subject<StreamEvent>() };
        this.topics.set(topic, entry);
      } else if (filter !== undefined && JSON.stringify(entry.filter) !== JSON.stringify(f)) {
        entry.filter = f;
        if (entry.refs > 0) {
          // New filter: replace the server-side subscription, no replay.
          this.lastIds.delete(topic);
          this.send({ type: 'unsubscribe', topic });
          this.sendSubscribe(topic);
        }
      }
      const sub = (entry.subject as Subject<StreamEvent<T>>).subscribe(subscriber);
      entry.refs++;
      if (entry.refs === 1) {
        this.sendSubscribe(topic);
      }
      this.ensureConnected();
      const e = entry;
      return () => {
        sub.unsubscribe();
        e.refs--;
        if (e.refs === 0 && this.topics.get(topic) === e) {
          this.topics.delete(topic);
          this.lastIds.delete(topic);
          this.send({ type: 'unsubscribe', topic });
          this.markUnsubscribed(topic);
        }
      };
    });
  }

  /** The id of the last event seen on a topic (sent as `since` after a reconnect). */
  lastEventId(topic: string): string | undefined {
    return this.lastIds.get(topic);
  }

  /** Closes the socket and stops reconnecting until someone subscribes again. */
  disconnect(): void {
    this.clearReconnect();
    const ws = this.ws;
    this.ws = null;
    this.wsToken = null;
    if (ws) {
      this.detach(ws);
      ws.close(1000, 'client closing');
    }
    this.subscribed.set(new Set());
    this.state.set('idle');
  }

  private onToken(token: string | null): void {
    if (!token) {
      this.disconnect();
      this.lastIds.clear();
      return;
    }
    if (this.ws && this.wsToken !== token) {
      // Token refreshed: reconnect with the fresh one, resuming with `since`.
      const old = this.ws;
      this.ws = null;
      this.detach(old);
      old.close(1000, 'token refreshed');
      this.subscribed.set(new Set());
      this.connect();
      return;
    }
    this.ensureConnected();
  }

  private ensureConnected(): void {
    if (this.ws || this.reconnectTimer !== null || this.topics.size === 0) {
      return;
    }
    this.connect();
  }

  private connect(): void {
    this.clearReconnect();
    const token = this.auth.accessToken();
    if (!token || this.topics.size === 0) {
      this.state.set('idle');
      return;
    }
    if (this.auth.canRefresh() && this.auth.expiresWithin(5_000)) {
      // Connect with a fresh token; the token effect calls connect() again.
      this.state.set('connecting');
      this.auth.refresh().subscribe({
        error: () => this.scheduleReconnect(),
      });
      return;
    }
    this.state.set(this.attempt > 0 ? 'reconnecting' : 'connecting');
    const ws = this.factory(`${this.baseUrl()}?access_token=${encodeURIComponent(token)}`);
    this.ws = ws;
    this.wsToken = token;
    ws.onopen = () => {
      if (this.ws !== ws) {
        return;
      }
      this.attempt = 0;
      this.state.set('open');
      this.lastError.set(null);
      for (const topic of this.topics.keys()) {
        this.sendSubscribe(topic);
      }
    };
    ws.onmessage = (ev: MessageEvent) => this.onMessage(ev);
    ws.onerror = () => {
      /* onclose follows and schedules the reconnect */
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) {
        return;
      }
      this.ws = null;
      this.wsToken = null;
      this.subscribed.set(new Set());
      if (ev && ev.code && ev.code !== 1000 && ev.code !== 1005 && ev.code !== 1006) {
        this.lastError.set(`stream closed (${ev.code}${ev.reason ? ': ' + ev.reason : ''})`);
      }
      this.scheduleReconnect();
    };
  }

  private onMessage(ev: MessageEvent): void {
    let msg: { type?: string; topic?: string; id?: string; event?: string; data?: unknown; code?: string; message?: string };
    try {
      msg = JSON.parse(String(ev.data));
    } catch {
      return;
    }
    switch (msg.type) {
      case 'subscribed':
        if (msg.topic) {
          const next = new Set(this.subscribed());
          next.add(msg.topic);
          this.subscribed.set(next);
        }
        break;
      case 'event': {
        if (!msg.topic) {
          return;
        }
        if (msg.id) {
          this.lastIds.set(msg.topic, msg.id);
        }
        this.topics.get(msg.topic)?.subject.next({
          topic: msg.topic,
          id: msg.id ?? '',
          event: msg.event ?? '',
          data: msg.data,
        });
        break;
      }
      case 'error':
        this.lastError.set(`${msg.code ?? 'error'}: ${msg.message ?? ''}`);
        break;
    }
  }

  private sendSubscribe(topic: string): void {
    const entry = this.topics.get(topic);
    if (!entry) {
      return;
    }
    const frame: Record<string, unknown> = { type: 'subscribe', topic };
    if (entry.filter) {
      frame['filter'] = entry.filter;
    }
    const since = this.lastIds.get(topic);
    if (since) {
      frame['since'] = since;
    }
    this.send(frame);
  }

  private send(frame: Record<string, unknown>): void {
    if (this.ws && this.ws.readyState === WS_OPEN) {
      this.ws.send(JSON.stringify(frame));
    }
  }

  private markUnsubscribed(topic: string): void {
    if (this.subscribed().has(topic)) {
      const next = new Set(this.subscribed());
      next.delete(topic);
      this.subscribed.set(next);
    }
  }

  private scheduleReconnect(): void {
    this.clearReconnect();
    if (!this.auth.accessToken() || this.topics.size === 0) {
      this.state.set('idle');
      return;
    }
    const delay = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** this.attempt);
    this.attempt++;
    this.state.set('reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private clearReconnect(): void {
    if (this.reconnectTimer !== null) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
    }
  }

  private detach(ws: WebSocketLike): void {
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    ws.onerror = null;
  }
}
