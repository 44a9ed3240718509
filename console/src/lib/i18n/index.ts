// t(key, params): the one place strings come from. Chinese first; English as a setting.
// The machinery is the phone UI's (ui/src/lib/i18n/core.ts); the catalogues are ours.
import { zh, type MessageKey, type Messages } from './zh';
import { en } from './en';
import { createI18n, format, type Lang, type Params } from '../../../../ui/src/lib/i18n/core';

export const CATALOGS: Record<Lang, Messages> = { zh, en };
export const { setLang, getLang, t, hasKey } = createI18n<MessageKey>(CATALOGS);
export { format };
export type { Lang, MessageKey, Params };
