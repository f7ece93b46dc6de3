/** Response shapes from /work/shared/DESIGN.md ("Response shapes the clients rely on"). */

export type PaymentStatus = 'pending' | 'succeeded' | 'failed' | 'canceled' | 'refunded';
export const PAYMENT_STATUSES: PaymentStatus[] = ['pending', 'succeeded', 'failed', 'canceled', 'refunded'];
export const PROVIDERS = ['simulator', 'stripe', 'paypal'] as const;
export const SIMULATE_OUTCOMES = ['succeed', 'fail', 'pending', 'decline_insufficient_funds'] as const;

export interface PaymentEvent {
  type: string;
  at: string;
  reason?: string | null;
}

export interface Payment {
  id: string;
  amount: number;
  currency: string;
  status: PaymentStatus | string;
  provider: string;
  provider_payment_id?: string | null;
  next_action?: { type: string; client_secret?: string; url?: string } | null;
  description?: string | null;
  metadata?: Record<string, string> | null;
  amount_refunded: number;
  failure_reason?: string | null;
  created_at: string;
  updated_at: string;
  events?: PaymentEvent[];
}

export interface ListResponse<T> {
  data: T[];
  has_more: boolean;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export const LOG_LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error', 'fatal'];

export interface LogEntry {
  id: string;
  time: string;
  level: LogLevel | string;
  service: string;
  message: string;
  attributes?: Record<string, unknown> | null;
  trace_id?: string | null;
  payment_id?: string | null;
  /** Who wrote it: "paymon", "key:<api key id>" or "user:<user id>"; empty on old entries. */
  source?: string | null;
}

export interface LogStats {
  from: string;
  to: string;
  step: string;
  total: number;
  by_level: Partial<Record<string, number>>;
  by_service: Record<string, number>;
  error_rate: number;
  series: { time: string; by_level: Record<string, number> }[];
  top_messages: { message: string; count: number }[];
}

export interface Alert {
  id: string;
  rule: string;
  severity: string;
  state: 'firing' | 'resolved' | string;
  summary: string;
  labels?: Record<string, string> | null;
  started_at: string;
  resolved_at?: string | null;
}

export interface Overview {
  from: string;
  to: string;
  step: string;
  payments: {
    total: number;
    by_status: Partial<Record<string, number>>;
    success_rate: number;
    volume: Record<string, number>;
    series: { time: string; by_status: Record<string, number>; amount_by_currency: Record<string, number> }[];
  };
  api_latency_p99_seconds: number | null;
  alerts_firing: number;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  /** Absent in cookie mode: the refresh token is then in an HttpOnly cookie. */
  refresh_token?: string;
}

export interface ApiErrorBody {
  error: { code: string; message: string; details?: unknown; request_id?: string };
}

export type Role = 'admin' | 'operator' | 'viewer' | 'ingest';

export interface Claims {
  sub: string;
  email?: string;
  role?: Role | string;
  exp?: number;
}

/** A merchant event (GET /api/v1/events): `data` is the payment as the API returned it then. */
export interface WebhookEvent {
  id: string;
  type: string;
  payment_id: string;
  created_at: string;
  data?: unknown;
}

export const EVENT_TYPES = [
  'payment.created',
  'payment.succeeded',
  'payment.failed',
  'payment.partially_refunded',
  'payment.refunded',
  'payment.canceled',
] as const;

export interface WebhookEndpoint {
  id: string;
  url: string;
  event_types: string[];
  enabled: boolean;
  description: string;
  disabled_reason: string;
  /** Only in the answer to a create or a rotation. */
  secret?: string;
  previous_secret_expires_at?: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhookDelivery {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  created_at: string;
  /** delivered, failed or refused */
  result: string;
  /** The HTTP status; 0 when there was none. */
  status: number;
  latency_ms: number;
  response: string;
  error: string;
}

export interface User {
  id: string;
  email: string;
  role: Role | string;
  disabled: boolean;
  created_at: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  role: Role | string;
  created_by: string;
  created_at: string;
  revoked_at?: string;
  /** Only in the answer to a create. */
  key?: string;
}
