import { afterEach, describe, expect, it, vi } from "vitest";
import { Api } from "../../src/api";

// Every answer of the fake server carries this Date header.
function serverAt(time: Date): void {
  vi.stubGlobal(
    "fetch",
    vi.fn(
      async () =>
        new Response(JSON.stringify({ events: [] }), {
          headers: { "Content-Type": "application/json", Date: time.toUTCString() },
        }),
    ),
  );
}

describe("Api.now, the server's clock", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("is the browser's own when they agree to within the header's whole seconds", async () => {
    const api = new Api("", undefined);
    serverAt(new Date(Date.now() - 900));
    await api.events();
    expect(Math.abs(api.now() - Date.now())).toBeLessThan(50);
  });

  it("follows the server's when the browser's clock is minutes off", async () => {
    const api = new Api("", undefined);
    const serverNow = Date.now() + 12 * 60_000; // this browser is 12 minutes slow
    serverAt(new Date(serverNow));
    await api.events();
    expect(Math.abs(api.now() - (Date.now() + 12 * 60_000))).toBeLessThan(1500);
  });
});
