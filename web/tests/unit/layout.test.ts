import { describe, expect, it } from "vitest";
import type { Section } from "../../src/api";
import { cellSizeFor, computeLayout, labelCols, neighbour } from "../../src/seatmap/layout";

function sections(): Section[] {
  return [
    { name: "A", rows: [
      { label: "1", tier: "premium", first: 1, count: 4, pos: 0 },
      { label: "2", tier: "premium", first: 1, count: 2, pos: 4 },
    ] },
    { name: "B", rows: [{ label: "1", tier: "standard", first: 5, count: 3, pos: 6 }] },
  ];
}

describe("seat map layout", () => {
  it("gives every seat its own cell and names it", () => {
    const layout = computeLayout(sections(), { width: 1000, cell: 10 });
    expect(layout.seatCount).toBe(9);
    const cells = new Set<string>();
    for (let pos = 0; pos < layout.seatCount; pos++) {
      const key = `${layout.seatCol[pos]},${layout.seatRow[pos]}`;
      expect(cells.has(key)).toBe(false);
      cells.add(key);
      expect(layout.at(layout.seatCol[pos], layout.seatRow[pos])).toBe(pos);
    }
    expect(layout.info(0).id).toBe("A-1-1");
    expect(layout.info(5)).toMatchObject({ id: "A-2-2", row: "2", number: 2, tier: "premium" });
    expect(layout.info(6).id).toBe("B-1-5");
    expect(layout.positionOf("B-1-7")).toBe(8);
    expect(layout.positionOf("Z-1-1")).toBe(-1);
    expect(layout.at(-1, 0)).toBe(-1);
  });

  it("centres a short row under a long one", () => {
    const layout = computeLayout(sections(), { width: 1000, cell: 10 });
    expect(layout.seatCol[4]).toBe(layout.seatCol[0] + 1);
  });

  it("leaves a section narrower than its label the label's width", () => {
    const layout = computeLayout(sections(), { width: 1000, cell: 18 });
    const [a, b] = layout.sections;
    expect(a.cols).toBe(4);
    expect(labelCols("A", 18)).toBeGreaterThan(4);
    expect(b.col).toBeGreaterThanOrEqual(a.col + labelCols("A", 18) + 1);
    expect(layout.cols).toBeGreaterThanOrEqual(b.col + labelCols("B", 18));
  });

  it("wraps sections that do not fit the width", () => {
    const wide = computeLayout(sections(), { width: 1000, cell: 10 });
    const narrow = computeLayout(sections(), { width: 50, cell: 10 });
    expect(wide.seatRow[6]).toBe(wide.seatRow[0]);
    expect(narrow.seatRow[6]).toBeGreaterThan(narrow.seatRow[5]);
  });

  it("moves the keyboard focus along rows and between them", () => {
    const layout = computeLayout(sections(), { width: 1000, cell: 10 });
    expect(neighbour(layout, 0, "ArrowRight")).toBe(1);
    expect(neighbour(layout, 3, "ArrowRight")).toBe(3);
    expect(neighbour(layout, 0, "ArrowLeft")).toBe(0);
    expect(neighbour(layout, 2, "End")).toBe(3);
    expect(neighbour(layout, 2, "Home")).toBe(0);
    expect(neighbour(layout, 1, "ArrowDown")).toBe(4); // nearest seat of row 2
    expect(neighbour(layout, 5, "ArrowUp")).toBe(2);
    expect(neighbour(layout, 0, "ArrowUp")).toBe(0);
  });

  it("lays out 20,000 seats with small cells", () => {
    const rows = Array.from({ length: 200 }, (_, i) => ({ label: String(i + 1), tier: "std", first: 1, count: 100, pos: i * 100 }));
    const layout = computeLayout([{ name: "F", rows }], { width: 1100 });
    expect(layout.seatCount).toBe(20_000);
    expect(layout.cell).toBe(cellSizeFor(20_000));
    expect(layout.positionOf("F-200-100")).toBe(19_999);
  });
});
