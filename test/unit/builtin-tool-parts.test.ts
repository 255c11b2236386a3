import { describe, expect, it } from 'vitest';
import { ChunkNormalizer, type UpstreamItem } from '../../src/gemini/chunk-normalizer';
import { assistantTools, toFunctionCallPart, toFunctionResponsePart } from '../../src/gemini/tool-parts';
import type { ChatEvent } from '../../src/protocol/events';
import { PartsBuilder } from '../../src/protocol/parts';
import { stepContents } from '../../src/chat/chat-room';

/**
 * Gemini's built-in tools in the adapter (docs/assistants.md, "Gemini's built-in tools"): the
 * request's `tools`, the answer's code-execution and server-side tool parts as steps run by
 * Gemini, and those steps sent back as they came.
 */

const usage = { promptTokenCount: 5, candidatesTokenCount: 3, totalTokenCount: 8 };
const chunk = (parts: object[], extra: object = {}) => ({ candidates: [{ content: { parts, role: 'model' }, ...extra }], usageMetadata: usage });
const code = { executableCode: { language: 'PYTHON', code: 'print(1 + 1)\n' }, thoughtSignature: 'c2lnLWNvZGU=' };
const result = { codeExecutionResult: { outcome: 'OUTCOME_OK', output: '2\n' } };

/** Every event of the chunks, as the adapter reads them. */
function normalize(chunks: object[], geminiSteps: boolean): ChatEvent[] {
  const normalizer = new ChunkNormalizer(undefined, true, [], geminiSteps);
  const events: ChatEvent[] = [];
  for (const item of chunks) {
    const event = normalizer.next(item as UpstreamItem);
    if (event) events.push(event);
    for (let more = normalizer.take(); more; more = normalizer.take()) events.push(more);
  }
  events.push(normalizer.end());
  return events;
}

describe('assistantTools', () => {
  const lookup = { name: 'lookup_order', description: 'Looks an order up.', parameters: { type: 'object' } };

  it('declares nothing for an assistant with neither functions nor built-in tools', () => {
    expect(assistantTools({ tools: [], geminiTools: [] }, 'auto')).toEqual({});
  });

  it('declares built-in tools alone as one entry each, without a toolConfig', () => {
    expect(assistantTools({ tools: [], geminiTools: ['googleSearch', 'codeExecution'] }, 'auto')).toEqual({ tools: [{ googleSearch: {} }, { codeExecution: {} }] });
  });

  it('turns on includeServerSideToolInvocations for functions with built-in tools, leaving auto to Gemini', () => {
    const both = assistantTools({ tools: [lookup], geminiTools: ['urlContext'] }, 'auto');
    expect(both.tools).toEqual([{ functionDeclarations: [{ name: 'lookup_order', description: 'Looks an order up.', parametersJsonSchema: { type: 'object' } }] }, { urlContext: {} }]);
    expect(both.toolConfig).toEqual({ includeServerSideToolInvocations: true });
    expect(assistantTools({ tools: [lookup], geminiTools: ['urlContext'] }, 'none').toolConfig).toEqual({ includeServerSideToolInvocations: true, functionCallingConfig: { mode: 'NONE' } });
  });

  it('declares functions alone as before', () => {
    expect(assistantTools({ tools: [lookup], geminiTools: [] }, 'auto').toolConfig).toEqual({ functionCallingConfig: { mode: 'AUTO' } });
  });
});

