import { loadConfig, ConfigError, type ProxyConfig } from '../../../src/config';

/** Minimal valid env (like upstream configtestutils: credentials and contact points set). */
export function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    ZDM_ORIGIN_USERNAME: 'originUser',
    ZDM_ORIGIN_PASSWORD: 'originSecretPw1',
    ZDM_TARGET_USERNAME: 'targetUser',
    ZDM_TARGET_PASSWORD: 'targetSecretPw2',
    ZDM_ORIGIN_CONTACT_POINTS: 'origin.hostname.com',
    ZDM_ORIGIN_PORT: '7890',
    ZDM_TARGET_CONTACT_POINTS: 'target.hostname.com',
    ZDM_TARGET_PORT: '5647',
    ...extra,
  };
}

export function loadEnv(extra: Record<string, string | undefined> = {}): ProxyConfig {
  const env = baseEnv(extra);
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return loadConfig({ env });
}

/** Load and return the ConfigError (fails the test when loading succeeds). */
export function envError(extra: Record<string, string | undefined>): ConfigError {
  try {
    loadEnv(extra);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(extra)}`);
}

export function yamlConfig(text: string): ProxyConfig {
  return loadConfig({ configPath: '/virtual/zdm.yml', readFile: () => text, env: { ZDM_READ_MODE: 'bogus' } });
}

export function yamlError(text: string): ConfigError {
  try {
    yamlConfig(text);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

export const YAML_BASE = `
origin_username: foo1
origin_password: bar1
target_username: foo2
target_password: bar2
origin_contact_points: 192.168.100.101
target_contact_points: 192.168.100.102
`;
