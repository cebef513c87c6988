// What the browser tests share: a real `seatflow up` on a free port with a
// fresh data folder, Debian's Chromium driven by playwright-core, and a
// folder for screenshots.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const webRoot = resolve(here, "../..");
export const repoRoot = resolve(webRoot, "..");
export const artifacts = process.env.SEATFLOW_TEST_ARTIFACTS ?? join(webRoot, "test-results");
mkdirSync(artifacts, { recursive: true });

export const ADMIN = "browser-test-admin-token";

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts `seatflow up`; `env` adds settings (SEATFLOW_...).
export async function startSeatflow(env = {}) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "seatflow-browser-"));
  const binary = process.env.SEATFLOW_BINARY ?? join(repoRoot, "build", "seatflow");
  const child = spawn(binary, ["up", "--data-dir", join(dataDir, "data")], {
    env: {
      ...process.env,
      SEATFLOW_HTTP_PORT: String(port),
      SEATFLOW_UI_DIR: join(webRoot, "dist"),
      SEATFLOW_AUTH_ADMIN_TOKEN: ADMIN,
      SEATFLOW_HTTP_ACCESS_LOG: "false",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/health/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 200 || child.exitCode !== null) throw new Error(`seatflow up did not start:\n${output}`);
    await sleep(100);
  }
  return {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
    },
    async cleanup() {
      await this.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
    async api(method, path, body, token = ADMIN) {
      const response = await fetch(url + path, {
        method,
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
    // An event of `rows` x `perRow` seats in one section "F", tier std;
    // `extra` fields go into the request as well (sales_open_at, say).
    async createEvent(name, rows, perRow, sections = 1, startsAt = "2030-01-01T20:00:00Z", extra = {}) {
      const { status, body } = await this.api("POST", "/api/admin/events", {
        name,
        venue: "Test Hall",
        starts_at: startsAt,
        currency: "EUR",
        tiers: [{ name: "std", price_minor: 5000 }],
        sections: Array.from({ length: sections }, (_, i) => ({
          name: String.fromCharCode(70 + i),
          tier: "std",
          rows,
          seats_per_row: perRow,
        })),
        ...extra,
      });
      if (status !== 201) throw new Error(`cannot create the event: ${JSON.stringify(body)}`);
      return body.id;
    },
  };
}

export async function launchBrowser(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...extraArgs,
    ],
  });
}

// The colour of a seat's centre pixel on the page's canvas, "#rrggbb".
export async function seatColour(page, seatId) {
  return page.evaluate((id) => {
    const center = window.__seatflow.seatCenter(id);
    const canvas = document.querySelector("[data-testid=seat-map] canvas");
    const ratio = canvas.width / canvas.clientWidth;
    // A quarter cell left of the centre: clear of the dot, the stripe and the cross.
    const x = Math.floor((center.x - center.cell / 4) * ratio);
    const y = Math.floor(center.y * ratio);
    const [r, g, b] = canvas.getContext("2d").getImageData(x, y, 1, 1).data;
    return "#" + [r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("");
  }, seatId);
}

// Waits for a seat to show `colour`: the map paints on the next animation
// frame, not at once.
export async function expectColour(page, seatId, colour, timeoutMs = 5000) {
  let last = "";
  try {
    await waitFor(async () => (last = await seatColour(page, seatId)) === colour, timeoutMs, `${seatId} in ${colour}`);
  } catch {
    throw new Error(`${seatId} shows ${last}, not ${colour}, after ${timeoutMs} ms`);
  }
}

export async function waitFor(check, timeoutMs = 10000, what = "condition") {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// Selects seats with the keyboard: focus the map, move with arrows from the
// first seat, Enter on each wanted position (seats of the first row).
// Waits for an order page to confirm the purchase. A page that does not says
// where it stood: the order's status as shown, a screenshot, and the end of
// the server's log.
export async function expectConfirmation(page, seatflow, timeoutMs = 30000) {
  try {
    await page.waitForSelector("[data-testid=confirmation]", { timeout: timeoutMs });
  } catch (err) {
    const status = await page.textContent("[data-testid=order-status]").catch(() => "(none)");
    const shot = join(artifacts, `no-confirmation-${Date.now()}.png`);
    await page.screenshot({ path: shot }).catch(() => {});
    const log = seatflow.output().split("\n").slice(-40).join("\n");
    throw new Error(
      `no confirmation within ${timeoutMs} ms on ${page.url()}; the page read: ${status}; ` +
        `screenshot ${shot}; the server's log ends:\n${log}`,
      { cause: err },
    );
  }
}

export async function selectFirstRowSeats(page, count, from = 0) {
  const canvas = page.locator("[data-testid=seat-map] canvas");
  await canvas.focus();
  await page.keyboard.press("Home");
  for (let i = 0; i < from; i++) await page.keyboard.press("ArrowRight");
  for (let i = 0; i < count; i++) {
    await page.keyboard.press("Enter");
    if (i < count - 1) await page.keyboard.press("ArrowRight");
  }
}
