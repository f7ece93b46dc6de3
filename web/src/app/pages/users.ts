import { DatePipe } from '@angular/common';
import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { FormControl, FormGroup, ReactiveFormsModule, Validators } from '@angular/forms';
import { Observable } from 'rxjs';
import { ApiError, toApiError } from '../core/api-error';
import { ApiService } from '../core/api.service';
import { User } from '../core/api.types';
import { AuthService } from '../core/auth.service';
import { ErrorBanner } from '../shared/error-banner';

/** The roles a person can have (ingest is for API keys only). */
export const USER_ROLES = ['admin', 'operator', 'viewer'] as const;

@Component({
  selector: 'pm-users',
  imports: [ReactiveFormsModule, ErrorBanner, DatePipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="page-head"><h1>Users</h1></div>
    <pm-error-banner [error]="error()" [retryable]="true" (retry)="load()" />
    @if (notice()) {
      <div class="banner banner-ok" role="status" data-testid="action-notice">{{ notice() }}</div>
    }

    <form class="card" [formGroup]="form" (ngSubmit)="create()" aria-labelledby="new-user-title" data-testid="user-form">
      <h2 id="new-user-title">New user</h2>
      <div class="filters">
        <div class="field">
          <label for="user-email">Email</label>
          <input id="user-email" type="email" autocomplete="off" formControlName="email" data-testid="user-email" required />
        </div>
        <div class="field">
          <label for="user-password">Password (at least 8 characters)</label>
          <input id="user-password" type="password" autocomplete="new-password" formControlName="password" data-testid="user-password" required />
        </div>
        <div class="field">
          <label for="user-role">Role</label>
          <select id="user-role" formControlName="role" data-testid="user-role-select">
            @for (r of roles; track r) {
              <option [value]="r">{{ r }}</option>
            }
          </select>
        </div>
        <div class="field actions">
          <button type="submit" class="btn btn-primary" [disabled]="busy() || form.invalid" data-testid="user-create">Create user</button>
        </div>
      </div>
    </form>

    <section class="card" aria-labelledby="users-title">
      <h2 id="users-title">All users</h2>
      @if (loading() && users().length === 0) {
        <p class="loading" data-testid="loading">Loading users…</p>
      } @else if (!error() && users().length === 0) {
        <p class="empty" data-testid="empty-state">No users.</p>
      }
      @if (users().length) {
        <div class="table-scroll">
          <table class="table" data-testid="users-table">
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">State</th>
                <th scope="col" class="hide-narrow">Created</th>
                <th scope="col"><span class="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              @for (u of users(); track u) {
                <tr data-testid="user-row" [attr.data-id]="u.id" [attr.data-email]="u.email" [attr.data-disabled]="u.disabled">
                  <td class="msg">{{ u.email }} @if (isSelf(u)) {<span class="muted small">(you)</span>}</td>
                  <td>
                    <label class="sr-only" [attr.for]="'role-' + u.id">Role of {{ u.email }}</label>
                    <select [id]="'role-' + u.id" data-testid="user-role-change" [disabled]="busy() || isSelf(u)" (change)="setRole(u, $any($event.target).value)">
                      @for (r of roles; track r) {
                        <option [value]="r" [selected]="u.role === r">{{ r }}</option>
                      }
                    </select>
                  </td>
                  <td><span class="badge" [attr.data-enabled]="!u.disabled" data-testid="user-state">{{ u.disabled ? 'disabled' : 'active' }}</span></td>
                  <td class="hide-narrow small nowrap">{{ u.created_at | date: 'MMM d, y, HH:mm' }}</td>
                  <td>
                    @if (!isSelf(u)) {
                      <button
                        type="button"
                        class="btn btn-small"
                        [class.btn-danger]="!u.disabled"
                        data-testid="user-toggle"
                        [disabled]="busy()"
                        [attr.aria-label]="(u.disabled ? 'Enable ' : 'Disable ') + u.email"
                        (click)="setDisabled(u, !u.disabled)"
                      >
                        {{ u.disabled ? 'Enable' : 'Disable' }}
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
export class UsersPage {
  private readonly api = inject(ApiService);
  private readonly auth = inject(AuthService);
  protected readonly roles = USER_ROLES;
  protected readonly users = signal<User[]>([]);
  protected readonly loading = signal(false);
  protected readonly busy = signal(false);
  protected readonly error = signal<ApiError | null>(null);
  protected readonly notice = signal<string | null>(null);
  protected readonly form = new FormGroup({
    email: new FormControl('', { nonNullable: true, validators: [Validators.required, Validators.email] }),
    password: new FormControl('', { nonNullable: true, validators: [Validators.required] }),
    role: new FormControl<string>('viewer', { nonNullable: true }),
  });

  constructor() {
    this.load();
  }

  protected isSelf(u: User): boolean {
    return u.id === this.auth.claims()?.sub;
  }

  load(keepError = false): void {
    this.loading.set(true);
    if (!keepError) {
      this.error.set(null);
    }
    this.api.listUsers().subscribe({
      next: (r) => {
        this.users.set(r.data);
        this.loading.set(false);
      },
      error: (err: unknown) => {
        this.error.set(toApiError(err));
        this.loading.set(false);
      },
    });
  }

  create(): void {
    if (this.form.invalid) {
      return;
    }
    const v = this.form.getRawValue();
    this.run(this.api.createUser({ email: v.email.trim(), password: v.password, role: v.role }), () => {
      this.form.reset({ email: '', password: '', role: 'viewer' });
      this.notice.set(`User ${v.email.trim()} created as ${v.role}.`);
    });
  }

  setRole(u: User, role: string): void {
    if (role === u.role) {
      return;
    }
    this.run(this.api.updateUser(u.id, { role }), () => this.notice.set(`${u.email} is now ${role}.`));
  }

  setDisabled(u: User, disabled: boolean): void {
    this.run(this.api.updateUser(u.id, { disabled }), () => this.notice.set(`${u.email} ${disabled ? 'disabled: they can no longer sign in' : 'enabled'}.`));
  }

  /** Runs one change, then reloads the list so it shows what the server kept. */
  // Rows are tracked by object, so a reload re-renders each row's role picker from the server's answer.
  private run(call: Observable<unknown>, done: () => void): void {
    this.busy.set(true);
    this.error.set(null);
    this.notice.set(null);
    call.subscribe({
      next: () => {
        this.busy.set(false);
        done();
        this.load();
      },
      error: (err: unknown) => {
        this.busy.set(false);
        this.error.set(toApiError(err));
        // Re-read the list so a role picker shows what the server kept, not the refused choice.
        this.load(true);
      },
    });
  }
}
