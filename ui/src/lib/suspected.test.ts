import { describe, expect, it } from 'vitest';
import { FakeBackend } from './backend/fake';
import { emptySuspectedForm, suspectedFormErrors, toSuspectedAnswer } from './suspected';

const USCC = '91320413MA0000001M';

describe('疑似单位核实', () => {
  it('asks for a valid USCC and a name when found, for a note when not found', () => {
    const f = emptySuspectedForm();
    expect(suspectedFormErrors(f)).toEqual({ uscc: 'suspected.err.uscc_missing', name: 'suspected.err.name' });
    expect(suspectedFormErrors({ ...f, uscc: '91320413MA0000001X', name: '某厂' })).toEqual({ uscc: 'suspected.err.uscc' });
    expect(suspectedFormErrors({ ...f, uscc: USCC, name: '某厂' })).toEqual({});
    expect(suspectedFormErrors({ ...f, found: false })).toEqual({ note: 'suspected.err.note' });
    expect(suspectedFormErrors({ ...f, found: false, note: '空置厂房' })).toEqual({});
  });

  it('sends nothing of a unit when none was found, and the USCC as typed normalised', () => {
    const f = { ...emptySuspectedForm(), uscc: ' 9132 0413MA0000001m ', name: ' 某厂 ', note: ' ' };
    expect(toSuspectedAnswer(f, 'e1')).toEqual({ suspected_id: 'e1', found: true, uscc: USCC, name: '某厂', industry: null, note: null });
    expect(toSuspectedAnswer({ ...f, found: false, note: '空置厂房' }, 'e1'))
      .toEqual({ suspected_id: 'e1', found: false, uscc: null, name: null, industry: null, note: '空置厂房' });
  });

  it('the fake backend lists an open unit, registers the one found once, and refuses a bad USCC', async () => {
    const b = new FakeBackend();
    const [s] = await b.listSuspected();
    expect(s.address).toContain('后院');
    await expect(b.answerSuspected({ answer: { ...toSuspectedAnswer({ ...emptySuspectedForm(), uscc: USCC, name: '某厂' }, s.id), uscc: 'x' } }))
      .rejects.toMatchObject({ code: 'suspected.bad_uscc' });
    const done = await b.answerSuspected({ answer: toSuspectedAnswer({ ...emptySuspectedForm(), uscc: USCC, name: '某厂' }, s.id) });
    expect(done.state).toBe('confirmed');
    expect((await b.getEnterprise({ key: done.enterprise_id! })).uscc).toBe(USCC);
    expect(await b.listSuspected()).toEqual([]);
    await expect(b.answerSuspected({ answer: toSuspectedAnswer({ ...emptySuspectedForm(), found: false, note: 'x' }, s.id) }))
      .rejects.toMatchObject({ code: 'suspected.answered' });
  });
});
