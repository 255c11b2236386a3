import type { FunctionDeclaration, Part, Tool, ToolConfig } from '@google/generative-ai';
import type { ToolCallPart, ToolResultPart } from '../protocol/parts';

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

/** A call as Gemini's `functionCall` part, with its thought signature where it came (the SDK's types lack the field). */
export function toFunctionCallPart(part: ToolCallPart): Part {
  const gemini: Part & { thoughtSignature?: string } = { functionCall: { name: part.name, args: part.args } };
  if (part.signature !== undefined) gemini.thoughtSignature = part.signature;
  return gemini;
}

/**
 * A result as Gemini's `functionResponse` part: "Use "output" key to specify function output and
 * "error" key to specify error details" (FunctionResponse.response).
 */
export function toFunctionResponsePart(part: ToolResultPart): Part {
  return { functionResponse: { name: part.name, response: part.isError ? { error: part.result } : { output: part.result } } };
}
