import { describe, expect, it } from "vitest";
import { formatCountdown, formatMoney, formatWait, groupCard, localTimes, minorDigits, reasonMessage, takenSeats, toLocalInput, toMinor } from "../../src/format";

describe("format", () => {
  it("prints minor units as money", () => {
    expect(formatMoney(12000, "EUR")).toBe("€120.00");
    expect(formatMoney(4550, "USD")).toBe("$45.50");
  });

  it("counts down in minutes and seconds, never below zero", () => {
    expect(formatCountdown(600_000)).toBe("10:00");
    expect(formatCountdown(545_000)).toBe("9:05");
    expect(formatCountdown(1)).toBe("0:01");
    expect(formatCountdown(-5000)).toBe("0:00");
  });

  it("explains every cancellation reason in words", () => {
    expect(reasonMessage("card_declined")).toMatch(/declined/);
    expect(reasonMessage("insufficient_funds")).toMatch(/insufficient funds/);
    expect(reasonMessage("hold_expired")).toMatch(/expired/);
    expect(reasonMessage("payment_timeout")).toMatch(/in time/);
    expect(reasonMessage("event_cancelled")).toMatch(/event was cancelled/);
    expect(reasonMessage("something_new")).toMatch(/something new/);
    expect(reasonMessage(undefined)).toBe("The order was cancelled.");
  });

  it("finds the taken seats in a conflict's detail", () => {
    expect(takenSeats("these seats are no longer available: A-1-1, B-12-3")).toEqual(["A-1-1", "B-12-3"]);
    expect(takenSeats("you may hold at most 10 seats")).toEqual([]);
  });

  it("groups a card number by four", () => {
    expect(groupCard("4242424242424242")).toBe("4242 4242 4242 4242");
    expect(groupCard("4000 0000 0000 0002")).toBe("4000 0000 0000 0002");
  });

  it("reads the server's UTC times in the browser's own", () => {
    const at = "2026-12-04T00:53:35.071Z";
    const local = new Date(at).toLocaleString("en");
    expect(localTimes(`seat F-1-1 was admitted at ${at}`)).toBe(`seat F-1-1 was admitted at ${local}`);
    expect(localTimes("starting 2030-01-01T20:00:00Z, in Hall")).toBe(`starting ${new Date("2030-01-01T20:00:00Z").toLocaleString("en")}, in Hall`);
    expect(localTimes("no time here: 2026-12-04")).toBe("no time here: 2026-12-04");
  });

  it("reads a price typed in the currency's major unit as minor units", () => {
    expect(minorDigits("EUR")).toBe(2);
    expect(minorDigits("JPY")).toBe(0);
    expect(toMinor("75", "EUR")).toBe(7500);
    expect(toMinor(" 75.5 ", "EUR")).toBe(7550);
    expect(toMinor("75.", "EUR")).toBe(7500);
    expect(toMinor("1,250.05", "USD")).toBe(125005);
    expect(toMinor("0", "EUR")).toBe(0);
    expect(toMinor("5000", "JPY")).toBe(5000);
    expect(toMinor("50.5", "JPY")).toBeNull(); // yen have no minor unit
    expect(toMinor("75.123", "EUR")).toBeNull();
    expect(toMinor("-5", "EUR")).toBeNull();
    expect(toMinor("1,25", "EUR")).toBeNull();
    expect(toMinor("seventy", "EUR")).toBeNull();
    expect(toMinor("", "EUR")).toBeNull();
  });

  it("says how long until a sale opens", () => {
    expect(formatWait(65_000)).toBe("1:05");
    expect(formatWait(7_509_000)).toBe("2:05:09");
    expect(formatWait(86_400_000)).toBe("1 day");
    expect(formatWait(3 * 86_400_000 + 5000)).toBe("3 days");
    expect(formatWait(-5)).toBe("0:00");
  });

  it("puts a time in a datetime-local field in the browser's own time, and round-trips it", () => {
    const iso = "2030-05-05T20:30:00.000Z";
    const local = toLocalInput(iso);
    expect(local).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d$/);
    expect(new Date(local).toISOString()).toBe(iso);
    expect(toLocalInput(undefined)).toBe("");
    expect(toLocalInput("not a time")).toBe("");
  });
});
