import { describe, expect, it } from "vitest";
import { Refresher } from "../../src/refresher";

// A load that waits until the test lets it finish, and records what it read.
function gatedLoad(read: () => number) {
  const seen: number[] = [];
  const gates: Array<() => void> = [];
  const load = () =>
    new Promise<void>((resolve) => {
      const value = read(); // the state as the request saw it
      gates.push(() => {
        seen.push(value);
        resolve();
      });
    });
  const release = async () => {
    gates.shift()?.();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { load, seen, release, pending: () => gates.length };
}

describe("Refresher", () => {
  it("loads again when asked during a load that read the state before the change", async () => {
    let state = 1;
    const gated = gatedLoad(() => state);
    const refresher = new Refresher(gated.load);
    const first = refresher.request(); // reads 1
    state = 2; // the change ...
    const second = refresher.request(); // ... and its notice arrive mid-load
    await gated.release();
    expect(gated.pending()).toBe(1); // a second load started
    await gated.release();
    await Promise.all([first, second]);
    expect(gated.seen).toEqual([1, 2]);
  });

  it("folds any number of requests during a load into one more load", async () => {
    const gated = gatedLoad(() => 0);
    const refresher = new Refresher(gated.load);
    void refresher.request();
    for (let i = 0; i < 5; i++) void refresher.request();
    await gated.release();
    await gated.release();
    expect(gated.seen).toHaveLength(2);
    expect(gated.pending()).toBe(0);
  });

  it("starts afresh after a failed load", async () => {
    let calls = 0;
    const refresher = new Refresher(async () => {
      calls++;
      if (calls === 1) throw new Error("unreachable");
    });
    await expect(refresher.request()).rejects.toThrow("unreachable");
    await refresher.request();
    expect(calls).toBe(2);
  });
});
