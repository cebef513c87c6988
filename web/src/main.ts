// The web UI: a few pages over the Seatflow API, routed by path.
//   /                 the events
//   /events/{id}      the live seat map, hold and checkout
//   /orders           the buyer's orders, newest first
//   /orders/{id}      the order's status, live, its confirmation and tickets
//   /admin            staff: the box office, events' sales, new events, cancelling (admin token)
//   /door             staff: check tickets in at the door (admin token)

import "./style.css";
import { Api } from "./api";
import { clear } from "./dom";
import { adminPage } from "./pages/admin";
import { doorPage } from "./pages/door";
import { eventsPage } from "./pages/events";
import { eventPage } from "./pages/event";
import { orderPage } from "./pages/order";
import { ordersPage } from "./pages/orders";

export interface App {
  api: Api;
  navigate(path: string): void;
}

type Cleanup = () => void;

const main = document.getElementById("main")!;
const banner = document.getElementById("banner")!;
const api = new Api();
let cleanup: Cleanup = () => {};

api.onReachability((reachable) => {
  banner.hidden = reachable;
  banner.textContent = reachable
    ? ""
    : "Seatflow can't be reached right now. Check your connection; the page keeps trying.";
});

const app: App = {
  api,
  navigate(path: string) {
    history.pushState(null, "", path);
    void route();
  },
};

async function route(): Promise<void> {
  cleanup();
  cleanup = () => {};
  clear(main);
  const path = location.pathname;
  const event = /^\/events\/([^/]+)$/.exec(path);
  const order = /^\/orders\/([^/]+)$/.exec(path);
  if (event) cleanup = await eventPage(main, app, decodeURIComponent(event[1]));
  else if (order) cleanup = await orderPage(main, app, decodeURIComponent(order[1]));
  else if (path === "/orders") cleanup = await ordersPage(main, app);
  else if (path === "/door") cleanup = await doorPage(main, app);
  else if (path === "/admin") cleanup = await adminPage(main, app);
  else cleanup = await eventsPage(main, app);
}

// Links marked data-link navigate without a reload.
document.addEventListener("click", (e) => {
  const link = (e.target as Element).closest("a[data-link]");
  if (!link || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  app.navigate(link.getAttribute("href")!);
});
window.addEventListener("popstate", () => void route());
void route();
