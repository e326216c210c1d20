// Dynamic Chat for Rasa: the widget. One script tag:
//   <script src="https://BOT/widget.js" async></script>
// It asks the bot which dialogue this page gets and when (its triggers), then chats over Rasa's
// socket.io channel with one conversation per visitor across pages and tabs.
import { io } from "socket.io-client";

import { stringsFor } from "./strings.js";
import { whenTriggered } from "./triggers.js";
import { Ui } from "./ui.js";
import { locale, metadata, storage } from "./visit.js";

const SESSION = "dynchat.session";
const OPEN = "dynchat.open";
const TRANSCRIPT = "dynchat.transcript.";
const MAX_TRANSCRIPT = 200;
const EVENTS = ["ready", "triggered", "opened", "closed", "engaged", "completed", "email_captured",
  "phone_captured", "goal", "meeting_booked"];

const script = document.currentScript;
const server = ((script && script.dataset.server) || (script && new URL(script.src, location.href).origin) || "")
  .replace(/\/$/, "");

const listeners = {};
const state = { config: null, ui: null, socket: null, plan: null, started: false, queue: Promise.resolve(),
  confirmed: false, waiting: [] };

function emit(event, details) {
  for (const callback of listeners[event] || []) {
    try {
      callback(Object.assign({ event }, details || {}));
    } catch (error) {
      console.error("DynamicChat callback failed", error);
    }
  }
}

const local = storage("localStorage");
const session = storage("sessionStorage");

// The conversation id is the bot's to issue (the visit's answer and socket.io's session_confirm carry it):
// an id a page made up, or one the bot did not sign, is replaced, and its transcript goes with it.
function sessionId() {
  return (local && local.getItem(SESSION)) || state.sessionId || null;
}

function adoptSession(id) {
  if (typeof id !== "string" || !id || id === sessionId()) return;
  const previous = sessionId();
  if (local && previous) local.removeItem(TRANSCRIPT + previous);
  state.sessionId = id;
  if (local) local.setItem(SESSION, id);
}

function transcript() {
  try {
    return JSON.parse((local && local.getItem(TRANSCRIPT + sessionId())) || "[]");
  } catch (_broken) {
    return [];
  }
}

function remember(entry) {
  if (!local) return;
  const entries = transcript().concat([entry]).slice(-MAX_TRANSCRIPT);
  local.setItem(TRANSCRIPT + sessionId(), JSON.stringify(entries));
}