describe('ChunkNormalizer with geminiSteps', () => {
  it('makes a code-execution call and its result, run by Gemini, each with the signature it came with', () => {
    const events = normalize([chunk([code]), chunk([{ ...result, thoughtSignature: 'c2lnLXJlc3VsdA==' }]), chunk([{ text: '2' }], { finishReason: 'STOP' })], true);
    const [call, answer] = events as [Extract<ChatEvent, { type: 'tool-call' }>, Extract<ChatEvent, { type: 'tool-result' }>];
    expect(call).toEqual({ type: 'tool-call', toolCallId: expect.stringMatching(/^call_/), name: 'code_execution', args: { language: 'PYTHON', code: 'print(1 + 1)\n' }, runsOn: 'gemini', signature: 'c2lnLWNvZGU=' });
    expect(answer).toEqual({ type: 'tool-result', toolCallId: call.toolCallId, name: 'code_execution', result: { outcome: 'OUTCOME_OK', output: '2\n' }, runsOn: 'gemini', signature: 'c2lnLXJlc3VsdA==' });
    expect(events.slice(2).map((e) => e.type)).toEqual(['text', 'done']);
  });

  it('keeps the parts of one chunk apart, in order: code, result, text', () => {
    const events = normalize([chunk([code, result, { text: 'Two.' }], { finishReason: 'STOP' })], true);
    expect(events.map((e) => e.type)).toEqual(['tool-call', 'tool-result', 'text', 'done']);
  });

  it("makes a server-side toolCall and toolResponse a step named by its toolType, with Gemini's id", () => {
    const events = normalize(
      [chunk([{ toolCall: { id: 'abc1', toolType: 'GOOGLE_SEARCH_WEB', args: { queries: ['tea'] } } }, { toolResponse: { id: 'abc1', toolType: 'GOOGLE_SEARCH_WEB', response: { search_suggestions: 'x' } } }], { finishReason: 'STOP' })],
      true,
    );
    expect(events.slice(0, 2)).toEqual([
      { type: 'tool-call', toolCallId: 'abc1', name: 'google_search_web', args: { queries: ['tea'] }, runsOn: 'gemini' },
      { type: 'tool-result', toolCallId: 'abc1', name: 'google_search_web', result: { search_suggestions: 'x' }, runsOn: 'gemini' },
    ]);
  });

  it('pairs a toolResponse without an id with the toolCall before it, and keeps a signed pair as it came (as Gemini 3 shows them)', () => {
    const events = normalize(
      [chunk([{ toolCall: { toolType: 'FILE_SEARCH', id: 'tju3qkc9' }, thoughtSignature: 'c2ln' }]), chunk([{ toolResponse: { toolType: 'FILE_SEARCH' }, thoughtSignature: 'c2lnMg==' }], { finishReason: 'STOP' })],
      true,
    );
    expect(events.slice(0, 2)).toEqual([
      { type: 'tool-call', toolCallId: 'tju3qkc9', name: 'file_search', args: {}, runsOn: 'gemini', signature: 'c2ln' },
      { type: 'tool-result', toolCallId: 'tju3qkc9', name: 'file_search', result: null, runsOn: 'gemini', signature: 'c2lnMg==' },
    ]);
  });

  it('leaves code the model ran while thinking (thought: true) out of the steps', () => {
    const thinking = [{ ...code, thought: true }, { ...result, thought: true }];
    const events = normalize([chunk(thinking), chunk([{ text: 'Two.' }], { finishReason: 'STOP' })], true);
    expect(events.filter((e) => e.type === 'tool-call' || e.type === 'tool-result')).toEqual([]);
    // The signed one's signature is kept (on a thought part), as for any signed thought.
    expect(events[0]).toEqual({ type: 'thought', text: '', signature: code.thoughtSignature });
  });

  it("keeps Gemini 3's own id of a function call beside the Worker's, for its functionResponse", () => {
    const [call] = normalize([chunk([{ functionCall: { id: 'x1y2', name: 'lookup_order', args: {} }, thoughtSignature: 'c2ln' }], { finishReason: 'STOP' })], false);
    expect(call).toEqual({ type: 'tool-call', toolCallId: expect.stringMatching(/^call_/), name: 'lookup_order', args: {}, geminiId: 'x1y2', signature: 'c2ln' });
    const parts = new PartsBuilder();
    parts.addCall(call as Extract<ChatEvent, { type: 'tool-call' }>);
    parts.addResult({ type: 'tool-result', toolCallId: (call as { toolCallId: string }).toolCallId, name: 'lookup_order', result: 1 });
    expect(stepContents(parts.parts)).toEqual([
      { role: 'model', parts: [{ functionCall: { id: 'x1y2', name: 'lookup_order', args: {} }, thoughtSignature: 'c2ln' }] },
      { role: 'user', parts: [{ functionResponse: { id: 'x1y2', name: 'lookup_order', response: { output: 1 } } }] },
    ]);
  });

  it('gives a page URL context retrieved first the title grounding gives it later, in its place', () => {
    const urlContextMetadata = { urlMetadata: [{ retrievedUrl: 'https://ai.pydantic.dev/', urlRetrievalStatus: 'URL_RETRIEVAL_STATUS_SUCCESS' }] };
    const groundingMetadata = { groundingChunks: [{ web: { uri: 'https://other.example/', title: 'Other' } }, { web: { uri: 'https://ai.pydantic.dev/', title: 'Pydantic AI' } }] };
    const done = normalize([chunk([{ text: 'Hi' }], { urlContextMetadata }), chunk([{ text: '.' }], { finishReason: 'STOP', groundingMetadata })], false).at(-1);
    expect(done).toMatchObject({ sources: [{ title: 'Pydantic AI', url: 'https://ai.pydantic.dev/' }, { title: 'Other', url: 'https://other.example/' }] });
  });

  it("adds the URLs URL context retrieved to done's sources, after grounding's, once each", () => {
    const urlContextMetadata = {
      urlMetadata: [
        { retrievedUrl: 'https://example.com/a', urlRetrievalStatus: 'URL_RETRIEVAL_STATUS_SUCCESS' },
        { retrievedUrl: 'https://example.org/b', urlRetrievalStatus: 'URL_RETRIEVAL_STATUS_UNSAFE' },
        { retrievedUrl: 'https://grounded.example/', urlRetrievalStatus: 'URL_RETRIEVAL_STATUS_SUCCESS' },
      ],
    };
    const groundingMetadata = { groundingChunks: [{ web: { uri: 'https://grounded.example/', title: 'grounded.example' } }] };
    const done = normalize([chunk([{ text: 'Hi' }], { groundingMetadata }), chunk([{ text: '.' }], { finishReason: 'STOP', urlContextMetadata })], false).at(-1);
    expect(done).toMatchObject({ type: 'done', sources: [{ title: 'grounded.example', url: 'https://grounded.example/' }, { title: 'example.com', url: 'https://example.com/a' }] });
  });
});

