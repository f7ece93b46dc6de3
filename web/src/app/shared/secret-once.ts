import { ChangeDetectionStrategy, Component, input, output, signal } from '@angular/core';

/**
 * A secret the server shows exactly once (an API key, a webhook signing
 * secret): shown in full with a copy button and a plain warning, and gone
 * from the page once dismissed, because the server cannot show it again.
 */
@Component({
  selector: 'pm-secret-once',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @if (secret(); as s) {
      <div class="banner banner-warn secret-once" role="status" data-testid="secret-once">
        <div class="secret-body">
          <strong>{{ label() }}</strong>
          <code class="secret-value" data-testid="secret-value">{{ s }}</code>
          <span class="small">Copy it now: you will not see it again.</span>
        </div>
        <div class="secret-actions">
          <button type="button" class="btn btn-small" data-testid="secret-copy" [attr.aria-label]="'Copy ' + label()" (click)="copy(s)">
            {{ copied() ? 'Copied' : 'Copy' }}
          </button>
          <button type="button" class="btn btn-small" data-testid="secret-dismiss" aria-label="I have saved it; hide the secret" (click)="dismissed.emit()">
            Done
          </button>
        </div>
      </div>
    }
  `,
})
export class SecretOnce {
  readonly secret = input<string | null>(null);
  readonly label = input('Secret');
  readonly dismissed = output<void>();
  protected readonly copied = signal(false);

  protected copy(s: string): void {
    // The clipboard API needs a secure context (localhost or HTTPS); where it is missing the value stays selectable.
    const done = () => this.copied.set(true);
    if (navigator.clipboard?.writeText) {
      navigator.clipboard.writeText(s).then(done, () => this.copied.set(false));
    }
  }
}
