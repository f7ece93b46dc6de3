import { DatePipe } from '@angular/common';
import { ChangeDetectionStrategy, Component, DestroyRef, inject, signal } from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { FormControl, FormGroup, ReactiveFormsModule, Validators } from '@angular/forms';
import { interval, Observable } from 'rxjs';
import { ApiError, toApiError } from '../core/api-error';
import { ApiService, EndpointInput } from '../core/api.service';
import { EVENT_TYPES, WebhookDelivery, WebhookEndpoint } from '../core/api.types';
import { AuthService } from '../core/auth.service';
import { ErrorBanner } from '../shared/error-banner';
import { SecretOnce } from '../shared/secret-once';

/** How often the delivery logs refresh while the page is open: retries and resends land without a reload. */
export const DELIVERIES_REFRESH_MS = 5000;

/** The event_types a create sends: ["*"] for all, else the picked types in their canonical order. */
export function eventTypesFor(all: boolean, picked: ReadonlySet<string>): string[] {
  return all ? ['*'] : EVENT_TYPES.filter((t) => picked.has(t));
}

@Component({
  selector: 'pm-webhooks',
  imports: [ReactiveFormsModule, ErrorBanner, SecretOnce, DatePipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="page-head"><h1>Webhooks</h1></div>
    <pm-error-banner [error]="error()" [retryable]="true" (retry)="load()" />
    @if (notice()) {
      <div class="banner banner-ok" role="status" data-testid="action-notice">{{ notice() }}</div>
    }
    <pm-secret-once [secret]="secret()" [label]="secretLabel()" (dismissed)="secret.set(null)" />

    @if (auth.isAdmin()) {
      <form class="card" [formGroup]="form" (ngSubmit)="create()" aria-labelledby="new-endpoint-title" data-testid="endpoint-form">
        <h2 id="new-endpoint-title">New endpoint</h2>
        <div class="form-grid">
          <div class="field wide">
            <label for="endpoint-url">URL (HTTPS in production)</label>
            <input id="endpoint-url" type="url" autocomplete="off" placeholder="https://shop.example/webhooks/paymon" formControlName="url" data-testid="endpoint-url" required />
          </div>
          <div class="field wide">
            <label for="endpoint-description">Description</label>
            <input id="endpoint-description" type="text" autocomplete="off" formControlName="description" data-testid="endpoint-description" />
          </div>
          <fieldset class="levels wide" data-testid="endpoint-types">
            <legend>Event types</legend>
            <label class="check"><input type="checkbox" [checked]="allTypes()" (change)="allTypes.set($any($event.target).checked)" data-testid="endpoint-all-types" /> All events</label>
            @if (!allTypes()) {
              @for (t of eventTypes; track t) {
                <label class="check"><input type="checkbox" [checked]="picked().has(t)" (change)="toggleType(t, $any($event.target).checked)" [attr.data-testid]="'endpoint-type-' + t" /> {{ t }}</label>
              }
            }
          </fieldset>
        </div>
        @if (formError()) {
          <p class="field-error" role="alert" data-testid="endpoint-form-error">{{ formError() }}</p>
        }
        <p>
          <button type="submit" class="btn btn-primary" [disabled]="busy() || form.invalid" data-testid="endpoint-create">Create endpoint</button>
        </p>
      </form>
    } @else {
      <p class="muted small" data-testid="read-only-note">Only admins manage endpoints; you can read the delivery logs and resend events.</p>
    }

    @if (loading() && endpoints().length === 0) {
      <p class="loading" data-testid="loading">Loading endpoints…</p>
    } @else if (!error() && endpoints().length === 0) {
      <p class="card empty" data-testid="empty-state">No webhook endpoints yet.</p>
    }

    @for (e of endpoints(); track e.id) {
      <section class="card endpoint-card" data-testid="endpoint" [attr.data-id]="e.id" [attr.data-url]="e.url" [attr.data-enabled]="e.enabled" [attr.aria-labelledby]="'ep-' + e.id">
        <div class="page-head">
          <h2 [id]="'ep-' + e.id" class="mono">{{ e.url }}</h2>
          <span class="badge" [attr.data-enabled]="e.enabled" data-testid="endpoint-state">{{ e.enabled ? 'enabled' : 'disabled' }}</span>
        </div>
        <dl class="facts">
          <dt>Events</dt>
          <dd data-testid="endpoint-event-types">{{ typesLabel(e) }}</dd>
          <dt>Description</dt>
          <dd>{{ e.description || '—' }}</dd>
          @if (e.disabled_reason) {
            <dt>Disabled because</dt>
            <dd class="bad">{{ e.disabled_reason }}</dd>
          }
          @if (e.previous_secret_expires_at) {
            <dt>Old secret</dt>
            <dd>also signs until {{ e.previous_secret_expires_at | date: 'MMM d, y, HH:mm' }}</dd>
          }
          <dt>Created</dt>
          <dd>{{ e.created_at | date: 'MMM d, y, HH:mm' }}</dd>
        </dl>
        @if (auth.isAdmin()) {
          <div class="row-actions endpoint-actions">
            <button type="button" class="btn btn-small" data-testid="endpoint-toggle" [disabled]="busy()" [attr.aria-label]="(e.enabled ? 'Disable ' : 'Enable ') + e.url" (click)="setEnabled(e, !e.enabled)">
              {{ e.enabled ? 'Disable' : 'Enable' }}
            </button>
            <button type="button" class="btn btn-small" data-testid="endpoint-rotate" [disabled]="busy()" [attr.aria-label]="'Rotate the signing secret of ' + e.url" (click)="rotate(e)">Rotate secret</button>
            @if (confirmDelete() === e.id) {
              <button type="button" class="btn btn-small btn-danger" data-testid="endpoint-delete-confirm" [disabled]="busy()" [attr.aria-label]="'Really delete ' + e.url" (click)="remove(e)">Really delete</button>
              <button type="button" class="btn btn-small" data-testid="endpoint-delete-cancel" (click)="confirmDelete.set(null)">Keep</button>
            } @else {
              <button type="button" class="btn btn-small btn-danger" data-testid="endpoint-delete" [disabled]="busy()" [attr.aria-label]="'Delete ' + e.url" (click)="confirmDelete.set(e.id)">Delete</button>
            }
          </div>
        }

        <div class="deliveries-head">
          <h3 class="small">Recent deliveries</h3>
          <button type="button" class="btn btn-small" data-testid="deliveries-refresh" [attr.aria-label]="'Refresh the deliveries of ' + e.url" (click)="loadDeliveries(e.id)">Refresh</button>
        </div>
        @let ds = deliveries()[e.id];
        @if (!ds) {
          <p class="loading small">Loading deliveries…</p>
        } @else if (ds.length === 0) {
          <p class="empty small" data-testid="deliveries-empty">No deliveries yet.</p>
        } @else {
          <div class="table-scroll">
            <table class="table" data-testid="deliveries-table">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Event</th>
                  <th scope="col">Result</th>
                  <th scope="col" class="num">HTTP</th>
                  <th scope="col" class="num">Latency</th>
                  <th scope="col" class="hide-narrow">Error</th>
                  <th scope="col"><span class="sr-only">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                @for (d of ds; track d.id) {
                  <tr data-testid="delivery-row" [attr.data-id]="d.id" [attr.data-event-id]="d.event_id" [attr.data-result]="d.result" [attr.data-status]="d.status">
                    <td class="nowrap small">{{ d.created_at | date: 'MMM d, HH:mm:ss' }}</td>
                    <td class="small">
                      <strong>{{ d.event_type }}</strong> <span class="muted">#{{ d.attempt }}</span>
                      <div class="mono muted">{{ d.event_id }}</div>
                    </td>
                    <td><span class="badge" [attr.data-result]="d.result">{{ d.result }}</span></td>
                    <td class="num">{{ d.status || '—' }}</td>
                    <td class="num nowrap">{{ d.latency_ms }} ms</td>
                    <td class="hide-narrow small msg">{{ d.error || '—' }}</td>
                    <td>
                      <button type="button" class="btn btn-small" data-testid="delivery-resend" [disabled]="busy()" [attr.aria-label]="'Resend event ' + d.event_id + ' to ' + e.url" (click)="resend(e, d)">Resend</button>
                    </td>
                  </tr>
                }
              </tbody>
            </table>
          </div>
        }
      </section>
    }
  `,
})
export class WebhooksPage {
  protected readonly auth = inject(AuthService);
  private readonly api = inject(ApiService);
  protected readonly eventTypes = EVENT_TYPES;

  protected readonly endpoints = signal<WebhookEndpoint[]>([]);
  protected readonly deliveries = signal<Record<string, WebhookDelivery[]>>({});
  protected readonly loading = signal(false);
  protected readonly busy = signal(false);
  protected readonly error = signal<ApiError | null>(null);
  protected readonly notice = signal<string | null>(null);
  protected readonly formError = signal<string | null>(null);
  protected readonly secret = signal<string | null>(null);
  protected readonly secretLabel = signal('Signing secret');
  protected readonly confirmDelete = signal<string | null>(null);
  protected readonly allTypes = signal(true);
  protected readonly picked = signal<ReadonlySet<string>>(new Set());
  protected readonly form = new FormGroup({
    url: new FormControl('', { nonNullable: true, validators: [Validators.required] }),
    description: new FormControl('', { nonNullable: true }),
  });

  constructor() {
    this.load();
    interval(DELIVERIES_REFRESH_MS)
      .pipe(takeUntilDestroyed(inject(DestroyRef)))
      .subscribe(() => {
        for (const e of this.endpoints()) {
          this.loadDeliveries(e.id);
        }
      });
  }

  protected typesLabel(e: WebhookEndpoint): string {
    return e.event_types.length === 0 || e.event_types.includes('*') ? 'all events' : e.event_types.join(', ');
  }

  protected toggleType(t: string, on: boolean): void {
    const next = new Set(this.picked());
    if (on) {
      next.add(t);
    } else {
      next.delete(t);
    }
    this.picked.set(next);
  }

  load(): void {
    this.loading.set(true);
    this.error.set(null);
    this.api.listEndpoints().subscribe({
      next: (r) => {
        this.endpoints.set(r.data);
        this.loading.set(false);
        for (const e of r.data) {
          this.loadDeliveries(e.id);
        }
      },
      error: (err: unknown) => {
        this.error.set(toApiError(err));
        this.loading.set(false);
      },
    });
  }

  loadDeliveries(endpointId: string): void {
    this.api.listDeliveries(endpointId).subscribe({
      next: (r) => this.deliveries.update((m) => ({ ...m, [endpointId]: r.data })),
      // A failed refresh keeps the last list; the page banner is for the user's own actions.
      error: () => undefined,
    });
  }

  create(): void {
    const v = this.form.getRawValue();
    const types = eventTypesFor(this.allTypes(), this.picked());
    this.formError.set(null);
    if (types.length === 0) {
      this.formError.set('Pick at least one event type, or "All events".');
      return;
    }
    const body: EndpointInput = { url: v.url.trim(), event_types: types, description: v.description.trim() };
    this.secret.set(null);
    this.run(this.api.createEndpoint(body), (e) => {
      this.secretLabel.set(`Signing secret for ${e.url}`);
      this.secret.set(e.secret ?? null);
      this.form.reset({ url: '', description: '' });
      this.allTypes.set(true);
      this.picked.set(new Set());
    });
  }

  setEnabled(e: WebhookEndpoint, enabled: boolean): void {
    this.run(this.api.updateEndpoint(e.id, { enabled }), () => this.notice.set(`${e.url} ${enabled ? 'enabled' : 'disabled'}.`));
  }

  rotate(e: WebhookEndpoint): void {
    this.secret.set(null);
    this.run(this.api.rotateEndpointSecret(e.id), (r) => {
      this.secretLabel.set(`New signing secret for ${e.url} (the old one also signs for 24 h)`);
      this.secret.set(r.secret ?? null);
    });
  }

  remove(e: WebhookEndpoint): void {
    this.confirmDelete.set(null);
    this.run(this.api.deleteEndpoint(e.id), () => this.notice.set(`${e.url} deleted.`));
  }

  resend(e: WebhookEndpoint, d: WebhookDelivery): void {
    this.busy.set(true);
    this.error.set(null);
    this.notice.set(null);
    this.api.resendEvent(d.event_id, e.id).subscribe({
      next: () => {
        this.busy.set(false);
        this.notice.set(`Event ${d.event_id} queued again for ${e.url}.`);
        this.loadDeliveries(e.id);
      },
      error: (err: unknown) => {
        this.busy.set(false);
        this.error.set(toApiError(err));
      },
    });
  }

  /** One endpoint change, then a reload of the list so it shows what the server kept. */
  private run<T>(call: Observable<T>, done: (v: T) => void): void {
    this.busy.set(true);
    this.error.set(null);
    this.notice.set(null);
    call.subscribe({
      next: (v) => {
        this.busy.set(false);
        done(v);
        this.load();
      },
      error: (err: unknown) => {
        this.busy.set(false);
        this.error.set(toApiError(err));
      },
    });
  }
}
