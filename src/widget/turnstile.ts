/**
 * Turnstile in the widget (docs/turnstile.md): loads the script the Worker
 * names (`GET /api/assistant`, with `?render=explicit`), renders a challenge
 * into a box of the page and resolves to its token; each call renders a fresh
 * one (tokens are single-use).
 */
export interface TurnstileInfo {
  siteKey: string;
  scriptUrl: string;
}

interface Turnstile {
  render(box: HTMLElement, options: object): string;
  remove(id: string): void;
}

let loading: Promise<Turnstile> | undefined;

/** A function that gets a new token, rendering the challenge into `box` (seen only when it needs the reader). */
export function turnstileTokens(box: HTMLElement, { siteKey, scriptUrl }: TurnstileInfo): () => Promise<string> {
  let id: string | undefined;
  return async () => {
    const turnstile = await (loading ??= load(scriptUrl));
    if (id) turnstile.remove(id);
    return new Promise<string>((resolve, reject) => {
      // An unanswered interactive challenge refreshes itself (refresh-timeout: auto), so only an error ends the wait.
      id = turnstile.render(box, { sitekey: siteKey, appearance: 'interaction-only', callback: resolve, 'error-callback': (code: string) => reject(new Error(`Turnstile ${code}`)) });
    });
  };
}

function load(src: string): Promise<Turnstile> {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = script.onerror = () => {
      const { turnstile } = window as { turnstile?: Turnstile };
      if (turnstile) return resolve(turnstile);
      loading = undefined; // tried again with the next message
      reject(new Error('Turnstile did not load'));
    };
    document.head.append(script);
  });
}
