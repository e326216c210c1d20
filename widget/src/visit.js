// What the widget tells the bot about the visit: the dialogue contract's metadata.
const SITE_START = "dynchat.siteStart";
const pageStart = Date.now();
let deepestScroll = 0;

function storage(kind) {
  try {
    return window[kind];
  } catch (_blocked) {
    return null; // storage off (privacy settings): the widget still works for this page
  }
}

export function siteStart() {
  const store = storage("sessionStorage");
  const stored = store && Number(store.getItem(SITE_START));
  if (stored) return stored;
  if (store) store.setItem(SITE_START, String(pageStart));
  return pageStart;
}

export function scrollDepth() {
  const doc = document.documentElement;
  const scrollable = Math.max(0, doc.scrollHeight - window.innerHeight);
  const now = scrollable === 0 ? 100 : Math.round((window.scrollY / scrollable) * 100);
  deepestScroll = Math.max(deepestScroll, Math.min(100, now));
  return deepestScroll;
}

function cookie(name) {
  const found = document.cookie.split("; ").find((part) => part.startsWith(name + "="));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : undefined;
}

export function locale() {
  return document.documentElement.lang || navigator.language || "en";
}

export function metadata(extra) {
  const now = Date.now();
  const visit = {
    url: window.location.href,
    referrer: document.referrer || undefined,
    locale: locale(),
    timezone: (Intl.DateTimeFormat().resolvedOptions() || {}).timeZone,
    mkto_trk: cookie("_mkto_trk"),
    time_on_page: Math.floor((now - pageStart) / 1000),
    time_on_site: Math.floor((now - siteStart()) / 1000),
    scroll: scrollDepth(),
  };
  return Object.assign(visit, extra || {});
}

export { storage };
