import { isFilteredFinish } from '../protocol/events.js';

/** The widget's words. Every one can be replaced with `data-strings='{"send":"Senden",…}'`. */
export const STRINGS = {
  title: 'Chat',
  placeholder: 'Ask anything…',
  message: 'Message',
  send: 'Send',
  stop: 'Stop',
  newChat: 'New chat',
  open: 'Open chat',
  close: 'Close chat',
  conversation: 'Conversation',
  you: 'You',
  assistant: 'Assistant',
  typing: 'Writing…',
  thinking: 'Thinking…',
  thoughtFor: 'Thought for {seconds} s',
  thoughts: 'Thoughts',
  copy: 'Copy',
  copied: 'Copied',
  retry: 'Retry',
  sources: 'Sources',
  good: 'Good answer',
  bad: 'Bad answer',
  stopped: 'Stopped.',
  maxTokens: 'The answer was cut off at its length limit.',
  safety: 'The answer was stopped by safety filters.',
  finished: 'The answer ended early ({reason}).',
  notAllowed: 'This chat is not available on this site.',
  challenge: 'Could not verify you are human. Try again.',
  rateLimited: 'Too many messages right now. Try again in a moment.',
  budget: 'You have reached today’s limit for this chat. Try again tomorrow.',
  blocked: 'This message was blocked by safety filters. Try rephrasing it.',
  unavailable: 'The assistant is not available right now. Try again later.',
  network: 'The connection was lost.',
  busy: 'An answer is still being written in another window.',
  failed: 'Something went wrong.',
  attach: 'Attach files',
  attachments: 'Files to send',
  remove: 'Remove {name}',
  uploading: 'Uploading… {percent}%',
  tooBig: '{name} is too large (at most {max}).',
  badType: '{name} cannot be sent: this type of file is not accepted.',
  empty: '{name} is empty.',
  tooMany: 'At most {max} files per message.',
  uploadBudget: 'You have reached today’s upload limit. Try again tomorrow.',
  /** After a tool's name, in the transcript, when the call failed. */
  toolFailed: 'failed',
};

export type Strings = typeof STRINGS;

/** The built-in words, with the page's overrides (unknown keys and non-strings are ignored). */
export function stringsFrom(json: string | undefined): Strings {
  const strings = { ...STRINGS };
  if (!json) return strings;
  try {
    const overrides = JSON.parse(json) as Record<string, unknown>;
    for (const key of Object.keys(strings) as (keyof Strings)[]) {
      if (typeof overrides[key] === 'string') strings[key] = overrides[key] as string;
    }
  } catch {
    // A broken data-strings keeps the defaults.
  }
  return strings;
}

/** The sentence for a failed answer's error code. */
export function errorText(strings: Strings, code: string, message: string): string {
  switch (code) {
    case 'origin_not_allowed':
      return strings.notAllowed;
    case 'challenge_failed':
    case 'challenge_unavailable':
      return strings.challenge;
    // Ours or Gemini's, a visitor can only wait.
    case 'rate_limited':
    case 'upstream_quota':
      return strings.rateLimited;
    case 'budget_exhausted':
      return strings.budget;
    case 'upload_budget_exhausted':
      return strings.uploadBudget;
    case 'blocked':
      return strings.blocked;
    case 'network_error':
      return strings.network;
    case 'turn_in_progress':
      return strings.busy;
    case 'upstream_unavailable':
    case 'upstream_timeout':
    case 'upstream_error':
    case 'upstream_auth':
    case 'model_unavailable':
    case 'upstream_malformed':
    case 'upstream_disconnected':
    case 'upstream_incomplete':
    case 'not_configured':
    case 'interrupted':
      return strings.unavailable;
    default:
      return message || strings.failed;
  }
}

/** A string with its `{placeholders}` filled. */
export function format(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (all, key: string) => String(values[key] ?? all));
}

/** A file's size as people read it, in the widget's language: "340 kB", "2.4 MB" (binary multiples, as file managers count). */
export function fileSize(bytes: number, lang?: string): string {
  const [value, unit] = bytes < 1024 ? [bytes, 'byte'] : bytes < 1024 * 1024 ? [bytes / 1024, 'kilobyte'] : [bytes / 1024 / 1024, 'megabyte'];
  return new Intl.NumberFormat(lang || undefined, { style: 'unit', unit, maximumFractionDigits: value < 10 ? 1 : 0 }).format(value);
}

/** The note under an answer that did not end normally, or '' for STOP. */
export function finishNote(strings: Strings, finishReason: string): string {
  if (finishReason === 'STOP') return '';
  if (finishReason === 'MAX_TOKENS') return strings.maxTokens;
  if (isFilteredFinish(finishReason)) return strings.safety;
  return strings.finished.replace('{reason}', finishReason);
}
