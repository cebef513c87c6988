// The seat map under load, in Debian's Chromium: opens an event of 20,000
// seats, then lets 1,000 seat changes arrive over SSE while it records every
// frame.
//
// A frame's time is the main-thread work it took, not the display's 16.7 ms
// interval (which headless Chromium keeps however idle the page is): the
// SSE handlers that ran since the previous frame, plus the frame itself from
// its animation-frame callbacks to the end of style, layout and paint (a
// message posted from requestAnimationFrame is delivered once the frame is
// rendered). Over 16 ms, the page would miss a frame at 60 Hz.
//
// Usage: node web/bench/seatmap.mjs <base URL> <event id> <admin token>
// Prints first_render_ms=<ms> and p95_frame_ms=<ms> (and context lines).
import { launchBrowser } from "../tests/browser/harness.mjs";

const [base, eventId] = process.argv.slice(2);
const CHANGES = Number(process.env.CHANGES ?? 1000);
const CONCURRENCY = 16;

const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // Time spent in the page's SSE handlers, summed until the next frame takes it.
  await page.addInitScript(() => {
    window.__handlerMs = 0;
    const add = EventSource.prototype.addEventListener;
    EventSource.prototype.addEventListener = function (type, listener, options) {
      const timed = function (event) {
        const start = performance.now();
        try {
          return listener.call(this, event);
        } finally {
          window.__handlerMs += performance.now() - start;
        }
      };
      return add.call(this, type, timed, options);
    };
  });
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(`${base}/events/${eventId}`);
  await page.waitForFunction(() => window.__seatflow?.firstRenderMs > 0, null, { timeout: 30000 });
  const { firstRenderMs, seats } = await page.evaluate(() => window.__seatflow);
  await page.waitForFunction(() => document.querySelector("[data-testid=live-status]")?.textContent === "Live");

  // Every frame from here on.
  await page.evaluate(() => {
    window.__frames = [];
    const channel = new MessageChannel();
    let frameStart = 0;
    let handlers = 0;
    channel.port1.onmessage = () => window.__frames.push(performance.now() - frameStart + handlers);
    const loop = () => {
      frameStart = performance.now();
      handlers = window.__handlerMs;
      window.__handlerMs = 0;
      channel.port2.postMessage(0);
      if (!window.__stopFrames) requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  });

  // 1,000 changes: one single-seat hold each, by buyers of ten seats each.
  const seatIds = await page.evaluate((n) => {
    const out = [];
    for (let pos = 0; out.length < n; pos += 20) {
      // Spread over the map: every 20th seat.
      const row = Math.floor(pos / 50) + 1;
      const section = String.fromCharCode(70 + Math.floor((row - 1) / 100));
      out.push(`${section}-${((row - 1) % 100) + 1}-${(pos % 50) + 1}`);
    }
    return out;
  }, CHANGES);
  const post = async (path, body, token) => {
    const r = await fetch(base + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: await r.json() };
  };
  const tokens = [];
  for (let i = 0; i < Math.ceil(CHANGES / 10); i++) tokens.push((await post("/api/session")).body.token);
  const started = Date.now();
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < seatIds.length) {
        const i = next++;
        const r = await post(`/api/events/${eventId}/holds`, { seats: [seatIds[i]] }, tokens[Math.floor(i / 10)]);
        if (r.status !== 201) failed++;
      }
    }),
  );
  await page.waitForFunction(
    (ids) => ids.every((id) => window.__seatflow.seatState(id) === "H"),
    seatIds,
    { timeout: 60000, polling: 100 },
  );
  const seconds = (Date.now() - started) / 1000;
  const frames = await page.evaluate(() => {
    window.__stopFrames = true;
    return window.__frames;
  });
  frames.sort((a, b) => a - b);
  const pct = (p) => frames[Math.min(frames.length - 1, Math.floor(p * frames.length))];
  console.log(`seats=${seats} changes=${CHANGES} failed_holds=${failed} seconds=${seconds.toFixed(2)} frames=${frames.length}`);
  console.log(`p50_frame_ms=${pct(0.5).toFixed(2)} max_frame_ms=${frames[frames.length - 1].toFixed(2)}`);
  console.log(`first_render_ms=${firstRenderMs.toFixed(0)}`);
  console.log(`p95_frame_ms=${pct(0.95).toFixed(2)}`);
  if (failed > 0) process.exitCode = 1;
} finally {
  await browser.close();
}
