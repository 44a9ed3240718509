// 疑似单位核实: the grid worker's answer to a suspected unit (a tip naming an address but
// no registered enterprise, docs/tips.md) — the unit found there by its USCC, or 查无此单位
// with a note — what is wrong with it before anything is sent, and the
// `answer_suspected` argument. The device checks everything again.

import type { SuspectedAnswer } from './backend/types';
import type { MessageKey } from './i18n';
import { isUscc, normalizeUscc } from './lease';

export interface SuspectedForm {
  found: boolean;
  uscc: string;
  name: string;
  industry: string;
  note: string;
}

export function emptySuspectedForm(): SuspectedForm {
  return { found: true, uscc: '', name: '', industry: '', note: '' };
}

/** The problems of the form, per field, as message keys; empty when it can be sent. */
export function suspectedFormErrors(f: SuspectedForm): Partial<Record<keyof SuspectedForm, MessageKey>> {
  const e: Partial<Record<keyof SuspectedForm, MessageKey>> = {};
  if (f.found) {
    if (!isUscc(f.uscc)) e.uscc = f.uscc.trim() ? 'suspected.err.uscc' : 'suspected.err.uscc_missing';
    if (!f.name.trim()) e.name = 'suspected.err.name';
  } else if (!f.note.trim()) {
    e.note = 'suspected.err.note';
  }
  return e;
}

const opt = (s: string) => (s.trim() ? s.trim() : null);

/** The `answer_suspected` argument for a valid form: nothing of the unit when not found. */
export function toSuspectedAnswer(f: SuspectedForm, id: string): SuspectedAnswer {
  return f.found
    ? { suspected_id: id, found: true, uscc: normalizeUscc(f.uscc), name: f.name.trim(), industry: opt(f.industry), note: opt(f.note) }
    : { suspected_id: id, found: false, uscc: null, name: null, industry: null, note: f.note.trim() };
}
