import { DatePipe } from '@angular/common';
import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { FormControl, FormGroup, ReactiveFormsModule, Validators } from '@angular/forms';
import { Observable } from 'rxjs';
import { ApiError, toApiError } from '../core/api-error';
import { ApiService } from '../core/api.service';
import { ApiKey } from '../core/api.types';
import { ErrorBanner } from '../shared/error-banner';
import { SecretOnce } from '../shared/secret-once';

/** ingest first: most keys belong to a log shipper. */
export const KEY_ROLES = ['ingest', 'viewer', 'operator', 'admin'] as const;

@Component({
  selector: 'pm-api-keys',
  imports: [ReactiveFormsModule, ErrorBanner, SecretOnce, DatePipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="page-head"><h1>API keys</h1></div>
    <pm-error-banner [error]="error()" [retryable]="true" (retry)="load()" />
    @if (notice()) {
      <div class="banner banner-ok" role="status" data-testid="action-notice">{{ notice() }}</div>
    }
    <pm-secret-once [secret]="newKey()" [label]="'API key ' + newKeyName()" (dismissed)="newKey.set(null)" />

    <form class="card" [formGroup]="form" (ngSubmit)="create()" aria-labelledby="new-key-title" data-testid="key-form">
      <h2 id="new-key-title">New API key</h2>
      <div class="filters">
        <div class="field">
          <label for="key-name">Name</label>
          <input id="key-name" type="text" autocomplete="off" maxlength="100" formControlName="name" data-testid="key-name" required />
        </div>
        <div class="field">
          <label for="key-role">Role</label>
          <select id="key-role" formControlName="role" data-testid="key-role">
            @for (r of roles; track r) {
              <option [value]="r">{{ r }}</option>
            }
          </select>
        </div>
        <div class="field actions">
          <button type="submit" class="btn btn-primary" [disabled]="busy() || form.invalid" data-testid="key-create">Create key</button>
        </div>
      </div>
      <p class="small muted">"ingest" keys may only post logs: the right role for a log shipper.</p>
    </form>

    <section class="card" aria-labelledby="keys-title">
      <h2 id="keys-title">Keys</h2>
      @if (loading() && keys().length === 0) {
        <p class="loading" data-testid="loading">Loading keys…</p>
      } @else if (!error() && keys().length === 0) {
        <p class="empty" data-testid="empty-state">No API keys yet.</p>
      }
      @if (keys().length) {
        <div class="table-scroll">
          <table class="table" data-testid="keys-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Prefix</th>
                <th scope="col">Role</th>
                <th scope="col" class="hide-narrow">Created</th>
                <th scope="col">State</th>
                <th scope="col"><span class="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              @for (k of sorted(); track k.id) {
                <tr data-testid="key-row" [attr.data-id]="k.id" [attr.data-name]="k.name" [attr.data-revoked]="!!k.revoked_at">
                  <td class="msg">{{ k.name }}</td>
                  <td class="mono small">{{ k.prefix }}…</td>
                  <td>{{ k.role }}</td>
                  <td class="hide-narrow small nowrap">{{ k.created_at | date: 'MMM d, y, HH:mm' }}</td>
                  <td>
                    @if (k.revoked_at) {
                      <span class="badge" data-enabled="false" data-testid="key-state" [title]="k.revoked_at | date: 'MMM d, y, HH:mm:ss'">revoked</span>
                    } @else {
                      <span class="badge" data-enabled="true" data-testid="key-state">active</span>
                    }
                  </td>
                  <td>
                    @if (!k.revoked_at) {
                      <button type="button" class="btn btn-small btn-danger" data-testid="key-revoke" [disabled]="busy()" [attr.aria-label]="'Revoke key ' + k.name" (click)="revoke(k)">
                        Revoke
                      </button>
                    }
                  </td>
                </tr>
              }
            </tbody>
          </table>
        </div>
      }
    </section>
  `,
})
export class ApiKeysPage {
  private readonly api = inject(ApiService);
  protected readonly roles = KEY_ROLES;
  protected readonly keys = signal<ApiKey[]>([]);
  /** Active keys first, newest first within each group. */
  protected readonly sorted = computed(() =>
    [...this.keys()].sort((a, b) => Number(!!a.revoked_at) - Number(!!b.revoked_at) || b.created_at.localeCompare(a.created_at)),
  );
  protected readonly newKey = signal<string | null>(null);
  protected readonly newKeyName = signal('');
  protected readonly loading = signal(false);
  protected readonly busy = signal(false);
  protected readonly error = signal<ApiError | null>(null);
  protected readonly notice = signal<string | null>(null);
  protected readonly form = new FormGroup({
    name: new FormControl('', { nonNullable: true, validators: [Validators.required, Validators.maxLength(100)] }),
    role: new FormControl<string>('ingest', { nonNullable: true }),
  });

  constructor() {
    this.load();
  }

  load(): void {
    this.loading.set(true);
    this.error.set(null);
    this.api.listApiKeys().subscribe({
      next: (r) => {
        this.keys.set(r.data);
        this.loading.set(false);
      },
      error: (err: unknown) => {
        this.error.set(toApiError(err));
        this.loading.set(false);
      },
    });
  }

  create(): void {
    const v = this.form.getRawValue();
    const name = v.name.trim();
    if (!name) {
      return;
    }
    this.newKey.set(null);
    this.run(this.api.createApiKey({ name, role: v.role }), (k) => {
      this.newKeyName.set(name);
      this.newKey.set(k?.key ?? null);
      this.form.reset({ name: '', role: 'ingest' });
    });
  }

  revoke(k: ApiKey): void {
    this.newKey.set(null);
    this.run(this.api.revokeApiKey(k.id), () => this.notice.set(`Key ${k.name} revoked: requests with it now get 401.`));
  }

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
