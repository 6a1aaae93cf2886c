import type { RedisClient } from '../../kernel/clients/redis.js';
import type { SettingDataType } from '../../models/sql/index.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../kernel/errors.js';
import { decodeSetting, encodeSetting, type SettingValue } from './setting-values.js';
import type { SettingsOption, SettingsRepository } from './settings-repository.js';

export interface EffectiveSetting {
  key: string;
  value: SettingValue;
  dataType: SettingDataType;
  description: string;
  userEditable: boolean;
  isDefault: boolean;
}

export interface OptionView extends Omit<SettingsOption, 'id' | 'defaultValue'> {
  defaultValue: SettingValue;
}

const CACHE_TTL_SEC = 3_600;
const VERSION_KEY = 'settings:options-version';
const cacheKey = (version: string, userId: string) => `settings:effective:${version}:${userId}`;

/**
 * Effective settings: option defaults merged with the user's overrides, typed by data_type.
 * Cached per user in Redis; a user's write deletes their entry, and any change to the options
 * bumps a version that is part of every cache key, so all entries go stale at once.
 */
export function createSettingsService(deps: { repo: SettingsRepository; redis: RedisClient }) {
  const { repo, redis } = deps;

  const version = async () => (await redis.get(VERSION_KEY)) ?? '0';
  const invalidateUser = async (userId: string) => {
    await redis.del(cacheKey(await version(), userId));
  };

  async function compute(userId: string): Promise<EffectiveSetting[]> {
    const [options, overrides] = await Promise.all([repo.listOptions(), repo.listUserValues(userId)]);
    const byOption = new Map(overrides.map((o) => [o.optionId, o.value]));
    return options.map((option) => {
      const override = option.userEditable ? byOption.get(option.id) : undefined;
      return {
        key: option.key,
        value: decodeSetting(option.dataType, override ?? option.defaultValue),
        dataType: option.dataType,
        description: option.description,
        userEditable: option.userEditable,
        isDefault: override === undefined,
      };
    });
  }

  async function requireOption(key: string): Promise<SettingsOption> {
    const option = await repo.findOption(key);
    if (!option) throw new NotFoundError('Setting');
    return option;
  }

  const view = ({ id: _id, defaultValue, ...rest }: SettingsOption): OptionView => ({ ...rest, defaultValue: decodeSetting(rest.dataType, defaultValue) });

  return {
    async effective(userId: string): Promise<EffectiveSetting[]> {
      const key = cacheKey(await version(), userId);
      const cached = await redis.get(key);
      if (cached) return JSON.parse(cached) as EffectiveSetting[];
      const settings = await compute(userId);
      await redis.set(key, JSON.stringify(settings), 'EX', CACHE_TTL_SEC);
      return settings;
    },

    /** One effective value, typed by the caller's expectation (e.g. 'language'). */
    async valueOf(userId: string, key: string): Promise<SettingValue | undefined> {
      return (await this.effective(userId)).find((s) => s.key === key)?.value;
    },

    async set(userId: string, key: string, value: unknown): Promise<EffectiveSetting> {
      const option = await requireOption(key);
      if (!option.userEditable) throw new ForbiddenError('This setting cannot be changed by users', 'setting_not_editable');
      const encoded = encodeSetting(key, option.dataType, value);
      if (!encoded.ok) throw new ValidationError('Invalid setting value', [{ path: 'body.value', message: encoded.error }]);
      await repo.setUserValue(userId, option.id, encoded.stored);
      await invalidateUser(userId);
      return { key, value: decodeSetting(option.dataType, encoded.stored), dataType: option.dataType, description: option.description, userEditable: true, isDefault: false };
    },

    async reset(userId: string, key: string): Promise<EffectiveSetting> {
      const option = await requireOption(key);
      if (!option.userEditable) throw new ForbiddenError('This setting cannot be changed by users', 'setting_not_editable');
      await repo.deleteUserValue(userId, option.id);
      await invalidateUser(userId);
      return { key, value: decodeSetting(option.dataType, option.defaultValue), dataType: option.dataType, description: option.description, userEditable: true, isDefault: true };
    },

    async listOptions(): Promise<OptionView[]> {
      return (await repo.listOptions()).map(view);
    },

    async createOption(input: { key: string; dataType: SettingDataType; defaultValue: unknown; description: string; userEditable: boolean }): Promise<OptionView> {
      if (await repo.findOption(input.key)) throw new ConflictError('A setting with this key exists', 'setting_exists');
      const encoded = encodeSetting(input.key, input.dataType, input.defaultValue);
      if (!encoded.ok) throw new ValidationError('Invalid default value', [{ path: 'body.defaultValue', message: encoded.error }]);
      const created = await repo.createOption({ key: input.key, dataType: input.dataType, defaultValue: encoded.stored, description: input.description, userEditable: input.userEditable });
      await redis.incr(VERSION_KEY);
      return view(created);
    },

    async updateOption(key: string, changes: { defaultValue?: unknown; description?: string; userEditable?: boolean }): Promise<OptionView> {
      const option = await requireOption(key);
      const patch: { defaultValue?: string; description?: string; userEditable?: boolean } = { description: changes.description, userEditable: changes.userEditable };
      if (changes.defaultValue !== undefined) {
        const encoded = encodeSetting(key, option.dataType, changes.defaultValue);
        if (!encoded.ok) throw new ValidationError('Invalid default value', [{ path: 'body.defaultValue', message: encoded.error }]);
        patch.defaultValue = encoded.stored;
      }
      const updated = await repo.updateOption(key, Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)));
      if (!updated) throw new NotFoundError('Setting');
      await redis.incr(VERSION_KEY);
      return view(updated);
    },

    async deleteOption(key: string): Promise<void> {
      if (!(await repo.deleteOption(key))) throw new NotFoundError('Setting');
      await redis.incr(VERSION_KEY);
    },
  };
}

export type SettingsService = ReturnType<typeof createSettingsService>;
