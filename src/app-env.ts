import type { Config } from './config';
import type { Env } from './env';
import type { AdmittedClient } from './limits/admission';
import type { RequestLog } from './observability/request-log';

/** Hono's type parameters for this app: the Worker's bindings and per-request values. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    config: Config;
    log: RequestLog;
    /** Set once the request was counted against its client's limits. */
    client?: AdmittedClient;
    /** `/v1/*`: whom the request counts against, by its API key (`key:` and a digest prefix). */
    apiKeyId?: string;
  };
}
