// Publishes not yet acknowledged by the server, in the order they were made: waiting for a
// connection, or sent and waiting for their `ok`. Bounded by count and by bytes, so that an
// application publishing while offline cannot grow memory without limit: past a bound,
// publish() rejects at once with `queue_full`.

export class PublishQueue {
  #entries = new Set();
  #bytes = 0;

  constructor(maxCount, maxBytes) {
    this.maxCount = maxCount;
    this.maxBytes = maxBytes;
  }

  get size() {
    return this.#entries.size;
  }

  get bytes() {
    return this.#bytes;
  }

  /** Adds `entry` (with a `bytes` size); false when a bound would be passed. */
  add(entry) {
    if (this.#entries.size >= this.maxCount || this.#bytes + entry.bytes > this.maxBytes) {
      return false;
    }
    this.#entries.add(entry);
    this.#bytes += entry.bytes;
    return true;
  }

  /** Removes `entry`; false when it was not (or no longer) queued. */
  remove(entry) {
    if (!this.#entries.delete(entry)) {
      return false;
    }
    this.#bytes -= entry.bytes;
    return true;
  }

  /** A snapshot, oldest first. */
  list() {
    return [...this.#entries];
  }
}
