/** React bindings for the gemini-edge browser client. React is a peer dependency. */
export {
  useGeminiStream,
  type StreamError,
  type StreamMessageOptions,
  type UseGeminiStreamOptions,
  type UseGeminiStreamResult,
} from './use-gemini-stream.js';
