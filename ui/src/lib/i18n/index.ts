// t(key, params): the one place strings come from. Chinese first; English as a setting.
import { zh, type MessageKey, type Messages } from './zh';
import { en } from './en';

export type Lang = 'zh' | 'en';
export const CATALOGS: Record<Lang, Messages> = { zh, en };

let lang: Lang = 'zh';

export function setLang(l: Lang): void {
  lang = l;
  if (typeof document !== 'undefined') document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
}

export function getLang(): Lang {
  return lang;
}

export type Params = Record<string, string | number>;

/** Fills `{name}` placeholders; an unknown placeholder stays visible. */
export function format(template: string, params?: Params): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m));
}

export function t(key: MessageKey, params?: Params, l: Lang = lang): string {
  return format(CATALOGS[l][key], params);
}

/** Whether a key exists (for keys built at run time, e.g. `error.${code}`). */
export function hasKey(key: string): key is MessageKey {
  return key in zh;
}

export type { MessageKey };
