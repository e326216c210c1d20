// Dynamic Chat's triggers: the widget waits until time on page, time on site or scroll depth reach them.
import { metadata, scrollDepth } from "./visit.js";

export function reached(triggers, visit) {
  const wanted = triggers || {};
  return ["time_on_page", "time_on_site", "scroll"].every(
    (key) => wanted[key] === null || wanted[key] === undefined || Number(visit[key]) >= Number(wanted[key]),
  );
}

export function whenTriggered(triggers, callback) {
  let done = false;
  const check = () => {
    if (done || !reached(triggers, metadata())) return;
    done = true;
    window.clearInterval(timer);
    window.removeEventListener("scroll", onScroll);
    callback();
  };
  const onScroll = () => {
    scrollDepth();
    check();
  };
  const timer = window.setInterval(check, 250);
  window.addEventListener("scroll", onScroll, { passive: true });
  check();
  return () => {
    done = true;
    window.clearInterval(timer);
    window.removeEventListener("scroll", onScroll);
  };
}
