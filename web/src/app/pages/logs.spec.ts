import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { provideRouter, withComponentInputBinding } from '@angular/router';
import { RouterTestingHarness } from '@angular/router/testing';
import { signInAs, StubStream } from '../../testing/helpers';
import { LogEntry } from '../core/api.types';
import { StreamService } from '../core/stream.service';
import { appendCapped, LOG_TAIL_CAP, LogsPage, TAIL_CAP } from './logs';

const CAP = 50;

function entry(i: number, level = 'info'): LogEntry {
  return { id: `log_${i}`, time: '2026-01-01T10:00:00Z', level, service: 'checkout', message: `line ${i}`, attributes: {} };
}

describe('appendCapped', () => {
  it('the live tail keeps 1000 rows by default', () => {
    expect(TestBed.inject(LOG_TAIL_CAP)).toBe(TAIL_CAP);
    expect(TAIL_CAP).toBe(1000);
  });

  it('keeps the newest rows up to the cap', () => {
    expect(appendCapped([1, 2, 3], [4, 5], 4)).toEqual([2, 3, 4, 5]);
    expect(appendCapped([], [1], 4)).toEqual([1]);
  });
});

describe('LogsPage live tail', () => {
  let stream: StubStream;
  let harness: RouterTestingHarness;
  let ctrl: HttpTestingController;

  async function render(): Promise<HTMLElement> {
    await new Promise((r) => setTimeout(r, 300)); // the tail batches events every 250 ms
    await harness.fixture.whenStable();
    harness.fixture.detectChanges();
    return harness.routeNativeElement as HTMLElement;
  }

  const rows = (el: HTMLElement) => el.querySelectorAll('[data-testid="log-row"]');

  beforeEach(async () => {
    sessionStorage.clear();
    signInAs('viewer');
    stream = new StubStream();
    TestBed.configureTestingModule({
      providers: [
        provideRouter([{ path: 'logs', component: LogsPage }], withComponentInputBinding()),
        provideHttpClient(),
        provideHttpClientTesting(),
        { provide: StreamService, useValue: stream },
        { provide: LOG_TAIL_CAP, useValue: CAP },
      ],
    });
    ctrl = TestBed.inject(HttpTestingController);
    harness = await RouterTestingHarness.create();
    await harness.navigateByUrl('/logs', LogsPage);
  });

  afterEach(() => ctrl.verify());

  it('appends streamed lines, pauses and resumes, and keeps at most the cap of rows', async () => {
    let el = await render();
    stream.emit('logs', 'log.created', entry(1));
    stream.emit('logs', 'log.created', entry(2, 'error'));
    el = await render();
    expect(Array.from(rows(el)).map((r) => r.getAttribute('data-id'))).toEqual(['log_1', 'log_2']);

    (el.querySelector('[data-testid="tail-pause"]') as HTMLButtonElement).click();
    stream.emit('logs', 'log.created', entry(3));
    el = await render();
    expect(rows(el).length).toBe(2);
    expect(el.querySelector('[data-testid="tail-count"]')?.textContent).toContain('1 new while paused');

    (el.querySelector('[data-testid="tail-pause"]') as HTMLButtonElement).click();
    el = await render();
    expect(rows(el).length).toBe(3);

    for (let i = 4; i <= CAP + 10; i++) {
      stream.emit('logs', 'log.created', entry(i));
    }
    el = await render();
    const all = rows(el);
    expect(all.length).toBe(CAP);
    expect(all[all.length - 1].getAttribute('data-id')).toBe(`log_${CAP + 10}`);
    expect(all[0].getAttribute('data-id')).toBe('log_11');
  });

  it('shows which credential wrote each line', async () => {
    stream.emit('logs', 'log.created', { ...entry(1), service: 'paymon', source: 'paymon' });
    stream.emit('logs', 'log.created', { ...entry(2), source: 'key:key_abc' });
    stream.emit('logs', 'log.created', entry(3));
    const el = await render();
    const sources = Array.from(rows(el)).map((r) => r.querySelector('[data-testid="log-source"]')?.textContent?.trim() ?? '');
    expect(sources).toEqual(['paymon', 'key:key_abc', '']);
  });
});
