import { HttpErrorResponse, HttpEvent, HttpHandlerFn, HttpInterceptorFn, HttpRequest } from '@angular/common/http';
import { inject } from '@angular/core';
import { catchError, Observable, of, switchMap, tap, throwError } from 'rxjs';
import { ConnectivityService } from './connectivity.service';
import { AuthService } from './auth.service';


function withToken(req: HttpRequest<unknown>, token: string | null): HttpRequest<unknown> {
  return token ? req.clone({ setHeaders: { Authorization: `Bearer ${token}` } }) : req;
}

/**
 * Adds `Authorization: Bearer <access token>` to API calls. Refreshes first
 * when the token is about to expire, and on a 401 refreshes once and retries
 * the request once; when that fails the session is marked expired.
 */
export const authInterceptor: HttpInterceptorFn = (req, next) => {
  // The auth endpoints (token, logout) work from the refresh cookie, never
  // from a bearer token, and must not trigger a refresh themselves.
  if (!req.url.startsWith('/api/') || req.url.startsWith('/api/v1/auth/')) {
    return next(req);
  }
  const auth = inject(AuthService);

  const retryAfterRefresh = (original: HttpErrorResponse): Observable<HttpEvent<unknown>> =>
    auth.refresh().pipe(
      catchError((refreshErr: unknown) => {
        if (!(refreshErr instanceof HttpErrorResponse && refreshErr.status === 0)) {
          auth.expire();
        }
        return throwError(() => original);
      }),
      switchMap((token) =>
        next(withToken(req, token)).pipe(
          catchError((err: unknown) => {
            if (err instanceof HttpErrorResponse && err.status === 401) {
              auth.expire();
            }
            return throwError(() => err);
          }),
        ),
      ),
    );

  const send = (token: string | null): Observable<HttpEvent<unknown>> =>
    next(withToken(req, token)).pipe(
      catchError((err: unknown) => {
        if (err instanceof HttpErrorResponse && err.status === 401) {
          if (auth.canRefresh()) {
            return retryAfterRefresh(err);
          }
          if (token) {
            auth.expire();
          }
        }
        return throwError(() => err);
      }),
    );

  if (auth.canRefresh() && auth.expiresWithin(5_000)) {
    return auth.refresh().pipe(
      catchError((err: unknown) => {
        if (err instanceof HttpErrorResponse && err.status === 0) {
          return of(auth.accessToken()); // unreachable: let the request report it
        }
        auth.expire();
        return throwError(() => err);
      }),
      switchMap((token) => send(token)),
    );
  }
  return send(auth.accessToken());
};

/** Tracks whether the API answers at all, for the "API unreachable" banner. */
export const connectivityInterceptor: HttpInterceptorFn = (req: HttpRequest<unknown>, next: HttpHandlerFn) => {
  const conn = inject(ConnectivityService);
  return next(req).pipe(
    tap({
      next: (ev) => {
        if ('status' in ev && typeof ev.status === 'number') {
          conn.reachable();
        }
      },
      error: (err: unknown) => {
        if (err instanceof HttpErrorResponse) {
          if (err.status === 0 || err.status === 502 || err.status === 504) {
            conn.unreachable();
          } else {
            conn.reachable();
          }
        }
      },
    }),
  );
};
