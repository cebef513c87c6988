// The buyer's orders, newest first, each with its event, seats, total and
// status, and a link to the order's own page.

import { loadFailureText, type EventInfo, type OrderPage } from "../api";
import { h } from "../dom";
import { formatDate, formatMoney, STATUS_LABEL, type OrderStatus } from "../format";
import type { App } from "../main";

export async function ordersPage(root: HTMLElement, app: App): Promise<() => void> {
  const { api } = app;
  document.title = "Your orders · Seatflow";
  root.append(h("h1", {}, "Your orders"));
  const status = h("p", { class: "muted", role: "status" }, "Loading your orders…");
  const list = h("ul", { class: "orders", "data-testid": "orders" });
  const more = h("button", { type: "button", hidden: true }, "Show older orders");
  root.append(status, list, more);

  // Each event is read once, however many orders it has.
  const events = new Map<string, Promise<EventInfo | null>>();
  const eventOf = (id: string): Promise<EventInfo | null> => {
    if (!events.has(id)) events.set(id, api.event(id).catch(() => null));
    return events.get(id)!;
  };

  async function show(page: OrderPage): Promise<void> {
    const infos = await Promise.all(page.orders.map((o) => eventOf(o.event_id)));
    page.orders.forEach((order, i) => {
      const event = infos[i];
      const label = STATUS_LABEL[order.status as OrderStatus] ?? order.status;
      list.append(
        h(
          "li",
          { class: "order-card", "data-testid": "order-card" },
          h("h2", {}, h("a", { href: `/orders/${encodeURIComponent(order.id)}`, "data-link": true }, event?.name ?? "An event")),
          event ? h("p", { class: "muted" }, `${event.venue} · `, h("time", { datetime: event.starts_at }, formatDate(event.starts_at))) : "",
          h("p", {}, `Seats ${order.seats.join(", ")} · ${formatMoney(order.amount_minor, order.currency)}`),
          h("p", { class: `status-${order.status}` }, label),
        ),
      );
    });
    more.hidden = page.next === undefined;
    more.onclick = () => void load(page.next);
  }

  async function load(before?: string): Promise<void> {
    more.disabled = true;
    try {
      const page = await api.orders(before);
      if (before === undefined && page.orders.length === 0) {
        status.replaceChildren("You have no orders yet. ", h("a", { href: "/", "data-link": true }, "See the events"));
        status.className = "";
        return;
      }
      status.remove();
      await show(page);
    } catch (err) {
      status.textContent = loadFailureText(err, "Your orders");
      status.className = "error";
      if (!status.isConnected) root.insertBefore(status, list);
    } finally {
      more.disabled = false;
    }
  }

  await load();
  return () => {};
}
