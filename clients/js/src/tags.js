// Tags and patterns as the server reads them (docs/protocol.md "Tags"): segments separated by
// '.', `*` matches exactly one segment, `>` as the last segment matches one or more.

/** True when `tag` holds a wildcard segment (a pattern subscription). */
export function isPattern(tag) {
  return tag.split('.').some((segment) => segment === '*' || segment === '>');
}

/** Whether the exact tag `tag` matches `pattern` (an exact pattern matches itself). */
export function matchesPattern(pattern, tag) {
  const want = pattern.split('.');
  const have = tag.split('.');
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '>') {
      return i === want.length - 1 && have.length > i;
    }
    if (i >= have.length || (want[i] !== '*' && want[i] !== have[i])) {
      return false;
    }
  }
  return want.length === have.length;
}

/** Checks the syntax the server enforces, so that mistakes fail at the call site. */
export function isValidTag(tag, allowWildcards) {
  if (typeof tag !== 'string' || tag.length < 1 || tag.length > 255) {
    return false;
  }
  if (!/^[\x21-\x7e]+$/.test(tag)) {
    return false;
  }
  const segments = tag.split('.');
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    if (s === '') {
      return false;
    }
    if (s === '*' || s === '>') {
      if (!allowWildcards || (s === '>' && i !== segments.length - 1)) {
        return false;
      }
    }
  }
  return true;
}
