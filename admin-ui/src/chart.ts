/**
 * A small line chart on a canvas: the last `capacity` values of one series, newest at the right,
 * scaled to the largest, redrawn on every push. Colours come from the page's CSS variables (theme-aware).
 */
export class LineChart {
  readonly canvas: HTMLCanvasElement;
  #values: number[] = [];

  constructor(
    readonly label: string,
    private readonly capacity = 60,
  ) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'chart';
    this.canvas.setAttribute('aria-label', label);
    this.canvas.width = 600;
    this.canvas.height = 140;
  }

  get last(): number | undefined {
    return this.#values[this.#values.length - 1];
  }

  push(v: number): void {
    this.#values.push(v);
    // The value drawn, for assistive technology and tests (a canvas has no text to read).
    this.canvas.dataset['last'] = String(v);
    if (this.#values.length > this.capacity) this.#values.shift();
    this.draw();
  }

  draw(): void {
    const ctx = this.canvas.getContext('2d');
    if (ctx === null) return;
    // Drawn at the size it is shown, in device pixels, so text stays sharp on a phone.
    const dpr = window.devicePixelRatio || 1;
    const cssW = this.canvas.clientWidth || 600;
    const cssH = this.canvas.clientHeight || 140;
    if (this.canvas.width !== Math.round(cssW * dpr) || this.canvas.height !== Math.round(cssH * dpr)) {
      this.canvas.width = Math.round(cssW * dpr);
      this.canvas.height = Math.round(cssH * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const style = getComputedStyle(document.documentElement);
    const fg = style.getPropertyValue('--accent').trim() || '#3b82f6';
    const grid = style.getPropertyValue('--border').trim() || '#ccc';
    const text = style.getPropertyValue('--muted').trim() || '#666';
    const w = cssW;
    const h = cssH;
    ctx.clearRect(0, 0, w, h);
    const max = Math.max(1, ...this.#values);
    ctx.strokeStyle = grid;
    ctx.lineWidth = 1;
    for (const f of [0.25, 0.5, 0.75]) {
      ctx.beginPath();
      ctx.moveTo(0, h * f);
      ctx.lineTo(w, h * f);
      ctx.stroke();
    }
    ctx.fillStyle = text;
    ctx.font = '12px system-ui, sans-serif';
    ctx.fillText(`${this.label}: ${this.last ?? 0} (max ${Math.round(max * 100) / 100})`, 8, 16);
    if (this.#values.length === 0) return;
    if (this.#values.length === 1) {
      // One sample so far: a dot where the line will start, so the chart is not blank until the next poll.
      ctx.fillStyle = fg;
      ctx.beginPath();
      ctx.arc(w - 4, h - 4 - (this.#values[0]! / max) * (h - 28), 3, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    ctx.strokeStyle = fg;
    ctx.lineWidth = 2;
    ctx.beginPath();
    // The newest value at the right edge; older ones to its left, one step each.
    const step = w / (this.capacity - 1);
    const n = this.#values.length;
    this.#values.forEach((v, i) => {
      const x = w - (n - 1 - i) * step;
      const y = h - 4 - (v / max) * (h - 28);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
}
