// Reloads state on demand, one load at a time, never missing a request.
//
// A request made while a load is in flight cannot join that load: the load
// may have read the state before the change that prompted the request. It
// marks the load stale instead, and one more load runs when it finishes, so
// any number of requests during a load cost exactly one extra load.

export class Refresher {
  private running: Promise<void> | null = null;
  private stale = false;

  constructor(private readonly load: () => Promise<void>) {}

  // Resolves when a load that started after this call has finished.
  request(): Promise<void> {
    if (this.running) {
      this.stale = true;
      return this.running;
    }
    this.running = this.loop();
    return this.running;
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.stale = false;
        await this.load();
      } while (this.stale);
    } finally {
      this.running = null;
    }
  }
}
