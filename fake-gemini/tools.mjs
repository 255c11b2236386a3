// @ts-check
/**
 * Function calling, as the fake Gemini does it (docs/fake-gemini.md, "Function calling"): the
 * checks on a request's `tools`, `toolConfig` and function-response turns, and what the model
 * "decides": call a declared function (single or parallel), or answer from the function
 * responses the last turn carries.
 *
 * Sources (cited in docs/fake-gemini.md):
 * - FunctionDeclaration: `name` "Must be a-z, A-Z, 0-9, or contain underscores, colons, dots, and
 *   dashes, with a maximum length of 64"; `parametersJsonSchema` (JSON Schema, "must describe an
 *   object") "is mutually exclusive with parameters" (v1beta reference, as mirrored by geminix).
 * - FunctionCallingConfig: mode AUTO (default) / ANY ("constrained to always predicting a
 *   function call", limited to `allowedFunctionNames` when set) / NONE / VALIDATED.
 * - Parallel calls: on Gemini 3 "the thought_signature is only attached to the first
 *   functionCall part" of a response; sequential steps each carry their own (ai.google.dev
 *   thought-signatures).
 * - "Please ensure that the number of function response parts is equal to the number of function
 *   call parts of the function call turn." (400 INVALID_ARGUMENT, gemini-cli#4217, #16415).
 */

