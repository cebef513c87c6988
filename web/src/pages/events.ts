import { loadFailureText, type EventInfo } from "../api";
import { h } from "../dom";
import { formatDate } from "../format";
import type { App } from "../main";

// "Sold out", or how many of its seats are left.
function availability(e: EventInfo): HTMLElement {
  const left = e.seats_available;
  if (left === undefined) return h("p", { class: "muted" }, `${e.seat_count.toLocaleString("en")} seats`);
  if (left === 0) return h("p", { class: "sold-out", "data-testid": "availability" }, "Sold out");
  return h("p", { class: "muted", "data-testid": "availability" }, `${left.toLocaleString("en")} of ${e.seat_count.toLocaleString("en")} seats left`);
}

export async function eventsPage(root: HTMLElement, app: App): Promise<() => void> {
  document.title = "Events · Seatflow";
  root.append(h("h1", {}, "Events"));
  const status = h("p", { class: "muted", role: "status" }, "Loading events…");
  root.append(status);
  try {
    const { events } = await app.api.events();
    status.remove();
    if (events.length === 0) {
      root.append(h("p", {}, "No events on sale right now."));
      return () => {};
    }
    const list = h("ul", { class: "events" });
    for (const e of events) {
      list.append(
        h(
          "li",
          { class: "event-card" },
          h("a", { href: `/events/${encodeURIComponent(e.id)}`, "data-link": true }, h("h2", {}, e.name)),
          h("p", {}, e.venue),
          h("p", { class: "muted" }, h("time", { datetime: e.starts_at }, formatDate(e.starts_at))),
          e.sales_open_at && Date.parse(e.sales_open_at) > app.api.now()
            ? h("p", { class: "opens", "data-testid": "sales-open" }, "On sale ", h("time", { datetime: e.sales_open_at }, formatDate(e.sales_open_at)))
            : availability(e),
        ),
      );
    }
    root.append(list);
  } catch (err) {
    status.textContent = loadFailureText(err, "The events");
    status.className = "error";
  }
  return () => {};
}
