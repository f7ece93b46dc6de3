import { HttpClient, HttpHeaders, HttpParams } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import { Observable } from 'rxjs';
import { Alert, ApiKey, ListResponse, LogEntry, LogStats, Overview, Payment, User, WebhookDelivery, WebhookEndpoint, WebhookEvent } from './api.types';

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

export interface EndpointInput {
  url?: string;
  event_types?: string[];
  enabled?: boolean;
  description?: string;
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

  /** Events recorded for one payment (newest first, as the API lists them). */
  paymentEvents(paymentId: string, limit = 50): Observable<ListResponse<WebhookEvent>> {
    return this.http.get<ListResponse<WebhookEvent>>('/api/v1/events', { params: params({ payment_id: paymentId, limit }) });
  }

  /** Queues one event again for one endpoint (or every matching endpoint when endpointId is empty). */
  resendEvent(eventId: string, endpointId?: string): Observable<{ event_id: string; endpoint_ids: string[] }> {
    return this.http.post<{ event_id: string; endpoint_ids: string[] }>(
      `/api/v1/events/${encodeURIComponent(eventId)}/resend`,
      endpointId ? { endpoint_id: endpointId } : {},
    );
  }

  listEndpoints(): Observable<ListResponse<WebhookEndpoint>> {
    return this.http.get<ListResponse<WebhookEndpoint>>('/api/v1/webhook-endpoints');
  }

  createEndpoint(body: EndpointInput): Observable<WebhookEndpoint> {
    return this.http.post<WebhookEndpoint>('/api/v1/webhook-endpoints', body);
  }

  updateEndpoint(id: string, body: EndpointInput): Observable<WebhookEndpoint> {
    return this.http.patch<WebhookEndpoint>(`/api/v1/webhook-endpoints/${encodeURIComponent(id)}`, body);
  }

  deleteEndpoint(id: string): Observable<void> {
    return this.http.delete<void>(`/api/v1/webhook-endpoints/${encodeURIComponent(id)}`);
  }

  rotateEndpointSecret(id: string): Observable<WebhookEndpoint> {
    return this.http.post<WebhookEndpoint>(`/api/v1/webhook-endpoints/${encodeURIComponent(id)}/rotate-secret`, {});
  }

  listDeliveries(endpointId: string, limit = 20): Observable<ListResponse<WebhookDelivery>> {
    return this.http.get<ListResponse<WebhookDelivery>>(`/api/v1/webhook-endpoints/${encodeURIComponent(endpointId)}/deliveries`, {
      params: params({ limit }),
    });
  }

  listUsers(): Observable<ListResponse<User>> {
    return this.http.get<ListResponse<User>>('/api/v1/users');
  }

  createUser(body: { email: string; password: string; role: string }): Observable<User> {
    return this.http.post<User>('/api/v1/users', body);
  }

  updateUser(id: string, body: { role?: string; disabled?: boolean }): Observable<User> {
    return this.http.patch<User>(`/api/v1/users/${encodeURIComponent(id)}`, body);
  }

  listApiKeys(): Observable<ListResponse<ApiKey>> {
    return this.http.get<ListResponse<ApiKey>>('/api/v1/api-keys');
  }

  createApiKey(body: { name: string; role: string }): Observable<ApiKey> {
    return this.http.post<ApiKey>('/api/v1/api-keys', body);
  }

  revokeApiKey(id: string): Observable<void> {
    return this.http.delete<void>(`/api/v1/api-keys/${encodeURIComponent(id)}`);
  }
}
