import { Injectable, signal } from '@angular/core';

/** Whether the last API call reached the server; drives the global "API unreachable" banner. */
@Injectable({ providedIn: 'root' })
export class ConnectivityService {
  readonly apiUnreachable = signal(false);

  unreachable(): void {
    this.apiUnreachable.set(true);
  }

  reachable(): void {
    this.apiUnreachable.set(false);
  }
}
