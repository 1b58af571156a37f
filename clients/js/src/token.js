// Reading a JWT's `exp` (without verifying it: the server does that) to refresh it in time.

/** The token's `exp` in milliseconds since the Unix epoch, or null when it has none. */
export function tokenExpiryMs(token) {
  if (typeof token !== 'string') {
    return null;
  }
  const parts = token.split('.');
  if (parts.length !== 3) {
    return null;
  }
  try {
    let b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    b64 += '='.repeat((4 - (b64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * When to refresh a token valid from `nowMs` until `expMs`: a fifth of its life before it
 * ends, at least 5 s and at most 60 s before, and never in the past.
 */
export function refreshDelayMs(nowMs, expMs) {
  const life = expMs - nowMs;
  const margin = Math.min(60_000, Math.max(5_000, life / 5));
  return Math.max(0, Math.floor(life - Math.min(margin, life * 0.5)));
}
