import {
  afterRenderEffect,
  ChangeDetectionStrategy,
  Component,
  DestroyRef,
  ElementRef,
  inject,
  input,
  viewChild,
} from '@angular/core';
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  ChartData,
  ChartOptions,
  ChartType,
  DoughnutController,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

// Register only what the dashboard draws, to keep the bundle small.
Chart.register(
  BarController,
  LineController,
  DoughnutController,
  BarElement,
  LineElement,
  PointElement,
  ArcElement,
  CategoryScale,
  LinearScale,
  Legend,
  Tooltip,
  Filler,
);

export const STATUS_COLORS: Record<string, string> = {
  succeeded: '#2e9e5b',
  failed: '#d64545',
  pending: '#e0a526',
  canceled: '#8a8f98',
  refunded: '#5b7bd5',
  debug: '#8a8f98',
  info: '#3d7fd9',
  warn: '#e0a526',
  error: '#d64545',
  fatal: '#7a1f9e',
};

const PALETTE = ['#3d7fd9', '#2e9e5b', '#e0a526', '#d64545', '#7a1f9e', '#1aa3a3', '#c2571a', '#8a8f98'];

export function colorFor(key: string, index: number): string {
  return STATUS_COLORS[key] ?? PALETTE[index % PALETTE.length];
}

/** Thin wrapper around a Chart.js chart; redraws when `data` changes. */
@Component({
  selector: 'pm-chart',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `<div class="chart-box"><canvas #canvas role="img" [attr.aria-label]="label()"></canvas></div>`,
})
export class ChartComponent {
  readonly type = input.required<ChartType>();
  readonly data = input.required<ChartData>();
  readonly options = input<ChartOptions>({});
  readonly label = input.required<string>();

  private readonly canvas = viewChild.required<ElementRef<HTMLCanvasElement>>('canvas');
  private chart: Chart | null = null;
  private chartType: ChartType | null = null;

  constructor() {
    afterRenderEffect(() => {
      const data = this.data();
      const type = this.type();
      const options = this.options();
      if (this.chart && this.chartType === type) {
        this.chart.data = data;
        this.chart.options = { ...this.baseOptions(), ...options };
        this.chart.update('none');
        return;
      }
      this.chart?.destroy();
      try {
        this.chart = new Chart(this.canvas().nativeElement, {
          type,
          data,
          options: { ...this.baseOptions(), ...options },
        });
        this.chartType = type;
      } catch {
        this.chart = null; // no canvas support (e.g. jsdom): the table views still work
      }
    });
    inject(DestroyRef).onDestroy(() => this.chart?.destroy());
  }

  private baseOptions(): ChartOptions {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
    };
  }
}
