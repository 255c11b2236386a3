import { ASSISTANTS } from '#assistants';
import { DEFAULT_ASSISTANT, type Assistant, type AssistantDefinition } from './assistant';
import { systemPrefix } from './prompt';

/** The built-in assistant: no instructions, any allowed model, any `system`. */
const DEFAULT: Assistant = { name: DEFAULT_ASSISTANT, systemPrefix: '', allowSystem: true, models: [], starters: [], origins: [], pages: [], tools: [], geminiTools: [] };

let byName: Map<string, Assistant> | undefined;

/** Every bundled assistant by name, built once per isolate (the prefix can be megabytes: made once, the same bytes each call). */
export function assistants(): ReadonlyMap<string, Assistant> {
  byName ??= new Map(ASSISTANTS.map((definition) => [definition.name, toAssistant(definition)]));
  return byName;
}

function toAssistant(definition: AssistantDefinition): Assistant {
  return {
    name: definition.name,
    systemPrefix: systemPrefix(definition),
    allowSystem: definition.allowSystem,
    ...(definition.model ? { model: definition.model } : {}),
    models: definition.models,
    ...(definition.thinking ? { thinking: definition.thinking } : {}),
    ...(definition.greeting ? { greeting: definition.greeting } : {}),
    starters: definition.starters,
    origins: definition.origins,
    pages: definition.knowledge.map((page) => ({ title: page.title, url: page.url })),
    tools: definition.tools ?? [],
    geminiTools: definition.geminiTools ?? [],
  };
}

/** The assistant of that name (`default` included), or undefined. */
export function findAssistant(name: string): Assistant | undefined {
  return name === DEFAULT_ASSISTANT ? DEFAULT : assistants().get(name);
}

/** The built-in assistant. */
export function defaultAssistant(): Assistant {
  return DEFAULT;
}

/** The first assistant, by name, that serves pages on `origin`. */
export function assistantForOrigin(origin: string): Assistant | undefined {
  for (const assistant of assistants().values()) if (assistant.origins.includes(origin)) return assistant;
  return undefined;
}

let origins: ReadonlySet<string> | undefined;

/** Every origin some assistant serves: they may call the API, whether or not ALLOWED_ORIGINS lists them. */
export function assistantOrigins(): ReadonlySet<string> {
  origins ??= new Set([...assistants().values()].flatMap((a) => a.origins));
  return origins;
}
