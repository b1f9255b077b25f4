// Coalesces re-reads of a file so that every caller sees the file as it was when it called. Polls and SIGHUPs
// may overlap: a call while a read is in flight must not just share it, because that read may have started
// before the caller's edit (an edit followed by SIGHUP would then be missed until the next poll). So such a call
// gets one more read, run once the current one ends; any number of calls meanwhile share that one.

export class FreshRead<T> {
  private running: Promise<T> | undefined;
  private queued: Promise<T> | undefined;

  constructor(private readonly read: () => Promise<T>) {}

  /** The result of a read that starts no earlier than this call. */
  run(): Promise<T> {
    if (this.running === undefined) {
      this.running = this.read().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.run();
      });
    return this.queued;
  }
}
