// The seat map on a canvas: 20,000 seats drawn once, then only the seats
// that change, in the next animation frame. Seats are told apart by shape as
// well as colour (the legend shows both), and the map is operable by
// keyboard: arrows move between seats, Enter or Space selects, and a live
// region reads out the seat under focus.

import type { Tier } from "../api";
import { formatMoney } from "../format";
import { neighbour, type Layout } from "./layout";

export const AVAILABLE = 65; // 'A'
export const HELD = 72; // 'H'
export const SOLD = 83; // 'S'

const TIER_COLOURS = ["#2458d6", "#0f8a62", "#b3560e", "#7d3cc2", "#b8245c", "#3d7a99"];
export const COLOURS = {
  held: "#b9c0c8",
  heldMark: "#6b7480",
  sold: "#343a42",
  soldMark: "#c9ced4",
  mine: "#f2b705",
  mineMark: "#1c1c1c",
  focus: "#111111",
  label: "#333333",
};

export function tierColour(index: number): string {
  return TIER_COLOURS[index % TIER_COLOURS.length];
}

export interface SeatMapViewOptions {
  layout: Layout;
  tiers: Tier[];
  currency: string;
  states: Uint8Array; // by position: AVAILABLE, HELD or SOLD
  // Whether the buyer has this seat selected (or held).
  isMine(pos: number): boolean;
  // A click, Enter or Space on a seat.
  onActivate(pos: number): void;
  announce(text: string): void;
}

export class SeatMapView {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly tierIndex = new Map<string, number>();
  private readonly priceOf = new Map<string, number>();
  private dirty = new Set<number>();
  private frame = 0;
  private focused = 0;
  private readonly dpr: number;

  constructor(private readonly options: SeatMapViewOptions) {
    const { layout } = options;
    options.tiers.forEach((t, i) => {
      this.tierIndex.set(t.name, i);
      this.priceOf.set(t.name, t.price_minor);
    });
    this.canvas = document.createElement("canvas");
    this.dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
    const width = layout.cols * layout.cell;
    const height = layout.rows * layout.cell;
    this.canvas.width = Math.ceil(width * this.dpr);
    this.canvas.height = Math.ceil(height * this.dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute("role", "application");
    this.canvas.setAttribute("aria-roledescription", "seat map");
    this.canvas.setAttribute(
      "aria-label",
      `Seat map, ${layout.seatCount} seats. Arrow keys move between seats, Home and End go to the ends of a row, Enter or Space selects the seat.`,
    );
    const ctx = this.canvas.getContext("2d", { alpha: false });
    if (!ctx) throw new Error("this browser cannot draw on a canvas");
    this.ctx = ctx;
    this.ctx.scale(this.dpr, this.dpr);

    this.canvas.addEventListener("click", (e) => this.onClick(e));
    this.canvas.addEventListener("mousemove", (e) => this.onHover(e));
    this.canvas.addEventListener("keydown", (e) => this.onKey(e));
    this.canvas.addEventListener("focus", () => {
      this.redraw(this.focused);
      this.announceSeat(this.focused);
    });
    this.canvas.addEventListener("blur", () => this.redraw(this.focused));
  }

  // Draws everything; the first render of a page.
  renderAll(): void {
    const { ctx } = this;
    const { layout } = this.options;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, layout.cols * layout.cell, layout.rows * layout.cell);
    ctx.fillStyle = COLOURS.label;
    ctx.font = `600 ${Math.max(11, layout.cell)}px system-ui, sans-serif`;
    ctx.textBaseline = "middle";
    for (const box of layout.sections) {
      ctx.fillText(`Section ${box.name}`, box.col * layout.cell, (box.row - 1) * layout.cell);
    }
    for (let pos = 0; pos < layout.seatCount; pos++) this.drawSeat(pos);
  }

  // Marks seats to redraw in the next frame (after their state changed).
  redraw(...positions: number[]): void {
    for (const p of positions) this.dirty.add(p);
    if (this.frame === 0) this.frame = requestAnimationFrame(() => this.flush());
  }

  setState(pos: number, state: number): void {
    if (pos < 0 || pos >= this.options.states.length) return;
    this.options.states[pos] = state;
    this.redraw(pos);
  }