describe('ChunkNormalizer without geminiSteps (the stateless routes and /v1)', () => {
  it('skips code-execution and server-side tool parts, signed or not, and streams the text around them', () => {
    const events = normalize([chunk([code, result]), chunk([{ toolCall: { id: 'x', toolType: 'URL_CONTEXT', args: {} } }]), chunk([{ text: 'Two.' }], { finishReason: 'STOP' })], false);
    expect(events).toEqual([{ type: 'text', text: 'Two.' }, expect.objectContaining({ type: 'done', finishReason: 'STOP' })]);
  });
});

describe('a code step sent back', () => {
  it("goes back as the model's executableCode and codeExecutionResult parts, exactly as they came", () => {
    const events = normalize([chunk([code]), chunk([result]), chunk([{ text: 'Two.' }], { finishReason: 'STOP' })], true);
    const parts = new PartsBuilder();
    for (const event of events) {
      if (event.type === 'tool-call') parts.addCall(event);
      else if (event.type === 'tool-result') parts.addResult(event);
      else if (event.type === 'text' || event.type === 'thought') parts.add(event);
    }
    expect(stepContents(parts.parts)).toEqual([{ role: 'model', parts: [code, result, { text: 'Two.' }] }]);
  });

  it('goes back as a server-side toolCall and toolResponse with their id', () => {
    expect(toFunctionCallPart({ type: 'tool-call', id: 'abc1', name: 'url_context', args: { urls: ['https://a.example'] }, runsOn: 'gemini' })).toEqual({ toolCall: { id: 'abc1', toolType: 'URL_CONTEXT', args: { urls: ['https://a.example'] } } });
    expect(toFunctionResponsePart({ type: 'tool-result', id: 'abc1', name: 'url_context', result: { ok: true }, runsOn: 'gemini' })).toEqual({ toolResponse: { id: 'abc1', toolType: 'URL_CONTEXT', response: { ok: true } } });
    // Fields that did not come do not go back.
    expect(toFunctionCallPart({ type: 'tool-call', id: 'abc1', name: 'url_context', args: {}, runsOn: 'gemini', signature: 'c2ln' })).toEqual({ toolCall: { toolType: 'URL_CONTEXT', id: 'abc1' }, thoughtSignature: 'c2ln' });
    expect(toFunctionResponsePart({ type: 'tool-result', id: 'abc1', name: 'url_context', result: null, runsOn: 'gemini' })).toEqual({ toolResponse: { toolType: 'URL_CONTEXT', id: 'abc1' } });
  });
});
