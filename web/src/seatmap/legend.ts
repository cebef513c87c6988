// Legend swatches drawn as the map draws the seats: the same colours and
// the same marks (dot, stripe, cross), so the legend never relies on colour.

import { COLOURS, tierColour } from "./view";

export type SwatchKind = "available" | "mine" | "held" | "sold";

export function legendSwatch(kind: SwatchKind, tierIndex: number): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "16");
  svg.setAttribute("aria-hidden", "true");
  svg.classList.add("swatch");
  const rect = document.createElementNS(ns, "rect");
  rect.setAttribute("x", "1");
  rect.setAttribute("y", "1");
  rect.setAttribute("width", "14");
  rect.setAttribute("height", "14");
  const fill = { available: tierColour(tierIndex), mine: COLOURS.mine, held: COLOURS.held, sold: COLOURS.sold }[kind];
  rect.setAttribute("fill", fill);
  svg.append(rect);
  const mark = (d: string, stroke: string) => {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    path.setAttribute("stroke", stroke);
    path.setAttribute("stroke-width", "1.5");
    path.setAttribute("fill", stroke);
    svg.append(path);
  };
  if (kind === "mine") mark("M6 6h4v4h-4z", COLOURS.mineMark);
  if (kind === "held") mark("M1 15L15 1", COLOURS.heldMark);
  if (kind === "sold") mark("M3 3L13 13M13 3L3 13", COLOURS.soldMark);
  return svg;
}