async function getJson(path, body) {
  const response = await fetch(server + path, body === undefined ? { credentials: "omit" } : {
    method: "POST", credentials: "omit", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

function ensureUi() {
  if (state.ui) return state.ui;
  state.ui = new Ui(state.config, stringsFor(locale()), {
    open: () => openPanel(),
    close: () => closePanel(),
    restart: () => restart(),
    send: (payload, shown) => send(payload, shown),
  });
  const entries = transcript();
  entries.forEach((entry, index) => {
    if (entry.from === "visitor") state.ui.addVisitor(entry.text);
    else state.ui.addBot(entry.message, index < entries.length - 1);  // the question still waiting keeps its buttons
  });
  return state.ui;
}

function openPanel() {
  ensureUi().open();
  if (session) session.setItem(OPEN, "1");
  emit("opened", { dialogue: state.plan && state.plan.dialogue });
}

function closePanel() {
  if (!state.ui) return;
  state.ui.close();
  if (session) session.setItem(OPEN, "0");
  emit("closed", { dialogue: state.plan && state.plan.dialogue });
}

function connect() {
  if (state.socket) return state.socket;
  const socket = io(server, { path: "/socket.io", transports: ["websocket", "polling"], reconnection: true });
  state.socket = socket;
  // The bot answers into the session's room, which the socket joins with session_request: nothing is sent
  // before the server confirms it (after a reconnect too), or the answer would go nowhere.
  socket.on("connect", () => socket.emit("session_request", { session_id: sessionId() }));
  socket.on("disconnect", () => { state.confirmed = false; });
  socket.on("session_confirm", (id) => {
    adoptSession(id);
    state.confirmed = true;
    for (const message of state.waiting.splice(0)) socket.emit("user_uttered", withSession(message));
  });
  socket.on("bot_uttered", (message) => receive(message));
  return socket;
}

function withSession(message) {
  return Object.assign({}, message, { session_id: sessionId() });
}

function utter(message) {
  const socket = connect();
  if (state.confirmed) socket.emit("user_uttered", withSession(message));
  else state.waiting.push(message);
}

// Bot messages are shown one after another, each after the configured typing delay.
function receive(message) {
  if (!message || typeof message !== "object") return;
  if (Array.isArray(message.dc_events)) {
    for (const happened of message.dc_events) {
      if (happened && happened.event === "expect") ensureUi().expect(happened.input);
      else if (happened && EVENTS.includes(happened.event)) emit(happened.event, happened);
    }
    return;
  }
  if (!message.text && !(message.quick_replies || message.buttons || []).length) return;
  const delay = Math.max(0, Number(state.config.response_delay_ms) || 0);
  state.queue = state.queue.then(async () => {
    const ui = ensureUi();
    if (delay) {
      ui.showTyping(true);
      await new Promise((resolve) => window.setTimeout(resolve, delay));
      ui.showTyping(false);
    }
    const shown = { text: message.text, quick_replies: message.quick_replies || message.buttons };
    remember({ from: "bot", message: shown });
    ui.addBot(shown, false);
    if (!ui.isOpen) {
      if (message.text) ui.showPoke(message.text);
      if (state.config.sound) beep();
    }
  });
}

function beep() {
  try {
    const audio = new (window.AudioContext || window.webkitAudioContext)();
    const tone = audio.createOscillator();
    tone.frequency.value = 660;
    tone.connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.12);
  } catch (_noAudio) {
    // no sound where the browser does not allow it
  }
}

function send(payload, shown) {
  const ui = ensureUi();
  ui.disableOpenButtons();
  ui.expect("text");
  ui.addVisitor(shown);
  if (state.preview) return;  // the console's preview talks to nobody
  remember({ from: "visitor", text: shown });
  utter({ message: payload });
}

function startDialogue(extra) {
  state.started = true;
  ensureUi();
  emit("triggered", { dialogue: (extra && extra.dialogue) || (state.plan && state.plan.dialogue) });
  utter({ message: "/session_start", metadata: metadata(Object.assign({}, identity(), extra)) });
}

function identity() {
  return state.identity && state.identity.email ? state.identity : {};
}

function restart() {
  if (local) local.removeItem(TRANSCRIPT + sessionId());
  state.ui.clear();
  if (state.preview) return;
  utter({ message: "/restart", metadata: metadata() });
}

// An avatar uploaded in the console is served by the bot: its path is relative to the bot's address.
function withServerPaths(config) {
  if (typeof config.avatar === "string" && config.avatar.startsWith("/widget/avatar/")) {
    return Object.assign({}, config, { avatar: server + config.avatar });
  }
  return config;
}

// The console's live preview: a page that carries the settings to show (a JSON script element, not code)
// gets the widget open with a sample exchange, and nothing is sent anywhere.
function previewSettings() {
  const element = document.getElementById("dynamic-chat-preview");
  if (!element) return null;
  try { return JSON.parse(element.textContent || "{}"); } catch (error) { return {}; }
}

async function boot() {
  const preview = previewSettings();
  if (preview) {
    state.preview = true;
    state.config = withServerPaths(Object.assign({}, preview.config || {}, { enabled: true }));
    state.plan = { dialogue: null, triggers: {}, continuing: false };
    const ui = ensureUi();
    ui.open();
    for (const message of preview.messages || []) {
      if (message.from === "visitor") ui.addVisitor(String(message.text || ""));
      else ui.addBot({ text: String(message.text || ""), buttons: message.buttons || [] }, false);
    }
    return;
  }
  // one request answers both questions: how the widget looks, and what this page starts (if anything)
  const plan = await getJson("/widget/visit", { session_id: sessionId(), metadata: metadata(identity()) });
  adoptSession(plan.session_id);
  state.config = withServerPaths(plan.config || {});
  if (!state.config.enabled) return;
  state.plan = plan;
  emit("ready", { dialogue: state.plan.dialogue });
  if (state.plan.continuing) {  // the same visit on another page: the conversation goes on
    connect();
    ensureUi();
    if (session && session.getItem(OPEN) === "1") openPanel();
    return;
  }
  if (!state.plan.dialogue) return;  // nothing qualifies: no widget, no more traffic
  whenTriggered(state.plan.triggers, () => {
    startDialogue();
    if (state.config.open_on_trigger) openPanel();
  });
}

const booting = boot().catch((error) => console.warn("Dynamic Chat is unavailable:", error.message));

window.DynamicChat = {
  on(event, callback) {
    (listeners[event] = listeners[event] || []).push(callback);
    return window.DynamicChat;
  },
  open(dialogueId) {  // a page may call it before the widget has asked the bot: it waits for that answer
    booting.then(() => openNow(dialogueId));
  },
  close() {
    booting.then(closePanel);
  },
  identify(identity) {  // the site's own login vouches for the visitor (the signature is checked server-side)
    state.identity = { email: identity && identity.email, signature: identity && identity.signature };
  },
};

function openNow(dialogueId) {
  if (!state.config || !state.config.enabled) return;
  if (dialogueId) {
    if (local) local.removeItem(TRANSCRIPT + sessionId());
    if (state.ui) state.ui.clear();
    startDialogue({ dialogue: String(dialogueId) });
  }
  openPanel();
}

