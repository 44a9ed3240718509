// The i18n machinery the phone UI and the officer console share (console/ imports this
// file): a current language, `t(key, params)` over typed catalogues, `{name}`
// placeholders. Each app brings its own catalogues.

export type Lang = 'zh' | 'en';
export type Params = Record<string, string | number>;

/** Fills `{name}` placeholders; an unknown placeholder stays visible. */
export function format(template: string, params?: Params): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m));
}

/** `t`, `setLang`, `getLang` and `hasKey` over one app's catalogues (zh is the reference). */
export function createI18n<K extends string>(catalogs: Record<Lang, Record<K, string>>) {
  let lang: Lang = 'zh';
  return {
    setLang(l: Lang): void {
      lang = l;
      if (typeof document !== 'undefined') document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
    },
    getLang(): Lang {
      return lang;
    },
    t(key: K, params?: Params, l: Lang = lang): string {
      return format(catalogs[l][key], params);
    },
    /** Whether a key exists (for keys built at run time, e.g. `error.${code}`). */
    hasKey(key: string): key is K {
      return key in catalogs.zh;
    },
  };
}
