// The seat map of an event, live; selecting seats, holding them with a
// countdown, and checkout.

import { ApiError, type EventInfo, type Hold, type SeatMapData, type TestCard } from "../api";
import { clear, h } from "../dom";
import { formatCountdown, formatDate, formatMoney, formatWait, groupCard, takenSeats } from "../format";
import { LiveStream } from "../live";
import type { App } from "../main";
import { computeLayout, type Layout } from "../seatmap/layout";
import { legendSwatch } from "../seatmap/legend";
import { AVAILABLE, HELD, SOLD, SeatMapView } from "../seatmap/view";

const STATE_LETTER: Record<string, number> = { AVAILABLE, HELD, SOLD };
const MAX_SELECTION = 10;

interface SeatChange {
  state: string;
  seats: string[];
  positions?: number[];
}

export async function eventPage(root: HTMLElement, app: App, eventId: string): Promise<() => void> {
  const { api } = app;
  const loading = h("p", { class: "muted", role: "status" }, "Loading the seat map…");
  root.append(loading);
  let data: SeatMapData;
  try {
    data = await api.seatMap(eventId);
  } catch (err) {
    loading.className = "error";
    loading.textContent =
      err instanceof ApiError && err.status === 404
        ? "There is no such event."
        : err instanceof ApiError && err.unreachable
          ? "Seatflow can't be reached right now. Reload to try again."
          : `The seat map could not be loaded: ${(err as Error).message}`;
    return () => {};
  }
  loading.remove();
  const { event, tiers } = data;
  const currency = event.currency;
  document.title = `${event.name} · Seatflow`;

  // ---- state
  const states = Uint8Array.from(data.states, (c) => c.charCodeAt(0));
  // Seats AVAILABLE now: none left shows "sold out" in the panel.
  let available = 0;
  const countAvailable = (): void => {
    available = states.reduce((n, s) => n + (s === AVAILABLE ? 1 : 0), 0);
  };
  countAvailable();
  const selected = new Set<number>();
  let hold: Hold | null = null;
  let holdPositions = new Set<number>();
  let countdown: ReturnType<typeof setInterval> | null = null;
  let cards: TestCard[] = [];
  let orderKey = "";

  // ---- page skeleton
  const announcer = h("div", { class: "sr-only", "aria-live": "polite", "data-testid": "announcer" });
  const liveStatus = h("span", { class: "live", "data-testid": "live-status" }, "Connecting…");
  const message = h("div", { class: "message", role: "alert", "data-testid": "message" });
  const mapBox = h("div", { class: "map", "data-testid": "seat-map" });
  const panel = h("aside", { class: "panel", "aria-label": "Your seats" });
  const title = h("h1", { "data-testid": "event-name" }, event.name);
  const place = h("span", { "data-testid": "event-venue" }, event.venue);
  const startTime = h("time", { datetime: event.starts_at, "data-testid": "event-starts-at" }, formatDate(event.starts_at));
  root.append(
    h("div", { class: "event-head" }, title, h("p", { class: "muted" }, place, " · ", startTime, " · ", liveStatus)),
    message,
    h("div", { class: "event-body" }, h("section", { class: "map-column", "aria-label": "Seat map" }, legend(), mapBox), panel),
    announcer,
  );

  function legend(): HTMLElement {
    const items = h("ul", { class: "legend", "aria-label": "Legend" });
    tiers.forEach((t, i) =>
      items.append(h("li", {}, legendSwatch("available", i), `${t.name}: ${formatMoney(t.price_minor, currency)}, available`)),
    );
    items.append(
      h("li", {}, legendSwatch("mine", 0), "Your selection (dot)"),
      h("li", {}, legendSwatch("held", 0), "Held by another buyer (stripe)"),
      h("li", {}, legendSwatch("sold", 0), "Sold (cross)"),
    );
    return items;
  }

  const width = Math.max(480, Math.min(1100, mapBox.clientWidth || root.clientWidth - 320));
  const layout: Layout = computeLayout(data.sections, { width });
  const view = new SeatMapView({
    layout,
    tiers,
    currency,
    states,
    isMine: (pos) => selected.has(pos) || holdPositions.has(pos),
    onActivate: toggle,
    announce: (text) => (announcer.textContent = text),
  });
  mapBox.append(view.canvas);
  view.renderAll();
  // For tests and benchmarks: when the map was first drawn, and where a seat
  // is on the canvas and what state the page holds for it.
  (window as unknown as { __seatflow: unknown }).__seatflow = {
    firstRenderMs: performance.now(),
    seats: layout.seatCount,
    seatCenter(id: string) {
      const pos = layout.positionOf(id);
      if (pos < 0) return null;
      const c = layout.cell;
      return { x: layout.seatCol[pos] * c + c / 2, y: layout.seatRow[pos] * c + c / 2, cell: c };
    },
    seatState(id: string) {
      const pos = layout.positionOf(id);
      return pos < 0 ? null : String.fromCharCode(states[pos]);
    },
  };
  performance.mark("seatflow:seat-map-rendered");

  // ---- live changes
  let stream = openStream(data.stream_position);
  function openStream(after: number): LiveStream {
    return new LiveStream((last) => api.seatStreamUrl(eventId, last), ["seats", "cancelled", "updated"], {
      onEvent: (type, payload) =>
        type === "cancelled" ? onCancelled() : type === "updated" ? onUpdated((payload as { event: EventInfo }).event) : applyChange(payload as SeatChange),
      onSnapshotNeeded: () => void reload(),
      onConnection: (connected) => {
        liveStatus.textContent = connected ? "Live" : "Live updates interrupted, reconnecting…";
        liveStatus.classList.toggle("offline", !connected);
      },
    }, after);
  }

  function applyChange(change: SeatChange): void {
    const letter = STATE_LETTER[change.state];
    if (letter === undefined) return;
    const positions = change.positions ?? change.seats.map((id) => layout.positionOf(id));
    const lost: string[] = [];
    const wasSoldOut = available === 0;
    for (const pos of positions) {
      if (pos < 0 || pos >= states.length) continue;
      if (states[pos] === AVAILABLE && letter !== AVAILABLE) available--;
      else if (states[pos] !== AVAILABLE && letter === AVAILABLE) available++;
      if (selected.has(pos) && letter !== AVAILABLE) {
        selected.delete(pos);
        lost.push(layout.info(pos).id);
      }
      view.setState(pos, letter);
    }
    if (lost.length > 0) {
      show(`${lost.join(", ")} ${lost.length === 1 ? "was" : "were"} just taken by another buyer. Pick another seat.`, "warn");
      renderPanel();
    } else if (wasSoldOut !== (available === 0)) {
      renderPanel();
    }
  }

  async function reload(): Promise<void> {
    stream.close();
    try {
      const fresh = await api.seatMap(eventId);
      for (let i = 0; i < states.length; i++) states[i] = fresh.states.charCodeAt(i);
      countAvailable();
      for (const pos of [...selected]) if (states[pos] !== AVAILABLE) selected.delete(pos);
      view.renderAll();
      renderPanel();
      stream = openStream(fresh.stream_position);
    } catch {
      setTimeout(() => void reload(), 2000);
    }
  }

  // ---- selection
  // An event may allow fewer seats per buyer than the page's own limit.
  let maxSelection = Math.min(MAX_SELECTION, event.max_seats_per_buyer ?? MAX_SELECTION);
  // Sales close when the event starts, or when it is cancelled; the server
  // refuses later holds too.
  let cancelled = event.cancelled_at !== undefined;
  const CANCELLED = "This event was cancelled. Every ticket bought is refunded to its card.";
  const CLOSED = "Sales for this event closed when it started.";
  // Before its sales open, if they open at a set time, the page counts down
  // and opens them itself when the time comes (by the server's clock).
  let opensAt = event.sales_open_at ? Date.parse(event.sales_open_at) : 0;
  const notOpenYet = (): boolean => api.now() < opensAt;
  const salesClosed = (): boolean => cancelled || notOpenYet() || api.now() >= Date.parse(event.starts_at);
  const closedText = (): string => (cancelled ? CANCELLED : notOpenYet() ? `Sales open ${formatDate(event.sales_open_at!)}.` : CLOSED);
  let opening: ReturnType<typeof setInterval> | null = null;
  function watchOpening(): void {
    if (opening || !notOpenYet()) return;
    opening = setInterval(() => {
      const clock = panel.querySelector<HTMLElement>("[data-testid=opens-in]");
      if (clock) clock.textContent = formatWait(opensAt - api.now());
      if (notOpenYet()) return;
      clearInterval(opening!);
      opening = null;
      if (!cancelled) show("Sales are open: select your seats.", "info");
      renderPanel();
    }, 250);
  }
  watchOpening();

  // The organiser changed the event while the page was open: its name,
  // venue, start, sales opening or limit of seats per buyer. A hold already
  // made stays; the server applies the new times and limit to what comes next.
  function onUpdated(changed: EventInfo | undefined): void {
    if (!changed) return;
    const moved = changed.starts_at !== event.starts_at;
    Object.assign(event, { name: changed.name, venue: changed.venue, starts_at: changed.starts_at });
    event.sales_open_at = changed.sales_open_at;
    event.max_seats_per_buyer = changed.max_seats_per_buyer;
    document.title = `${event.name} · Seatflow`;
    title.textContent = event.name;
    place.textContent = event.venue;
    startTime.setAttribute("datetime", event.starts_at);
    startTime.textContent = formatDate(event.starts_at);
    opensAt = event.sales_open_at ? Date.parse(event.sales_open_at) : 0;
    maxSelection = Math.min(MAX_SELECTION, event.max_seats_per_buyer ?? MAX_SELECTION);
    if (!hold && notOpenYet() && selected.size > 0) {
      const dropped = [...selected];
      selected.clear();
      for (const pos of dropped) view.redraw(pos);
    }
    watchOpening();
    show(moved ? `The organiser moved this event to ${formatDate(event.starts_at)}.` : "The organiser updated this event's details.", "info");
    renderPanel();
  }

  // The event was cancelled while the page was open: the server released
  // any hold on it, and takes no new one.
  function onCancelled(): void {
    if (cancelled) return;
    cancelled = true;
    const dropped = [...selected];
    selected.clear();
    for (const pos of dropped) view.redraw(pos);
    if (hold) endHold();
    show(CANCELLED, "warn");
    renderPanel();
  }

  function toggle(pos: number): void {
    if (hold) {
      show("Your seats are held. Release them to choose others.", "info");
      return;
    }
    if (!selected.has(pos) && salesClosed()) {
      show(closedText(), "info");
      renderPanel();
      return;
    }
    if (selected.has(pos)) {
      selected.delete(pos);
    } else if (states[pos] !== AVAILABLE) {
      show(`${layout.info(pos).id} is not available.`, "info");
      return;
    } else if (selected.size >= maxSelection) {
      show(`You can select up to ${maxSelection} seats${event.max_seats_per_buyer ? " of this event" : ""}.`, "info");
      return;
    } else {
      selected.add(pos);
    }
    view.redraw(pos);
    renderPanel();
  }

  function priceOf(pos: number): number {
    const tier = layout.info(pos).tier;
    return tiers.find((t) => t.name === tier)?.price_minor ?? 0;
  }

  function show(text: string, kind: "info" | "warn" | "error" = "error"): void {
    message.textContent = text;
    message.className = `message ${kind}`;
  }

  // ---- the side panel
  function renderPanel(): void {
    clear(panel);
    if (hold) return renderHold(hold);
    panel.append(h("h2", {}, "Your seats"));
    if (selected.size === 0 && salesClosed()) {
      panel.append(h("p", { class: "muted", "data-testid": "sales-closed" }, closedText()));
      if (!cancelled && notOpenYet()) {
        panel.append(h("p", { class: "opens-in" }, "In ", h("strong", { role: "timer", "data-testid": "opens-in" }, formatWait(opensAt - api.now()))));
      }
      return;
    }
    if (selected.size === 0 && available === 0) {
      panel.append(
        h("p", { class: "sold-out", "data-testid": "sold-out" }, "Sold out."),
        h("p", { class: "muted" }, "Every seat is sold or held. A held seat comes back if its buyer does not pay in time; this map shows it the moment it does."),
      );
      return;
    }
    if (selected.size === 0) {
      panel.append(h("p", { class: "muted" }, "Select seats on the map (click, or Tab to the map and use the arrow keys and Enter)."));
      if (event.max_seats_per_buyer) panel.append(h("p", { class: "muted", "data-testid": "buyer-cap" }, `Up to ${event.max_seats_per_buyer} seats per buyer.`));
      panel.append(bestAvailableForm());
      return;
    }
    const list = h("ul", { class: "selection", "data-testid": "selection" });
    let total = 0;
    for (const pos of [...selected].sort((a, b) => a - b)) {
      const seat = layout.info(pos);
      total += priceOf(pos);
      list.append(
        h(
          "li",
          {},
          `${seat.id} · ${seat.tier} · ${formatMoney(priceOf(pos), currency)} `,
          h("button", { class: "link", type: "button", "aria-label": `Remove ${seat.id}`, onclick: () => toggle(pos) }, "Remove"),
        ),
      );
    }
    const button = h("button", { type: "button", class: "primary", "data-testid": "hold" }, `Hold ${selected.size} seat${selected.size === 1 ? "" : "s"}`);
    button.addEventListener("click", () => void placeHold(button));
    panel.append(list, h("p", { class: "total" }, `Total ${formatMoney(total, currency)}`), button);
  }

  // Or the server picks: the best seats side by side, at any price or one
  // tier's. The choice outlives the panel's redrawing.
  const bestChoice = { count: "2", tier: "" };
  function bestAvailableForm(): HTMLElement {
    const count = h("select", { id: "best-count", "data-testid": "best-count" }, ...Array.from({ length: Math.min(8, maxSelection) }, (_, i) => h("option", { value: i + 1 }, String(i + 1))));
    count.value = Number(bestChoice.count) <= maxSelection ? bestChoice.count : "1";
    count.addEventListener("change", () => (bestChoice.count = count.value));
    const tier = h(
      "select",
      { id: "best-tier", "data-testid": "best-tier" },
      h("option", { value: "" }, "the best at any price"),
      ...tiers.map((t) => h("option", { value: t.name }, `${t.name}, ${formatMoney(t.price_minor, currency)}`)),
    );
    tier.value = bestChoice.tier;
    tier.addEventListener("change", () => (bestChoice.tier = tier.value));
    const find = h("button", { type: "submit", class: "secondary", "data-testid": "best-find" }, "Find seats");
    const form = h(
      "form",
      { class: "best-available", "aria-label": "Best available" },
      h("p", {}, "Or let us pick the best seats side by side:"),
      h("label", { for: "best-count" }, "Seats"),
      count,
      h("label", { for: "best-tier" }, "Where"),
      tier,
      find,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      find.disabled = true;
      api.holdBestAvailable(eventId, Number(count.value), tier.value || undefined).then(
        (placed) => {
          startHold(placed);
          const inOrder = [...placed.seats].sort((a, b) => layout.positionOf(a) - layout.positionOf(b));
          show(`We found ${inOrder.join(", ")} for you.`, "info");
        },
        (err: unknown) => {
          find.disabled = false;
          const none = err instanceof ApiError && err.status === 409 && err.detail.startsWith("no ");
          show(none ? `No${err.detail.slice(2)}. Try fewer seats or another price.` : errorText(err, "The seats could not be held"), "warn");
        },
      );
    });
    return form;
  }

  async function placeHold(button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    const ids = [...selected].map((pos) => layout.info(pos).id);
    try {
      const placed = await api.hold(eventId, ids);
      startHold(placed);
      show("", "info");
      message.className = "message";
    } catch (err) {
      button.disabled = false;
      if (err instanceof ApiError && err.status === 409) {
        const taken = takenSeats(err.detail);
        for (const id of taken) {
          const pos = layout.positionOf(id);
          selected.delete(pos);
          if (pos >= 0 && states[pos] === AVAILABLE) view.setState(pos, HELD);
          view.redraw(pos);
        }
        show(
          taken.length > 0
            ? `${taken.join(", ")} ${taken.length === 1 ? "was" : "were"} taken by someone else a moment ago. Pick another seat and try again.`
            : err.detail,
          "warn",
        );
        renderPanel();
      } else {
        show(errorText(err, "The seats could not be held"));
      }
    }
  }

  function startHold(placed: Hold): void {
    hold = placed;
    sessionStorage.setItem(`seatflow.hold.${eventId}`, placed.id);
    holdPositions = new Set(placed.seats.map((id) => layout.positionOf(id)));
    for (const pos of holdPositions) {
      selected.delete(pos);
      view.setState(pos, HELD);
    }
    orderKey = crypto.randomUUID();
    renderPanel();
    if (countdown) clearInterval(countdown);
    countdown = setInterval(tick, 1000);
    if (cards.length === 0) {
      void api.testCards().then((r) => {
        cards = r.cards;
        if (hold) renderPanel();
      }, () => {});
    }
  }

  function endHold(): void {
    if (countdown) clearInterval(countdown);
    countdown = null;
    sessionStorage.removeItem(`seatflow.hold.${eventId}`);
    const mine = holdPositions;
    hold = null;
    holdPositions = new Set();
    for (const pos of mine) view.redraw(pos);
    renderPanel();
  }

  function tick(): void {
    if (!hold) return;
    const left = hold.expires_at_ms - api.now();
    const clock = panel.querySelector<HTMLElement>("[data-testid=countdown]");
    if (clock) clock.textContent = formatCountdown(left);
    if (left <= 0) {
      endHold();
      show("Your hold expired and the seats were released. Select seats again to buy.", "warn");
    }
  }

  function renderHold(current: Hold): void {
    panel.append(
      h("h2", {}, "Checkout"),
      h(
        "p",
        { class: "hold-timer" },
        "Your seats are held for ",
        h("strong", { role: "timer", "data-testid": "countdown" }, formatCountdown(current.expires_at_ms - api.now())),
      ),
      h("ul", { class: "selection" }, ...current.seats.map((id) => h("li", {}, id))),
      h("p", { class: "total" }, `Total ${formatMoney(current.amount_minor, currency)}`),
    );
    const input = h("input", {
      id: "card",
      name: "card",
      inputmode: "numeric",
      autocomplete: "cc-number",
      placeholder: "4242 4242 4242 4242",
      required: true,
      "aria-describedby": "card-help",
    });
    const pay = h("button", { type: "submit", class: "primary", "data-testid": "pay" }, `Pay ${formatMoney(current.amount_minor, currency)}`);
    const form = h(
      "form",
      { class: "checkout", "aria-label": "Payment" },
      h("label", { for: "card" }, "Card number"),
      input,
      h("p", { id: "card-help", class: "muted" }, "This is a demo gateway: use one of the test cards below."),
      pay,
    );
    input.addEventListener("input", () => {
      orderKey = crypto.randomUUID(); // another card is another order attempt
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void checkout(input.value.replace(/\s+/g, ""), pay);
    });
    const cardList = h("ul", { class: "test-cards", "aria-label": "Test cards" });
    for (const card of cards) {
      cardList.append(
        h(
          "li",
          {},
          h("button", {
            type: "button",
            class: "link",
            "aria-label": `Use test card ${groupCard(card.number)}`,
            onclick: () => {
              input.value = groupCard(card.number);
              orderKey = crypto.randomUUID();
              input.focus();
            },
          }, groupCard(card.number)),
          ` ${card.outcome}`,
        ),
      );
    }
    const release = h("button", { type: "button", class: "secondary", "data-testid": "release" }, "Release seats");
    release.addEventListener("click", () => {
      const id = current.id;
      endHold();
      void api.releaseHold(id).catch(() => {});
    });
    panel.append(form, h("h3", {}, "Test cards"), cardList, release);
  }

  async function checkout(card: string, button: HTMLButtonElement): Promise<void> {
    if (!hold) return;
    if (!/^\d{12,19}$/.test(card)) {
      show("Enter a card number of 12 to 19 digits.");
      return;
    }
    button.disabled = true;
    try {
      const order = await api.placeOrder(hold.id, card, orderKey);
      if (countdown) clearInterval(countdown);
      sessionStorage.removeItem(`seatflow.hold.${eventId}`);
      app.navigate(`/orders/${encodeURIComponent(order.id)}`);
    } catch (err) {
      button.disabled = false;
      if (err instanceof ApiError && err.status === 409) {
        endHold();
        show("This hold is no longer active (it expired or was released). Select seats again.", "warn");
      } else {
        show(errorText(err, "The order could not be placed"));
      }
    }
  }

  // A hold from before a reload of this page.
  const previous = sessionStorage.getItem(`seatflow.hold.${eventId}`);
  if (previous) {
    try {
      const restored = await api.readHold(previous);
      if (restored.status === "ACTIVE" && restored.expires_at_ms > api.now()) startHold(restored);
      else sessionStorage.removeItem(`seatflow.hold.${eventId}`);
    } catch {
      sessionStorage.removeItem(`seatflow.hold.${eventId}`);
    }
  }
  renderPanel();

  return () => {
    stream.close();
    if (countdown) clearInterval(countdown);
    if (opening) clearInterval(opening);
  };
}

export function errorText(err: unknown, what: string): string {
  if (err instanceof ApiError && err.unreachable) {
    return `${what}: Seatflow can't be reached right now. Try again in a moment.`;
  }
  return `${what}: ${(err as Error).message}`;
}
