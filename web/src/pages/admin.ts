// The box office, for the organiser's staff: the events on now or ahead with
// their sales and admissions, a form that creates an event and its seat map,
// and cancelling an event (its buyers refunded). The admin token is asked for
// once and kept for this browser tab only, as at the door. An event's name,
// venue, times and limit of seats per buyer can be changed until it starts.

import { adminTokenInput, rememberAdminToken } from "../admin-token";
import { ApiError, type EventChanges, type EventInfo, type EventSpec, type EventSummary } from "../api";
import { h } from "../dom";
import { formatDate, formatMoney, localTimes, toLocalInput, toMinor } from "../format";
import type { App } from "../main";

const count = (n: number) => n.toLocaleString("en");
const counted = (n: number, one: string, many: string) => `${count(n)} ${n === 1 ? one : many}`;

// The start and the sales opening as typed, in the browser's own time, in
// UTC; or a sentence saying what is missing.
function typedTimes(starts: HTMLInputElement, opens: HTMLInputElement): { starts_at: string; sales_open_at: string | null } | string {
  const startsAt = new Date(starts.value);
  if (Number.isNaN(startsAt.getTime())) return "Enter when the event starts.";
  const opensAt = opens.value ? new Date(opens.value) : null;
  if (opensAt && Number.isNaN(opensAt.getTime())) return "Enter when sales open, or leave it empty.";
  return { starts_at: startsAt.toISOString(), sales_open_at: opensAt ? opensAt.toISOString() : null };
}

function problemText(err: unknown, what: string): string {
  if (err instanceof ApiError) return err.unreachable ? "Seatflow can't be reached right now; try again." : err.message;
  return `${what} failed: ${(err as Error).message}`;
}

