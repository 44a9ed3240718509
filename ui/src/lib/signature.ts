// The signature pad's model: strokes of points in canvas pixels, drawn with a finger,
// exported as PNG bytes for `attach_signature`. Pure apart from the canvas it is handed.

export interface Point { x: number; y: number }
export type Stroke = Point[];

export interface Ctx2D {
  lineWidth: number;
  lineCap: CanvasLineCap;
  lineJoin: CanvasLineJoin;
  strokeStyle: string | CanvasGradient | CanvasPattern;
  fillStyle: string | CanvasGradient | CanvasPattern;
  beginPath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  arc(x: number, y: number, r: number, a0: number, a1: number): void;
  fill(): void;
  stroke(): void;
  fillRect(x: number, y: number, w: number, h: number): void;
}

export class SignatureModel {
  strokes: Stroke[] = [];

  begin(p: Point) {
    this.strokes.push([p]);
  }

  extend(p: Point) {
    const s = this.strokes[this.strokes.length - 1];
    if (!s) return;
    const last = s[s.length - 1];
    // Skip sub-pixel jitter.
    if (Math.hypot(p.x - last.x, p.y - last.y) >= 1) s.push(p);
  }

  clear() {
    this.strokes = [];
  }

  /** Long enough to be a signature, not a stray tap: at least 20 px of ink. */
  get isSigned(): boolean {
    let ink = 0;
    for (const s of this.strokes) for (let i = 1; i < s.length; i++) ink += Math.hypot(s[i].x - s[i - 1].x, s[i].y - s[i - 1].y);
    return ink >= 20;
  }
}

/** Paints the strokes black on white (a white background keeps the PNG legible anywhere). */
export function render(ctx: Ctx2D, model: SignatureModel, width: number, height: number, lineWidth = 3) {
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  ctx.strokeStyle = '#000000';
  ctx.fillStyle = '#000000';
  ctx.lineWidth = lineWidth;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  for (const s of model.strokes) {
    if (s.length === 1) {
      ctx.beginPath();
      ctx.arc(s[0].x, s[0].y, lineWidth / 2, 0, Math.PI * 2);
      ctx.fill();
      continue;
    }
    ctx.beginPath();
    ctx.moveTo(s[0].x, s[0].y);
    for (let i = 1; i < s.length; i++) ctx.lineTo(s[i].x, s[i].y);
    ctx.stroke();
  }
}

/** A `data:image/png;base64,…` URL decoded to bytes. */
export function dataUrlToBytes(url: string): Uint8Array {
  const m = /^data:image\/png;base64,(.*)$/.exec(url);
  if (!m) throw new Error('not a PNG data URL');
  const bin = atob(m[1]);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return PNG_MAGIC.every((b, i) => bytes[i] === b);
}

/** Renders onto the canvas and returns its PNG bytes. */
export function exportPng(canvas: { width: number; height: number; getContext(k: '2d'): unknown; toDataURL(type: string): string }, model: SignatureModel): Uint8Array {
  const ctx = canvas.getContext('2d') as Ctx2D | null;
  if (ctx) render(ctx, model, canvas.width, canvas.height);
  return dataUrlToBytes(canvas.toDataURL('image/png'));
}
