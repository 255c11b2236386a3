/**
 * The widget's stylesheet, adopted by its shadow root (`adoptedStyleSheets`),
 * so a strict Content-Security-Policy without 'unsafe-inline' allows it.
 * Theme it from the page with the custom properties on `gemini-chat`.
 */
export const STYLES = `
:host{all:initial!important;display:block!important;box-sizing:border-box!important;
--gc-accent:#2563eb;--gc-accent-fg:#fff;--gc-bg:#fff;--gc-fg:#111827;--gc-muted:#6b7280;--gc-border:#e5e7eb;
--gc-surface:#f3f4f6;--gc-user-bg:var(--gc-accent);--gc-user-fg:var(--gc-accent-fg);--gc-code-bg:#f6f8fa;
--gc-radius:14px;--gc-font:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;--gc-width:380px;--gc-height:560px;
color-scheme:light!important;font:15px/1.5 var(--gc-font)!important;color:var(--gc-fg)!important}
:host([data-scheme=dark]){--gc-bg:#111827;--gc-fg:#f3f4f6;--gc-muted:#9ca3af;--gc-border:#374151;--gc-surface:#1f2937;--gc-code-bg:#0b1220;color-scheme:dark!important}
:host([data-mode=floating]){position:fixed!important;bottom:20px!important;right:20px!important;z-index:2147483000!important}
:host([data-mode=floating][data-position=bottom-left]){right:auto!important;left:20px!important}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
button,textarea{font:inherit;color:inherit}
button{cursor:pointer}
:focus-visible{outline:2px solid var(--gc-accent);outline-offset:2px}
.launcher{width:56px;height:56px;border-radius:50%;border:0;background:var(--gc-accent);color:var(--gc-accent-fg);
display:grid;place-items:center;box-shadow:0 6px 20px rgb(0 0 0/.25);margin-left:auto}
.launcher svg{width:26px;height:26px;fill:currentColor}
.panel{display:flex;flex-direction:column;background:var(--gc-bg);color:var(--gc-fg);border:1px solid var(--gc-border);
border-radius:var(--gc-radius);overflow:hidden;height:var(--gc-height);width:100%}
:host([data-mode=floating]) .panel{position:absolute;bottom:68px;right:0;width:min(var(--gc-width),calc(100vw - 40px));
height:min(var(--gc-height),calc(100vh - 110px));box-shadow:0 12px 40px rgb(0 0 0/.25)}
:host([data-mode=floating][data-position=bottom-left]) .panel{right:auto;left:0}
header{display:flex;align-items:center;gap:8px;padding:10px 12px 10px 16px;border-bottom:1px solid var(--gc-border)}
h2{flex:1;margin:0;font-size:16px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.ghost{border:1px solid var(--gc-border);background:transparent;border-radius:8px;padding:4px 10px;font-size:13px}
.ghost svg{width:16px;height:16px;fill:currentColor;display:block}
.mobile-close{display:none}
.log{flex:1;overflow-y:auto;padding:16px;display:flex;flex-direction:column;gap:12px;overscroll-behavior:contain}
.msg{max-width:88%;overflow-wrap:anywhere}
.user{align-self:flex-end;background:var(--gc-user-bg);color:var(--gc-user-fg);padding:8px 12px;border-radius:var(--gc-radius) var(--gc-radius) 4px var(--gc-radius);white-space:pre-wrap}
.model{align-self:flex-start;background:var(--gc-surface);padding:8px 12px;border-radius:var(--gc-radius) var(--gc-radius) var(--gc-radius) 4px}
:dir(rtl) .user,.user:dir(rtl){border-radius:var(--gc-radius) var(--gc-radius) var(--gc-radius) 4px}
.greeting{color:var(--gc-muted);margin:0}
.starters{display:flex;flex-wrap:wrap;gap:8px}
.starters button{border:1px solid var(--gc-border);background:var(--gc-bg);border-radius:999px;padding:6px 12px;font-size:14px;text-align:start}
.md>:first-child{margin-top:0}.md>:last-child{margin-bottom:0}
.md p,.md ul,.md ol,.md pre,.md blockquote{margin:0 0 8px}
.md ul,.md ol{padding-inline-start:22px}
.md h1,.md h2,.md h3,.md h4,.md h5,.md h6{font-size:1em;margin:8px 0 4px;white-space:normal}
.md h1,.md h2{font-size:1.1em}
.md a{color:var(--gc-accent)}
.md .cite{font-size:.75em;line-height:0;vertical-align:super;text-decoration:none;margin-inline-start:1px}
.md code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em;background:var(--gc-code-bg);padding:1px 4px;border-radius:4px}
.md pre{position:relative;background:var(--gc-code-bg);border:1px solid var(--gc-border);border-radius:8px;padding:30px 10px 10px;overflow-x:auto;direction:ltr;text-align:left}
.md pre code{padding:0;background:none;white-space:pre}
.md blockquote{border-inline-start:3px solid var(--gc-border);padding-inline-start:10px;color:var(--gc-muted)}
.md hr{border:0;border-top:1px solid var(--gc-border)}
.copy{position:absolute;top:6px;right:6px;border:1px solid var(--gc-border);background:var(--gc-bg);border-radius:6px;font-size:12px;padding:2px 8px;opacity:.85}
.thoughts{font-size:13px}
.thoughts summary{color:var(--gc-muted);width:fit-content}
.thoughts .md{margin-top:4px;padding-inline-start:10px;border-inline-start:2px solid var(--gc-border)}
.thoughts+.md:not(:empty){margin-top:8px}
.live summary{animation:gc-pulse 1.6s infinite}
@keyframes gc-pulse{50%{opacity:.5}}
.tool{font-size:13px;color:var(--gc-muted);margin-bottom:4px}.tool pre{margin:2px 0 0;white-space:pre-wrap;font-size:12px}
.note{margin:6px 0 0;font-size:13px;color:var(--gc-muted)}
.rate{display:flex;gap:2px;margin-top:2px}.rate button{border:0;background:0;padding:4px;border-radius:6px;color:var(--gc-muted);line-height:0}
.rate svg{width:16px;height:16px;fill:currentColor}.rate button+button svg{transform:scaleY(-1)}.rate [aria-pressed=true]{color:var(--gc-accent)}
.sources{margin:6px 0 0;padding:0;list-style:none;display:flex;flex-wrap:wrap;gap:6px;font-size:13px}
.sources a{display:inline-block;padding:2px 8px;border:1px solid var(--gc-border);border-radius:999px;color:var(--gc-accent);text-decoration:none;max-width:100%;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.error{margin:6px 0 0;font-size:14px;color:#b91c1c;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
:host([data-scheme=dark]) .error{color:#fca5a5}
.typing{display:inline-flex;gap:4px;padding:4px 0}
.typing i{width:7px;height:7px;border-radius:50%;background:var(--gc-muted);animation:gc-blink 1.2s infinite}
.typing i:nth-child(2){animation-delay:.2s}.typing i:nth-child(3){animation-delay:.4s}
@keyframes gc-blink{0%,80%,100%{opacity:.25}40%{opacity:1}}
form{display:flex;gap:8px;align-items:flex-end;padding:10px;border-top:1px solid var(--gc-border)}
textarea{flex:1;resize:none;border:1px solid var(--gc-border);border-radius:10px;padding:8px 10px;background:var(--gc-bg);
font-size:16px;line-height:1.4;max-height:140px;min-height:40px}
.primary{border:0;border-radius:10px;padding:0 14px;height:40px;background:var(--gc-accent);color:var(--gc-accent-fg);font-weight:600}
.primary:disabled{opacity:.5;cursor:default}
.tray{display:flex;flex-wrap:wrap;gap:8px;margin:0;padding:10px 10px 0;list-style:none}
.tray li{position:relative;display:flex}
.tray .ghost{position:absolute;top:-6px;right:-6px;padding:2px;border-radius:50%;background:var(--gc-bg)}
.tray img{width:56px;height:56px;object-fit:cover}
.files{display:flex;flex-wrap:wrap;gap:6px;margin-bottom:4px}
img{max-width:100%;max-height:180px;border-radius:8px;display:block;border:1px solid var(--gc-border)}
.file{display:flex;gap:6px;align-items:baseline;padding:4px 10px;border:1px solid var(--gc-border);border-radius:999px;background:var(--gc-bg);color:var(--gc-fg);font-size:13px;text-decoration:none}
.file small{color:var(--gc-muted)}
.status{margin:0;padding:0 16px;font-size:13px;color:var(--gc-muted)}
.status:not(:empty){padding-block:6px}
.attach{height:40px}
.drop{outline:2px dashed var(--gc-accent);outline-offset:-6px}
.notice{margin:0;padding:10px 16px;background:var(--gc-surface);color:var(--gc-fg);font-size:14px;border-top:1px solid var(--gc-border)}
@media (max-width:480px){:host([data-mode=floating][data-open]){inset:0!important}
:host([data-mode=floating]) .panel{position:fixed;inset:0;width:100%;height:var(--gc-vh,100dvh);max-height:none;border-radius:0;border:0}
:host([data-mode=floating][data-open]) .launcher{display:none}.mobile-close{display:block}}
@media (prefers-reduced-motion:reduce){.typing i{animation:none;opacity:.6}.live summary{animation:none}.log{scroll-behavior:auto}}
`;
