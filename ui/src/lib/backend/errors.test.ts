import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, toIpcError } from './errors';
import { errorText, describeError } from './ipc';
import { zh } from '../i18n/zh';
import { en } from '../i18n/en';

const ipcMd = readFileSync(new URL('../../../../docs/ipc.md', import.meta.url), 'utf8');

describe('error codes', () => {
  it('every known code has Chinese and English text', () => {
    for (const code of ERROR_CODES) {
      expect(zh, code).toHaveProperty(`error.${code}`);
      expect(en, code).toHaveProperty(`error.${code}`);
    }
  });
  it('every error text belongs to a known code (no stale texts)', () => {
    const texts = Object.keys(zh).filter((k) => k.startsWith('error.') && k !== 'error.generic').map((k) => k.slice(6));
    expect(new Set(texts)).toEqual(new Set(ERROR_CODES));
  });
  it('docs/ipc.md lists exactly the known codes', () => {
    const documented = new Set([...ipcMd.matchAll(/^\| `([a-z_]+\.[a-z_]+)` \|/gm)].map((m) => m[1]));
    expect(documented).toEqual(new Set(ERROR_CODES));
  });
  it('maps codes to plain Chinese', () => {
    expect(errorText('store.not_found', 'zh')).toBe('未找到该企业');
    expect(errorText('inspect.incomplete', 'zh')).toBe('还有必答项未完成');
    expect(errorText('network.offline', 'zh')).toBe('连不上服务器（无网络或服务器未开），数据已保存在手机上，稍后自动上传');
    expect(errorText('no.such_code', 'zh')).toBe('操作失败（no.such_code）');
    expect(errorText('server.http_502', 'zh')).toBe('服务器出错，稍后自动重试');
    expect(errorText('store.not_found', 'en')).toBe('Enterprise not found');
  });
  it('anything invoke rejects with becomes an IpcError', () => {
    expect(toIpcError({ code: 'store.not_found', message: 'x' })).toEqual({ code: 'store.not_found', message: 'x' });
    expect(toIpcError('command finalize_inspection not found').code).toBe('ipc.command_missing');
    expect(toIpcError(new Error('boom'))).toEqual({ code: 'ipc.unknown', message: 'boom' });
    expect(describeError({ code: 'server.device_revoked', message: '' }, 'zh')).toBe('本设备已被管理员停用，请联系管理员');
  });
});
