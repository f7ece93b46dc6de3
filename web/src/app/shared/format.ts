/** Small display helpers shared by pages. */

export function timeLabel(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) {
    return iso;
  }
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function percent(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || Number.isNaN(x)) {
    return '—';
  }
  return `${(x * 100).toFixed(digits)} %`;
}

export function seconds(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) {
    return '—';
  }
  if (x < 1) {
    return `${(x * 1000).toFixed(x < 0.01 ? 1 : 0)} ms`;
  }
  return `${x.toFixed(2)} s`;
}

/** datetime-local input value ("2025-01-02T10:30") → RFC 3339 in UTC, or '' when empty/invalid. */
export function localInputToIso(v: string | null | undefined): string {
  if (!v) {
    return '';
  }
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

/** RFC 3339 → datetime-local input value in the browser's zone. */
export function isoToLocalInput(v: string | null | undefined): string {
  if (!v) {
    return '';
  }
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) {
    return '';
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
