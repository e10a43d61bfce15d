// Public API of the configuration module.
export * from './schema';
export * from './types';
export { ConfigError, type ConfigSource } from './errors';
export {
  loadConfig,
  decodeEnv,
  decodeYamlFile,
  decodeYamlText,
  buildConfig,
  validate,
  resolveTopology,
  describeConfig,
  toLogObject,
  parseLogLevel,
  parseBlockedProtocolVersions,
  parseControlConnMaxProtocolVersion,
  parseReadMode,
  parseLatencyBuckets,
  type Env,
  type LoadConfigOptions,
  type LookupAll,
} from './load';
export { parseFlags, FlagError, type ParsedFlags } from './flags';
export { exampleConfigYaml } from './example';
