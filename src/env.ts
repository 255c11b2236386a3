/**
 * The Worker's bindings, as declared in wrangler.toml: the chat Durable Objects, vars and secrets.
 * Every value arrives as a string (or a number, when written bare in TOML);
 * `loadConfig` turns them into a typed {@link Config}.
 */
import type { ChatRoom } from './chat/chat-room';
import type { ClientLimiter } from './limits/client-limiter';
import type { StatsDay } from './stats/stats-day';

export interface Env extends Settings {
  /** One Durable Object per conversation. */
  CHAT_ROOMS: DurableObjectNamespace<ChatRoom>;
  /** One Durable Object per client (IP address, IPv6 by /64): its request windows and token budget. */
  CLIENT_LIMITS: DurableObjectNamespace<ClientLimiter>;
  /** The chats' files (R2): `chats/<chat id>/<file id>`. */
  FILES: R2Bucket;
  /** One Durable Object per UTC day: the dashboard's counts and the day's rated answers. */
  STATS: DurableObjectNamespace<StatsDay>;
}

/** The settings among the bindings: vars and secrets. */
export interface Settings {
  GEMINI_API_KEY?: string;
  /** The name the original Next.js route used; accepted as a fallback. */
  GOOGLE_AI_API_KEY?: string;
  GEMINI_BASE_URL?: string;
  GEMINI_MODEL?: string;
  ALLOWED_MODELS?: string;
  MAX_OUTPUT_TOKENS?: string | number;
  MAX_MESSAGE_CHARS?: string | number;
  MAX_BODY_BYTES?: string | number;
  UPSTREAM_TIMEOUT_MS?: string | number;
  UPSTREAM_IDLE_TIMEOUT_MS?: string | number;
  SSE_HEARTBEAT_MS?: string | number;
  MAX_CONTEXT_CHARS?: string | number;
  RESUME_GRACE_MS?: string | number;
  ALLOWED_ORIGINS?: string;
  /** minimal | low | medium | high: how hard models think when a request does not say; unset, each model's default. */
  THINKING_LEVEL?: string;
  /** true | false: stream thought summaries when a request does not say (default false). */
  SHOW_THOUGHTS?: string | boolean;
  RATE_LIMIT_PER_MINUTE?: string | number;
  CHAT_CREATE_PER_MINUTE?: string | number;
  DAILY_TOKEN_BUDGET?: string | number;
  MAX_FILE_BYTES?: string | number;
  MAX_FILES_PER_MESSAGE?: string | number;
  MAX_INLINE_BYTES?: string | number;
  DAILY_UPLOAD_BYTES?: string | number;
  /** Secret: the bearer keys of the OpenAI-compatible API, a comma list; unset, `/v1/*` does not exist. */
  OPENAI_COMPAT_KEYS?: string;
  /** Secret: the owner's key to the dashboard (`/admin`); unset, `/admin*` does not exist and nothing is counted. */
  ADMIN_KEY?: string;
  /** true | false: the dashboard shows rated answers' question and answer (default false; docs/dashboard.md). */
  ADMIN_SHOW_TRANSCRIPTS?: string | boolean;
}
