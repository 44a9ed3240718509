// Every error code the UI knows. docs/ipc.md lists the same codes; a unit test checks
// that each has Chinese and English text, and that docs/ipc.md names each one.

import type { IpcError } from './types';

/** Codes raised by the device store and the app shell (Rust `code()` methods). */
export const ERROR_CODES = [
  // gridwalk-device StoreError
  'store.sqlite',
  'store.schema_too_new',
  'store.migration_failed',
  'store.open_failed',
  'store.key',
  'store.not_found',
  'store.corrupt',
  'store.bad_query',
  'store.serialize',
  'store.outside_jurisdiction',
  // gridwalk-device EvidenceError
  'evidence.bad_photo',
  'evidence.bad_position',
  'evidence.files',
  'evidence.read_failed',
  'evidence.too_large',
  'evidence.payload',
  // gridwalk-device InspectionError
  'template.not_found',
  'template.invalid',
  'template.in_use',
  'template.bad_workbook',
  'inspect.not_found',
  'inspect.unknown_role',
  'inspect.empty_inspector',
  'inspect.unknown_item',
  'inspect.not_applicable',
  'inspect.wrong_type',
  'inspect.bad_answer',
  'inspect.photo_item',
  'inspect.already_finalized',
  'inspect.not_finalized',
  'inspect.already_superseded',
  'lease.bad_uscc',
  'lease.unknown_enterprise',
  'lease.unknown_site',
  'lease.unknown_village',
  'lease.bad_dates',
  'lease.outside_jurisdiction',
  'lease.bad_input',
  // gridwalk-device SuspectedAnswerError (疑似单位核实)
  'suspected.bad_uscc',
  'suspected.unknown',
  'suspected.answered',
  'suspected.outside_jurisdiction',
  'suspected.bad_input',
  'inspect.incomplete',
  'hazard.not_found',
  'hazard.illegal_transition',
  'hazard.bad_date',
  'inspect.role_not_allowed',
  'inspect.signature_required',
  'inspect.text_too_long',
  'inspect.payload_too_large',
  'hazard.after_photo_required',
  'hazard.plan_deadline_later',
  'hazard.plan_deadline_before_found',
  'hazard.plan_incomplete',
  'signature.bad_image',
  'signature.too_large',
  'signature.too_many',
  // app shell (src-tauri)
  'app.not_enrolled',
  'app.bad_argument',
  'enroll.bad_url',
  'enroll.bad_qr',
  'scan.cancelled',
  'scan.unavailable',
  // the device sync client (gridwalk-device SyncError)
  'network.offline',
  'network.timeout',
  'network.interrupted',
  'network.untrusted_certificate',
  'sync.not_enrolled',
  'sync.already_running',
  'sync.bad_server_url',
  'sync.insecure_server_url',
  'sync.bad_ca_cert',
  'sync.bad_receipt',
  'sync.lock_file',
  'evidence.local_file',
  'evidence.chain_broken',
  'sync.switch_server_unconfirmed',
  'sync.pending_work_of_another_user',
  'server.sequence_gap',
  'server.malformed_change',
  // server problems (docs/sync-protocol.md), prefixed `server.`
  'server.malformed_body',
  'server.body_too_large',
  'server.batch_too_large',
  'server.unsupported_media_type',
  'server.protocol_version_unsupported',
  'server.unauthenticated',
  'server.device_revoked',
  'server.forbidden_jurisdiction',
  'server.enrollment_code_invalid',
  'server.enrollment_code_used',
  'server.not_found',
  'server.upload_offset_mismatch',
  'server.checksum_mismatch',
  'server.checksum_algorithm_unsupported',
  'server.photo_hash_mismatch',
  'server.photo_not_referenced',
  'server.upload_length_invalid',
  'server.tus_version_unsupported',
  'server.unavailable',
  'server.internal',
  'server.payload_hash_mismatch',
  'server.payload_invalid',
  'server.seq_reused',
  'server.unknown_enterprise',
  'server.method_not_allowed',
  'server.request_timeout',
  'server.forbidden_role',
  'server.unknown_hazard',
  'server.record_id_taken',
  'server.chain_broken',
  'server.too_many_uploads',
  'server.rate_limited',
  'server.account_disabled',
  'server.unrecognized',
  'server.record_conflict',
  'server.payload_too_large',
  'server.sequence_reused',
  'sync.reconciled',
  'sync.needs_attention',
  // raised by the UI itself
  'ipc.unknown',
  'ipc.command_missing',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const KNOWN = new Set<string>(ERROR_CODES);

export function isKnownCode(code: string): code is ErrorCode {
  return KNOWN.has(code);
}

/** Turns whatever `invoke` rejected with into an `IpcError`. */
export function toIpcError(e: unknown): IpcError {
  if (e && typeof e === 'object' && 'code' in e && typeof (e as IpcError).code === 'string') {
    const err = e as IpcError;
    return { ...err, message: typeof err.message === 'string' ? err.message : '' };
  }
  const message = e instanceof Error ? e.message : String(e);
  // Tauri's own refusal when the shell lacks a command.
  if (/command .* not found|not allowed|unknown command/i.test(message)) {
    return { code: 'ipc.command_missing', message };
  }
  return { code: 'ipc.unknown', message };
}

export function isIpcError(e: unknown): e is IpcError {
  return !!e && typeof e === 'object' && typeof (e as IpcError).code === 'string' && typeof (e as IpcError).message === 'string';
}
