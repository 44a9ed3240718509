// The search box: what a query will be matched as (mirrors gridwalk-core's
// `SearchQuery::parse`, so the hint under the box says what the store will do), and a
// debounced controller that drops stale answers.

import type { Backend } from './backend/ipc';
import type { EnterpriseFilters, EnterpriseHit, IpcError } from './backend/types';
import { toIpcError } from './backend/errors';

export const MAX_QUERY_CHARS = 64;
const USCC_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';

export type QueryKind = 'uscc' | 'pinyin' | 'substring';

export type Classified =
  | { kind: 'empty' }
  | { kind: 'too_long' }
  | { kind: QueryKind; text: string };

/** Same rules as `gridwalk_core::search::SearchQuery::parse`. */
export function classifyQuery(input: string): Classified {
  const text = [...input].filter((c) => !/\s/.test(c)).join('');
  if (text.length === 0) return { kind: 'empty' };
  if ([...text].length > MAX_QUERY_CHARS) return { kind: 'too_long' };
  const upper = [...text].filter((c) => !['-', '\u3000'].includes(c)).join('').toUpperCase();
  const chars = [...upper];
  const usccLike = chars.every((c) => USCC_ALPHABET.includes(c)) && chars.some((c) => c >= '0' && c <= '9') && chars.length <= 18;
  if (usccLike) return { kind: 'uscc', text: upper };
  if (/^[A-Za-z0-9]+$/.test(text)) return { kind: 'pinyin', text: text.toLowerCase() };
  return { kind: 'substring', text: text.toLowerCase() };
}

/** Message key for the hint under the search box, or null when there is nothing to say. */
export function queryHintKey(c: Classified): 'search.kind.pinyin' | 'search.kind.substring' | 'search.kind.uscc' | 'search.kind.too_long' | null {
  switch (c.kind) {
    case 'pinyin': return 'search.kind.pinyin';
    case 'substring': return 'search.kind.substring';
    case 'uscc': return 'search.kind.uscc';
    case 'too_long': return 'search.kind.too_long';
    default: return null;
  }
}

export interface SearchState {
  query: string;
  filters: EnterpriseFilters;
  loading: boolean;
  hits: EnterpriseHit[];
  error: IpcError | null;
}

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export const SEARCH_LIMIT = 100;
export const SEARCH_DEBOUNCE_MS = 250;

/**
 * Debounced search: each change restarts the timer; only the newest request's answer
 * is published (a slow early answer never overwrites a later one). An empty query lists
 * the whole grid with the filters.
 */
export function createSearch(
  backend: Pick<Backend, 'searchEnterprises'>,
  publish: (s: SearchState) => void,
  opts: { delayMs?: number; timers?: Timers; limit?: number } = {},
) {
  const delay = opts.delayMs ?? SEARCH_DEBOUNCE_MS;
  const timers = opts.timers ?? realTimers;
  const limit = opts.limit ?? SEARCH_LIMIT;
  let state: SearchState = { query: '', filters: {}, loading: false, hits: [], error: null };
  let handle: unknown = null;
  let seq = 0;

  function emit(patch: Partial<SearchState>) {
    state = { ...state, ...patch };
    publish(state);
  }

  async function run(mySeq: number) {
    const c = classifyQuery(state.query);
    if (c.kind === 'too_long') {
      emit({ loading: false, hits: [], error: null });
      return;
    }
    try {
      const hits = await backend.searchEnterprises({ query: c.kind === 'empty' ? '' : state.query.trim(), filters: state.filters, limit });
      if (mySeq === seq) emit({ loading: false, hits, error: null });
    } catch (e) {
      if (mySeq === seq) emit({ loading: false, error: toIpcError(e) });
    }
  }

  function schedule(immediate: boolean) {
    if (handle !== null) timers.clear(handle);
    const mySeq = ++seq;
    emit({ loading: true });
    if (immediate) {
      handle = null;
      void run(mySeq);
    } else {
      handle = timers.set(() => {
        handle = null;
        void run(mySeq);
      }, delay);
    }
  }

  return {
    setQuery(q: string) {
      state = { ...state, query: q };
      schedule(false);
    },
    setFilters(f: EnterpriseFilters) {
      state = { ...state, filters: f };
      schedule(true);
    },
    refresh() {
      schedule(true);
    },
    get state() {
      return state;
    },
    dispose() {
      if (handle !== null) timers.clear(handle);
      seq++;
    },
  };
}
