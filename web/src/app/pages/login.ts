import { ChangeDetectionStrategy, Component, inject, input, signal } from '@angular/core';
import { FormControl, FormGroup, ReactiveFormsModule, Validators } from '@angular/forms';
import { Router } from '@angular/router';
import { ApiError, toApiError } from '../core/api-error';
import { AuthService } from '../core/auth.service';
import { ErrorBanner } from '../shared/error-banner';

@Component({
  selector: 'pm-login',
  imports: [ReactiveFormsModule, ErrorBanner],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="login-wrap">
      <form class="card login-card" [formGroup]="form" (ngSubmit)="submit()" data-testid="login-form" aria-labelledby="login-title">
        <h1 id="login-title">Sign in to Paymon</h1>
        @if (expired() || auth.sessionExpired()) {
          <div class="banner banner-warn" role="status" data-testid="session-expired">
            Your session has expired. Sign in again to continue.
          </div>
        }
        <pm-error-banner [error]="error()" />
        <label for="login-email">Email</label>
        <input id="login-email" type="email" formControlName="email" autocomplete="username" required data-testid="login-email" />
        <label for="login-password">Password</label>
        <input
          id="login-password"
          type="password"
          formControlName="password"
          autocomplete="current-password"
          required
          data-testid="login-password"
        />
        <button type="submit" class="btn btn-primary" [disabled]="busy()" data-testid="login-submit" aria-label="Sign in">
          {{ busy() ? 'Signing in…' : 'Sign in' }}
        </button>
      </form>
    </div>
  `,
})
export class LoginPage {
  protected readonly auth = inject(AuthService);
  private readonly router = inject(Router);

  /** Query parameters (component input binding). */
  readonly expired = input<string | undefined>();
  readonly returnUrl = input<string | undefined>();

  protected readonly busy = signal(false);
  protected readonly error = signal<ApiError | null>(null);
  protected readonly form = new FormGroup({
    email: new FormControl('', { nonNullable: true, validators: [Validators.required] }),
    password: new FormControl('', { nonNullable: true, validators: [Validators.required] }),
  });

  submit(): void {
    if (this.form.invalid) {
      this.error.set({ kind: 'api', status: 0, code: 'client', message: 'Enter your email and password.' });
      return;
    }
    this.busy.set(true);
    this.error.set(null);
    const { email, password } = this.form.getRawValue();
    this.auth.login(email.trim(), password).subscribe({
      next: () => {
        this.busy.set(false);
        const target = this.returnUrl();
        void this.router.navigateByUrl(target && target.startsWith('/') && !target.startsWith('//') ? target : '/');
      },
      error: (err: unknown) => {
        this.busy.set(false);
        const e = toApiError(err);
        // A 401 from the token endpoint means wrong credentials, not an expired session.
        this.error.set(e.status === 401 || e.status === 400 ? { ...e, kind: 'api', message: e.message || 'Wrong email or password.' } : e);
      },
    });
  }
}
