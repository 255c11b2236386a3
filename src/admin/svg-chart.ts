/** One series of a bar chart: its name (legend, tooltips), its CSS class (colour) and one value per bar. */
export interface Series {
  name: string;
  cls: string;
  values: readonly number[];
}

export interface BarChart {
  /** Read by screen readers, with a one-line description. */
  title: string;
  description: string;
  /** One label per bar; a few are shown under the axis. */
  labels: readonly string[];
  /** Stacked, first at the bottom. */
  series: readonly Series[];
  /** How a value reads on the axis and in tooltips. */
  format: (value: number) => string;
  /** Indexes of the labels to print under the axis (default: first, middle, last). */
  ticks?: readonly number[];
}

const WIDTH = 360;
const HEIGHT = 180;
const LEFT = 40;
const RIGHT = 6;
const TOP = 10;
const BOTTOM = 22;

/**
 * A stacked bar chart as inline SVG: no script, no inline style (colours come
 * from the page's stylesheet by class), so it renders under a strict CSP. It
 * scales to its container (viewBox), so it reads on a phone; each bar has a
 * `<title>` tooltip, and the chart a title and description for screen readers.
 */
export function barChart(chart: BarChart): string {
  const n = chart.labels.length;
  const totals = chart.labels.map((_, i) => chart.series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HEIGHT - TOP - BOTTOM;
  const slot = plotW / Math.max(n, 1);
  const barW = Math.max(1, slot * 0.72);
  const y = (v: number) => TOP + plotH - (max === 0 ? 0 : (v / max) * plotH);
  const id = `c${Math.abs(hash(chart.title))}`;
  const out: string[] = [
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="${id}t ${id}d">`,
    `<title id="${id}t">${escapeHtml(chart.title)}</title><desc id="${id}d">${escapeHtml(chart.description)}</desc>`,
  ];
  for (const v of [0, max / 2, max]) {
    out.push(`<line class="grid" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${r(y(v))}" y2="${r(y(v))}"/>`);
    out.push(`<text class="axis" x="${LEFT - 4}" y="${r(y(v) + 3)}" text-anchor="end">${escapeHtml(chart.format(v))}</text>`);
  }
  for (let i = 0; i < n; i++) {
    const x = LEFT + i * slot + (slot - barW) / 2;
    const tip = [chart.labels[i], ...chart.series.map((s) => `${s.name}: ${chart.format(s.values[i] ?? 0)}`)].join('\n');
    out.push(`<g><title>${escapeHtml(tip)}</title>`);
    // An empty slot still has a hit area for its tooltip.
    out.push(`<rect class="hit" x="${r(LEFT + i * slot)}" y="${TOP}" width="${r(slot)}" height="${plotH}"/>`);
    let base = 0;
    for (const s of chart.series) {
      const v = s.values[i] ?? 0;
      if (v > 0) out.push(`<rect class="${s.cls}" x="${r(x)}" y="${r(y(base + v))}" width="${r(barW)}" height="${r(y(base) - y(base + v))}"/>`);
      base += v;
    }
    out.push('</g>');
  }
  const ticks = chart.ticks ?? (n > 2 ? [0, Math.floor((n - 1) / 2), n - 1] : chart.labels.map((_, i) => i));
  for (const i of ticks) {
    // The first and last labels keep inside the chart.
    const [x, anchor] = i === 0 ? [LEFT, 'start'] : i === n - 1 ? [WIDTH - RIGHT, 'end'] : [LEFT + i * slot + slot / 2, 'middle'];
    out.push(`<text class="axis" x="${r(x)}" y="${HEIGHT - 6}" text-anchor="${anchor}">${escapeHtml(chart.labels[i] ?? '')}</text>`);
  }
  out.push('</svg>');
  return out.join('');
}

/** The chart's legend, as HTML: a swatch and a name per series. */
export function legend(series: readonly Pick<Series, 'name' | 'cls'>[]): string {
  return `<ul class="legend">${series.map((s) => `<li><svg viewBox="0 0 10 10" aria-hidden="true"><rect class="${s.cls}" width="10" height="10" rx="2"/></svg>${escapeHtml(s.name)}</li>`).join('')}</ul>`;
}

/** A round axis top at or above `value`: 1, 2 or 5 times a power of ten. */
function niceMax(value: number): number {
  if (value <= 0) return 0;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function r(n: number): string {
  return String(Math.round(n * 10) / 10);
}

function hash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(31, h) + text.charCodeAt(i)) | 0;
  return h;
}
