// Where each seat of a seat map goes, on a grid of square cells.
//
// Sections are blocks of rows, placed left to right and wrapped to the
// available width; every seat sits on the grid, so finding the seat under
// the pointer is one array lookup, and a seat change redraws one cell.
// Pure: no DOM, so it is unit-tested.

import type { Section } from "../api";

export interface SeatInfo {
  id: string; // "A-3-17"
  section: string;
  row: string;
  number: number;
  tier: string;
}

export interface SectionBox {
  name: string;
  col: number; // grid cell of the block's top-left seat
  row: number;
  cols: number;
  rows: number;
}

export interface Layout {
  cell: number; // pixels per grid cell
  cols: number; // grid size
  rows: number;
  seatCount: number;
  seatCol: Int32Array; // by seat position
  seatRow: Int32Array;
  rowStart: Int32Array; // by seat position: the position of its row's first seat
  rowLength: Int32Array; // by seat position: its row's seat count
  sections: SectionBox[];
  grid: Int32Array; // cols*rows: seat position, or -1
  info(pos: number): SeatInfo;
  at(col: number, row: number): number; // -1 when no seat
  positionOf(id: string): number; // -1 when unknown
}

export interface LayoutOptions {
  width: number; // pixels available
  cell?: number; // forced cell size; else chosen from the seat count
}

// Cells of room for a section's label above its block, and between blocks.
const LABEL_ROWS = 2;
const GAP = 2;

// Cells that "Section <name>" takes above a block: the view draws it in a
// bold system font of max(11, cell) px, about 0.65 em a character at most.
export function labelCols(name: string, cell: number): number {
  return Math.ceil((`Section ${name}`.length * Math.max(11, cell) * 0.65) / cell);
}

export function cellSizeFor(seatCount: number): number {
  if (seatCount <= 2_500) return 18;
  if (seatCount <= 8_000) return 12;
  return 8;
}

export function computeLayout(sections: Section[], options: LayoutOptions): Layout {
  let seatCount = 0;
  for (const s of sections) for (const r of s.rows) seatCount = Math.max(seatCount, r.pos + r.count);
  const cell = options.cell ?? cellSizeFor(seatCount);
  const maxCols = Math.max(1, Math.floor(options.width / cell));

  const seatCol = new Int32Array(seatCount);
  const seatRow = new Int32Array(seatCount);
  const rowStart = new Int32Array(seatCount);
  const rowLength = new Int32Array(seatCount);
  const boxes: SectionBox[] = [];
  const rowOf: { section: string; row: (typeof sections)[number]["rows"][number] }[] = [];
  const rowIndexOfPos = new Int32Array(seatCount);

  // Flow the blocks: left to right, wrapping, a line as tall as its tallest block.
  let x = 0;
  let y = 0;
  let lineHeight = 0;
  let gridCols = 1;
  for (const section of sections) {
    const cols = section.rows.reduce((m, r) => Math.max(m, r.count), 0);
    const rows = section.rows.length;
    // A block narrower than its label takes the label's width, so that
    // the label is not cut by the canvas's edge or drawn over the next one.
    const span = Math.max(cols, labelCols(section.name, cell));
    if (x > 0 && x + span > maxCols) {
      x = 0;
      y += lineHeight + GAP;
      lineHeight = 0;
    }
    const box: SectionBox = { name: section.name, col: x, row: y + LABEL_ROWS, cols, rows };
    boxes.push(box);
    section.rows.forEach((r, i) => {
      const offset = Math.floor((cols - r.count) / 2); // shorter rows centred
      const index = rowOf.length;
      rowOf.push({ section: section.name, row: r });
      for (let k = 0; k < r.count; k++) {
        const pos = r.pos + k;
        seatCol[pos] = box.col + offset + k;
        seatRow[pos] = box.row + i;
        rowStart[pos] = r.pos;
        rowLength[pos] = r.count;
        rowIndexOfPos[pos] = index;
      }
    });
    x += span + GAP;
    gridCols = Math.max(gridCols, box.col + span);
    lineHeight = Math.max(lineHeight, rows + LABEL_ROWS);
  }
  const gridRows = Math.max(1, ...boxes.map((b) => b.row + b.rows));
  const grid = new Int32Array(gridCols * gridRows).fill(-1);
  for (let pos = 0; pos < seatCount; pos++) grid[seatRow[pos] * gridCols + seatCol[pos]] = pos;

  let ids: Map<string, number> | null = null;
  const info = (pos: number): SeatInfo => {
    const { section, row } = rowOf[rowIndexOfPos[pos]];
    const number = row.first + (pos - row.pos);
    return { id: `${section}-${row.label}-${number}`, section, row: row.label, number, tier: row.tier };
  };
  return {
    cell,
    cols: gridCols,
    rows: gridRows,
    seatCount,
    seatCol,
    seatRow,
    rowStart,
    rowLength,
    sections: boxes,
    grid,
    info,
    at(col, row) {
      if (col < 0 || row < 0 || col >= gridCols || row >= gridRows) return -1;
      return grid[row * gridCols + col];
    },
    positionOf(id) {
      if (!ids) {
        ids = new Map();
        for (let pos = 0; pos < seatCount; pos++) ids.set(info(pos).id, pos);
      }
      return ids.get(id) ?? -1;
    },
  };
}

// The seat a keyboard arrow moves to from `pos`: along the row, or to the
// nearest seat of the row above or below (which may be in another section).
export function neighbour(layout: Layout, pos: number, key: string): number {
  const start = layout.rowStart[pos];
  const length = layout.rowLength[pos];
  switch (key) {
    case "ArrowLeft":
      return pos > start ? pos - 1 : pos;
    case "ArrowRight":
      return pos < start + length - 1 ? pos + 1 : pos;
    case "Home":
      return start;
    case "End":
      return start + length - 1;
    case "ArrowUp":
    case "ArrowDown": {
      // The row before this one starts just before `start`; the next one at start + length.
      const other = key === "ArrowUp" ? start - 1 : start + length;
      if (other < 0 || other >= layout.seatCount) return pos;
      const otherStart = layout.rowStart[other];
      const otherLength = layout.rowLength[other];
      // The seat of that row nearest in column.
      let best = otherStart;
      let bestDistance = Infinity;
      for (let p = otherStart; p < otherStart + otherLength; p++) {
        const d = Math.abs(layout.seatCol[p] - layout.seatCol[pos]);
        if (d < bestDistance) {
          best = p;
          bestDistance = d;
        }
      }
      return best;
    }
    default:
      return pos;
  }
}
