import { describe, expect, it } from 'vitest';
import { dataUrlToBytes, exportPng, isPng, render, SignatureModel, type Ctx2D } from './signature';

function recorder() {
  const ops: string[] = [];
  const ctx = { lineWidth: 0, lineCap: 'butt', lineJoin: 'miter', strokeStyle: '', fillStyle: '',
    beginPath: () => ops.push('begin'), moveTo: (x: number, y: number) => ops.push(`M${x},${y}`), lineTo: (x: number, y: number) => ops.push(`L${x},${y}`),
    arc: () => ops.push('arc'), fill: () => ops.push('fill'), stroke: () => ops.push('stroke'), fillRect: () => ops.push('clear') } as Ctx2D;
  return { ops, ctx };
}
// 1×1 transparent PNG.
const PNG_URL = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

describe('signature pad', () => {
  it('a tap is not a signature; a stroke is', () => {
    const m = new SignatureModel();
    m.begin({ x: 1, y: 1 });
    expect(m.isSigned).toBe(false);
    m.extend({ x: 1.2, y: 1.2 }); // jitter is dropped
    expect(m.strokes[0]).toHaveLength(1);
    m.extend({ x: 30, y: 1 });
    expect(m.isSigned).toBe(true);
    m.clear();
    expect(m.isSigned).toBe(false);
  });
  it('renders strokes on white, dots for taps', () => {
    const m = new SignatureModel();
    m.begin({ x: 0, y: 0 }); m.extend({ x: 10, y: 0 });
    m.begin({ x: 5, y: 5 });
    const { ops, ctx } = recorder();
    render(ctx, m, 100, 50);
    expect(ops).toEqual(['clear', 'begin', 'M0,0', 'L10,0', 'stroke', 'begin', 'arc', 'fill']);
    expect(ctx.strokeStyle).toBe('#000000');
  });
  it('exports PNG bytes', () => {
    const bytes = dataUrlToBytes(PNG_URL);
    expect(isPng(bytes)).toBe(true);
    const { ctx } = recorder();
    const m = new SignatureModel();
    const out = exportPng({ width: 10, height: 10, getContext: () => ctx, toDataURL: () => PNG_URL }, m);
    expect(isPng(out)).toBe(true);
    expect(() => dataUrlToBytes('data:image/jpeg;base64,AAAA')).toThrow();
  });
});
