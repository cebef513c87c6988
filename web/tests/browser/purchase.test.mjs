// Browser tests against a real `seatflow up`: a buyer and a watcher in two
// browser contexts, the declined-card path, an expiring hold, and Seatflow
// going away under the page. Screenshots land in test-results/.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import jsQR from "jsqr";
import { ADMIN, artifacts, expectColour, expectConfirmation, launchBrowser, selectFirstRowSeats, startSeatflow, waitFor } from "./harness.mjs";

const AVAILABLE = "#2458d6"; // the first tier's colour
const HELD = "#b9c0c8";
const SOLD = "#343a42";
const MINE = "#f2b705";

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

async function openEvent(context, seatflow, eventId) {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(`${seatflow.url}/events/${eventId}`);
  await page.waitForSelector("[data-testid=seat-map] canvas");
  await waitFor(async () => (await page.textContent("[data-testid=live-status]")) === "Live", 10000, "the live stream");
  return page;
}

// Holds the first seat of the first row and pays for it with `card`.
async function holdAndPay(page, card) {
  await selectFirstRowSeats(page, 1);
  await page.click("[data-testid=hold]");
  await page.waitForSelector("[data-testid=pay]");
  await page.fill("#card", card);
  await page.click("[data-testid=pay]");
}

describe("buying in the browser", () => {
  let seatflow;
  before(async () => {
    seatflow = await startSeatflow();
  });
  after(async () => {
    await seatflow?.cleanup();
  });

  it("a watcher sees the seats turn HELD then SOLD live while another buyer pays", async () => {
    const eventId = await seatflow.createEvent("Live watch", 5, 10);
    const buyerContext = await browser.newContext({ viewport: { width: 1300, height: 850 } });
    const watcherContext = await browser.newContext({ viewport: { width: 1300, height: 850 } });
    try {
      const watcher = await openEvent(watcherContext, seatflow, eventId);
      const buyer = await openEvent(buyerContext, seatflow, eventId);
      await expectColour(watcher, "F-1-1", AVAILABLE);

      // The events list leads to the event.
      const list = await buyerContext.newPage();
      await list.goto(seatflow.url);
      await list.waitForSelector(`text=Live watch`);
      await list.close();

      await selectFirstRowSeats(buyer, 2);
      await expectColour(buyer, "F-1-1", MINE);
      assert.match(await buyer.textContent("[data-testid=announcer]"), /Section F, row 1, seat 2.*selected/);
      assert.match(await buyer.textContent("[data-testid=selection]"), /F-1-1.*F-1-2/s);
      await buyer.click("[data-testid=hold]");
      await buyer.waitForSelector("[data-testid=countdown]");
      assert.match(await buyer.textContent("[data-testid=countdown]"), /^(10:00|9:5\d)$/);

      await expectColour(watcher, "F-1-1", HELD, 10000);
      await expectColour(watcher, "F-1-2", HELD);
      assert.equal(await watcher.evaluate(() => window.__seatflow.seatState("F-1-1")), "H");
      await watcher.screenshot({ path: `${artifacts}/watcher-held.png` });

      await buyer.click("text=4242 4242 4242 4242");
      await buyer.screenshot({ path: `${artifacts}/buyer-checkout.png` });
      await buyer.click("[data-testid=pay]");
      await buyer.waitForURL(/\/orders\//);
      await expectConfirmation(buyer, seatflow);
      assert.match(await buyer.textContent("[data-testid=confirmation]"), /F-1-1, F-1-2/);
      assert.match(await buyer.textContent("[data-testid=trace]"), /^[0-9a-f]{32}$/);
      assert.match(await buyer.textContent("[data-testid=order-event]"), /^Live watch, /);
      await buyer.screenshot({ path: `${artifacts}/buyer-confirmation.png` });

      // The order is listed under "Your orders", and leads back to itself.
      const orderUrl = buyer.url();
      await buyer.click("text=Your orders");
      await buyer.waitForSelector("[data-testid=order-card]");
      assert.equal(await buyer.locator("[data-testid=order-card]").count(), 1);
      const card = await buyer.textContent("[data-testid=order-card]");
      assert.match(card, /Live watch/);
      assert.match(card, /Seats F-1-1, F-1-2/);
      assert.match(card, /Completed/);
      await buyer.screenshot({ path: `${artifacts}/buyer-orders.png` });
      await buyer.click("[data-testid=order-card] a");
      await buyer.waitForURL(orderUrl);
      await expectConfirmation(buyer, seatflow);

      await expectColour(watcher, "F-1-1", SOLD, 10000);
      await expectColour(watcher, "F-1-2", SOLD);
      await expectColour(watcher, "F-1-3", AVAILABLE);
      await watcher.screenshot({ path: `${artifacts}/watcher-sold.png` });
    } finally {
      await buyerContext.close();
      await watcherContext.close();
    }
  });

  it("a buyer refunds a completed order and its seats go back on sale", async () => {
    const eventId = await seatflow.createEvent("Refund", 2, 10);
    const context = await browser.newContext();
    try {
      const page = await openEvent(context, seatflow, eventId);
      await holdAndPay(page, "4242 4242 4242 4242");
      await expectConfirmation(page, seatflow);
      await page.click("[data-testid=refund]");
      assert.match(await page.textContent("[data-testid=order-status]"), /Refund €50\.00 to your card\? Seats F-1-1 go back on sale/);
      await page.screenshot({ path: `${artifacts}/refund-confirm.png` });
      await page.click("[data-testid=refund-confirm]");
      await page.waitForSelector("[data-testid=refunded]", { timeout: 15000 });
      assert.match(await page.textContent("[data-testid=refunded]"), /€50\.00 goes back to your card, and seats F-1-1 are on sale again/);
      assert.equal(await page.getAttribute("[data-testid=order-status]", "data-status"), "REFUNDED");
      assert.equal(await page.locator("[data-testid=refund]").count(), 0);
      await page.screenshot({ path: `${artifacts}/refunded.png` });
      await waitFor(async () => {
        const map = await seatflow.api("GET", `/api/events/${eventId}/seats`);
        return map.body.states[0] === "A";
      }, 10000, "F-1-1 on sale again");
    } finally {
      await context.close();
    }
  });

  it("a buyer's ticket shows as a QR code that the door admits once", async () => {
    const eventId = await seatflow.createEvent("Door", 1, 4);
    const context = await browser.newContext();
    try {
      const page = await openEvent(context, seatflow, eventId);
      await holdAndPay(page, "4242 4242 4242 4242");
      await page.waitForSelector("[data-testid=ticket]", { timeout: 15000 });
      const code = (await page.textContent("[data-testid=ticket-code]")).trim();
      assert.equal(await page.getAttribute("[data-testid=ticket]", "data-seat"), "F-1-1");
      // The QR code, drawn as the browser draws it, reads back as the code.
      const image = await page.evaluate(async () => {
        const svg = document.querySelector("[data-testid=ticket] svg");
        const img = new Image();
        img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(new XMLSerializer().serializeToString(svg));
        await img.decode();
        const canvas = document.createElement("canvas");
        canvas.width = canvas.height = 400;
        const g = canvas.getContext("2d");
        g.drawImage(img, 0, 0, 400, 400);
        return Array.from(g.getImageData(0, 0, 400, 400).data);
      });
      const read = jsQR(Uint8ClampedArray.from(image), 400, 400);
      assert.equal(read?.data, code);
      await page.screenshot({ path: `${artifacts}/ticket.png` });
      // Printed, the page is the tickets without its controls.
      await page.emulateMedia({ media: "print" });
      assert.equal(await page.isVisible("[data-testid=ticket]"), true);
      assert.equal(await page.isVisible("[data-testid=refund]"), false);
      await page.screenshot({ path: `${artifacts}/ticket-print.png` });
      await page.emulateMedia({ media: "screen" });

      // The door: the admin token, the event, the code typed and Enter.
      const door = await context.newPage();
      await door.goto(`${seatflow.url}/door`);
      await door.fill("[data-testid=door-token]", ADMIN);
      await door.press("[data-testid=door-token]", "Tab");
      await door.waitForSelector(`[data-testid=door-event] option[value="${eventId}"]`, { state: "attached" });
      await door.selectOption("[data-testid=door-event]", eventId);
      await waitFor(async () => (await door.textContent("[data-testid=door-count]")) === "0 of 1 tickets sold are in.", 5000, "the door's count");
      await door.fill("[data-testid=door-code]", code);
      await door.press("[data-testid=door-code]", "Enter");
      await door.waitForSelector("[data-testid=door-result][data-outcome=admitted]");
      assert.match(await door.textContent("[data-testid=door-result]"), /Let in — seat F-1-1, Door/);
      assert.equal(await door.inputValue("[data-testid=door-code]"), "");
      await waitFor(async () => (await door.textContent("[data-testid=door-count]")) === "1 of 1 tickets sold are in.", 5000, "the count after");
      await door.screenshot({ path: `${artifacts}/door-admitted.png` });
      await door.fill("[data-testid=door-code]", code);
      await door.press("[data-testid=door-code]", "Enter");
      await door.waitForSelector("[data-testid=door-result][data-outcome=refused]");
      assert.match(await door.textContent("[data-testid=door-result]"), /Do not let in — this ticket was used already/);
      await door.screenshot({ path: `${artifacts}/door-refused.png` });

      // The buyer's page shows the ticket used, and offers no refund.
      await page.reload();
      await page.waitForSelector("[data-testid=ticket-used]", { timeout: 10000 });
      assert.equal(await page.locator("[data-testid=refund]").count(), 0);
    } finally {
      await context.close();
    }
  });

  it("a buyer who asks for the best seats gets them side by side, held", async () => {
    const eventId = await seatflow.createEvent("Best seats", 2, 6);
    const context = await browser.newContext({ viewport: { width: 1300, height: 850 } });
    try {
      const page = await openEvent(context, seatflow, eventId);
      // More than a row holds: said so, nothing held.
      await page.selectOption("[data-testid=best-count]", "8");
      await page.click("[data-testid=best-find]");
      await waitFor(async () => (await page.textContent("[data-testid=message]")) === "No 8 seats side by side are available. Try fewer seats or another price.", 5000, "the refusal");
      assert.equal(await page.locator("[data-testid=countdown]").count(), 0);
      await page.screenshot({ path: `${artifacts}/best-available-refused.png` });
      // Two: the middle of the front row, held and shown as the buyer's.
      await page.selectOption("[data-testid=best-count]", "2");
      await page.selectOption("[data-testid=best-tier]", "std");
      await page.click("[data-testid=best-find]");
      await page.waitForSelector("[data-testid=pay]");
      assert.equal(await page.textContent("[data-testid=message]"), "We found F-1-3, F-1-4 for you.");
      await expectColour(page, "F-1-3", MINE);
      await expectColour(page, "F-1-4", MINE);
      await page.screenshot({ path: `${artifacts}/best-available.png` });
      await page.click("[data-testid=release]");
      await expectColour(page, "F-1-3", AVAILABLE);
    } finally {
      await context.close();
    }
  });

  it("the box office changes an event, and a buyer who has it open sees the change", async () => {
    const eventId = await seatflow.createEvent("Matinee", 1, 4);
    const context = await browser.newContext({ viewport: { width: 1300, height: 900 } });
    try {
      const page = await openEvent(context, seatflow, eventId);
      assert.equal(await page.textContent("[data-testid=event-name]"), "Matinee");
      const admin = await context.newPage();
      admin.on("pageerror", (e) => console.error("page error:", e.message));
      await admin.goto(`${seatflow.url}/admin`);
      await admin.fill("[data-testid=admin-token]", ADMIN);
      await admin.press("[data-testid=admin-token]", "Tab");
      const row = `[data-testid=admin-events] tr[data-event="${eventId}"]`;
      await admin.waitForSelector(row);
      await admin.click(`${row} [data-testid=admin-edit]`);
      const form = `tr[data-edit="${eventId}"]`;
      assert.equal(await admin.inputValue(`${form} [data-testid=edit-name]`), "Matinee");
      assert.equal(await admin.inputValue(`${form} [data-testid=edit-opens]`), "");

      // What the server refuses, the form shows, and nothing changes.
      const local = (t) => new Date(t.getTime() - t.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
      const starts = new Date(Date.now() + 60 * 86_400_000);
      await admin.fill(`${form} [data-testid=edit-starts]`, local(starts));
      await admin.fill(`${form} [data-testid=edit-opens]`, local(new Date(starts.getTime() + 86_400_000)));
      await admin.click(`${form} [data-testid=edit-save]`);
      await waitFor(async () => /is not before the start/.test(await admin.textContent(`${form} [data-testid=edit-error]`)), 5000, "the server's refusal");
      assert.equal((await seatflow.api("GET", `/api/events/${eventId}`)).body.name, "Matinee");

      // Renamed, moved a month on, its sale put off an hour, two seats a buyer.
      const opens = new Date(Date.now() + 3_600_000);
      await admin.fill(`${form} [data-testid=edit-name]`, "Matinee (moved)");
      await admin.fill(`${form} [data-testid=edit-venue]`, "Studio");
      await admin.fill(`${form} [data-testid=edit-opens]`, local(opens));
      await admin.fill(`${form} [data-testid=edit-per-buyer]`, "2");
      await admin.screenshot({ path: `${artifacts}/box-office-edit.png`, fullPage: true });
      await admin.click(`${form} [data-testid=edit-save]`);
      await waitFor(async () => (await admin.textContent("[data-testid=admin-message]")) === "Saved the changes to Matinee (moved).", 5000, "the change saved");
      await admin.waitForSelector(`${row}:has-text("Matinee (moved)")`);
      const event = (await seatflow.api("GET", `/api/events/${eventId}`)).body;
      assert.equal(event.venue, "Studio");
      assert.equal(event.starts_at, `${starts.toISOString().slice(0, 16)}:00.000Z`); // to the minute
      assert.equal(event.sales_open_at, `${opens.toISOString().slice(0, 16)}:00.000Z`);
      assert.equal(event.max_seats_per_buyer, 2);

      // The buyer's page follows at once: the new name, place and time, and
      // a sale that now opens later, counted down.
      await page.bringToFront();
      await waitFor(async () => (await page.textContent("[data-testid=event-name]")) === "Matinee (moved)", 10000, "the new name on the buyer's page");
      assert.equal(await page.textContent("[data-testid=event-venue]"), "Studio");
      assert.match(await page.textContent("[data-testid=message]"), /^The organiser moved this event to /);
      assert.match(await page.textContent("[data-testid=sales-closed]"), /^Sales open /);
      await page.waitForSelector("[data-testid=opens-in]");
      assert.equal(await page.title(), "Matinee (moved) · Seatflow");
      await page.screenshot({ path: `${artifacts}/event-changed.png` });
    } finally {
      await context.close();
    }
  });

  it("an event put on sale for a set time counts down and opens by itself", async () => {
    const opens = new Date(Date.now() + 4000).toISOString();
    const eventId = await seatflow.createEvent("Opening soon", 1, 4, 1, undefined, { sales_open_at: opens });
    const context = await browser.newContext();
    try {
      const list = await context.newPage();
      await list.goto(seatflow.url);
      await list.waitForSelector('li.event-card:has-text("Opening soon") [data-testid=sales-open]');
      await list.close();
      const page = await openEvent(context, seatflow, eventId);
      assert.match(await page.textContent("[data-testid=sales-closed]"), /^Sales open /);
      await page.waitForSelector("[data-testid=opens-in]");
      await page.screenshot({ path: `${artifacts}/sales-open-soon.png` });
      // Before the time, a seat is not taken.
      await selectFirstRowSeats(page, 1);
      assert.match(await page.textContent("[data-testid=message]"), /^Sales open /);
      assert.equal(await page.locator("[data-testid=hold]").count(), 0);
      // Then the page opens the sale itself, and the seat is held.
      await waitFor(async () => (await page.textContent("[data-testid=message]")) === "Sales are open: select your seats.", 10000, "the sale to open");
      await selectFirstRowSeats(page, 1);
      await page.click("[data-testid=hold]");
      await page.waitForSelector("[data-testid=pay]");
      await page.click("[data-testid=release]");
    } finally {
      await context.close();
    }
  });

  it("the box office creates an event, follows its sales and cancels it", async () => {
    const context = await browser.newContext({ viewport: { width: 1300, height: 900 } });
    try {
      const admin = await context.newPage();
      admin.on("pageerror", (e) => console.error("page error:", e.message));
      await admin.goto(`${seatflow.url}/admin`);
      await admin.fill("[data-testid=admin-token]", "not-the-token");
      await admin.press("[data-testid=admin-token]", "Tab");
      await waitFor(async () => (await admin.textContent("[data-testid=admin-token-status]")) === "the admin token is not valid", 5000, "the wrong token refused");
      await admin.fill("[data-testid=admin-token]", ADMIN);
      await admin.press("[data-testid=admin-token]", "Tab");
      await admin.waitForSelector("[data-testid=admin-events] tbody tr");

      // Two tiers, two sections; the form counts the seats as they are typed.
      const starts = new Date(Date.now() + 30 * 86_400_000);
      const local = new Date(starts.getTime() - starts.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
      await admin.fill("[data-testid=event-name]", "Gala");
      await admin.fill("[data-testid=event-venue]", "Hall");
      await admin.fill("[data-testid=event-starts]", local);
      await admin.fill("[data-testid=event-per-buyer]", "4");
      await admin.fill("[data-testid=tier-name] >> nth=0", "front");
      await admin.fill("[data-testid=tier-price] >> nth=0", "eighty");
      await admin.click("[data-testid=add-tier]");
      await admin.fill("[data-testid=tier-name] >> nth=1", "back");
      await admin.fill("[data-testid=tier-price] >> nth=1", "40");
      await admin.fill("[data-testid=section-rows] >> nth=0", "2");
      await admin.fill("[data-testid=section-seats] >> nth=0", "5");
      await admin.click("[data-testid=add-section]");
      await admin.fill("[data-testid=section-name] >> nth=1", "A");
      await admin.selectOption("[data-testid=section-tier] >> nth=1", "back");
      await admin.fill("[data-testid=section-rows] >> nth=1", "1");
      await admin.fill("[data-testid=section-seats] >> nth=1", "10");
      assert.equal(await admin.textContent("[data-testid=event-seat-total]"), "20 seats");
      const before = (await seatflow.api("GET", "/api/events")).body.events.length;

      // What the form cannot send, it says; what the server refuses, it shows.
      await admin.click("[data-testid=event-create]");
      assert.equal(await admin.textContent("[data-testid=event-error]"), "The price of tier “front” is not an amount in EUR.");
      await admin.fill("[data-testid=tier-price] >> nth=0", "80.50");
      await admin.click("[data-testid=event-create]");
      await waitFor(async () => (await admin.textContent("[data-testid=event-error]")) === "section 'A' is listed twice", 5000, "the server's refusal");
      assert.equal((await seatflow.api("GET", "/api/events")).body.events.length, before);
      await admin.fill("[data-testid=section-name] >> nth=1", "B");
      await admin.click("[data-testid=event-create]");
      await waitFor(async () => /^Created Gala: 20 seats on sale/.test(await admin.textContent("[data-testid=admin-message]")), 5000, "the new event");
      const href = await admin.getAttribute("[data-testid=admin-message] a", "href");
      const eventId = decodeURIComponent(href.split("/").pop());
      const map = (await seatflow.api("GET", `/api/events/${eventId}/seats`)).body;
      assert.equal(map.event.starts_at, `${starts.toISOString().slice(0, 16)}:00.000Z`); // to the minute
      assert.equal(map.event.max_seats_per_buyer, 4);
      assert.deepEqual(map.tiers, [{ name: "front", price_minor: 8050 }, { name: "back", price_minor: 4000 }]);
      assert.deepEqual(map.sections.map((s) => [s.name, s.rows.length, s.rows[0].count, s.rows[0].tier]), [["A", 2, 5, "front"], ["B", 1, 10, "back"]]);
      const row = `[data-testid=admin-events] tr[data-event="${eventId}"]`;
      await admin.waitForSelector(row);
      assert.match(await admin.textContent(`${row} [data-testid=admin-sold]`), /^0 of 20 seats/);

      // A buyer, told the event's limit, pays for a seat; the box office counts it.
      const page = await openEvent(context, seatflow, eventId);
      assert.equal(await page.textContent("[data-testid=buyer-cap]"), "Up to 4 seats per buyer.");
      await holdAndPay(page, "4242 4242 4242 4242");
      await page.waitForSelector("[data-testid=ticket]", { timeout: 15000 });
      await admin.bringToFront();
      await admin.click("text=Refresh");
      await waitFor(async () => /^1 of 20 seats/.test(await admin.textContent(`${row} [data-testid=admin-sold]`)), 5000, "the sale counted");
      assert.equal(await admin.textContent(`${row} [data-testid=admin-revenue]`), "€80.50");
      assert.equal(await admin.textContent(`${row} [data-testid=admin-admitted]`), "0 of 1");
      await admin.screenshot({ path: `${artifacts}/box-office.png`, fullPage: true });

      // Cancelling asks first, then refunds the buyer.
      await admin.click(`${row} [data-testid=admin-cancel]`);
      assert.match(await admin.textContent(`${row} td.actions`), /Cancel Gala\? Sales stop, unpaid holds are released and 1 order refunded/);
      await admin.click(`${row} [data-testid=admin-confirm-cancel]`);
      await waitFor(async () => /^Gala is cancelled: .* its 1 order is being refunded\.$/.test(await admin.textContent("[data-testid=admin-message]")), 5000, "the cancellation");
      await admin.waitForSelector(row, { state: "detached" });
      assert.ok((await seatflow.api("GET", `/api/events/${eventId}`)).body.cancelled_at);
      await page.reload();
      await page.waitForSelector("[data-testid=refunded]", { timeout: 15000 });
      assert.match(await page.textContent("[data-testid=refunded]"), /The event was cancelled, so your tickets are refunded: €80\.50/);
    } finally {
      await context.close();
    }
  });

  it("an event cancelled while it is open says so live, and its buyers read that they are refunded", async () => {
    const eventId = await seatflow.createEvent("Called off", 1, 4);
    const context = await browser.newContext();
    try {
      // A buyer with a completed order, and the event open on another page.
      const buyer = await openEvent(context, seatflow, eventId);
      await holdAndPay(buyer, "4242 4242 4242 4242");
      await expectConfirmation(buyer, seatflow);
      const watcher = await openEvent(context, seatflow, eventId);
      await selectFirstRowSeats(watcher, 1, 1); // F-1-2
      await expectColour(watcher, "F-1-2", MINE);

      const cancelled = await seatflow.api("POST", `/api/admin/events/${eventId}/cancel`);
      assert.equal(cancelled.status, 200);
      await watcher.waitForSelector("text=This event was cancelled.", { timeout: 10000 });
      assert.match(await watcher.textContent("[data-testid=sales-closed]"), /cancelled/);
      await expectColour(watcher, "F-1-2", AVAILABLE);
      await watcher.screenshot({ path: `${artifacts}/event-cancelled.png` });

      await buyer.reload();
      await buyer.waitForSelector("[data-testid=refunded]", { timeout: 15000 });
      assert.match(await buyer.textContent("[data-testid=refunded]"), /The event was cancelled, so your tickets are refunded: €50\.00/);
      assert.equal(await buyer.locator("[data-testid=refund]").count(), 0);
      await buyer.screenshot({ path: `${artifacts}/order-of-cancelled-event.png` });
    } finally {
      await context.close();
    }
  });

  it("a buyer with no orders is told so and pointed to the events", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${seatflow.url}/orders`);
      await page.waitForSelector("text=You have no orders yet.");
      await page.click("text=See the events");
      await page.waitForSelector("h1:has-text('Events')");
    } finally {
      await context.close();
    }
  });

  it("an event with no seat left says sold out, live, on its page and in the list", async () => {
    const eventId = await seatflow.createEvent("Tiny show", 1, 2);
    const context = await browser.newContext();
    try {
      const page = await openEvent(context, seatflow, eventId);
      assert.equal(await page.locator("[data-testid=sold-out]").count(), 0);
      const other = await seatflow.api("POST", "/api/session");
      const taken = await seatflow.api("POST", `/api/events/${eventId}/holds`, { seats: ["F-1-1", "F-1-2"] }, other.body.token);
      assert.equal(taken.status, 201);
      await page.waitForSelector("[data-testid=sold-out]", { timeout: 10000 });
      await page.screenshot({ path: `${artifacts}/sold-out.png` });

      const list = await context.newPage();
      await list.goto(seatflow.url);
      const card = list.locator(".event-card", { hasText: "Tiny show" });
      assert.equal(await card.locator("[data-testid=availability]").textContent(), "Sold out");

      const released = await seatflow.api("DELETE", `/api/holds/${taken.body.id}`, undefined, other.body.token);
      assert.equal(released.status, 200);
      await page.waitForSelector("[data-testid=sold-out]", { state: "detached", timeout: 10000 });
      await list.reload();
      assert.equal(await card.locator("[data-testid=availability]").textContent(), "2 of 2 seats left");
    } finally {
      await context.close();
    }
  });

  it("a seat taken meanwhile is named and dropped from the selection", async () => {
    const eventId = await seatflow.createEvent("Contention", 2, 10);
    const context = await browser.newContext();
    try {
      const page = await openEvent(context, seatflow, eventId);
      await selectFirstRowSeats(page, 1, 4); // F-1-5
      const other = await seatflow.api("POST", "/api/session");
      const taken = await seatflow.api("POST", `/api/events/${eventId}/holds`, { seats: ["F-1-5"] }, other.body.token);
      assert.equal(taken.status, 201);
      await waitFor(async () => /F-1-5 was just taken/.test(await page.textContent("[data-testid=message]")), 10000, "the taken-seat message");
      assert.equal(await page.locator("[data-testid=hold]").count(), 0);
      await page.screenshot({ path: `${artifacts}/seat-taken.png` });
    } finally {
      await context.close();
    }
  });

  it("a declined card cancels the order with the reason and releases the seats", async () => {
    const eventId = await seatflow.createEvent("Declined", 2, 10);
    const context = await browser.newContext();
    try {
      const page = await openEvent(context, seatflow, eventId);
      await holdAndPay(page, "4000 0000 0000 0002");
      await page.waitForSelector("[data-testid=reason]", { timeout: 15000 });
      assert.match(await page.textContent("[data-testid=reason]"), /card was declined/);
      assert.equal(await page.getAttribute("[data-testid=order-status]", "data-status"), "CANCELLED");
      await page.screenshot({ path: `${artifacts}/declined.png` });
      await waitFor(async () => {
        const map = await seatflow.api("GET", `/api/events/${eventId}/seats`);
        return map.body.states[0] === "A";
      }, 10000, "F-1-1 released");
      await page.click("text=Back to the seat map");
      await page.waitForSelector("[data-testid=seat-map] canvas");
      await expectColour(page, "F-1-1", AVAILABLE, 10000);
    } finally {
      await context.close();
    }
  });

  it("a browser whose clock is 15 minutes fast counts the hold down from 10:00", async () => {
    const eventId = await seatflow.createEvent("Skewed clock", 2, 10);
    const context = await browser.newContext();
    try {
      // By this browser's clock every hold of 10 minutes has already expired.
      await context.clock.setSystemTime(new Date(Date.now() + 15 * 60_000));
      const page = await openEvent(context, seatflow, eventId);
      await selectFirstRowSeats(page, 1);
      await page.click("[data-testid=hold]");
      await page.waitForSelector("[data-testid=countdown]");
      await new Promise((resolve) => setTimeout(resolve, 1500)); // a tick or two
      assert.match(await page.textContent("[data-testid=countdown]"), /^(10:00|9:5\d)$/);
      assert.equal(await page.locator("[data-testid=pay]").count(), 1, "the hold is still on");
    } finally {
      await context.close();
    }
  });

  it("an event that has started takes no selection: its sales are closed", async () => {
    const starts = new Date(Date.now() + 1500);
    const eventId = await seatflow.createEvent("Started", 2, 10, 1, starts.toISOString());
    await new Promise((resolve) => setTimeout(resolve, starts.getTime() - Date.now() + 100));
    const context = await browser.newContext();
    try {
      const page = await openEvent(context, seatflow, eventId);
      assert.match(await page.textContent("[data-testid=sales-closed]"), /closed when it started/);
      await selectFirstRowSeats(page, 1);
      assert.match(await page.textContent("[data-testid=message]"), /closed when it started/);
      assert.equal(await page.locator("[data-testid=hold]").count(), 0);
      await expectColour(page, "F-1-1", AVAILABLE);
    } finally {
      await context.close();
    }
  });

  it("on a phone the page keeps to the screen's width and the map scrolls inside its box", async () => {
    const eventId = await seatflow.createEvent("Phone", 4, 40); // 40 seats a row: wider than the screen
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    try {
      const page = await openEvent(context, seatflow, eventId);
      const widths = await page.evaluate(() => {
        const map = document.querySelector("[data-testid=seat-map]");
        return { page: document.documentElement.scrollWidth, map: map.clientWidth, content: map.scrollWidth };
      });
      assert.equal(widths.page, 390, "the page is no wider than the screen");
      assert.ok(widths.map < 390 && widths.content > widths.map, `the map scrolls in its box: ${JSON.stringify(widths)}`);
      await page.screenshot({ path: `${artifacts}/phone.png`, fullPage: true });
    } finally {
      await context.close();
    }
  });

  it("says so when Seatflow cannot be reached", async () => {
    const eventId = await seatflow.createEvent("Unreachable", 2, 10);
    const context = await browser.newContext();
    try {
      const page = await openEvent(context, seatflow, eventId);
      await selectFirstRowSeats(page, 1);
      await seatflow.stop();
      await waitFor(async () => /interrupted/.test(await page.textContent("[data-testid=live-status]")), 10000, "the stream to notice");
      await page.click("[data-testid=hold]");
      await waitFor(async () => /can't be reached/.test(await page.textContent("[data-testid=message]")), 10000, "the message");
      assert.equal(await page.isVisible("#banner"), true);
      await page.screenshot({ path: `${artifacts}/unreachable.png` });
    } finally {
      await context.close();
    }
  });
});

describe("an expiring hold", () => {
  let seatflow;
  before(async () => {
    seatflow = await startSeatflow({
      SEATFLOW_RESERVATION_HOLD_TTL: "4s",
      SEATFLOW_RESERVATION_SWEEP_INTERVAL: "200ms",
    });
  });
  after(async () => {
    await seatflow?.cleanup();
  });

  it("counts down, says the hold expired, and shows the seats free again", async () => {
    const eventId = await seatflow.createEvent("Expiry", 2, 10);
    const context = await browser.newContext();
    try {
      const page = await openEvent(context, seatflow, eventId);
      await selectFirstRowSeats(page, 2);
      await page.click("[data-testid=hold]");
      await page.waitForSelector("[data-testid=countdown]");
      assert.match(await page.textContent("[data-testid=countdown]"), /^0:0[1-4]$/);
      await page.screenshot({ path: `${artifacts}/hold-countdown.png` });
      await waitFor(async () => /hold expired/.test(await page.textContent("[data-testid=message]")), 15000, "the expiry message");
      await expectColour(page, "F-1-1", AVAILABLE, 10000);
      assert.equal(await page.locator("[data-testid=pay]").count(), 0);
      await page.screenshot({ path: `${artifacts}/hold-expired.png` });
    } finally {
      await context.close();
    }
  });
});