export async function adminPage(root: HTMLElement, app: App): Promise<() => void> {
  const { api } = app;
  document.title = "Box office · Seatflow";
  root.append(h("h1", {}, "Box office"));

  const tokenInput = adminTokenInput("admin-token");
  const tokenStatus = h("p", { class: "muted", role: "status", "data-testid": "admin-token-status" });
  root.append(
    h("form", { class: "staff", onsubmit: (e: Event) => e.preventDefault() }, h("label", { for: "admin-token" }, "Admin token"), tokenInput, tokenStatus),
    h("p", { class: "muted" }, "Tickets are checked in ", h("a", { href: "/door", "data-link": true }, "at the door"), "."),
  );
  const token = () => tokenInput.value.trim();

  // The events, each with its sales; read again after a change and on "Refresh".
  const message = h("p", { role: "status", "data-testid": "admin-message" });
  const eventRows = h("tbody", {});
  const table = h(
    "table",
    { class: "box-office", "data-testid": "admin-events" },
    h("thead", {}, h("tr", {}, h("th", {}, "Event"), h("th", {}, "Starts"), h("th", {}, "Sold"), h("th", {}, "Revenue"), h("th", {}, "Admitted"), h("th", {}))),
    eventRows,
  );
  const refresh = h("button", { type: "button", class: "link refresh" }, "Refresh");
  root.append(h("h2", {}, "Events ", refresh), message, table);

  function summaryCells(e: EventInfo, s: EventSummary | null): HTMLElement[] {
    if (!s) return [h("td", { colspan: 3, class: "muted" }, "The sales could not be read.")];
    return [
      h("td", { "data-testid": "admin-sold" }, `${count(s.seats.SOLD)} of ${count(e.seat_count)} seats`, h("br", {}), h("span", { class: "muted" }, `${counted(s.orders_sold, "order", "orders")}, ${count(s.seats.HELD)} held`)),
      h("td", { "data-testid": "admin-revenue" }, formatMoney(s.revenue_minor, s.currency)),
      h("td", { "data-testid": "admin-admitted" }, `${count(s.tickets_admitted)} of ${count(s.tickets_sold)}`),
    ];
  }

  // A row under the event's with its details in a form; saving sends what
  // the form holds, and an empty sale time or limit clears it.
  function editRow(e: EventInfo, close: () => void): HTMLElement {
    const id = (what: string) => `edit-${what}-${e.id}`;
    const field = (what: string, label: string, input: HTMLInputElement) => [h("label", { for: id(what) }, label), input];
    const name = h("input", { id: id("name"), required: true, maxlength: 200, "data-testid": "edit-name" });
    const venue = h("input", { id: id("venue"), required: true, maxlength: 200, "data-testid": "edit-venue" });
    const starts = h("input", { id: id("starts"), type: "datetime-local", required: true, "data-testid": "edit-starts" });
    const opens = h("input", { id: id("opens"), type: "datetime-local", "data-testid": "edit-opens" });
    const perBuyer = h("input", { id: id("per-buyer"), type: "number", min: 1, max: 1000, "data-testid": "edit-per-buyer" });
    name.value = e.name;
    venue.value = e.venue;
    starts.value = toLocalInput(e.starts_at);
    opens.value = toLocalInput(e.sales_open_at);
    perBuyer.value = e.max_seats_per_buyer ? String(e.max_seats_per_buyer) : "";
    const error = h("p", { class: "error", role: "alert", "data-testid": "edit-error" });
    const save = h("button", { type: "submit", class: "primary", "data-testid": "edit-save" }, "Save changes");
    const keep = h("button", { type: "button", class: "link" }, "Keep as it is");
    keep.addEventListener("click", close);

    function changes(): EventChanges | string {
      const times = typedTimes(starts, opens);
      if (typeof times === "string") return times;
      return { name: name.value.trim(), venue: venue.value.trim(), ...times, max_seats_per_buyer: perBuyer.value ? Number(perBuyer.value) : null };
    }

    const form = h(
      "form",
      { class: "edit-event", "data-testid": "edit-event" },
      h("div", { class: "staff" }, ...field("name", "Name", name), ...field("venue", "Venue", venue), ...field("starts", "Starts", starts), ...field("opens", "On sale from", opens), h("p", { class: "muted" }, "Leave it empty to keep the event on sale."), ...field("per-buyer", "Seats per buyer", perBuyer), h("p", { class: "muted" }, "Leave it empty for Seatflow's own limit.")),
      h("p", { class: "muted" }, "Buyers with the event open see the change at once. The seat map, the prices and the currency stay as they are."),
      error,
      save,
      " ",
      keep,
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const body = changes();
      if (typeof body === "string") {
        error.textContent = body;
        return;
      }
      error.textContent = "";
      save.disabled = true;
      api.updateEvent(e.id, body, token()).then(
        (updated) => {
          message.className = "";
          message.textContent = `Saved the changes to ${updated.name}.`;
          void loadEvents();
        },
        (err: unknown) => {
          save.disabled = false;
          error.textContent = localTimes(problemText(err, "Saving the changes"));
        },
      );
    });
    return h("tr", { class: "editing", "data-edit": e.id }, h("td", { colspan: 6 }, form));
  }

  function cancelCell(e: EventInfo, s: EventSummary | null): HTMLElement {
    const cell = h("td", { class: "actions" });
    const edit = h("button", { type: "button", class: "link", "data-testid": "admin-edit" }, "Edit…");
    edit.addEventListener("click", () => {
      const row = cell.closest("tr")!;
      const open = row.nextElementSibling;
      if (open instanceof HTMLElement && open.dataset.edit === e.id) {
        open.remove();
        return;
      }
      const form = editRow(e, () => form.remove());
      row.after(form);
      form.querySelector("input")!.focus();
    });
    const ask = h("button", { type: "button", class: "link danger", "data-testid": "admin-cancel" }, "Cancel…");
    ask.addEventListener("click", () => {
      const orders = s ? counted(s.orders_sold, "order", "orders") : "every order";
      const confirm = h("button", { type: "button", class: "danger", "data-testid": "admin-confirm-cancel" }, "Yes, cancel the event");
      const keep = h("button", { type: "button", class: "link" }, "Keep it");
      keep.addEventListener("click", () => cell.replaceChildren(edit, " ", ask));
      confirm.addEventListener("click", () => {
        confirm.disabled = true;
        api.cancelEvent(e.id, token()).then(
          () => {
            message.className = "";
            const being = s && s.orders_sold !== 1 ? "are being" : "is being";
            message.textContent = `${e.name} is cancelled: sales stopped, unpaid holds were released, and ${s ? "its " : ""}${orders} ${being} refunded.`;
            void loadEvents();
          },
          (err: unknown) => {
            confirm.disabled = false;
            message.className = "error";
            message.textContent = problemText(err, "Cancelling");
          },
        );
      });
      cell.replaceChildren(
        h("span", {}, `Cancel ${e.name}? Sales stop, unpaid holds are released and ${orders} refunded. This cannot be undone.`),
        " ",
        confirm,
        " ",
        keep,
      );
      confirm.focus();
    });
    cell.append(edit, " ", ask);
    return cell;
  }

  let loading = 0;
  async function loadEvents(): Promise<void> {
    const mine = ++loading;
    if (!token()) {
      tokenStatus.textContent = "Enter the admin token to see the events and create one.";
      eventRows.replaceChildren();
      return;
    }
    tokenStatus.textContent = "Loading the events…";
    try {
      const { events } = await api.doorEvents(token());
      const summaries = await Promise.all(events.map((e) => api.eventSummary(e.id, token()).catch(() => null)));
      if (mine !== loading) return;
      rememberAdminToken(token());
      tokenStatus.textContent = "";
      eventRows.replaceChildren(
        ...events.map((e, i) =>
          h(
            "tr",
            { "data-event": e.id },
            h("td", {}, h("a", { href: `/events/${encodeURIComponent(e.id)}`, "data-link": true }, e.name), h("br", {}), h("span", { class: "muted" }, e.venue)),
            h(
              "td",
              {},
              h("time", { datetime: e.starts_at }, formatDate(e.starts_at)),
              e.sales_open_at ? h("span", { class: "muted" }, h("br", {}), "on sale ", h("time", { datetime: e.sales_open_at }, formatDate(e.sales_open_at))) : null,
            ),
            ...summaryCells(e, summaries[i]),
            cancelCell(e, summaries[i]),
          ),
        ),
      );
      if (events.length === 0) eventRows.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No event is on today or ahead. Create one below.")));
    } catch (err) {
      if (mine !== loading) return;
      eventRows.replaceChildren();
      tokenStatus.textContent = problemText(err, "Loading the events");
    }
  }
  tokenInput.addEventListener("change", () => void loadEvents());
  refresh.addEventListener("click", () => void loadEvents());

  root.append(newEventForm(app, token, (created) => {
    message.className = "";
    message.replaceChildren(`Created ${created.name}: ${count(created.seat_count)} seats on sale. `, h("a", { href: `/events/${encodeURIComponent(created.id)}`, "data-link": true }, "Open its seat map"));
    void loadEvents();
  }));

  await loadEvents();
  return () => {
    loading++;
  };
}

