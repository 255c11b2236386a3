import type { AssistantDefinition } from './assistant';

/**
 * The system instruction an assistant's every call starts with: its own
 * instructions, then its pages, each under its number, title and URL, and the
 * rule for citing them. The same bytes on every call and in every chat, so
 * Gemini's implicit context caching can serve it (`cachedContentTokenCount`).
 */
export function systemPrefix(assistant: AssistantDefinition): string {
  if (assistant.knowledge.length === 0) return assistant.instructions;
  const pages = assistant.knowledge.map((page, i) => `## [${i + 1}] ${page.title}\nURL: ${page.url}\n\n${page.text}`);
  return `${assistant.instructions}

# The site's pages

Answer from these pages. After each sentence that uses a page, cite it by its number in brackets, like [1] or [2][3]. Cite only these numbers, and only pages that say what the sentence says. If the pages do not answer the question, do not guess and do not answer from elsewhere: say so, as your instructions above say to.

${pages.join('\n\n')}`;
}

/** The heading a caller's own `system` goes under, after the assistant's instructions (`allowSystem: true`). */
export const CALLER_SYSTEM_HEADING = '# Instructions from the page';

/** The system instruction of one call: the assistant's, then the caller's (when the assistant allows one). */
export function systemInstruction(prefix: string, callerSystem: string | undefined): string | undefined {
  if (!callerSystem) return prefix || undefined;
  if (!prefix) return callerSystem;
  return `${prefix}\n\n${CALLER_SYSTEM_HEADING}\n\n${callerSystem}`;
}
