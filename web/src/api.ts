// The Seatflow API as the browser sees it: JSON over fetch, problems
// (RFC 9457) turned into ApiError, and the buyer's session token.

// What the box office may change of an event; null clears a sale time or a limit.
export interface EventChanges {
  name?: string;
  venue?: string;
  starts_at?: string;
  sales_open_at?: string | null;
  max_seats_per_buyer?: number | null;
}

export interface EventInfo {
  id: string;
  name: string;
  venue: string;
  starts_at: string;
  currency: string;
  seat_count: number;
  // How many seats are AVAILABLE (neither held nor sold); not in a seat map's event.
  seats_available?: number;
  // When an admin cancelled the event; absent while it is on.
  cancelled_at?: string;
  // When its sales open, if it was put on sale for a set time; holds are refused before.
  sales_open_at?: string;
  // Seats a buyer may hold or buy, if the event allows fewer than the service does.
  max_seats_per_buyer?: number;
}

export interface Tier {
  name: string;
  price_minor: number;
}

export interface Row {
  label: string;
  tier: string;
  first: number;
  count: number;
  pos: number;
}

export interface Section {
  name: string;
  rows: Row[];
}

export interface SeatMapData {
  event: EventInfo;
  tiers: Tier[];
  sections: Section[];
  states: string;
  stream_position: number;
}

// A seat of a sold hold: its code (shown as a QR code) admits once at the door.
export interface Ticket {
  seat: string;
  code: string;
  checked_in_at?: string;
}

export interface Hold {
  id: string;
  event_id: string;
  status: string;
  seats: string[];
  amount_minor: number;
  currency: string;
  expires_at: string;
  expires_at_ms: number;
  // A sold hold's: none once a refund voided them.
  tickets?: Ticket[];
}

// What creates an event (admin): its seat map is sections of rows of seats,
// each section priced by one of the tiers.
export interface EventSpec {
  name: string;
  venue: string;
  starts_at: string;
  sales_open_at?: string;
  max_seats_per_buyer?: number;
  currency: string;
  tiers: Tier[];
  sections: { name: string; tier: string; rows: number; seats_per_row: number }[];
}

// An event's sales and admissions (admin).
export interface EventSummary {
  event_id: string;
  seats: { AVAILABLE: number; HELD: number; SOLD: number };
  orders_sold: number;
  tickets_sold: number;
  revenue_minor: number;
  currency: string;
  tickets_admitted: number;
}

// A ticket admitted at the door.
export interface CheckIn {
  event_id: string;
  event_name: string;
  seat: string;
  hold_id: string;
  order_id?: string;
  checked_in_at: string;
}

export interface HistoryEntry {
  at: string;
  status: string;
  detail: string;
}

export interface Order {
  id: string;
  event_id: string;
  hold_id: string;
  seats: string[];
  amount_minor: number;
  currency: string;
  status: string;
  terminal: boolean;
  reason?: string;
  trace_id?: string;
  payment_id?: string;
  history: HistoryEntry[];
}

// A page of the buyer's orders, newest first; `next`, when there are older
// ones, asks for the page after this one.
export interface OrderPage {
  orders: Omit<Order, "history">[];
  next?: string;
}

export interface TestCard {
  number: string;
  outcome: string;
}

