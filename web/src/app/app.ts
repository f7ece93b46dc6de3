import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { NavigationEnd, Router, RouterLink, RouterLinkActive, RouterOutlet } from '@angular/router';
import { filter, map } from 'rxjs';
import { AuthService } from './core/auth.service';
import { ConnectivityService } from './core/connectivity.service';
import { StreamService } from './core/stream.service';

@Component({
  selector: 'pm-root',
  imports: [RouterOutlet, RouterLink, RouterLinkActive],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @if (showShell()) {
      <header class="topbar">
        <a class="brand" routerLink="/" aria-label="Paymon overview">Paymon</a>
        <button
          type="button"
          class="nav-toggle"
          data-testid="nav-toggle"
          aria-label="Toggle navigation"
          aria-controls="main-nav"
          [attr.aria-expanded]="navOpen()"
          (click)="navOpen.set(!navOpen())"
        >
          ☰
        </button>
        <nav id="main-nav" class="nav" [class.open]="navOpen()" aria-label="Main">
          <a routerLink="/" routerLinkActive="active" [routerLinkActiveOptions]="{ exact: true }" data-testid="nav-overview" (click)="navOpen.set(false)">Overview</a>
          <a routerLink="/payments" routerLinkActive="active" data-testid="nav-payments" (click)="navOpen.set(false)">Payments</a>
          <a routerLink="/logs" routerLinkActive="active" data-testid="nav-logs" (click)="navOpen.set(false)">Logs</a>
          <a routerLink="/alerts" routerLinkActive="active" data-testid="nav-alerts" (click)="navOpen.set(false)">Alerts</a>
          @if (auth.canWrite()) {
            <a routerLink="/webhooks" routerLinkActive="active" data-testid="nav-webhooks" (click)="navOpen.set(false)">Webhooks</a>
          }
          @if (auth.isAdmin()) {
            <a routerLink="/admin/users" routerLinkActive="active" data-testid="nav-users" (click)="navOpen.set(false)">Users</a>
            <a routerLink="/admin/api-keys" routerLinkActive="active" data-testid="nav-api-keys" (click)="navOpen.set(false)">API keys</a>
          }
          <span class="nav-spacer"></span>
          <span class="stream-state" [attr.data-state]="stream.state()" data-testid="stream-state" [title]="stream.lastError() ?? ''">
            <span class="dot" aria-hidden="true"></span>{{ streamLabel() }}
          </span>
          <span class="user" data-testid="user-info">
            {{ auth.email() }} <span class="role" data-testid="user-role">{{ auth.role() }}</span>
          </span>
          <button type="button" class="btn btn-small" data-testid="logout-button" aria-label="Sign out" (click)="auth.logout()">Sign out</button>
        </nav>
      </header>
    }
    @if (conn.apiUnreachable()) {
      <div class="banner banner-error global-banner" role="alert" data-testid="api-unreachable">
        <strong>API unreachable.</strong> Paymon is not answering; data shown may be stale. Retrying on the next request.
      </div>
    }
    <main [class.with-shell]="showShell()">
      <router-outlet />
    </main>
  `,
})
export class App {
  protected readonly auth = inject(AuthService);
  protected readonly conn = inject(ConnectivityService);
  protected readonly stream = inject(StreamService);
  private readonly router = inject(Router);

  protected readonly navOpen = signal(false);
  private readonly url = toSignal(
    this.router.events.pipe(
      filter((e) => e instanceof NavigationEnd),
      map((e) => (e as NavigationEnd).urlAfterRedirects),
    ),
    { initialValue: this.router.url },
  );
  protected readonly showShell = computed(() => this.auth.isLoggedIn() && !this.url().startsWith('/login'));
  protected readonly streamLabel = computed(() => {
    switch (this.stream.state()) {
      case 'open':
        return 'Live';
      case 'connecting':
        return 'Connecting…';
      case 'reconnecting':
        return 'Reconnecting…';
      default:
        return 'Offline';
    }
  });
}
