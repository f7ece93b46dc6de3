import { HttpClient, HttpHeaders, HttpParams } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import { Observable } from 'rxjs';
import { Alert, ListResponse, LogEntry, LogStats, Overview, Payment } from './api.types';

export interface PaymentFilters {
  status?: string;
  provider?: string;
  currency?: string;
  created_from?: string;
  created_to?: string;
}

export interface LogQuery {
  level?: string;
  service?: string;
  from?: string;
  to?: string;
  q?: string;
  payment_id?: string;
  trace_id?: string;
}

export interface CreatePaymentRequest {
  amount: number;
  currency: string;
  description?: string;
  metadata?: Record<string, string>;
}

/** Drops empty values so the query string carries only what was set. */
export function params(values: Record<string, string | number | undefined | null>): HttpParams {
  let p = new HttpParams();
  for (const [k, v] of Object.entries(values)) {
    if (v !== undefined && v !== null && v !== '') {
      p = p.set(k, String(v));
    }
  }
  return p;
}

/** Typed calls to the Paymon REST API (/api/v1). Errors are HttpErrorResponse; see toApiError. */
@Injectable({ providedIn: 'root' })
export class ApiService {
  private readonly http = inject(HttpClient);

  overview(window: string): Observable<Overview> {
    return this.http.get<Overview>('/api/v1/overview', { params: params({ window }) });
  }

  listPayments(filters: PaymentFilters, limit: number, startingAfter?: string): Observable<ListResponse<Payment>> {
    return this.http.get<ListResponse<Payment>>('/api/v1/payments', {
      params: params({ ...filters, limit, starting_after: startingAfter }),
    });
  }

  getPayment(id: string): Observable<Payment> {
    return this.http.get<Payment>(`/api/v1/payments/${encodeURIComponent(id)}`);
  }

  createPayment(body: CreatePaymentRequest, idempotencyKey: string): Observable<Payment> {
    return this.http.post<Payment>('/api/v1/payments', body, {
      headers: new HttpHeaders({ 'Idempotency-Key': idempotencyKey }),
    });
  }

  /** Full refund when amount is undefined (body `{}`), partial otherwise (`{"amount":N}`). */
  refundPayment(id: string, amount?: number): Observable<Payment> {
    return this.http.post<Payment>(`/api/v1/payments/${encodeURIComponent(id)}/refund`, amount === undefined ? {} : { amount });
  }

  cancelPayment(id: string): Observable<Payment> {
    return this.http.post<Payment>(`/api/v1/payments/${encodeURIComponent(id)}/cancel`, {});
  }

  searchLogs(query: LogQuery, limit: number, startingAfter?: string): Observable<ListResponse<LogEntry>> {
    return this.http.get<ListResponse<LogEntry>>('/api/v1/logs', {
      params: params({ ...query, limit, starting_after: startingAfter }),
    });
  }

  logStats(query: { service?: string; from?: string; to?: string; step?: string }): Observable<LogStats> {
    return this.http.get<LogStats>('/api/v1/logs/stats', { params: params({ ...query }) });
  }

  alerts(state?: string): Observable<{ data: Alert[] }> {
    return this.http.get<{ data: Alert[] }>('/api/v1/alerts', { params: params({ state }) });
  }
}
