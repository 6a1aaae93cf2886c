import type { SettingDataType, SqlModels } from '../../models/sql/index.js';

export interface SettingsOption {
  id: number;
  key: string;
  defaultValue: string;
  dataType: SettingDataType;
  description: string;
  userEditable: boolean;
}

export interface UserSettingValue {
  optionId: number;
  value: string;
}

const OPTION_FIELDS = ['id', 'key', 'defaultValue', 'dataType', 'description', 'userEditable'] as const;

export function createSettingsRepository(models: SqlModels) {
  const { SettingsOption, UserCustomSetting } = models;
  // Only the option's own fields: a created or updated row also carries createdAt/updatedAt, which
  // the API's option schema does not have.
  const toOption = (row: { get(opts: { plain: true }): unknown }): SettingsOption => {
    const plain = row.get({ plain: true }) as Record<string, unknown>;
    return Object.fromEntries(OPTION_FIELDS.map((field) => [field, plain[field]])) as unknown as SettingsOption;
  };

  return {
    async listOptions(): Promise<SettingsOption[]> {
      const rows = await SettingsOption.findAll({ attributes: [...OPTION_FIELDS], order: [['key', 'ASC']] });
      return rows.map(toOption);
    },

    async findOption(key: string): Promise<SettingsOption | null> {
      const row = await SettingsOption.findOne({ attributes: [...OPTION_FIELDS], where: { key } });
      return row ? toOption(row) : null;
    },

    async listUserValues(userId: string): Promise<UserSettingValue[]> {
      const rows = await UserCustomSetting.findAll({ attributes: ['optionId', 'value'], where: { userId }, raw: true });
      return rows.map((r) => ({ optionId: Number(r.optionId), value: r.value }));
    },

    async setUserValue(userId: string, optionId: number, value: string): Promise<void> {
      await UserCustomSetting.upsert({ userId, optionId, value });
    },

    async deleteUserValue(userId: string, optionId: number): Promise<void> {
      await UserCustomSetting.destroy({ where: { userId, optionId } });
    },

    async createOption(option: Omit<SettingsOption, 'id'>): Promise<SettingsOption> {
      const row = await SettingsOption.create(option);
      return toOption(row);
    },

    async updateOption(key: string, changes: Partial<Omit<SettingsOption, 'id' | 'key' | 'dataType'>>): Promise<SettingsOption | null> {
      const row = await SettingsOption.findOne({ where: { key } });
      if (!row) return null;
      await row.update(changes);
      return toOption(row);
    },

    async deleteOption(key: string): Promise<boolean> {
      return (await SettingsOption.destroy({ where: { key } })) > 0;
    },
  };
}

export type SettingsRepository = ReturnType<typeof createSettingsRepository>;
