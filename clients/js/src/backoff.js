// Exponential backoff with full jitter: the n-th retry waits a random time between 0 and
// min(maxDelayMs, minDelayMs * 2^n), so that clients cut off together do not come back
// together (the "thundering herd" after a server restart).

export function backoffDelayMs(attempt, minDelayMs, maxDelayMs, random = Math.random) {
  const cap = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}
