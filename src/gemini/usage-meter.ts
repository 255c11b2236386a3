import type { UsageMetadata } from '@google/generative-ai';

/**
 * What an answer cost, in tokens, as far as it got. Gemini reports usage on
 * every chunk (the prompt's count first, the answer's on the last), so an
 * answer cut short still has the prompt's count; the text received adds an
 * estimate of about four characters a token until Gemini's own total arrives.
 */
export class UsageMeter {
  private latest: UsageMetadata | undefined;
  private chars = 0;

  /** Called for every chunk: its usage, if any, and how much text it carried. */
  note(usage: UsageMetadata | undefined, textLength: number): void {
    if (usage) this.latest = usage;
    this.chars += textLength;
  }

  /** Tokens to charge: Gemini's total, or the prompt plus an estimate of the text so far, whichever is more. */
  tokens(): number {
    const total = this.latest?.totalTokenCount ?? 0;
    const estimate = (this.latest?.promptTokenCount ?? 0) + Math.ceil(this.chars / 4);
    return Math.max(total, estimate);
  }
}
