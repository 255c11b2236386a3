/**
 * The Worker's bindings, as declared in wrangler.toml: the chat Durable Objects, vars and secrets.
 * Every value arrives as a string (or a number, when written bare in TOML);
 * `loadConfig` turns them into a typed {@link Config}.
 */
import type { ChatRoom } from './chat/chat-room';
import type { ClientLimiter } from './limits/client-limiter';
import type { BudgetCoordinator, BudgetShard } from './limits/deployment-budget';
import type { StatsDay } from './stats/stats-day';

export interface Env extends Settings {
  /** One Durable Object per conversation. */
  CHAT_ROOMS: DurableObjectNamespace<ChatRoom>;
  /** One Durable Object per client (IP address, IPv6 by /64): its request windows and token budget. */
  CLIENT_LIMITS: DurableObjectNamespace<ClientLimiter>;
  /** The deployment's token cap: shards that admit, each with a lease of the cap (src/limits/deployment-budget.ts). */
  BUDGET_SHARDS: DurableObjectNamespace<BudgetShard>;
  /** The deployment's token cap: the one object that hands leases to the shards. */
  BUDGET_COORDINATOR: DurableObjectNamespace<BudgetCoordinator>;
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
  /** Tokens of all clients together per UTC day; 0 or unset: no cap. */
  DEPLOYMENT_DAILY_TOKEN_BUDGET?: string | number;
  /** Tokens of all clients together per UTC month; 0 or unset: no cap. */
  DEPLOYMENT_MONTHLY_TOKEN_BUDGET?: string | number;
  /** Tokens each admission holds of the deployment's cap until its answer is charged (default 16384). */
  DEPLOYMENT_ANSWER_RESERVE?: string | number;
  /** Shards the deployment's cap is spread over (default 16). */
  DEPLOYMENT_BUDGET_SHARDS?: string | number;
  /** POSTed once at 80 % and once at 100 % of a day's deployment cap. */
  SPEND_ALERT_URL?: string;
  /** Secret: the bearer keys of the OpenAI-compatible API, a comma list; unset, `/v1/*` does not exist. */
  OPENAI_COMPAT_KEYS?: string;
  /** Secret: the owner's key to the dashboard (`/admin`); unset, `/admin*` does not exist and nothing is counted. */
  ADMIN_KEY?: string;
  /** true | false: the dashboard shows rated answers' question and answer (default false; docs/dashboard.md). */
  ADMIN_SHOW_TRANSCRIPTS?: string | boolean;
  /** Turnstile's site key (public); with TURNSTILE_SECRET_KEY, the public routes need a passed challenge (docs/turnstile.md). */
  TURNSTILE_SITE_KEY?: string;
  /** Secret: Turnstile's secret key, for siteverify; the sessions' signing key is derived from it. */
  TURNSTILE_SECRET_KEY?: string;
  /** Where tokens are verified (default Cloudflare's siteverify). */
  TURNSTILE_VERIFY_URL?: string;
  /** Where pages load Turnstile's script from (default Cloudflare's api.js). */
  TURNSTILE_SCRIPT_URL?: string;
  /** How long a session from a verified token lasts (default 30). */
  TURNSTILE_SESSION_MINUTES?: string | number;
  /** Secret: signs every call to an assistant's tool endpoint (`X-Gemini-Edge-Signature`); unset, tool calls fail as error results (docs/assistants.md). */
  TOOLS_SIGNING_SECRET?: string;
  /** How long a tool endpoint may take to answer, in ms (default 10000). */
  TOOLS_TIMEOUT_MS?: string | number;
  /** Largest tool endpoint response taken, in bytes (default 65536). */
  TOOLS_MAX_RESPONSE_BYTES?: string | number;
  /** Steps of tool calls one chat turn may make before the model must answer (default 5). */
  TOOLS_MAX_ROUNDS?: string | number;
  /** How long a page-side tool call waits for the page's result, in ms (default 60000). */
  TOOLS_PAGE_TIMEOUT_MS?: string | number;
}
