// A Server-Sent Events stream that survives a dropped connection.
//
// EventSource reconnects by itself and sends Last-Event-ID, so the server
// replays what was missed. When the server refuses the stream (it answered
// an error, e.g. while restarting), EventSource gives up; this wrapper then
// opens a new one after a pause, from the last id it saw. A `snapshot-needed`
// event (the server cannot replay the gap) is passed on: the page reloads
// its state.

export interface LiveHandlers {
  onEvent(type: string, data: unknown, id: number): void;
  onSnapshotNeeded(): void;
  onConnection(connected: boolean): void;
}

export class LiveStream {
  private source: EventSource | null = null;
  private lastId: number;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(
    private readonly url: (lastId: number) => string,
    private readonly types: string[],
    private readonly handlers: LiveHandlers,
    after = 0,
  ) {
    this.lastId = after;
    this.open();
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.source?.close();
    this.source = null;
  }

  private open(): void {
    const source = new EventSource(this.url(this.lastId));
    this.source = source;
    source.onopen = () => this.handlers.onConnection(true);
    source.onerror = () => {
      this.handlers.onConnection(false);
      if (source.readyState === EventSource.CLOSED && !this.closed) {
        source.close();
        this.retry = setTimeout(() => this.open(), 2000);
      }
    };
    for (const type of this.types) {
      source.addEventListener(type, (e) => {
        const message = e as MessageEvent<string>;
        const id = Number(message.lastEventId);
        if (Number.isFinite(id) && id > 0) this.lastId = id;
        let data: unknown = null;
        try {
          data = JSON.parse(message.data);
        } catch {
          return;
        }
        this.handlers.onEvent(type, data, id);
      });
    }
    source.addEventListener("snapshot-needed", (e) => {
      const id = Number((e as MessageEvent<string>).lastEventId);
      if (Number.isFinite(id) && id > 0) this.lastId = id;
      this.handlers.onSnapshotNeeded();
    });
  }
}
