// wsagent client library: see README.md and index.d.ts.
export { Client } from './client.js';
export { Subscription } from './subscription.js';
export { WsagentError } from './errors.js';
export { isPattern, matchesPattern, isValidTag } from './tags.js';
export { tokenExpiryMs } from './token.js';
