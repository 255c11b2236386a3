/**
 * embed.js: `<script src="https://<worker>/embed.js" async></script>` adds a
 * floating chat to the page, or fills the `<gemini-chat>` elements already on
 * it. It talks to the Worker it was loaded from unless `data-endpoint` says
 * otherwise. Built as one classic script (an IIFE): it defines the
 * `gemini-chat` element and no other global.
 */
import { GeminiChatElement } from './chat-element.js';

// An async classic script sees itself as document.currentScript only while its top level runs.
const script = document.currentScript as HTMLScriptElement | null;
if (script?.src) {
  GeminiChatElement.scriptData = script.dataset;
  GeminiChatElement.scriptEndpoint = new URL('.', script.src).href;
}

if (!customElements.get('gemini-chat')) {
  customElements.define('gemini-chat', GeminiChatElement);
  const mount = () => {
    // No element on the page: float one in the corner.
    if (document.querySelector('gemini-chat')) return;
    const chat = document.createElement('gemini-chat');
    chat.dataset.mode = 'floating';
    document.body.append(chat);
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mount, { once: true });
  else mount();
}
