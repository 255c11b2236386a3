/**
 * gemini-edge: a Cloudflare Worker that streams Gemini answers as
 * Server-Sent Events. Routes live in ./routes, the stream path in ./stream,
 * the Gemini adapter in ./gemini, request limits in ./limits.
 */
import { app } from './app';

export default app;
