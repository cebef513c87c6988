// An order's status, live as the saga moves, and its confirmation.

import { ApiError, type EventInfo, type Order, type Ticket } from "../api";
import { clear, h } from "../dom";
import { formatDate, formatMoney, reasonMessage, STATUS_LABEL, type OrderStatus } from "../format";
import { LiveStream } from "../live";
import { qrSvg } from "../qr";
import { Refresher } from "../refresher";
import type { App } from "../main";

const STEPS: OrderStatus[] = ["AUTHORIZING", "CONFIRMING", "COMPLETED"];

export async function orderPage(root: HTMLElement, app: App, orderId: string): Promise<() => void> {
  const { api } = app;
  document.title = "Your order · Seatflow";
  const heading = h("h1", {}, "Your order");
  const status = h("div", { class: "order-status", "aria-live": "polite", "data-testid": "order-status" }, "Loading…");
  const details = h("div", { class: "order-details" });
  root.append(heading, status, details);

  let jaegerUrl = "";
  void api.uiConfig().then((c) => {
    jaegerUrl = c.jaeger_url.replace(/\/+$/, "");
  }, () => {});

  // The order's event, read once, for its name and date.
  let event: EventInfo | null = null;
  // A completed order's tickets, read with the order while it is completed
  // (each shows when it was used at the door).
  let tickets: Ticket[] = [];

  let stream: LiveStream | null = null;
  let closed = false;
  // What the last refund request was refused for, shown until the next one.
  let refundProblem = "";
  // A status event during a load asks for one more load: the load in flight
  // may have read the order before that change.
  const refresher = new Refresher(async () => {
    try {
      const order = await api.order(orderId);
      event ??= await api.event(order.event_id).catch(() => null);
      if (order.status === "COMPLETED") {
        tickets = await api.readHold(order.hold_id).then((hold) => hold.tickets ?? [], () => tickets);
      }
      render(order);
      if (order.terminal) stream?.close();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        clear(status);
        status.append(h("p", { class: "error" }, "There is no such order for you."));
        stream?.close();
      } else if (err instanceof ApiError && err.unreachable) {
        status.dataset.stale = "true";
      }
    }
  });
  const refresh = (): Promise<void> => refresher.request();

  function render(order: Order): void {
    clear(status);
    clear(details);
    status.dataset.status = order.status;
    const cancelled = order.status === "CANCELLING" || order.status === "CANCELLED";
    const refund = order.status === "REFUNDING" || order.status === "REFUNDED";
    // A refund's steps start where the purchase ended.
    const shown = cancelled ? (["AUTHORIZING", order.status] as OrderStatus[]) : refund ? (["COMPLETED", order.status] as OrderStatus[]) : STEPS;
    const steps = h("ol", { class: "steps" });
    for (const step of shown) {
      const reached = order.history.some((e) => e.status === step);
      const current = order.status === step;
      steps.append(
        h(
          "li",
          { class: `${reached ? "done" : ""} ${current ? "current" : ""}`, "aria-current": current ? "step" : undefined },
          STATUS_LABEL[step] ?? step,
          reached && !current ? " ✓" : "",
        ),
      );
    }
    status.append(steps);
    if (order.status === "COMPLETED") {
      status.append(
        h("p", { class: "success", "data-testid": "confirmation" }, `You're going! Your seats ${order.seats.join(", ")} are yours.`),
      );
      if (tickets.length > 0) status.append(ticketList(tickets));
      // (A cancelled event's orders are refunded without asking.)
      // (Nor is an order whose tickets were used.)
      const used = tickets.some((t) => t.checked_in_at);
      if (event && !event.cancelled_at && !used && api.now() < Date.parse(event.starts_at)) status.append(refundOffer(order));
      status.append(h("p", {}, h("a", { href: "/", "data-link": true }, "Back to the events")));
    } else if (order.status === "REFUNDED") {
      status.append(
        h(
          "p",
          { "data-testid": "refunded" },
          order.reason === "event_cancelled"
            ? `The event was cancelled, so your tickets are refunded: ${formatMoney(order.amount_minor, order.currency)} goes back to your card.`
            : `Your tickets are refunded: ${formatMoney(order.amount_minor, order.currency)} goes back to your card, and seats ${order.seats.join(", ")} are on sale again.`,
        ),
        h("p", {}, h("a", { href: "/", "data-link": true }, "Back to the events")),
      );
    } else if (cancelled) {
      status.append(h("p", { class: "error", "data-testid": "reason" }, reasonMessage(order.reason)));
      status.append(h("p", {}, h("a", { href: `/events/${encodeURIComponent(order.event_id)}`, "data-link": true }, "Back to the seat map")));
    } else {
      status.append(h("p", { class: "muted" }, "This page updates by itself."));
    }
    const trace = order.trace_id
      ? jaegerUrl
        ? h("a", { href: `${jaegerUrl}/trace/${order.trace_id}`, target: "_blank", rel: "noopener", "data-testid": "trace" }, order.trace_id)
        : h("code", { "data-testid": "trace" }, order.trace_id)
      : "—";
    details.append(
      h(
        "dl",
        {},
        h("dt", {}, "Order"),
        h("dd", {}, h("code", {}, order.id)),
        ...(event
          ? [
              h("dt", {}, "Event"),
              h(
                "dd",
                { "data-testid": "order-event" },
                `${event.name}, ${event.venue}, `,
                h("time", { datetime: event.starts_at }, formatDate(event.starts_at)),
              ),
            ]
          : []),
        h("dt", {}, "Seats"),
        h("dd", { "data-testid": "order-seats" }, order.seats.join(", ")),
        h("dt", {}, "Total"),
        h("dd", {}, formatMoney(order.amount_minor, order.currency)),
        h("dt", {}, "Trace"),
        h("dd", {}, trace),
      ),
      h("h2", {}, "History"),
      h(
        "ol",
        { class: "history" },
        ...order.history.map((e) =>
          h("li", {}, h("time", { datetime: e.at }, new Date(e.at).toLocaleTimeString("en")), ` ${STATUS_LABEL[e.status as OrderStatus] ?? e.status}${e.detail ? `: ${e.detail.replaceAll("_", " ")}` : ""}`),
        ),
      ),
    );
  }

  // One card per seat: its QR code, which the door scans, and the code in
  // letters for a door that types it.
  function ticketList(list: Ticket[]): HTMLElement {
    return h(
      "section",
      { class: "tickets", "aria-label": "Your tickets" },
      h("h2", {}, list.length === 1 ? "Your ticket" : "Your tickets"),
      h(
        "p",
        { class: "muted" },
        "Show this at the door, on screen or printed. Each ticket lets one person in, once. ",
        h("button", { type: "button", class: "link no-print", onclick: () => window.print() }, "Print"),
      ),
      h(
        "ul",
        { class: "ticket-list" },
        ...list.map((t) =>
          h(
            "li",
            { class: `ticket ${t.checked_in_at ? "used" : ""}`, "data-testid": "ticket", "data-seat": t.seat },
            qrSvg(t.code, `Ticket for seat ${t.seat}`),
            h("div", { class: "ticket-seat" }, `Seat ${t.seat}`),
            t.checked_in_at
              ? h("div", { class: "ticket-used", "data-testid": "ticket-used" }, "Used at the door at ", h("time", { datetime: t.checked_in_at }, new Date(t.checked_in_at).toLocaleTimeString("en")))
              : null,
            h("code", { class: "ticket-code", "data-testid": "ticket-code" }, t.code),
          ),
        ),
      ),
    );
  }

  // Until the event starts, a completed order can be refunded: a button,
  // then a second one that says what the refund does.
  function refundOffer(order: Order): HTMLElement {
    const box = h("div", { class: "refund" });
    const ask = h("button", { type: "button", class: "secondary", "data-testid": "refund" }, "Refund these tickets…");
    ask.addEventListener("click", () => {
      const yes = h("button", { type: "button", class: "primary", "data-testid": "refund-confirm" }, "Yes, refund them");
      const no = h("button", { type: "button", class: "secondary" }, "Keep my tickets");
      yes.addEventListener("click", () => {
        yes.setAttribute("disabled", "");
        no.setAttribute("disabled", "");
        refundProblem = "";
        api.refundOrder(orderId).then(
          () => watch(),
          (err: unknown) => {
            refundProblem = err instanceof ApiError ? err.message : "The refund could not be asked for.";
            void refresh();
          },
        );
      });
      no.addEventListener("click", () => void refresh());
      box.replaceChildren(
        h("p", {}, `Refund ${formatMoney(order.amount_minor, order.currency)} to your card? Seats ${order.seats.join(", ")} go back on sale and are no longer yours.`),
        yes,
        no,
      );
      yes.focus();
    });
    box.append(ask);
    if (refundProblem) box.append(h("p", { class: "error", role: "alert", "data-testid": "refund-problem" }, refundProblem));
    return box;
  }

  // The stream first, then the order: a change in between is not missed.
  // Opened again when a refund sets a completed order moving.
  async function watch(): Promise<void> {
    stream?.close();
    stream = null;
    const url = await api.orderStreamUrl(orderId).catch(() => "");
    if (url && !closed) {
      stream = new LiveStream((last) => `${url}&last_event_id=${last}`, ["status"], {
        onEvent: () => void refresh(),
        onSnapshotNeeded: () => void refresh(),
        onConnection: (connected) => {
          if (connected) void refresh();
        },
      });
    }
    await refresh();
  }
  await watch();
  return () => {
    closed = true;
    stream?.close();
  };
}
