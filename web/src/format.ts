// Pure helpers for what the pages print: money, times, countdowns and the
// words for an order's status and reasons.

export function formatMoney(minor: number, currency: string): string {
  return new Intl.NumberFormat("en", { style: "currency", currency }).format(minor / 100);
}

export function formatDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat("en", { dateStyle: "full", timeStyle: "short" }).format(date);
}

// "9:05" for 545 seconds; "0:00" once passed.
export function formatCountdown(msLeft: number): string {
  const seconds = Math.max(0, Math.ceil(msLeft / 1000));
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m}:${s.toString().padStart(2, "0")}`;
}

export type OrderStatus =
  | "AUTHORIZING"
  | "CONFIRMING"
  | "COMPLETED"
  | "CANCELLING"
  | "CANCELLED"
  | "REFUNDING"
  | "REFUNDED";

export const STATUS_LABEL: Record<OrderStatus, string> = {
  AUTHORIZING: "Authorizing your payment",
  CONFIRMING: "Confirming your seats",
  COMPLETED: "Completed",
  CANCELLING: "Cancelling",
  CANCELLED: "Cancelled",
  REFUNDING: "Refunding",
  REFUNDED: "Refunded",
};

// What a buyer should read for the reason an order was cancelled.
export function reasonMessage(reason: string | undefined): string {
  switch (reason) {
    case "card_declined":
      return "Your card was declined. Nothing was charged and the seats were released.";
    case "insufficient_funds":
      return "Your card has insufficient funds. Nothing was charged and the seats were released.";
    case "hold_expired":
      return "Your hold expired before the seats could be confirmed. The payment was voided and the seats were released.";
    case "hold_released":
      return "The hold was released before the seats could be confirmed. The payment was voided.";
    case "hold_sold_to_another_order":
    case "hold_not_found":
      return "These seats could not be confirmed for this order. The payment was voided.";
    case "payment_timeout":
      return "The card payment did not complete in time. It was voided; nothing was charged.";
    case "event_cancelled":
      return "The event was cancelled before the seats could be confirmed. The payment was voided; nothing was charged.";
    case undefined:
    case "":
      return "The order was cancelled.";
    default:
      return `The order was cancelled (${reason.replaceAll("_", " ")}).`;
  }
}

// Seat ids named in a 409 from the hold API: "these seats are no longer
// available: A-1-1, A-1-2".
export function takenSeats(detail: string): string[] {
  const colon = detail.lastIndexOf(":");
  if (colon < 0) return [];
  return detail
    .slice(colon + 1)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => /^[^\s,]+-[^\s,]+-\d+$/.test(s));
}

export function groupCard(number: string): string {
  return number.replace(/\s+/g, "").replace(/(\d{4})(?=\d)/g, "$1 ");
}

// The server's messages give times in UTC (RFC 3339); a person reads them in
// the browser's own time.
export function localTimes(text: string): string {
  return text.replace(/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\b/g, (t) => new Date(t).toLocaleString("en"));
}

// How many digits a currency's minor unit has: 2 for EUR (cents), 0 for JPY.
export function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2; // not a currency Intl knows; the server checks the code itself
  }
}

// A price typed in the currency's major unit ("75", "75.5", "1,250.00") in
// minor units (7500, 7550, 125000); null if it is not one, or has more
// decimals than the currency's minor unit.
export function toMinor(text: string, currency: string): number | null {
  const digits = minorDigits(currency);
  const match = /^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d*))?$/.exec(text.trim());
  if (!match) return null;
  const whole = match[1].replaceAll(",", "");
  const fraction = match[2] ?? "";
  if (fraction.length > digits) return null;
  const minor = Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, "0") || "0");
  return Number.isSafeInteger(minor) ? minor : null;
}

// How long until a sale opens: "2:05:09" under a day, else "3 days".
export function formatWait(msLeft: number): string {
  const seconds = Math.max(0, Math.ceil(msLeft / 1000));
  if (seconds >= 86_400) {
    const days = Math.floor(seconds / 86_400);
    return `${days} day${days === 1 ? "" : "s"}`;
  }
  const hours = Math.floor(seconds / 3600);
  const rest = formatCountdown((seconds % 3600) * 1000);
  return hours > 0 ? `${hours}:${rest.padStart(5, "0")}` : rest;
}

// An RFC 3339 time as a datetime-local input's value ("2030-05-05T22:00"),
// in the browser's own time; "" for none.
export function toLocalInput(iso: string | undefined): string {
  if (!iso) return "";
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return "";
  const two = (n: number) => String(n).padStart(2, "0");
  return `${t.getFullYear()}-${two(t.getMonth() + 1)}-${two(t.getDate())}T${two(t.getHours())}:${two(t.getMinutes())}`;
}
