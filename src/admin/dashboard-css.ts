/** The dashboard's stylesheet, served at `/admin/dashboard.css` (the page's CSP allows styles from the Worker only). */
export const DASHBOARD_CSS = `
:root{color-scheme:light dark;--bg:#f7f7f8;--card:#fff;--text:#1b1b1f;--muted:#5f6068;--line:#e2e2e6;--answer:#2f7d4f;--refusal:#c98a12;--error:#c2362b;--other:#9a9aa2;--prompt:#3a66c4;--output:#8b4fc9;--thinking:#d0699a;--spend:#2b8a8a}
@media (prefers-color-scheme:dark){:root{--bg:#131316;--card:#1d1d21;--text:#ececf0;--muted:#a2a2ab;--line:#34343a;--answer:#4cae74;--refusal:#e0a530;--error:#e4675c;--other:#7c7c85;--prompt:#6c93e6;--output:#b07ee6;--thinking:#e68bb6;--spend:#4fb6b6}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--text)}
header{display:flex;justify-content:space-between;align-items:center;gap:1rem;padding:1rem clamp(1rem,3vw,2rem) .5rem}
h1{font-size:1.25rem;margin:0}h2{font-size:1rem;margin:0 0 .5rem}
header p,.note{color:var(--muted);font-size:.85rem;margin:.15rem 0}
button{font:inherit;padding:.45rem .9rem;border-radius:8px;border:1px solid var(--line);background:var(--card);color:var(--text);cursor:pointer}
nav{display:flex;gap:.4rem;flex-wrap:wrap;padding:0 clamp(1rem,3vw,2rem) .5rem}
nav a{padding:.25rem .7rem;border-radius:999px;border:1px solid var(--line);color:var(--text);text-decoration:none;font-size:.85rem;background:var(--card)}
nav a[aria-current]{background:var(--text);color:var(--bg);border-color:var(--text)}
main,footer{padding:.5rem clamp(1rem,3vw,2rem) 1.5rem}
section,footer{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1rem;margin-bottom:1rem;min-width:0}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(9.5rem,1fr));gap:.75rem;background:none;border:0;padding:0}
.tile{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:.75rem .9rem;display:flex;flex-direction:column}
.tile .label{color:var(--muted);font-size:.8rem}.tile .value{font-size:1.45rem;font-weight:650;font-variant-numeric:tabular-nums}.tile .note{font-size:.75rem}
.charts,.tables{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,26rem),1fr));gap:1rem}
.charts section,.tables section{margin:0}.charts,.tables{margin-bottom:1rem}
svg.chart{width:100%;height:auto;display:block}
.chart text{font-size:10px;fill:var(--muted);font-variant-numeric:tabular-nums}
.chart .grid{stroke:var(--line);stroke-width:1}
.chart .hit{fill:transparent}.chart g:hover .hit{fill:var(--line);opacity:.5}
.s-answer{fill:var(--answer)}.s-refusal{fill:var(--refusal)}.s-error{fill:var(--error)}.s-other{fill:var(--other)}
.s-prompt{fill:var(--prompt)}.s-output{fill:var(--output)}.s-thinking{fill:var(--thinking)}.s-spend{fill:var(--spend)}
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;list-style:none;margin:.5rem 0 0;padding:0;font-size:.8rem;color:var(--muted)}
.legend li{display:flex;align-items:center;gap:.35rem}.legend svg{width:.7rem;height:.7rem}
table{border-collapse:collapse;width:100%;font-size:.875rem;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line)}th{color:var(--muted);font-weight:600}
td:not(:first-child),th:not(:first-child){text-align:right}
.scroll{overflow-x:auto}
a{color:inherit}code{font-size:.85em}
.ratings{list-style:none;margin:0;padding:0}
.rating{display:flex;gap:.75rem;padding:.6rem 0;border-bottom:1px solid var(--line)}
.thumb{font-size:.9rem;width:1.6rem;height:1.6rem;border-radius:50%;display:grid;place-items:center;flex:none;color:#fff}
.up .thumb{background:var(--answer)}.down .thumb{background:var(--error)}
.meta{margin:0;font-size:.8rem;color:var(--muted);overflow-wrap:anywhere}
dl{margin:.35rem 0 0;font-size:.875rem}dt{font-weight:600;font-size:.75rem;color:var(--muted)}dd{margin:0 0 .3rem;white-space:pre-wrap;overflow-wrap:anywhere;max-height:9em;overflow:auto}
.login{max-width:22rem;margin:12vh auto;padding:0 1rem}
.login form{display:flex;flex-direction:column;gap:.6rem;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.25rem;margin-top:1rem}
.login input{font:inherit;padding:.55rem .7rem;border-radius:8px;border:1px solid var(--line);background:var(--bg);color:var(--text)}
.error{color:var(--error);margin:0}
`;
