import type { StatsReport, Summary } from '../stats/stats-report';
import { emptySummary, TTFT_BOUNDS } from '../stats/stats-report';
import { barChart, escapeHtml, legend } from './svg-chart';

/**
 * The page's Content-Security-Policy: no script at all, styles from the
 * Worker's own stylesheet, forms to itself, never framed.
 */
export const ADMIN_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const int = new Intl.NumberFormat('en-US');
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

function usd(value: number): string {
  if (value === 0) return '$0';
  return value >= 1 ? `$${value.toFixed(2)}` : `$${Number(value.toPrecision(2))}`;
}

function ms(value: number | null): string {
  return value === null ? '—' : `≤ ${int.format(value)} ms`;
}

function sum(record: Record<string, number | undefined>): number {
  let total = 0;
  for (const v of Object.values(record)) total += v ?? 0;
  return total;
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/admin/dashboard.css">
</head>
<body>
${body}
</body>
</html>`;
}

/** The login form: one field, the key; posted to `/admin/login`. */
export function loginPage(error?: string): string {
  return page(
    'gemini-edge · sign in',
    `<main class="login">
<h1>gemini-edge</h1>
<form method="post" action="/admin/login">
<label for="key">Admin key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<button type="submit">Sign in</button>
</form>
</main>`,
  );
}

/** The dashboard: the last 30 days for every assistant, or for `assistant` alone. */
export function dashboardPage(report: StatsReport, assistant: string | undefined): string {
  const pick = (entry: { total: Summary; byAssistant: Record<string, Summary> }) =>
    assistant === undefined ? entry.total : (entry.byAssistant[assistant] ?? emptySummary());
  const total = pick(report);
  const days = report.byDay.map(pick);
  const labels = report.days.map((d) => d.slice(5));
  const refused = (s: Summary) => sum(s.refusals);
  const failed = (s: Summary) => sum(s.errors);

  const requestSeries = [
    { name: 'Answered', cls: 's-answer', values: days.map((d) => d.answers) },
    { name: 'Refused', cls: 's-refusal', values: days.map(refused) },
    { name: 'Failed', cls: 's-error', values: days.map(failed) },
    { name: 'Left early', cls: 's-other', values: days.map((d) => d.cancelled) },
  ];
  const tokenSeries = [
    { name: 'Prompt', cls: 's-prompt', values: days.map((d) => d.tokens.prompt) },
    { name: 'Output', cls: 's-output', values: days.map((d) => d.tokens.output) },
    { name: 'Thinking', cls: 's-thinking', values: days.map((d) => d.tokens.thinking) },
  ];
  const spendSeries = [{ name: 'Estimate', cls: 's-spend', values: days.map((d) => d.spendUsd) }];
  const ttftSeries = [{ name: 'Answers', cls: 's-answer', values: total.ttft.buckets }];
  const ttftLabels = TTFT_BOUNDS.map((b, i) => (b === null ? `>${compactMs(TTFT_BOUNDS[i - 1]!)}` : `≤${compactMs(b)}`));

  const nav = [
    `<a href="/admin"${assistant === undefined ? ' aria-current="page"' : ''}>All assistants</a>`,
    ...report.assistants.map((name) => `<a href="/admin?assistant=${encodeURIComponent(name)}"${name === assistant ? ' aria-current="page"' : ''}>${escapeHtml(name)}</a>`),
  ].join('');

  const tiles = [
    tile('Requests', int.format(total.requests), 'refusals included'),
    tile('Answers', int.format(total.answers), total.requests ? `${Math.round((100 * total.answers) / total.requests)} % of requests` : ''),
    tile('Refused', int.format(refused(total)), 'before Gemini was called'),
    tile('Failed', int.format(failed(total)), 'errors'),
    tile('Tokens', compact.format(total.tokens.prompt + total.tokens.output + total.tokens.thinking), `${compact.format(total.tokens.cached)} cached`),
    tile('Spend (estimate)', usd(total.spendUsd), total.unpricedTokens ? `+ ${compact.format(total.unpricedTokens)} unpriced tokens` : 'list prices'),
    tile('First token p50', ms(total.ttft.p50Ms), `p95 ${ms(total.ttft.p95Ms)}`),
  ].join('');

  const body = `<header>
<div><h1>gemini-edge</h1><p>Last 30 days, UTC, ${escapeHtml(report.days[0]!)} to ${escapeHtml(report.days.at(-1)!)}</p></div>
<form method="post" action="/admin/logout"><button type="submit">Sign out</button></form>
</header>
<nav aria-label="Assistant">${nav}</nav>
<main>
<section class="tiles" aria-label="Totals">${tiles}</section>
<div class="charts">
<section><h2>Requests per day</h2>${barChart({ title: 'Requests per day', description: `${total.requests} requests in 30 days`, labels, series: requestSeries, format: (v) => compact.format(v) })}${legend(requestSeries)}</section>
<section><h2>Tokens per day</h2>${barChart({ title: 'Tokens per day', description: 'Prompt, output and thinking tokens per day', labels, series: tokenSeries, format: (v) => compact.format(v) })}${legend(tokenSeries)}</section>
<section><h2>Estimated spend per day</h2>${barChart({ title: 'Estimated spend per day', description: `${usd(total.spendUsd)} in 30 days`, labels, series: spendSeries, format: usd })}</section>
<section><h2>Time to first token</h2>${barChart({ title: 'Time to first token', description: `p50 ${ms(total.ttft.p50Ms)}, p95 ${ms(total.ttft.p95Ms)}`, labels: ttftLabels, series: ttftSeries, format: (v) => compact.format(v), ticks: [0, 5, 9, 13] })}<p class="note">p50 ${ms(total.ttft.p50Ms)} · p95 ${ms(total.ttft.p95Ms)} · ${int.format(total.ttft.count)} answers</p></section>
</div>
<div class="tables">
<section><h2>Errors by code</h2>${countTable(total.errors, 'Code', 'No errors.')}</section>
<section><h2>Refusals by reason</h2>${countTable(total.refusals, 'Reason', 'No refusals.')}</section>
</div>
${assistant === undefined && report.assistants.length > 0 ? assistantsTable(report) : ''}
<section><h2>Latest rated answers</h2>${ratingsList(report, assistant)}</section>
</main>
<footer><h2>Prices used</h2><p>USD per million tokens, list prices from the model catalogue (thinking billed as output, cached prompt tokens at the full input price). Models without a price count as unpriced.</p>
<table><thead><tr><th scope="col">Model</th><th scope="col">Input</th><th scope="col">Output</th></tr></thead><tbody>${report.prices
    .map((p) => `<tr><td>${escapeHtml(p.model)}</td><td>$${p.inputPer1M}</td><td>$${p.outputPer1M}</td></tr>`)
    .join('')}</tbody></table></footer>`;
  return page(assistant === undefined ? 'gemini-edge · dashboard' : `gemini-edge · ${assistant}`, body);
}

function compactMs(value: number): string {
  return value >= 1000 ? `${value / 1000}s` : `${value}ms`;
}

function tile(label: string, value: string, note: string): string {
  return `<div class="tile"><span class="label">${escapeHtml(label)}</span><span class="value">${escapeHtml(value)}</span><span class="note">${escapeHtml(note)}</span></div>`;
}

function countTable(counts: Record<string, number | undefined>, heading: string, empty: string): string {
  const rows = Object.entries(counts)
    .filter(([, n]) => n)
    .sort((a, b) => b[1]! - a[1]!);
  if (rows.length === 0) return `<p class="note">${empty}</p>`;
  return `<table><thead><tr><th scope="col">${heading}</th><th scope="col">Count</th></tr></thead><tbody>${rows
    .map(([name, n]) => `<tr><td><code>${escapeHtml(name)}</code></td><td>${int.format(n!)}</td></tr>`)
    .join('')}</tbody></table>`;
}

function assistantsTable(report: StatsReport): string {
  const rows = report.assistants.map((name) => {
    const s = report.byAssistant[name]!;
    return `<tr><td><a href="/admin?assistant=${encodeURIComponent(name)}">${escapeHtml(name)}</a></td><td>${int.format(s.requests)}</td><td>${int.format(s.answers)}</td><td>${int.format(sum(s.refusals))}</td><td>${int.format(sum(s.errors))}</td><td>${compact.format(s.tokens.prompt + s.tokens.output + s.tokens.thinking)}</td><td>${usd(s.spendUsd)}</td><td>${ms(s.ttft.p50Ms)}</td><td>${ms(s.ttft.p95Ms)}</td></tr>`;
  });
  return `<section><h2>Assistants</h2><div class="scroll"><table><thead><tr><th scope="col">Assistant</th><th scope="col">Requests</th><th scope="col">Answers</th><th scope="col">Refused</th><th scope="col">Failed</th><th scope="col">Tokens</th><th scope="col">Spend</th><th scope="col">p50</th><th scope="col">p95</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></section>`;
}

function ratingsList(report: StatsReport, assistant: string | undefined): string {
  const ratings = report.ratings.filter((r) => assistant === undefined || r.assistant === assistant);
  if (ratings.length === 0) return '<p class="note">No rated answers yet: readers rate answers with the thumbs under each one.</p>';
  const hint = report.transcripts ? '' : '<p class="note">Questions and answers are not shown: set ADMIN_SHOW_TRANSCRIPTS to keep them with new ratings (docs/dashboard.md).</p>';
  const items = ratings.map((r) => {
    const when = new Date(r.at).toISOString().slice(0, 16).replace('T', ' ');
    const text =
      r.question !== undefined || r.answer !== undefined
        ? `<dl><dt>Question</dt><dd>${escapeHtml(r.question ?? '')}</dd><dt>Answer</dt><dd>${escapeHtml(r.answer ?? '')}</dd></dl>`
        : '';
    return `<li class="rating ${r.rating}"><span class="thumb" role="img" aria-label="${r.rating === 'up' ? 'Thumbs up' : 'Thumbs down'}">${r.rating === 'up' ? '▲' : '▼'}</span><div><p class="meta">${when} UTC · ${escapeHtml(r.assistant)} · ${escapeHtml(r.model)} · chat <code>${escapeHtml(r.chat)}</code> · message ${r.messageId}</p>${text}</div></li>`;
  });
  return `${hint}<ul class="ratings">${items.join('')}</ul>`;
}
