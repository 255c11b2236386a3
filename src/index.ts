/**
 * gemini-edge: a Cloudflare Worker that streams Gemini answers as
 * Server-Sent Events. Routes live in ./routes, the stream path in ./stream,
 * the Gemini adapter in ./gemini, request limits in ./limits, and the chat
 * Durable Object (one per conversation) in ./chat.
 */
import { app } from './app';

export { ChatRoom } from './chat/chat-room';
export { ClientLimiter } from './limits/client-limiter';
export { BudgetCoordinator, BudgetShard } from './limits/deployment-budget';
export { StatsDay } from './stats/stats-day';
export default app;