/** Google's parser takes camelCase or the proto's snake_case name (see request-checks.mjs). */
function field(/** @type {any} */ object, /** @type {string} */ camel, /** @type {string} */ snake) {
  if (!object || typeof object !== 'object') return undefined;
  return object[camel] ?? object[snake];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;
const MODES = ['AUTO', 'ANY', 'NONE', 'VALIDATED', 'MODE_UNSPECIFIED'];

/**
 * @typedef {object} ToolSettings
 * @property {any[]} declarations the function declarations, in order
 * @property {string} mode AUTO, ANY, NONE or VALIDATED
 * @property {string[]} allowed allowedFunctionNames (empty: all)
 */

/**
 * The request's function declarations and calling config, checked. `undefined` when the request
 * declares no functions.
 * @param {any} body
 * @returns {{ invalid: string, field?: string } | ToolSettings | undefined}
 */
export function checkTools(body) {
  const tools = body?.tools;
  /** @type {any[]} */
  const declarations = [];
  if (Array.isArray(tools)) {
    for (const [i, tool] of tools.entries()) {
      const list = field(tool, 'functionDeclarations', 'function_declarations');
      if (!Array.isArray(list)) continue;
      for (const [j, declaration] of list.entries()) {
        const at = `tools[${i}].function_declarations[${j}]`;
        const name = declaration?.name;
        // (inference) the wording: Google's usual one for a field that breaks its rule.
        if (typeof name !== 'string' || !NAME.test(name)) {
          return { invalid: `* GenerateContentRequest.${at}.name: Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum length of 64.`, field: `${at}.name` };
        }
        const parameters = field(declaration, 'parameters', 'parameters');
        const jsonSchema = field(declaration, 'parametersJsonSchema', 'parameters_json_schema');
        if (parameters !== undefined && jsonSchema !== undefined) {
          // Documented: "This field is mutually exclusive with parameters." (the wording is inference)
          return { invalid: `* GenerateContentRequest.${at}: parameters and parameters_json_schema are mutually exclusive; set only one of them.`, field: at };
        }
        if (jsonSchema !== undefined && (typeof jsonSchema !== 'object' || jsonSchema === null || (jsonSchema.type !== undefined && jsonSchema.type !== 'object'))) {
          // "The schema must describe an object" (the wording is inference).
          return { invalid: `* GenerateContentRequest.${at}.parameters_json_schema: the schema must describe an object.`, field: `${at}.parameters_json_schema` };
        }
        declarations.push(declaration);
      }
    }
  }
  const config = field(field(body, 'toolConfig', 'tool_config'), 'functionCallingConfig', 'function_calling_config');
  const rawMode = field(config, 'mode', 'mode');
  const mode = rawMode === undefined || rawMode === 'MODE_UNSPECIFIED' ? 'AUTO' : String(rawMode);
  if (!MODES.includes(mode)) {
    return { invalid: `Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), ${JSON.stringify(rawMode)}`, field: 'tool_config.function_calling_config.mode' };
  }
  const allowed = field(config, 'allowedFunctionNames', 'allowed_function_names') ?? [];
  if (declarations.length === 0) return undefined;
  // Whether Gemini refuses an allowed name that is not declared is not documented: not checked.
  return { declarations, mode, allowed };
}

/**
 * The function-response turns of the request checked against the calls before them: each turn
 * that answers a `functionCall` turn must carry as many `functionResponse` parts as it had calls
 * (the cited 400).
 * @param {any[]} contents
 * @returns {string | undefined} the 400 message
 */
export function checkFunctionResponses(contents) {
  for (let i = 1; i < (contents ?? []).length; i++) {
    const responses = (contents[i]?.parts ?? []).filter((/** @type {any} */ p) => field(p, 'functionResponse', 'function_response')).length;
    if (responses === 0) continue;
    const calls = (contents[i - 1]?.parts ?? []).filter((/** @type {any} */ p) => field(p, 'functionCall', 'function_call')).length;
    if (calls !== responses) {
      return 'Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.';
    }
  }
  return undefined;
}

/** The function responses of the last turn, as `{ name, response }`. */
export function lastFunctionResponses(/** @type {any} */ body) {
  const contents = Array.isArray(body?.contents) ? body.contents : [];
  const last = contents[contents.length - 1];
  return (last?.parts ?? []).map((/** @type {any} */ p) => field(p, 'functionResponse', 'function_response')).filter(Boolean);
}

/**
 * How many steps of the current turn already called functions: model turns with a `functionCall`
 * after the last user turn that has text (the turn's start, as the signature check counts it).
 * @param {any[]} contents
 */
function stepsSoFar(contents) {
  let start = 0;
  (contents ?? []).forEach((/** @type {any} */ c, /** @type {number} */ i) => {
    if (c?.role === 'user' && (c.parts ?? []).some((/** @type {any} */ p) => typeof p?.text === 'string')) start = i;
  });
  return (contents ?? []).slice(start).filter((/** @type {any} */ c) => c?.role === 'model' && (c.parts ?? []).some((/** @type {any} */ p) => field(p, 'functionCall', 'function_call'))).length;
}

/**
 * The function calls the model makes now, or none (it answers in text):
 * - NONE: never;
 * - ANY: always (from `allowedFunctionNames` when set);
 * - AUTO / VALIDATED: in the first `rounds` steps of the turn (default 1): a turn that starts
 *   with the user's text gets calls, a step after function responses gets its answer.
 * `[fake:tools call=a,b args={...} parallel=N rounds=N]` chooses the functions (cycled over the
 * parallel calls), their arguments (JSON without spaces; default: a sample value per declared
 * property, different for each call) and how many calls a step makes (default 1).
 * @param {any} body
 * @param {ToolSettings} tools
 * @param {Record<string, string>} options the directive's options
 * @returns {Array<{ name: string, args: Record<string, unknown> }>}
 */
export function plannedCalls(body, tools, options) {
  if (tools.mode === 'NONE') return [];
  const rounds = Number(options.rounds ?? 1);
  if (tools.mode !== 'ANY' && stepsSoFar(body.contents) >= rounds) return [];
  const names = options.call ? String(options.call).split(',') : tools.allowed.length ? tools.allowed : [tools.declarations[0].name];
  const count = Math.max(1, Number(options.parallel ?? 1));
  /** @type {Record<string, unknown> | undefined} */
  let given;
  if (options.args) given = JSON.parse(options.args);
  return Array.from({ length: count }, (_, i) => {
    const name = names[i % names.length];
    const declaration = tools.declarations.find((d) => d.name === name);
    return { name, args: given ?? sampleArgs(declaration, i) };
  });
}

/**
 * Arguments for a declaration: a value per declared property by its type (string, number,
 * boolean), different for each call of a parallel step.
 * @param {any} declaration
 * @param {number} i
 */
function sampleArgs(declaration, i) {
  const schema = field(declaration, 'parametersJsonSchema', 'parameters_json_schema') ?? declaration?.parameters ?? {};
  /** @type {Record<string, unknown>} */
  const args = {};
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    const type = String(/** @type {any} */ (property)?.type ?? 'string').toLowerCase();
    args[key] = type === 'integer' || type === 'number' ? i + 1 : type === 'boolean' ? true : `${key} ${i + 1}`;
  }
  return args;
}

/**
 * The line the answer starts with for each function response, so tests see what came back:
 * `[fake] get_weather returned {"output":"sunny"}`.
 * @param {any[]} responses
 */
export function responseLines(responses) {
  return responses.map((r) => `[fake] ${r.name} returned ${JSON.stringify(r.response)}\n`).join('');
}

