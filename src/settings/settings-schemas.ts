import { z } from 'zod';

export const settingKeySchema = z.string().regex(/^[a-zA-Z][a-zA-Z0-9._-]{0,63}$/, 'must be a setting key like "theme" or "reminder.daily"');
const dataTypeSchema = z.enum(['STRING', 'BOOLEAN', 'NUMBER', 'JSON']);
const anyValue = z.union([z.string(), z.number(), z.boolean(), z.null(), z.record(z.string(), z.unknown()), z.array(z.unknown())]);

export const effectiveSettingSchema = z.object({
  key: z.string(),
  value: anyValue,
  dataType: dataTypeSchema,
  description: z.string(),
  userEditable: z.boolean(),
  isDefault: z.boolean(),
});

export const settingsListSchema = z.object({ items: z.array(effectiveSettingSchema) });
export const settingKeyParams = z.object({ key: settingKeySchema }).strict();
export const setSettingBody = z.object({ value: anyValue }).strict();

export const optionSchema = z.object({
  key: z.string(),
  defaultValue: anyValue,
  dataType: dataTypeSchema,
  description: z.string(),
  userEditable: z.boolean(),
});
export const optionListSchema = z.object({ items: z.array(optionSchema) });

export const createOptionBody = z
  .object({
    key: settingKeySchema,
    dataType: dataTypeSchema,
    defaultValue: anyValue,
    description: z.string().max(500).default(''),
    userEditable: z.boolean().default(true),
  })
  .strict();

export const updateOptionBody = z
  .object({
    defaultValue: anyValue.optional(),
    description: z.string().max(500).optional(),
    userEditable: z.boolean().optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'at least one field is required')
  .meta({ minProperties: 1 });
