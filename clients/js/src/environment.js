// Browser signals that a connection may be gone or worth retrying at once: the network
// going off or on line, and the page becoming visible again (after a laptop slept, a phone
// unlocked, a background tab throttled). Does nothing where there is no window or document
// (Node). Returns a function that stops watching.

export function watchEnvironment({ online, offline, visible }) {
  const stops = [];
  const win = globalThis.window;
  if (win && typeof win.addEventListener === 'function') {
    win.addEventListener('online', online);
    win.addEventListener('offline', offline);
    stops.push(() => {
      win.removeEventListener('online', online);
      win.removeEventListener('offline', offline);
    });
  }
  const doc = globalThis.document;
  if (doc && typeof doc.addEventListener === 'function') {
    const onVisibility = () => {
      if (doc.visibilityState === 'visible') {
        visible();
      }
    };
    doc.addEventListener('visibilitychange', onVisibility);
    stops.push(() => doc.removeEventListener('visibilitychange', onVisibility));
  }
  return () => {
    for (const stop of stops.splice(0)) {
      stop();
    }
  };
}
