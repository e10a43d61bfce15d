import { envVarName } from './schema';

export type ConfigSource = 'env' | 'yaml';

/**
 * A configuration that cannot be loaded or is invalid.
 * `upstreamMessage` is the datastax/zdm-proxy text; `message` is that text, followed (when the text
 * does not already name an env var) by the settings involved, e.g.
 * `... (settings: ZDM_ORIGIN_TLS_SERVER_CA_PATH, ...)` in env mode or `(settings: origin_tls_server_ca_path, ...)` in YAML mode.
 */
export class ConfigError extends Error {
  readonly upstreamMessage: string;
  /** YAML keys of the settings involved (may be empty, e.g. a missing config file). */
  readonly settings: readonly string[];

  constructor(upstreamMessage: string, settings: readonly string[] = [], source: ConfigSource = 'env') {
    super(ConfigError.format(upstreamMessage, settings, source));
    this.name = 'ConfigError';
    this.upstreamMessage = upstreamMessage;
    this.settings = Object.freeze([...settings]);
  }

  private static format(msg: string, settings: readonly string[], source: ConfigSource): string {
    if (settings.length === 0) return msg;
    if (source === 'env' && msg.includes('ZDM_')) return msg;
    const names = settings.map((k) => (source === 'env' ? envVarName(k) : k));
    return `${msg} (settings: ${names.join(', ')})`;
  }
}
