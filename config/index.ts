export { ConfigError, ENV_ALIASES, loadConfig, resolveProfile, type Env, type ProfileName } from './load-config.js';
export { configSchema, type AppConfig, type OAuthProviderConfig, type OAuthProviderName } from './schema.js';
export { decryptSecret, encryptSecret, isEncrypted } from './secrets.js';
export { runEncryptCommand } from './encrypt-command.js';
