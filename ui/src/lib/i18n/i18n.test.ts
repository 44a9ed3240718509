import { describe, expect, it } from 'vitest';
import { zh } from './zh';
import { en } from './en';
import { format, t, setLang } from './index';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('i18n', () => {
  it('zh and en have the same keys', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
  });
  it('each translation uses the same placeholders', () => {
    for (const k of Object.keys(zh) as (keyof typeof zh)[]) expect(placeholders(en[k]), k).toEqual(placeholders(zh[k]));
  });
  it('no string is empty, and Chinese strings are Chinese', () => {
    for (const [k, v] of Object.entries(zh)) expect(v.trim(), k).not.toBe('');
    expect(zh['nav.home']).toBe('首页');
  });
  it('fills placeholders, leaving unknown ones visible', () => {
    expect(format('还剩 {n} 天', { n: 3 })).toBe('还剩 3 天');
    expect(format('{a}{b}', { a: 1 })).toBe('1{b}');
    setLang('en');
    expect(t('home.days_left', { n: 2 })).toBe('2 days left');
    setLang('zh');
    expect(t('home.days_left', { n: 2 })).toBe('还剩 2 天');
  });
});
