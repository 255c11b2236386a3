/** What a page sets with `data-` attributes on the script tag or the `<gemini-chat>` element. */
export interface WidgetSettings {
  endpoint: string;
  title?: string;
  placeholder?: string;
  /** `data-greeting`: wins over the assistant's greeting, even when empty (none then). */
  greeting?: string;
  theme: 'light' | 'dark' | 'auto';
  accent?: string;
  position: 'bottom-right' | 'bottom-left';
  system?: string;
  model?: string;
  /** `data-assistant`: the site assistant to talk to (else the one serving the page's origin). */
  assistant?: string;
  /** `data-starters`: win over the assistant's starters, even when empty (none then); undefined when absent. */
  starters?: string[];
  lang?: string;
  strings?: string;
  /** `show`: the model's thought summary, in a disclosure above each answer; `hide`: none, and none asked for. */
  thoughts: 'show' | 'hide';
}

/**
 * Reads the settings from `data-` attributes: the element's own win over
 * the script tag's. Unknown values fall back to the defaults.
 */
export function readSettings(script: DOMStringMap, element: DOMStringMap, scriptEndpoint: string): WidgetSettings {
  const get = (key: string) => element[key] ?? script[key];
  const theme = get('theme');
  return {
    endpoint: (get('endpoint') ?? scriptEndpoint).replace(/\/+$/, ''),
    title: get('title'),
    placeholder: get('placeholder'),
    greeting: get('greeting'),
    theme: theme === 'light' || theme === 'dark' ? theme : 'auto',
    accent: get('accent'),
    position: get('position') === 'bottom-left' ? 'bottom-left' : 'bottom-right',
    system: get('system'),
    model: get('model'),
    assistant: get('assistant'),
    starters: get('starters')
      ?.split('|')
      .map((s) => s.trim())
      .filter(Boolean)
      .slice(0, 4),
    lang: get('lang'),
    strings: get('strings'),
    thoughts: get('thoughts') === 'hide' ? 'hide' : 'show',
  };
}
