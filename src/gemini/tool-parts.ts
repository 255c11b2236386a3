import type { FunctionDeclaration, Part, Tool, ToolConfig } from '@google/generative-ai';
import type { GeminiTool } from '../assistants/assistant';
import type { ToolCallPart, ToolResultPart } from '../protocol/parts';

/** The name a code-execution step has in the message model: its call's args are `{ language, code }`, its result `{ outcome, output }`. */
export const CODE_EXECUTION = 'code_execution';

/**
 * A function the model may call, as a request declares it: its parameters a JSON Schema object
 * (OpenAI's `tools[].function.parameters`).
 */
export interface FunctionSpec {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

/**
 * Which functions the model may call: `auto` (it decides), `none`, `required` (at least one
 * call), or one function by name.
 */
export type FunctionChoice = 'auto' | 'none' | 'required' | { name: string };

/**
 * The functions as Gemini's `tools` and `toolConfig`. Parameters go as `parametersJsonSchema`,
 * which takes JSON Schema as it is ("Describes the parameters to the function in JSON Schema
 * format. … This field is mutually exclusive with parameters", v1beta FunctionDeclaration), so no
 * conversion to the OpenAPI subset of `parameters` is needed; the SDK's 0.24.1 types predate the
 * field and pass it on untouched. The choice is `functionCallingConfig`: auto → AUTO, none →
 * NONE, required → ANY, a name → ANY limited to `allowedFunctionNames: [name]`.
 */
export function toGeminiTools(functions: readonly FunctionSpec[], choice: FunctionChoice): { tools: Tool[]; toolConfig: ToolConfig } {
  const functionDeclarations = functions.map((f) => {
    const declaration: Record<string, unknown> = { name: f.name };
    if (f.description !== undefined) declaration.description = f.description;
    if (f.parameters !== undefined) declaration.parametersJsonSchema = f.parameters;
    return declaration as unknown as FunctionDeclaration;
  });
  const functionCallingConfig =
    typeof choice === 'object'
      ? { mode: 'ANY', allowedFunctionNames: [choice.name] }
      : { mode: choice === 'none' ? 'NONE' : choice === 'required' ? 'ANY' : 'AUTO' };
  return { tools: [{ functionDeclarations }], toolConfig: { functionCallingConfig } as ToolConfig };
}

/**
 * An assistant's tools as one Gemini call's `tools` and `toolConfig`: its functions (see
 * {@link toGeminiTools}, with `choice`) and its built-in tools, each an entry of its own
 * (`{ googleSearch: {} }`, `{ urlContext: {} }`, `{ codeExecution: {} }`, the REST shape of
 * ai.google.dev/gemini-api/docs/url-context). Functions and built-ins together need
 * `toolConfig.includeServerSideToolInvocations`: without it Gemini answers 400 "Please enable
 * tool_config.include_server_side_tool_invocations to use Built-in tools with Function calling."
 * (docs/fake-gemini.md, "Built-in tools"); the `auto` choice is then left to Gemini's default, as
 * the tool-combination guide's own request does. Nothing at all for an assistant with neither.
 */
export function assistantTools(
  assistant: { tools: readonly FunctionSpec[]; geminiTools: readonly GeminiTool[] },
  choice: FunctionChoice,
): { tools?: Tool[]; toolConfig?: ToolConfig } {
  const builtIns = assistant.geminiTools.map((name) => ({ [name]: {} }) as unknown as Tool);
  if (assistant.tools.length === 0) return builtIns.length ? { tools: builtIns } : {};
  const functions = toGeminiTools(assistant.tools, choice);
  if (builtIns.length === 0) return functions;
  const toolConfig: Record<string, unknown> = { includeServerSideToolInvocations: true };
  if (choice !== 'auto') toolConfig.functionCallingConfig = functions.toolConfig.functionCallingConfig;
  return { tools: [...functions.tools, ...builtIns], toolConfig: toolConfig as unknown as ToolConfig };
}

/**
 * A call as Gemini's part, with its thought signature where it came (the SDK's types lack the
 * field): a `functionCall`; for a call Gemini ran itself (`runsOn: 'gemini'`), the part it came
 * as — `executableCode { language, code }` for code execution, else the server-side `toolCall
 * { id, toolType, args }` — which goes back in the model's turn exactly so.
 */
export function toFunctionCallPart(part: ToolCallPart): Part {
  const gemini: Record<string, unknown> =
    part.runsOn !== 'gemini'
      ? { functionCall: part.geminiId === undefined ? { name: part.name, args: part.args } : { id: part.geminiId, name: part.name, args: part.args } }
      : part.name === CODE_EXECUTION
        ? { executableCode: { language: part.args.language, code: part.args.code } }
        : { toolCall: { toolType: part.name.toUpperCase(), id: part.id, ...(Object.keys(part.args).length ? { args: part.args } : {}) } };
  if (part.signature !== undefined) gemini.thoughtSignature = part.signature;
  return gemini as unknown as Part;
}

/**
 * A result as Gemini's `functionResponse` part: "Use "output" key to specify function output and
 * "error" key to specify error details" (FunctionResponse.response), with `geminiId`, the id
 * Gemini 3 gave its call ("Include this exact id in your functionResponse", ai.google.dev
 * function-calling). A built-in tool's result goes back as it came: `codeExecutionResult { outcome, output }`, or the server-side
 * `toolResponse { id, toolType, response }`, with its signature.
 */
export function toFunctionResponsePart(part: ToolResultPart, geminiId?: string): Part {
  if (part.runsOn !== 'gemini') {
    const response = part.isError ? { error: part.result } : { output: part.result };
    return { functionResponse: geminiId === undefined ? { name: part.name, response } : { id: geminiId, name: part.name, response } } as Part;
  }
  const result = (part.result ?? {}) as Record<string, unknown>;
  const gemini: Record<string, unknown> =
    part.name === CODE_EXECUTION
      ? { codeExecutionResult: { outcome: result.outcome, output: result.output } }
      : { toolResponse: { toolType: part.name.toUpperCase(), id: part.id, ...(part.result === null || part.result === undefined ? {} : { response: part.result }) } };
  if (part.signature !== undefined) gemini.thoughtSignature = part.signature;
  return gemini as unknown as Part;
}
