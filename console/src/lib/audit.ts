// The audit log page's logic (docs/security.md "Audit log"): who may open it, and how
// an entry's action and detail are shown.
import type { AuditEntry, Session } from './types';
import { hasKey, t } from './i18n';

/** Administrators and district officers read the log (the server answers others 403). */
export function canReadAudit(s: Session): boolean {
  return s.role === 'admin' || (s.role === 'officer' && /^\d{6}0{6}$/.test(s.jurisdiction));
}

/** The action's Chinese (or English) label, else its code. */
export function actionLabel(code: string): string {
  const key = `audit.action.${code}`;
  return hasKey(key) ? t(key as 'audit.action.login.ok') : code;
}

/** What an entry acted on: `hazard 0193…` (ids shortened), or empty. */
export function targetText(e: Pick<AuditEntry, 'target_kind' | 'target_id'>): string {
  if (!e.target_kind) return e.target_id ?? '';
  const id = e.target_id ?? '';
  return `${e.target_kind} ${id.length > 20 ? `${id.slice(0, 8)}…` : id}`;
}

/** The detail as indented JSON (the stored text as is, if it does not parse). */
export function detailText(detail: string): string {
  try {
    const v = JSON.parse(detail);
    return v && typeof v === 'object' && Object.keys(v).length === 0 ? '' : JSON.stringify(v, null, 1);
  } catch {
    return detail;
  }
}
