import { describe, expect, it } from 'vitest';
import { classifyQuery, createSearch, queryHintKey, type SearchState, type Timers } from './search';
import type { EnterpriseHit } from './backend/types';

function manualTimers() {
  const pending = new Map<number, () => void>();
  let next = 1;
  const timers: Timers = { set: (fn) => { pending.set(next, fn); return next++; }, clear: (h) => { pending.delete(h as number); } };
  return { timers, pending, fire: () => { const fns = [...pending.values()]; pending.clear(); fns.forEach((f) => f()); } };
}
const flush = () => new Promise((r) => setTimeout(r, 0));

describe('classifyQuery mirrors gridwalk-core SearchQuery::parse', () => {
  it('classifies the Rust test cases the same way', () => {
    expect(classifyQuery('jtxc')).toEqual({ kind: 'pinyin', text: 'jtxc' });
    expect(classifyQuery('JinTan')).toEqual({ kind: 'pinyin', text: 'jintan' });
    expect(classifyQuery('913204')).toEqual({ kind: 'uscc', text: '913204' });
    expect(classifyQuery('91320413ma1')).toEqual({ kind: 'uscc', text: '91320413MA1' });
    expect(classifyQuery('金坛 新城')).toEqual({ kind: 'substring', text: '金坛新城' });
  });
  it('refuses empty and overlong queries', () => {
    expect(classifyQuery('   ').kind).toBe('empty');
    expect(classifyQuery('金'.repeat(65)).kind).toBe('too_long');
    expect(classifyQuery('金'.repeat(64)).kind).toBe('substring');
  });
  it('letters outside the USCC alphabet make it pinyin, not a code', () => {
    expect(classifyQuery('abc1').kind).toBe('uscc');
    expect(classifyQuery('zi1').kind).toBe('pinyin');
  });
  it('says under the box what the search will do', () => {
    expect(queryHintKey(classifyQuery('jtxc'))).toBe('search.kind.pinyin');
    expect(queryHintKey(classifyQuery('9132'))).toBe('search.kind.uscc');
    expect(queryHintKey(classifyQuery('新城'))).toBe('search.kind.substring');
    expect(queryHintKey(classifyQuery(''))).toBeNull();
  });
});

describe('createSearch', () => {
  const hit = (name: string) => ({ id: name, name } as EnterpriseHit);

  it('debounces typing into one request with the last query', async () => {
    const { timers, fire } = manualTimers();
    const asked: string[] = [];
    let last: SearchState | null = null;
    const s = createSearch({ searchEnterprises: async (a) => { asked.push(a.query); return [hit(a.query)]; } }, (st) => (last = st), { timers });
    s.setQuery('j'); s.setQuery('jt'); s.setQuery('jtx'); s.setQuery('jtxc');
    expect(asked).toEqual([]);
    expect(last!.loading).toBe(true);
    fire();
    await flush();
    expect(asked).toEqual(['jtxc']);
    expect(last!.loading).toBe(false);
    expect(last!.hits.map((h) => h.name)).toEqual(['jtxc']);
  });

  it('a slow earlier answer never overwrites a later one', async () => {
    const { timers, fire } = manualTimers();
    const resolvers: Record<string, (h: EnterpriseHit[]) => void> = {};
    let last: SearchState | null = null;
    const s = createSearch({ searchEnterprises: (a) => new Promise((r) => (resolvers[a.query] = r)) }, (st) => (last = st), { timers });
    s.setQuery('jt'); fire();
    s.setQuery('jtxc'); fire();
    resolvers['jtxc']([hit('new')]);
    await flush();
    resolvers['jt']([hit('old')]);
    await flush();
    expect(last!.hits.map((h) => h.name)).toEqual(['new']);
  });

  it('filters search at once, and errors are kept as IpcError', async () => {
    const { timers } = manualTimers();
    let last: SearchState | null = null;
    const s = createSearch({ searchEnterprises: async () => { throw { code: 'store.bad_query', message: 'x' }; } }, (st) => (last = st), { timers });
    s.setFilters({ leased: true });
    await flush();
    expect(last!.error?.code).toBe('store.bad_query');
    expect(last!.filters).toEqual({ leased: true });
  });

  it('an empty query lists the grid; an overlong one asks nothing', async () => {
    const { timers, fire } = manualTimers();
    const asked: string[] = [];
    const s = createSearch({ searchEnterprises: async (a) => { asked.push(a.query); return []; } }, () => {}, { timers });
    s.setQuery('   '); fire(); await flush();
    s.setQuery('x'.repeat(65)); fire(); await flush();
    expect(asked).toEqual(['']);
  });
});
