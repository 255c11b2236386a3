import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { ApiError } from '../../src/errors';
import { parseUiToolOutputs } from '../../src/limits/ui-chat-request';

const config = loadConfig({ GEMINI_API_KEY: 'unit-test-key', TOOLS_MAX_RESPONSE_BYTES: '100' });

const user = { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Show me the prices' }] };
const call = (id: string, rest: Record<string, unknown>) => ({ type: 'dynamic-tool', toolCallId: id, toolName: 'show_section', input: {}, ...rest });
const body = (parts: unknown[]) => ({ id: 'abcdefghijklmnop', trigger: 'submit-message', messageId: 'm-2', messages: [user, { id: 'm-2', role: 'assistant', parts }] });

function rejection(value: unknown): { status: number; message: string } {
  try {
    parseUiToolOutputs(value, config);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return { status: (error as ApiError).status, message: (error as ApiError).message };
  }
  throw new Error('expected a refusal');
}

describe('parseUiToolOutputs', () => {
  it('leaves a request whose last message is the user\'s, or a regeneration, to parseUiChatRequest', () => {
    expect(parseUiToolOutputs({ id: 'abcdefghijklmnop', messages: [user] }, config)).toBeUndefined();
    expect(parseUiToolOutputs({ ...body([call('a', { state: 'output-available', output: 1 })]), trigger: 'regenerate-message' }, config)).toBeUndefined();
  });

  it('reads the outputs of the last step\'s page calls, static or dynamic, and skips the provider\'s calls and earlier steps', () => {
    const parts = [
      call('old', { state: 'output-available', output: 'answered in an earlier request' }),
      { type: 'step-start' },
      { type: 'text', text: 'Let me look', state: 'done' },
      call('a', { state: 'output-available', output: { shown: 'pricing' } }),
      { type: 'tool-show_section', toolCallId: 'b', state: 'output-error', input: {}, errorText: 'no such section' },
      call('c', { state: 'input-available', providerExecuted: true }),
      call('d', { state: 'output-available', output: 2, providerExecuted: true }),
    ];
    expect(parseUiToolOutputs(body(parts), config)).toEqual({
      id: 'abcdefghijklmnop',
      results: [
        { toolCallId: 'a', result: { shown: 'pricing' } },
        { toolCallId: 'b', error: 'no such section' },
      ],
    });
  });

  it('refuses an assistant message without outputs, and outputs that break a rule, naming the part\'s own field', () => {
    expect(rejection(body([call('a', { state: 'input-available' })]))).toEqual({ status: 400, message: expect.stringMatching(/^messages\[1\]\.role must be "user".*pending tool calls/) });
    expect(rejection(body([call('a', { state: 'output-available', output: 'x'.repeat(200) })]))).toEqual({
      status: 413,
      message: 'messages[1].parts[0].output is 202 bytes as JSON; at most 100 (TOOLS_MAX_RESPONSE_BYTES)',
    });
    expect(rejection(body([call('a', { state: 'output-error', errorText: 'x'.repeat(3000) })]))).toEqual({ status: 400, message: expect.stringMatching(/^messages\[1\]\.parts\[0\]\.errorText must be a string of at most/) });
    expect(rejection(body([call('', { state: 'output-available', output: 1 })]))).toEqual({ status: 400, message: expect.stringMatching(/^messages\[1\]\.parts\[0\]\.toolCallId/) });
    expect(rejection({ ...body([call('a', { state: 'output-available', output: 1 })]), tools: {} })).toEqual({ status: 400, message: expect.stringMatching(/unknown field "tools"/) });
  });
});