  focusSeat(pos: number): void {
    const previous = this.focused;
    this.focused = pos;
    this.redraw(previous, pos);
    this.announceSeat(pos);
  }

  describe(pos: number): string {
    const { layout, states, currency } = this.options;
    const seat = layout.info(pos);
    const price = this.priceOf.get(seat.tier);
    const state = this.options.isMine(pos)
      ? "selected"
      : states[pos] === AVAILABLE
        ? "available"
        : states[pos] === HELD
          ? "held by another buyer"
          : "sold";
    const money = price === undefined ? "" : `, ${formatMoney(price, currency)}`;
    return `Section ${seat.section}, row ${seat.row}, seat ${seat.number}, ${seat.tier}${money}: ${state}`;
  }

  private flush(): void {
    this.frame = 0;
    const dirty = this.dirty;
    this.dirty = new Set();
    for (const pos of dirty) this.drawSeat(pos);
  }

  private drawSeat(pos: number): void {
    const { ctx } = this;
    const { layout, states } = this.options;
    const c = layout.cell;
    const x = layout.seatCol[pos] * c;
    const y = layout.seatRow[pos] * c;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(x, y, c, c);
    const inset = c >= 12 ? 2 : 1;
    const size = c - 2 * inset;
    const sx = x + inset;
    const sy = y + inset;
    const state = states[pos];
    if (this.options.isMine(pos)) {
      ctx.fillStyle = COLOURS.mine;
      ctx.fillRect(sx, sy, size, size);
      ctx.fillStyle = COLOURS.mineMark; // a dot in the middle
      const d = Math.max(2, Math.round(size / 3));
      ctx.fillRect(x + (c - d) / 2, y + (c - d) / 2, d, d);
    } else if (state === AVAILABLE) {
      ctx.fillStyle = tierColour(this.tierIndex.get(layout.info(pos).tier) ?? 0);
      ctx.fillRect(sx, sy, size, size);
    } else if (state === HELD) {
      ctx.fillStyle = COLOURS.held;
      ctx.fillRect(sx, sy, size, size);
      ctx.strokeStyle = COLOURS.heldMark; // one diagonal stripe
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(sx, sy + size);
      ctx.lineTo(sx + size, sy);
      ctx.stroke();
    } else {
      ctx.fillStyle = COLOURS.sold;
      ctx.fillRect(sx, sy, size, size);
      ctx.strokeStyle = COLOURS.soldMark; // a cross
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(sx + 1, sy + 1);
      ctx.lineTo(sx + size - 1, sy + size - 1);
      ctx.moveTo(sx + size - 1, sy + 1);
      ctx.lineTo(sx + 1, sy + size - 1);
      ctx.stroke();
    }
    if (pos === this.focused && document.activeElement === this.canvas) {
      ctx.strokeStyle = COLOURS.focus;
      ctx.lineWidth = 2;
      ctx.strokeRect(x + 1, y + 1, c - 2, c - 2);
    }
  }

  private seatAt(e: MouseEvent): number {
    const rect = this.canvas.getBoundingClientRect();
    const { layout } = this.options;
    const col = Math.floor((e.clientX - rect.left) / layout.cell);
    const row = Math.floor((e.clientY - rect.top) / layout.cell);
    return layout.at(col, row);
  }

  private onClick(e: MouseEvent): void {
    const pos = this.seatAt(e);
    if (pos < 0) return;
    this.focusSeat(pos);
    this.options.onActivate(pos);
  }

  private onHover(e: MouseEvent): void {
    const pos = this.seatAt(e);
    this.canvas.title = pos < 0 ? "" : this.describe(pos);
    this.canvas.style.cursor = pos < 0 ? "default" : "pointer";
  }

  private onKey(e: KeyboardEvent): void {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      this.options.onActivate(this.focused);
      this.announceSeat(this.focused);
      return;
    }
    const next = neighbour(this.options.layout, this.focused, e.key);
    if (next !== this.focused || e.key.startsWith("Arrow")) e.preventDefault();
    if (next !== this.focused) this.focusSeat(next);
  }

  private announceSeat(pos: number): void {
    this.options.announce(this.describe(pos));
  }
}
