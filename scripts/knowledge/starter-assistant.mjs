// @ts-check
/**
 * The starter `assistants/<name>/assistant.md` that `npm run knowledge` writes when an
 * assistant has none: front matter (`origins`, `greeting`, `starters`) and instructions
 * that keep the model to the site's pages, with numbered citations.
 */

/**
 * @param {{ site: string, origin: string | null, contactUrl: string | null }} options
 *   `site`: how visitors call the site (its host name); `origin`: the site's origin, the
 *   one entry of `origins` (none for a folder without `--base-url`); `contactUrl`: a page
 *   of the site to send unanswered questions to, when one was found
 * @returns {string}
 */
export function starterAssistant({ site, origin, contactUrl }) {
  const contact = contactUrl ? `the site's contact page (${contactUrl})` : "the site's contact page";
  return [
    '---',
    origin ? `origins:\n  - ${JSON.stringify(origin)}` : 'origins: []',
    `greeting: ${JSON.stringify(`Hi! Ask me anything about ${site}.`)}`,
    'starters:',
    `  - ${JSON.stringify(`What is ${site} about?`)}`,
    `  - ${JSON.stringify('How do I get started?')}`,
    `  - ${JSON.stringify('How can I get in touch?')}`,
    '---',
    '',
    `You answer visitors' questions about ${site}, using only the site's pages you are given.`,
    '',
    "- Answer only from those pages: not from what you know otherwise, and never guess.",
    '- Cite the pages you use by their numbers, as [1], [2], right after the sentence each one supports.',
    '- Keep answers short and plain, in the language of the question.',
    `- If the pages do not answer the question, say you don't know and point to ${contact}.`,
    '',
  ].join('\n');
}
