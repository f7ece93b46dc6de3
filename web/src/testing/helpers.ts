import { signal } from '@angular/core';
import { Observable, Subject } from 'rxjs';
import { STORAGE_KEY } from '../app/core/auth.service';
import { StreamEvent, StreamService, StreamState } from '../app/core/stream.service';

/** An unsigned JWT with the given claims (the dashboard only decodes, the server verifies). */
export function fakeJwt(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.sig`;
}

/** Puts a signed-in session with `role` into sessionStorage, as AuthService stores it. */
export function signInAs(role: string): void {
  const now = Date.now();
  sessionStorage.setItem(
    STORAGE_KEY,
    JSON.stringify({
      accessToken: fakeJwt({ sub: 'usr_1', email: `${role}@example.com`, role, exp: Math.floor(now / 1000) + 3600 }),
      expiresAt: now + 3_600_000,
      issuedAt: now,
    }),
  );
}

/** Stand-in for StreamService in component tests: tests push events with emit(). */
export class StubStream implements Pick<StreamService, 'topic' | 'state' | 'lastError'> {
  readonly state = signal<StreamState>('open');
  readonly lastError = signal<string | null>(null);
  private readonly subjects = new Map<string, Subject<StreamEvent>>();
  private seq = 0;

  topic<T = unknown>(topic: string): Observable<StreamEvent<T>> {
    return this.subject(topic).asObservable() as Observable<StreamEvent<T>>;
  }

  emit(topic: string, event: string, data: unknown): void {
    this.subject(topic).next({ topic, id: `evt-${++this.seq}`, event, data });
  }

  private subject(topic: string): Subject<StreamEvent> {
    let s = this.subjects.get(topic);
    if (!s) {
      s = new Subject<StreamEvent>();
      this.subjects.set(topic, s);
    }
    return s;
  }
}
