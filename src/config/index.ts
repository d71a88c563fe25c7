/**
 * Public surface of the config module: loading, the typed config, derived artefacts.
 * Other modules must not read config globally; app/ maps this object onto their options.
 */
export { loadConfig, validateConfig, readConfigFile, mergeSources, deepFreeze } from './load.js';
export type { ConfigSources, LoadedConfig } from './load.js';
export { ConfigError, type ConfigIssue } from './errors.js';
export type {
  Config,
  ConfigInput,
  ChannelOptions,
  ChannelNamespace,
  RpcNamespace,
  ProxyConfig,
  NamedProxyConfig,
  TlsConfig,
  RedisEngineConfig,
} from './schema.js';
export { configSchema } from './schema.js';
export { defaultConfig, defaultEnv, configToFileForm, envLines } from './defaults.js';
export { configMarkdown, REGENERATE_COMMAND } from './docs.js';
export { parseDuration, formatDuration, formatGoDuration } from './duration.js';
export { formatOf, stringifyConfig, parseConfigText, type ConfigFormat } from './formats.js';
export { configOptions, findOption, envName, type OptionInfo } from './describe.js';
