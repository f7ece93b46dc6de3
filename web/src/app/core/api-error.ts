import { HttpErrorResponse } from '@angular/common/http';
import { ApiErrorBody } from './api.types';

export type ApiErrorKind = 'unreachable' | 'expired' | 'forbidden' | 'api';

/** What the UI shows for a failed API call. */
export interface ApiError {
  kind: ApiErrorKind;
  status: number;
  code: string;
  message: string;
  requestId?: string;
  retryAfter?: string;
}

function isApiErrorBody(body: unknown): body is ApiErrorBody {
  return (
    typeof body === 'object' &&
    body !== null &&
    'error' in body &&
    typeof (body as ApiErrorBody).error === 'object' &&
    (body as ApiErrorBody).error !== null
  );
}

/** Turns anything thrown by HttpClient (or the app) into an ApiError. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof HttpErrorResponse) {
    const requestId = err.headers?.get('X-Request-Id') ?? undefined;
    const retryAfter = err.headers?.get('Retry-After') ?? undefined;
    if (err.status === 0) {
      return {
        kind: 'unreachable',
        status: 0,
        code: 'unreachable',
        message: 'Cannot reach the Paymon API. Check that the server is running and your network connection.',
      };
    }
    let body: unknown = err.error;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        /* not JSON */
      }
    }
    if (isApiErrorBody(body)) {
      const e = body.error;
      return {
        kind: err.status === 401 ? 'expired' : err.status === 403 ? 'forbidden' : 'api',
        status: err.status,
        code: e.code ?? String(err.status),
        message: e.message || err.statusText || `HTTP ${err.status}`,
        requestId: e.request_id ?? requestId,
        retryAfter,
      };
    }
    if (err.status === 401) {
      return { kind: 'expired', status: 401, code: 'unauthenticated', message: 'Your session has expired. Sign in again.' };
    }
    if (err.status === 502 || err.status === 503 || err.status === 504) {
      return {
        kind: 'unreachable',
        status: err.status,
        code: 'unavailable',
        message: `The Paymon API is unavailable (HTTP ${err.status}). Try again shortly.`,
        requestId,
        retryAfter,
      };
    }
    return {
      kind: err.status === 403 ? 'forbidden' : 'api',
      status: err.status,
      code: String(err.status),
      message: `Request failed: HTTP ${err.status} ${err.statusText || ''}`.trim(),
      requestId,
    };
  }
  if (err instanceof Error) {
    return { kind: 'api', status: 0, code: 'client', message: err.message };
  }
  return { kind: 'api', status: 0, code: 'client', message: String(err) };
}
