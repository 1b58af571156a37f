// A minimal event emitter shared by the client and its subscriptions. A listener that
// throws never breaks the caller (a network callback): the exception goes to `onError`.

export class Emitter {
  #listeners = new Map();
  #onListenerError;

  /** @param {(error: unknown, event: string) => void} [onListenerError] */
  constructor(onListenerError) {
    this.#onListenerError = onListenerError;
  }

  /** Adds a listener; returns a function that removes it. */
  on(event, listener) {
    if (typeof listener !== 'function') {
      throw new TypeError(`listener for "${event}" must be a function`);
    }
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Adds a listener called at most once. */
  once(event, listener) {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  off(event, listener) {
    const set = this.#listeners.get(event);
    if (set) {
      set.delete(listener);
      if (set.size === 0) {
        this.#listeners.delete(event);
      }
    }
  }

  listenerCount(event) {
    return this.#listeners.get(event)?.size ?? 0;
  }

  /** Calls every listener of `event`; never throws. */
  emit(event, payload) {
    const set = this.#listeners.get(event);
    if (!set) {
      return;
    }
    for (const listener of [...set]) {
      try {
        listener(payload);
      } catch (error) {
        reportListenerError(this.#onListenerError, error, event);
      }
    }
  }
}

function reportListenerError(onError, error, event) {
  if (onError && event !== 'error') {
    try {
      onError(error, event);
      return;
    } catch (nested) {
      error = nested;
    }
  }
  // An error listener that throws has nowhere left to report to but the platform.
  if (typeof globalThis.reportError === 'function') {
    globalThis.reportError(error);
  } else {
    console.error(error);
  }
}
