// The door: staff pick the event, then scan or type each ticket's code; the
// page says at once whether to let its holder in. A barcode scanner types
// the code and Enter, so the field is ready for the next ticket right after.
// The admin token is asked for once and kept for this browser tab only.

import { adminTokenInput, rememberAdminToken } from "../admin-token";
import { ApiError, type EventInfo } from "../api";
import { h } from "../dom";
import { formatDate, localTimes } from "../format";
import type { App } from "../main";

export async function doorPage(root: HTMLElement, app: App): Promise<() => void> {
  const { api } = app;
  document.title = "At the door · Seatflow";
  root.append(h("h1", {}, "At the door"));

  const tokenInput = adminTokenInput("door-token");
  const eventSelect = h("select", { id: "door-event", "data-testid": "door-event" });
  const codeInput = h("input", { type: "text", id: "door-code", autocomplete: "off", spellcheck: "false", "data-testid": "door-code" });
  const admit = h("button", { type: "submit", class: "primary" }, "Check ticket");
  const result = h("div", { "aria-live": "assertive", "data-testid": "door-result" });
  // How many are in, of the tickets sold: read again after every check.
  const count = h("p", { class: "door-count", "data-testid": "door-count" });
  const loadStatus = h("p", { class: "muted", role: "status" });
  const form = h(
    "form",
    { class: "door" },
    h("label", { for: "door-token" }, "Admin token"),
    tokenInput,
    h("label", { for: "door-event" }, "Event"),
    eventSelect,
    loadStatus,
    h("label", { for: "door-code" }, "Ticket code"),
    codeInput,
    admit,
  );
  root.append(form, result, count, h("p", { class: "muted" }, "Events are set up and followed at the ", h("a", { href: "/admin", "data-link": true }, "box office"), "."));

  async function showCount(): Promise<void> {
    const eventId = eventSelect.value;
    if (!eventId) {
      count.textContent = "";
      return;
    }
    try {
      const s = await api.eventSummary(eventId, tokenInput.value.trim());
      if (eventSelect.value === eventId) count.textContent = `${s.tickets_admitted} of ${s.tickets_sold} tickets sold are in.`;
    } catch {
      count.textContent = "";
    }
  }
  eventSelect.addEventListener("change", () => {
    result.replaceChildren();
    result.className = "";
    void showCount();
    codeInput.focus();
  });

  // The events the door admits to, with the admin token.
  async function loadEvents(): Promise<void> {
    const token = tokenInput.value.trim();
    eventSelect.replaceChildren();
    if (!token) {
      loadStatus.textContent = "Enter the admin token to see the events.";
      return;
    }
    loadStatus.textContent = "Loading the events…";
    try {
      const { events } = await api.doorEvents(token);
      rememberAdminToken(token);
      eventSelect.append(...events.map((e: EventInfo) => h("option", { value: e.id }, `${e.name} — ${formatDate(e.starts_at)}`)));
      loadStatus.textContent = events.length === 0 ? "No event is on today or later." : "";
      void showCount();
      codeInput.focus();
    } catch (err) {
      loadStatus.textContent = err instanceof ApiError ? err.message : "The events could not be loaded.";
    }
  }
  tokenInput.addEventListener("change", () => void loadEvents());

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const code = codeInput.value.trim();
    if (!code || !eventSelect.value) return;
    admit.disabled = true;
    api.checkIn(eventSelect.value, code, tokenInput.value.trim()).then(
      (admitted) => {
        result.className = "door-result admitted";
        result.dataset.outcome = "admitted";
        result.replaceChildren(h("strong", {}, "Let in"), ` — seat ${admitted.seat}, ${admitted.event_name}`);
      },
      (err: unknown) => {
        result.className = "door-result refused";
        result.dataset.outcome = "refused";
        const why = err instanceof ApiError ? localTimes(err.message) : "the ticket could not be checked; try again.";
        result.replaceChildren(h("strong", {}, "Do not let in"), ` — ${why}`);
      },
    ).finally(() => {
      void showCount();
      admit.disabled = false;
      codeInput.value = "";
      codeInput.focus();
    });
  });

  await loadEvents();
  return () => {};
}
