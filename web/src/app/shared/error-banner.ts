import { ChangeDetectionStrategy, Component, input, output } from '@angular/core';
import { ApiError } from '../core/api-error';

/** A visible error banner for a failed API call: message, request id, and a retry button. */
@Component({
  selector: 'pm-error-banner',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @if (error(); as e) {
      <div class="banner banner-error" role="alert" data-testid="error-banner" [attr.data-kind]="e.kind">
        <div>
          <strong>{{ title(e) }}</strong>&nbsp;
          <span data-testid="error-message">{{ e.message }}</span>
          @if (e.requestId) {
            <span class="muted small">
              (request id <code data-testid="error-request-id">{{ e.requestId }}</code>)
            </span>
          }
        </div>
        @if (retryable()) {
          <button type="button" class="btn btn-small" (click)="retry.emit()" aria-label="Retry" data-testid="error-retry">
            Retry
          </button>
        }
      </div>
    }
  `,
})
export class ErrorBanner {
  readonly error = input<ApiError | null>(null);
  readonly retryable = input(false);
  readonly retry = output<void>();

  title(e: ApiError): string {
    switch (e.kind) {
      case 'unreachable':
        return 'API unreachable.';
      case 'expired':
        return 'Session expired.';
      case 'forbidden':
        return 'Not allowed.';
      default:
        return e.status ? `Error ${e.status}${e.code && e.code !== String(e.status) ? ' (' + e.code + ')' : ''}:` : 'Error:';
    }
  }
}