// The form of a new event: its details, its price tiers and its sections
// (rows × seats per row, each priced by a tier).
function newEventForm(app: App, token: () => string, created: (e: EventInfo) => void): HTMLElement {
  const field = (id: string, label: string, input: HTMLInputElement) => [h("label", { for: id }, label), input];
  const name = h("input", { id: "event-name", required: true, maxlength: 200, "data-testid": "event-name" });
  const venue = h("input", { id: "event-venue", required: true, maxlength: 200, "data-testid": "event-venue" });
  const starts = h("input", { id: "event-starts", type: "datetime-local", required: true, "data-testid": "event-starts" });
  // Empty: on sale as soon as it is created.
  const opens = h("input", { id: "event-opens", type: "datetime-local", "data-testid": "event-opens" });
  // Empty: the service's cap.
  const perBuyer = h("input", { id: "event-per-buyer", type: "number", min: 1, max: 1000, "data-testid": "event-per-buyer" });
  const currency = h("input", { id: "event-currency", required: true, pattern: "[A-Za-z]{3}", maxlength: 3, size: 4, "data-testid": "event-currency" });
  currency.value = "EUR";

  const tiers = h("tbody", {});
  const sections = h("tbody", {});
  const total = h("p", { class: "muted", "data-testid": "event-seat-total" });
  const error = h("p", { class: "error", role: "alert", "data-testid": "event-error" });
  const submit = h("button", { type: "submit", class: "primary", "data-testid": "event-create" }, "Create event");

  const tierNames = () => Array.from(tiers.querySelectorAll<HTMLInputElement>("input[name=tier-name]"), (i) => i.value.trim()).filter(Boolean);
  // Each section's tier is picked from the tiers' names as they stand.
  function syncTierChoices(): void {
    const names = tierNames();
    for (const select of sections.querySelectorAll<HTMLSelectElement>("select[name=section-tier]")) {
      const chosen = select.value;
      select.replaceChildren(...names.map((n) => h("option", { value: n }, n)));
      select.value = names.includes(chosen) ? chosen : (names[0] ?? "");
    }
  }
  function updateTotal(): void {
    let seats = 0;
    for (const row of sections.rows) {
      const [rows, perRow] = Array.from(row.querySelectorAll<HTMLInputElement>("input[type=number]"), (i) => Number(i.value) || 0);
      seats += rows * perRow;
    }
    total.textContent = `${count(seats)} seats`;
  }
  const removeButton = (row: HTMLTableRowElement, body: HTMLTableSectionElement, what: string) => {
    const remove = h("button", { type: "button", class: "link", "aria-label": `Remove this ${what}` }, "Remove");
    remove.addEventListener("click", () => {
      if (body.rows.length > 1) row.remove();
      syncTierChoices();
      updateTotal();
    });
    return remove;
  };
  function addTier(tierName = "", price = ""): void {
    const n = tiers.rows.length + 1;
    const nameInput = h("input", { name: "tier-name", required: true, maxlength: 32, "aria-label": `Tier ${n} name`, "data-testid": "tier-name" });
    const priceInput = h("input", { name: "tier-price", required: true, inputmode: "decimal", size: 8, "aria-label": `Tier ${n} price`, "data-testid": "tier-price" });
    nameInput.value = tierName;
    priceInput.value = price;
    nameInput.addEventListener("input", syncTierChoices);
    const row = h("tr", {}, h("td", {}, nameInput), h("td", {}, priceInput));
    row.append(h("td", {}, removeButton(row, tiers, "tier")));
    tiers.append(row);
    syncTierChoices();
  }
  function addSection(sectionName = "", rows = 10, perRow = 20): void {
    const n = sections.rows.length + 1;
    const nameInput = h("input", { name: "section-name", required: true, maxlength: 16, pattern: "[A-Za-z0-9_]+", size: 6, "aria-label": `Section ${n} name`, "data-testid": "section-name" });
    nameInput.value = sectionName;
    const tier = h("select", { name: "section-tier", required: true, "aria-label": `Section ${n} tier`, "data-testid": "section-tier" });
    const number = (value: number, label: string, testid: string) => {
      const input = h("input", { type: "number", min: 1, max: 500, required: true, "aria-label": `Section ${n} ${label}`, "data-testid": testid });
      input.value = String(value);
      input.addEventListener("input", updateTotal);
      return input;
    };
    const row = h("tr", {}, h("td", {}, nameInput), h("td", {}, tier), h("td", {}, number(rows, "rows", "section-rows")), h("td", {}, number(perRow, "seats per row", "section-seats")));
    row.append(h("td", {}, removeButton(row, sections, "section")));
    sections.append(row);
    syncTierChoices();
    updateTotal();
  }
  const addTierButton = h("button", { type: "button", class: "link", "data-testid": "add-tier" }, "Add a tier");
  addTierButton.addEventListener("click", () => addTier());
  const addSectionButton = h("button", { type: "button", class: "link", "data-testid": "add-section" }, "Add a section");
  addSectionButton.addEventListener("click", () => addSection());

  // What the form says, as the API takes it; a message for what it cannot.
  function spec(): EventSpec | string {
    const code = currency.value.trim().toUpperCase();
    const times = typedTimes(starts, opens);
    if (typeof times === "string") return times;
    const tierList = [];
    for (const row of tiers.rows) {
      const [tierName, price] = Array.from(row.querySelectorAll("input"), (i) => i.value.trim());
      const minor = toMinor(price, code);
      if (minor === null) return `The price of tier “${tierName}” is not an amount in ${code}.`;
      tierList.push({ name: tierName, price_minor: minor });
    }
    const sectionList = Array.from(sections.rows, (row) => {
      const [sectionName, rows, perRow] = Array.from(row.querySelectorAll("input"), (i) => i.value.trim());
      return { name: sectionName, tier: row.querySelector("select")!.value, rows: Number(rows), seats_per_row: Number(perRow) };
    });
    return {
      name: name.value.trim(),
      venue: venue.value.trim(),
      starts_at: times.starts_at,
      ...(times.sales_open_at ? { sales_open_at: times.sales_open_at } : {}),
      ...(perBuyer.value ? { max_seats_per_buyer: Number(perBuyer.value) } : {}),
      currency: code,
      tiers: tierList,
      sections: sectionList,
    };
  }

  const form = h(
    "form",
    { class: "new-event", "data-testid": "new-event" },
    h("div", { class: "staff" }, ...field("event-name", "Name", name), ...field("event-venue", "Venue", venue), ...field("event-starts", "Starts", starts), ...field("event-opens", "On sale from", opens), h("p", { class: "muted" }, "Leave it empty to put the event on sale at once."), ...field("event-per-buyer", "Seats per buyer", perBuyer), h("p", { class: "muted" }, "Leave it empty for Seatflow's own limit; an event may allow fewer, not more."), ...field("event-currency", "Currency", currency)),
    h("h3", {}, "Price tiers"),
    h("table", { class: "spec" }, h("thead", {}, h("tr", {}, h("th", {}, "Tier"), h("th", {}, "Price"), h("th", {}))), tiers),
    addTierButton,
    h("h3", {}, "Sections"),
    h("table", { class: "spec" }, h("thead", {}, h("tr", {}, h("th", {}, "Section"), h("th", {}, "Tier"), h("th", {}, "Rows"), h("th", {}, "Seats per row"), h("th", {}))), sections),
    addSectionButton,
    total,
    error,
    submit,
  );
  addTier("standard", "");
  addSection("A");

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = spec();
    if (typeof body === "string") {
      error.textContent = body;
      return;
    }
    if (!token()) {
      error.textContent = "Enter the admin token first.";
      return;
    }
    error.textContent = "";
    submit.disabled = true; // one event per press, however often it is pressed
    app.api.createEvent(body, token()).then(
      (event) => {
        rememberAdminToken(token());
        form.reset();
        currency.value = "EUR";
        tiers.replaceChildren();
        sections.replaceChildren();
        addTier("standard", "");
        addSection("A");
        created(event);
      },
      (err: unknown) => {
        error.textContent = problemText(err, "Creating the event");
      },
    ).finally(() => {
      submit.disabled = false;
    });
  });
  return h("section", { class: "box-office-new" }, h("h2", {}, "New event"), form);
}
