import { HttpClient, HttpErrorResponse, HttpHeaders } from '@angular/common/http';
import { computed, DestroyRef, inject, Injectable, signal } from '@angular/core';
import { Router } from '@angular/router';
import { finalize, map, Observable, share, tap, throwError } from 'rxjs';
import { Claims, TokenResponse } from './api.types';

export const TOKEN_URL = '/api/v1/auth/token';
export const LOGOUT_URL = '/api/v1/auth/logout';
export const STORAGE_KEY = 'paymon.auth';
/**
 * Asks the token endpoint for cookie mode: the refresh token comes back in
 * an HttpOnly cookie (out of this script's reach), not in the JSON, and the
 * refresh grant reads it from there.
 */
export const REFRESH_COOKIE_HEADER = 'X-Paymon-Refresh-Cookie';

interface StoredTokens {
  accessToken: string;
  /** epoch milliseconds */
  expiresAt: number;
  /** epoch milliseconds when the pair was issued */
  issuedAt: number;
}

/** Decodes the payload of a JWT without verifying it (the server does that). */
export function decodeJwt(token: string | null | undefined): Claims | null {
  if (!token) {
    return null;
  }
  const part = token.split('.')[1];
  if (!part) {
    return null;
  }
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(part.length + ((4 - (part.length % 4)) % 4), '=');
    const bin = atob(b64);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as Claims;
  } catch {
    return null;
  }
}

function load(): StoredTokens | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (!raw) {
      return null;
    }
    const v = JSON.parse(raw) as StoredTokens;
    return v.accessToken ? { accessToken: v.accessToken, expiresAt: v.expiresAt, issuedAt: v.issuedAt } : null;
  } catch {
    return null;
  }
}

/**
 * OAuth2 password login against POST /api/v1/auth/token, rotating refresh
 * tokens, silent refresh before expiry, and logout.
 *
 * The refresh token never reaches this script: the server keeps it in an
 * HttpOnly, SameSite=Strict cookie sent only to /api/v1/auth/*, so an
 * injected script cannot steal a 30-day credential. The access token (15
 * minutes) stays in sessionStorage: a reload or a second route keeps the
 * session without a token round trip, the auth guard can decide at once,
 * and a tab close still signs out; a script able to read it could make the
 * same requests from the page anyway.
 */
@Injectable({ providedIn: 'root' })
export class AuthService {
  private readonly http = inject(HttpClient);
  private readonly router = inject(Router);

  private readonly tokens = signal<StoredTokens | null>(load());
  private refreshInFlight: Observable<string> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  readonly accessToken = computed(() => this.tokens()?.accessToken ?? null);
  /** A session exists, so the refresh cookie may renew it. */
  readonly canRefresh = computed(() => this.tokens() !== null);
  readonly claims = computed(() => decodeJwt(this.accessToken()));
  readonly isLoggedIn = computed(() => this.tokens() !== null);
  readonly email = computed(() => this.claims()?.email ?? this.claims()?.sub ?? '');
  readonly role = computed(() => (this.claims()?.role as string | undefined) ?? 'viewer');
  /** Only admins and operators may create, refund or cancel payments. */
  readonly canWrite = computed(() => this.role() === 'admin' || this.role() === 'operator');
  /** Only admins manage users, API keys and webhook endpoints. */
  readonly isAdmin = computed(() => this.role() === 'admin');
  /** Set when the session ended without the user asking (refresh refused). */
  readonly sessionExpired = signal(false);

  constructor() {
    inject(DestroyRef).onDestroy(() => this.clearTimer());
    if (this.tokens()) {
      this.schedule();
    }
  }

  /** Signs in with email and password (grant_type=password). */
  login(email: string, password: string): Observable<void> {
    const body = new URLSearchParams({ grant_type: 'password', username: email, password });
    return this.postToken(body).pipe(
      tap(() => this.sessionExpired.set(false)),
      map(() => undefined),
    );
  }

  /**
   * Exchanges the refresh cookie for a new access token
   * (grant_type=refresh_token); the server rotates the cookie. Concurrent
   * callers share one call. Emits the new access token.
   */
  refresh(): Observable<string> {
    if (!this.canRefresh()) {
      return throwError(() => new HttpErrorResponse({ status: 401, statusText: 'No session', url: TOKEN_URL }));
    }
    if (!this.refreshInFlight) {
      const body = new URLSearchParams({ grant_type: 'refresh_token' });
      this.refreshInFlight = this.postToken(body).pipe(
        map((t) => t.access_token),
        finalize(() => (this.refreshInFlight = null)),
        share(),
      );
    }
    return this.refreshInFlight;
  }

  /** True when the access token is missing or expires within `ms`. */
  expiresWithin(ms: number): boolean {
    const t = this.tokens();
    return !t || t.expiresAt - Date.now() <= ms;
  }

  /**
   * The user signed out: forget the access token, have the server revoke
   * the refresh token and clear its cookie, and go to the login page.
   */
  logout(): void {
    const headers = new HttpHeaders({ [REFRESH_COOKIE_HEADER]: '1' });
    this.http.post(LOGOUT_URL, null, { headers }).subscribe({ error: () => undefined });
    this.clear();
    this.sessionExpired.set(false);
    void this.router.navigate(['/login']);
  }

  /** The session could not be renewed: forget the tokens and ask to sign in again. */
  expire(): void {
    if (!this.tokens() && this.sessionExpired()) {
      return;
    }
    const returnUrl = this.router.url && !this.router.url.startsWith('/login') ? this.router.url : undefined;
    this.clear();
    this.sessionExpired.set(true);
    void this.router.navigate(['/login'], { queryParams: { expired: 1, returnUrl } });
  }

  private postToken(body: URLSearchParams): Observable<TokenResponse> {
    const headers = new HttpHeaders({ 'Content-Type': 'application/x-www-form-urlencoded', [REFRESH_COOKIE_HEADER]: '1' });
    return this.http.post<TokenResponse>(TOKEN_URL, body.toString(), { headers }).pipe(tap((t) => this.store(t)));
  }

  private store(t: TokenResponse): void {
    const now = Date.now();
    const v: StoredTokens = {
      accessToken: t.access_token,
      expiresAt: now + Math.max(0, t.expires_in) * 1000,
      issuedAt: now,
    };
    this.tokens.set(v);
    try {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(v));
    } catch {
      /* storage full or disabled: keep tokens in memory only */
    }
    this.schedule();
  }

  private clear(): void {
    this.clearTimer();
    this.tokens.set(null);
    try {
      sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      /* ignore */
    }
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** Silent refresh: renew 30 s before expiry (or halfway through short lifetimes). */
  private schedule(retryMs?: number): void {
    this.clearTimer();
    const t = this.tokens();
    if (!t) {
      return;
    }
    const lifetime = t.expiresAt - t.issuedAt;
    const lead = Math.min(30_000, lifetime / 2);
    const delay = retryMs ?? Math.max(0, t.expiresAt - lead - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refresh().subscribe({
        error: (err: unknown) => {
          if (err instanceof HttpErrorResponse && (err.status === 0 || err.status >= 500)) {
            // Server unreachable: try again shortly, the token may still be valid.
            if (!this.expiresWithin(0)) {
              this.schedule(10_000);
              return;
            }
          }
          this.expire();
        },
      });
    }, delay);
  }
}
