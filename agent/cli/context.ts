import type { Config } from '../contract/config.js';
import type { Logger } from '../logger.js';

/** Everything a command needs from the CLI shell; commands never read process.env themselves. */
export interface CommandContext {
  config: Config;
  logger: Logger;
  json: boolean;
  verbose: boolean;
  /** True when stderr is a terminal: progress lines are shown only then. */
  interactive: boolean;
}