// A refused request (kind "problem", with the server's status and detail) or
// one that never got an answer (kind "network": Seatflow unreachable).
export class ApiError extends Error {
  constructor(
    readonly kind: "problem" | "network",
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail || title);
  }

  get unreachable(): boolean {
    return this.kind === "network" || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

interface Session {
  token: string;
  buyer_id: string;
  expires_at: string;
}

const SESSION_KEY = "seatflow.session";

type Listener = (reachable: boolean) => void;

export class Api {
  private session: Session | null = null;
  private listeners: Listener[] = [];
  // The server's clock minus this browser's, learnt from each response's
  // Date header: a hold's expiry and a session's are the server's times,
  // and a browser's clock may be minutes off.
  private clockOffsetMs = 0;

  constructor(
    private readonly base = "",
    private readonly storage: Storage | undefined = globalThis.localStorage,
  ) {
    const saved = this.storage?.getItem(SESSION_KEY);
    if (saved) {
      try {
        this.session = JSON.parse(saved) as Session;
      } catch {
        this.session = null;
      }
    }
  }

  // Now, by the server's clock (to within a second or two).
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  // Told after every request whether Seatflow answered.
  onReachability(listener: Listener): void {
    this.listeners.push(listener);
  }

  events(): Promise<{ events: EventInfo[] }> {
    return this.request("GET", "/api/events");
  }

  event(eventId: string): Promise<EventInfo> {
    return this.request("GET", `/api/events/${encodeURIComponent(eventId)}`);
  }

  seatMap(eventId: string): Promise<SeatMapData> {
    return this.request("GET", `/api/events/${encodeURIComponent(eventId)}/seats`);
  }

  seatStreamUrl(eventId: string, after: number): string {
    return `${this.base}/api/events/${encodeURIComponent(eventId)}/seats/stream?last_event_id=${after}`;
  }

  async hold(eventId: string, seats: string[]): Promise<Hold> {
    return this.request("POST", `/api/events/${encodeURIComponent(eventId)}/holds`, {
      body: { seats },
      auth: true,
    });
  }

  // The best `count` seats side by side, of `tier` if given, chosen and held by the server.
  async holdBestAvailable(eventId: string, count: number, tier?: string): Promise<Hold> {
    return this.request("POST", `/api/events/${encodeURIComponent(eventId)}/holds`, {
      body: { best_available: tier ? { count, tier } : { count } },
      auth: true,
    });
  }

  readHold(holdId: string): Promise<Hold> {
    return this.request("GET", `/api/holds/${encodeURIComponent(holdId)}`, { auth: true });
  }

  releaseHold(holdId: string): Promise<Hold> {
    return this.request("DELETE", `/api/holds/${encodeURIComponent(holdId)}`, { auth: true });
  }

  placeOrder(holdId: string, cardNumber: string, idempotencyKey: string): Promise<Order> {
    return this.request("POST", "/api/orders", {
      body: { hold_id: holdId, card_number: cardNumber },
      auth: true,
      headers: { "Idempotency-Key": idempotencyKey },
    });
  }

  order(orderId: string): Promise<Order> {
    return this.request("GET", `/api/orders/${encodeURIComponent(orderId)}`, { auth: true });
  }

  // Asks for a completed order's refund, before its event starts: 202 with
  // the order's status (REFUNDING, or REFUNDED when asked again).
  refundOrder(orderId: string): Promise<{ id: string; status: string }> {
    return this.request("POST", `/api/orders/${encodeURIComponent(orderId)}/refund`, { auth: true });
  }

  orders(before?: string): Promise<OrderPage> {
    const query = before === undefined ? "" : `?before=${encodeURIComponent(before)}`;
    return this.request("GET", `/api/orders${query}`, { auth: true });
  }

  async orderStreamUrl(orderId: string): Promise<string> {
    const token = (await this.ensureSession()).token;
    return `${this.base}/api/orders/${encodeURIComponent(orderId)}/events?access_token=${encodeURIComponent(token)}`;
  }

  // The events the door admits to: started ones too (admin token).
  doorEvents(adminToken: string): Promise<{ events: EventInfo[] }> {
    return this.request("GET", "/api/admin/events", { headers: { Authorization: `Bearer ${adminToken}` } });
  }

  eventSummary(eventId: string, adminToken: string): Promise<EventSummary> {
    return this.request("GET", `/api/admin/events/${encodeURIComponent(eventId)}/summary`, {
      headers: { Authorization: `Bearer ${adminToken}` },
    });
  }

  // A new event and its seat map (admin token).
  createEvent(spec: EventSpec, adminToken: string): Promise<EventInfo> {
    return this.request("POST", "/api/admin/events", { body: spec, headers: { Authorization: `Bearer ${adminToken}` } });
  }

  // Changes an event's name, venue, times or limit of seats per buyer (admin
  // token); what is left out stays. Null clears a sale time or a limit.
  updateEvent(eventId: string, changes: EventChanges, adminToken: string): Promise<EventInfo> {
    return this.request("PATCH", `/api/admin/events/${encodeURIComponent(eventId)}`, {
      body: changes,
      headers: { Authorization: `Bearer ${adminToken}` },
    });
  }

  // Cancels an event: sales stop and its orders are refunded (admin token).
  cancelEvent(eventId: string, adminToken: string): Promise<EventInfo> {
    return this.request("POST", `/api/admin/events/${encodeURIComponent(eventId)}/cancel`, {
      headers: { Authorization: `Bearer ${adminToken}` },
    });
  }

  // The door: admits a ticket to the event, once (admin token).
  checkIn(eventId: string, code: string, adminToken: string): Promise<CheckIn> {
    return this.request("POST", `/api/admin/events/${encodeURIComponent(eventId)}/check-ins`, {
      body: { code },
      headers: { Authorization: `Bearer ${adminToken}` },
    });
  }

  testCards(): Promise<{ cards: TestCard[] }> {
    return this.request("GET", "/api/payments/test-cards");
  }

  uiConfig(): Promise<{ jaeger_url: string }> {
    return this.request("GET", "/api/ui-config");
  }

  private async ensureSession(): Promise<Session> {
    const valid = this.session && Date.parse(this.session.expires_at) - this.now() > 60_000;
    if (!valid) {
      this.session = await this.request<Session>("POST", "/api/session");
      this.storage?.setItem(SESSION_KEY, JSON.stringify(this.session));
    }
    return this.session!;
  }

  private async request<T>(
    method: string,
    path: string,
    options: { body?: unknown; auth?: boolean; headers?: Record<string, string> } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (options.auth) headers.Authorization = `Bearer ${(await this.ensureSession()).token}`;
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
    } catch {
      this.tell(false);
      throw new ApiError("network", 0, "Unreachable", "Seatflow cannot be reached.");
    }
    this.learnClock(response);
    const error = response.status >= 400 ? await problemOf(response) : null;
    this.tell(!(error?.unreachable ?? false));
    if (error) {
      if (error.status === 401 && options.auth) {
        // The session expired or the server's secret changed: start a new one.
        this.session = null;
        this.storage?.removeItem(SESSION_KEY);
      }
      throw error;
    }
    return (await response.json()) as T;
  }

  private learnClock(response: Response): void {
    const date = response.headers.get("Date");
    const server = date ? Date.parse(date) : Number.NaN;
    if (Number.isNaN(server)) return;
    // The header counts whole seconds and was written a moment ago, so a
    // difference under two seconds is that, not a clock that is off.
    const offset = server - Date.now();
    this.clockOffsetMs = Math.abs(offset) < 2000 ? 0 : offset;
  }

  private tell(reachable: boolean): void {
    for (const listener of this.listeners) listener(reachable);
  }
}

// What a page says when its first load failed: `what` names what it loads
// ("The events", "Your orders").
export function loadFailureText(err: unknown, what: string): string {
  if (err instanceof ApiError && err.unreachable) return "Seatflow can't be reached right now. Reload to try again.";
  return `${what} could not be loaded: ${(err as Error).message}`;
}

async function problemOf(response: Response): Promise<ApiError> {
  let title = response.statusText;
  let detail = "";
  try {
    const body = (await response.json()) as { title?: string; detail?: string };
    title = body.title ?? title;
    detail = body.detail ?? "";
  } catch {
    // Not JSON: a proxy's error page, say.
  }
  return new ApiError("problem", response.status, title, detail);
}
