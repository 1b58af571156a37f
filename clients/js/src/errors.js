// The one error type the library rejects promises with and reports in `error` events.

export class WsagentError extends Error {
  /**
   * @param {string} code the server's `err` code (bad_request, unauthorized, forbidden, bad_tag,
   *   too_large, rate_limited, unavailable, internal) or one of the library's own
   *   (queue_full, closed, timeout, disconnected, unsupported, bad_frame, listener, auth, socket)
   * @param {string} [reason] human-readable detail
   */
  constructor(code, reason) {
    super(reason ? `${code}: ${reason}` : code);
    this.name = 'WsagentError';
    this.code = code;
    this.reason = reason ?? '';
  }
}