/**
 * The fields of v1beta's `Tool`, as the JSON parser names them (camelCase; the proto's snake_case
 * is taken too). A tool entry with any other field is refused as the parser refuses unknown
 * names (`Invalid JSON payload received. Unknown name "type" at 'tools[26]': Cannot find field.`,
 * github/github-mcp-server#1385).
 */
const TOOL_FIELDS = /** @type {const} */ ([
  ['functionDeclarations', 'function_declarations'],
  ['googleSearchRetrieval', 'google_search_retrieval'],
  ['codeExecution', 'code_execution'],
  ['googleSearch', 'google_search'],
  ['computerUse', 'computer_use'],
  ['urlContext', 'url_context'],
  ['fileSearch', 'file_search'],
  ['googleMaps', 'google_maps'],
]);

/** The built-in tools the fake runs, by their JSON field: `codeExecution` and `urlContext` are empty messages. */
const BUILT_INS = /** @type {const} */ (['googleSearch', 'urlContext', 'codeExecution']);

/**
 * @typedef {object} BuiltinSettings
 * @property {string[]} builtins the built-in tools the request switched on (camelCase names)
 * @property {boolean} serverSide `toolConfig.includeServerSideToolInvocations`: the answer shows
 *   the server's tool calls and responses as `toolCall` / `toolResponse` parts
 */

/**
 * The request's tool entries checked field by field, and its built-in tools:
 * - an unknown field of a tool entry (or of the empty `codeExecution` / `urlContext` messages) is
 *   the parser's "Unknown name … Cannot find field." 400;
 * - built-in tools with function declarations need `toolConfig.includeServerSideToolInvocations`:
 *   without it, "Please enable tool_config.include_server_side_tool_invocations to use Built-in
 *   tools with Function calling." (cloudwego/eino-ext#761, lobehub/lobehub#13465,
 *   langchain-ai/langchainjs#10675); with it, only Gemini 3 combines them ("Only Gemini 3+ models
 *   support the combination at all", langchain-ai/langchainjs#11611): a 2.5 model answers the
 *   older "Tool use with function calling is unsupported" (snailyp/gemini-balance#17, 2025).
 * @param {any} body
 * @param {'3' | '2.5'} generation the answering model's
 * @returns {{ invalid: string, field?: string } | BuiltinSettings}
 */
export function checkBuiltins(body, generation) {
  const tools = Array.isArray(body?.tools) ? body.tools : [];
  /** @type {string[]} */
  const builtins = [];
  let functions = 0;
  for (const [i, tool] of tools.entries()) {
    const at = `tools[${i}]`;
    for (const key of Object.keys(tool ?? {})) {
      if (!TOOL_FIELDS.some(([camel, snake]) => key === camel || key === snake)) {
        return { invalid: `Invalid JSON payload received. Unknown name ${JSON.stringify(key)} at '${at}': Cannot find field.`, field: at };
      }
    }
    for (const name of ['codeExecution', 'urlContext']) {
      const snake = name === 'codeExecution' ? 'code_execution' : 'url_context';
      const value = field(tool, name, snake);
      if (value === undefined) continue;
      const extra = value && typeof value === 'object' ? Object.keys(value)[0] : undefined;
      if (extra !== undefined) return { invalid: `Invalid JSON payload received. Unknown name ${JSON.stringify(extra)} at '${at}.${snake}': Cannot find field.`, field: `${at}.${snake}` };
    }
    for (const name of BUILT_INS) {
      const snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      if (field(tool, name, snake) !== undefined && !builtins.includes(name)) builtins.push(name);
    }
    const list = field(tool, 'functionDeclarations', 'function_declarations');
    if (Array.isArray(list)) functions += list.length;
  }
  const serverSide = field(field(body, 'toolConfig', 'tool_config'), 'includeServerSideToolInvocations', 'include_server_side_tool_invocations') === true;
  if (builtins.length && functions) {
    if (!serverSide) return { invalid: 'Please enable tool_config.include_server_side_tool_invocations to use Built-in tools with Function calling.' };
    if (generation === '2.5') return { invalid: 'Tool use with function calling is unsupported' };
  }
  return { builtins, serverSide };
}

/** URLs in a text, as a model reads them from the prompt (trailing punctuation left out). */
export function urlsIn(/** @type {string} */ text) {
  /** @type {string[]} */
  const urls = [];
  for (const match of text.matchAll(/https?:\/\/[^\s<>"'\])]+/g)) {
    const url = match[0].replace(/[.,;:!?]+$/, '');
    if (!urls.includes(url)) urls.push(url);
  }
  return urls;
}
