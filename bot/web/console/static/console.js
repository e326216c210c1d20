// The marketers' console: one page over the JSON API (/api/). No build step.
// Everything shown is set as text (never as HTML), so nothing a visitor typed can run here.
"use strict";

const TABS = [
  ["integrations", "Integrations"], ["dialogues", "Dialogues"], ["configuration", "Configuration"],
  ["calendar", "Calendar"], ["meetings", "Meetings"], ["routing", "Routing"],
  ["analytics", "Analytics"], ["conversations", "Conversations"], ["requests", "Requests"],
];
const MEASURES = [
  ["triggered", "Triggered"], ["engaged", "Engaged"], ["completed", "Completed"], ["acquired", "People acquired"],
  ["goal", "Goals reached"], ["meeting", "Meetings booked"], ["human", "Asked for a person"],
];
const state = { session: null, badges: { requests: 0 } };

// --- small helpers ---------------------------------------------------------------
function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.session && method !== "GET") headers["X-CSRF-Token"] = state.session.csrf;
  const answer = await fetch("/api" + path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await answer.json().catch(() => ({}));
  if (answer.status === 401 && path !== "/session") { state.session = null; render(); }
  if (!answer.ok) throw new ApiError(answer.status, data.error || answer.statusText);
  return data;
}

const can = (permission) => !!state.session && state.session.permissions.includes(permission);
const when = (epoch) => new Date(epoch * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const percent = (rate) => (rate === null || rate === undefined ? "–" : (rate * 100).toFixed(1) + " %");
const status = (value) => h("span", { class: "status " + value }, value);
const query = (params) => {
  const found = Object.entries(params).filter(([, v]) => v !== "" && v !== null && v !== undefined);
  return found.length ? "?" + new URLSearchParams(found).toString() : "";
};
function failure(error) { return h("p", { class: "error", role: "alert" }, error.message || String(error)); }
function isoDay(date) { return date.toISOString().slice(0, 10); }

// --- the frame ---------------------------------------------------------------------
function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  return { tab: TABS.some(([id]) => id === parts[0]) ? parts[0] : "dialogues", rest: parts.slice(1) };  // Dialogues first
}

async function render() {
  const root = document.getElementById("app");
  if (!state.session) {
    try { state.session = await api("GET", "/session"); } catch (error) { state.session = null; }
  }
  if (!state.session) { root.replaceChildren(loginForm()); return; }
  const { tab, rest } = route();
  const main = h("main", { id: "main" });
  root.replaceChildren(header(tab), main);
  refreshBadges();
  try {
    await PAGES[tab](main, rest);
  } catch (error) {
    main.replaceChildren(failure(error));
  }
}

function header(active) {
  return h("header", { class: "top" },
    h("h1", {}, "Dynamic Chat"),
    h("nav", { class: "tabs", "aria-label": "Console" }, TABS.map(([id, label]) =>
      h("a", { href: "#/" + id, class: id === active ? "active" : "", "data-tab": id, "aria-current": id === active ? "page" : null },
        label, id === "requests" ? h("span", { class: "badge", id: "requests-badge", hidden: true }) : null))),
    h("span", { class: "who" }, `${state.session.user.email} (${state.session.user.role})`),
    h("button", { id: "logout", onclick: logout }, "Log out"));
}

async function refreshBadges() {
  try {
    state.badges = await api("GET", "/badges");
    const badge = document.getElementById("requests-badge");
    if (badge) { badge.textContent = state.badges.requests; badge.hidden = !state.badges.requests; }
  } catch (error) { /* the page says what failed */ }
}

function loginForm() {
  const message = h("p", { class: "error", role: "alert", id: "login-error" });
  const email = h("input", { id: "email", type: "email", autocomplete: "username", required: true });
  const password = h("input", { id: "password", type: "password", autocomplete: "current-password", required: true });
  const form = h("form", { class: "card login", onsubmit: async (event) => {
    event.preventDefault();
    message.textContent = "";
    try {
      state.session = await api("POST", "/session", { email: email.value, password: password.value });
      render();
    } catch (error) { message.textContent = error.message; password.value = ""; password.focus(); }
  } },
  h("h2", {}, "Log in to Dynamic Chat"),
  h("label", { for: "email" }, "Email"), email,
  h("label", { for: "password" }, "Password"), password,
  message, h("button", { class: "primary", type: "submit" }, "Log in"));
  return form;
}

async function logout() {
  try { await api("DELETE", "/session"); } finally { state.session = null; location.hash = ""; render(); }
}

// --- Dialogues ------------------------------------------------------------------------
async function dialoguesPage(main, rest) {
  if (rest.length) return dialogueEditor(main, rest[0]);
  const data = await api("GET", "/dialogues");
  const chat = h("input", { type: "checkbox", id: "chat-enabled", checked: data.chat_enabled, disabled: !can("dialogues"),
    onchange: async (event) => {
      try { await api("PUT", "/chat", { enabled: event.target.checked }); } catch (error) { alert(error.message); render(); }
    } });
  main.replaceChildren(
    h("div", { class: "toolbar" }, h("h2", {}, "Dialogues"), h("span", { class: "spacer" }),
      h("label", { class: "switch" }, chat, "Chat on for visitors"), publishControl()),
    h("table", { id: "dialogues" },
      h("thead", {}, h("tr", {}, ["Dialogue", "Priority", "Locale", "Status", "Problems", "Last change", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, data.dialogues.map((d) => h("tr", { class: "clickable", "data-id": d.id,
        onclick: () => { location.hash = "#/dialogues/" + encodeURIComponent(d.id); } },
        h("td", {}, h("strong", {}, d.name), h("div", { class: "muted" }, d.file)),
        h("td", {}, d.priority ?? "–"), h("td", {}, d.locales.join(", ") || "–"), h("td", {}, status(d.status)),
        h("td", { class: d.problems ? "error" : "" }, d.problems || "–"), h("td", {}, when(d.changed_at)),
        h("td", {}, pauseButton(d)))))));
}

// Publish: compile, train in the background, load into the running bot; the bar follows GET /api/publish.
function publishControl() {
  const bar = h("progress", { id: "publish-progress", max: 1, value: 0, hidden: true });
  const message = h("span", { id: "publish-status", class: "muted", role: "status" });
  const button = h("button", { class: "primary", id: "publish", hidden: !can("dialogues"), onclick: async () => {
    try { await api("POST", "/publish"); } catch (error) { message.textContent = error.message; return; }
    follow(true);
  } }, "Publish");
  async function follow(watching = false) {
    const { current } = await api("GET", "/publish");
    if (!current) return;
    bar.hidden = !current.running;
    bar.value = current.share;
    button.disabled = current.running;
    message.className = current.state === "failed" ? "error" : "muted";
    message.textContent = current.state === "failed" ? `Publish failed: ${current.error}` + (current.problems.length ? " " + current.problems.join("; ") : "")
      : current.running ? current.what : current.state === "live" ? `Live (${when(current.finished_at)}).` : current.what;
    if (current.running) setTimeout(() => { if (document.body.contains(bar)) follow(true); }, 1000);
    else if (watching && current.state === "live") render();  // the statuses changed: show them
  }
  follow();
  return h("span", { class: "publish" }, bar, message, button);
}

function pauseButton(dialogue) {
  if (!can("dialogues") || dialogue.status === "invalid") return null;
  const paused = dialogue.status === "paused";
  return h("button", { class: paused ? "" : "danger", "data-action": paused ? "resume" : "pause", onclick: async (event) => {
    event.stopPropagation();
    try { await api("POST", `/dialogues/${encodeURIComponent(dialogue.id)}/${paused ? "resume" : "pause"}`); render(); }
    catch (error) { alert(error.message); }
  } }, paused ? "Resume" : "Pause");
}

// A YAML editor with line numbers that validates as you type (the server's validator) and saves when valid.
function codeEditor({ source: text, label, editable, validate, save: store, savedText, problems: first }) {
  const gutter = h("div", { class: "gutter", "aria-hidden": "true" });
  const source = h("textarea", { class: "source", id: "source", spellcheck: "false", "aria-label": label, readonly: !editable });
  source.value = text;
  const problems = h("div", { id: "problems", "aria-live": "polite" });
  const saved = h("span", { id: "saved", class: "muted" });
  const save = h("button", { class: "primary", id: "save", disabled: true, hidden: !editable, onclick: async () => {
    saved.textContent = "";
    try {
      const answer = await store(source.value);
      showProblems(answer.problems);
      saved.className = "muted"; saved.textContent = savedText;
      save.disabled = true;
    } catch (error) { saved.textContent = error.message; saved.className = "error"; }
  } }, "Save");
  let timer = null;
  let bad = new Set();
  const drawGutter = () => {
    const lines = source.value.split("\n").length;
    gutter.replaceChildren(...Array.from({ length: lines }, (_, i) =>
      h("div", { class: bad.has(i + 1) ? "bad" : "", "data-line": i + 1 }, i + 1)));
    gutter.scrollTop = source.scrollTop;
  };
  const showProblems = (found) => {
    bad = new Set(found.map((p) => p.line));
    problems.replaceChildren(found.length
      ? h("ul", { class: "problems" }, found.map((p) => h("li", { "data-line": p.line }, `line ${p.line}, column ${p.column}: ${p.message}`)))
      : h("p", { class: "ok" }, "No problems."));
    drawGutter();
    return found.length === 0;
  };
  source.addEventListener("input", () => {
    drawGutter();
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try { save.disabled = !showProblems((await validate(source.value)).problems); }
      catch (error) { problems.replaceChildren(failure(error)); }
    }, 300);
  });
  source.addEventListener("scroll", () => { gutter.scrollTop = source.scrollTop; });
  showProblems(first);
  return { code: h("div", { class: "code" }, gutter, source), problems, saved, save };
}

async function dialogueEditor(main, id) {
  const data = await api("GET", "/dialogues/" + encodeURIComponent(id));
  const editor = codeEditor({
    source: data.source, label: "Dialogue YAML", editable: can("dialogues"), problems: data.problems,
    validate: (text) => api("POST", "/dialogues/validate", { source: text, file: data.file }),
    save: (text) => api("PUT", "/dialogues/" + encodeURIComponent(id), { source: text }),
    savedText: "Saved. Publish to put it live." });
  main.replaceChildren(
    h("div", { class: "toolbar" }, h("a", { href: "#/dialogues" }, "← Dialogues"), h("h2", {}, data.id), status(data.status),
      h("span", { class: "spacer" }), editor.saved, editor.save, publishControl()),
    h("div", { class: "editor" },
      h("div", {}, editor.code, editor.problems),
      h("div", {}, draftPreview(() => document.getElementById("source").value), h("div", { class: "graph" }, h("h3", {}, "Flow"), data.graph
        ? h("img", { alt: "The dialogue's flow", src: "data:image/svg+xml;charset=utf-8," + encodeURIComponent(data.graph) })
        : h("p", { class: "muted" }, "Fix the problems to see the flow.")))));
}

// Chat with the draft as it is in the editor (saved or not): the server plays it without Rasa.
function draftPreview(currentSource) {
  const log = h("ol", { class: "transcript", id: "draft-log" });
  const input = h("input", { id: "draft-input", placeholder: "Type an answer…", "aria-label": "Answer the draft" });
  let state = null;
  const show = (messages) => {
    for (const message of messages) {
      log.append(h("li", { class: message.from }, message.text));
      if (message.buttons && message.buttons.length) {
        log.append(h("li", { class: "buttons" }, message.buttons.map((button) =>
          h("button", { type: "button", onclick: () => say(button.payload, button.title) }, button.title))));
      }
    }
    log.scrollTop = log.scrollHeight;
  };
  async function say(answer, shown) {
    if (shown !== undefined) log.append(h("li", { class: "visitor" }, shown));
    try {
      const reply = await api("POST", "/dialogues/preview", state === null
        ? { source: currentSource() } : { source: currentSource(), state, answer });
      state = reply.state;
      show(reply.messages);
    } catch (error) { log.append(h("li", { class: "system" }, error.message)); }
  }
  const restart = () => { log.replaceChildren(); state = null; say(); };
  const form = h("form", { class: "toolbar", onsubmit: (event) => {
    event.preventDefault();
    if (!input.value.trim() || state === null) return;
    say(input.value, input.value); input.value = "";
  } }, input, h("button", { type: "submit" }, "Send"), h("button", { type: "button", id: "draft-restart", onclick: restart }, "Restart"));
  restart();
  return h("div", { class: "card preview-chat" }, h("h3", {}, "Preview: chat with the draft"), log, form);
}

// --- Calendar -------------------------------------------------------------------------------
async function calendarPage(main) {
  const data = await api("GET", "/calendar");
  const admin = can("integrations");
  const editor = codeEditor({
    source: data.source, label: "Agents YAML", editable: admin, problems: data.problems,
    validate: (text) => api("POST", "/calendar/validate", { source: text }),
    save: async (text) => { const answer = await api("PUT", "/calendar", { source: text }); setTimeout(render, 800); return answer; },
    savedText: "Saved: the bot uses it at once." });
  const hours = (agent) => Object.entries(agent.hours).map(([day, spans]) => `${day} ${spans.join(", ")}`).join("; ");
  main.replaceChildren(
    h("div", { class: "toolbar" }, h("h2", {}, "Calendar"), h("span", { class: "spacer" }),
      h("span", { class: data.meetings_on ? "ok" : "error" }, data.meetings_on ? "Meetings are on" : "Meetings are off: fix the agents file")),
    h("table", { id: "calendar-agents" },
      h("thead", {}, h("tr", {}, ["Agent", "Calendar", "Time zone", "Hours", "Meeting", "Buffer", "Notice", "Max/day", "Active", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, data.agents.map((a) => {
        const result = h("div", { class: "muted", "data-result": a.email });
        return h("tr", { "data-agent": a.email },
          h("td", {}, h("strong", {}, a.name), h("div", { class: "muted" }, a.email),
            a.feed_url ? h("div", {}, h("a", { href: a.feed_url }, "iCalendar feed")) : null),
          h("td", {}, a.calendar), h("td", {}, a.timezone), h("td", {}, hours(a)), h("td", {}, `${a.meeting_minutes} min`),
          h("td", {}, `${a.buffer_minutes} min`), h("td", {}, `${a.min_notice_minutes} min`), h("td", {}, a.max_per_day ?? "–"),
          h("td", {}, a.active ? "yes" : "no"),
          h("td", {}, admin ? h("button", { "data-action": "test", onclick: async () => {
            result.textContent = "Asking…";
            const answer = await api("POST", `/calendar/agents/${encodeURIComponent(a.email)}/test`);
            result.className = answer.ok ? "ok" : "error"; result.textContent = answer.message;
          } }, "Test") : null, result));
      }))),
    h("div", {}, data.feeds_on ? null
      : h("p", { class: "muted" }, "Feeds of local calendars are off: set DYNCHAT_FEED_SECRET to give each agent a feed URL.")),
    h("h3", {}, `The agents file (${data.file}), ${data.rules} routing rules`),
    h("div", { class: "toolbar" }, h("span", { class: "spacer" }), editor.saved, editor.save),
    editor.code, editor.problems);
}

// --- Integrations ---------------------------------------------------------------------------
async function integrationsPage(main) {
  const data = await api("GET", "/integrations/marketo");
  const admin = can("integrations");
  const result = h("p", { id: "marketo-test-result", role: "status" });
  const test = h("button", { id: "marketo-test", hidden: !admin, disabled: !data.configured, onclick: async () => {
    result.className = "muted"; result.textContent = "Testing…";
    const answer = await api("POST", "/integrations/marketo/test");
    result.className = answer.ok ? "ok" : "error";
    result.textContent = `${answer.message}${answer.seconds !== undefined ? ` (${answer.seconds} s)` : ""}`;
  } }, "Test the connection");
  const sync = h("button", { class: "primary", id: "marketo-sync", hidden: !admin, disabled: !data.configured, onclick: async () => {
    try { await api("POST", "/integrations/marketo/sync"); } catch (error) { alert(error.message); }
    follow();
  } }, "Sync now");
  const runs = h("tbody");
  async function follow() {
    const now = await api("GET", "/integrations/marketo");
    runs.replaceChildren(...now.runs.map((r) => h("tr", {}, h("td", {}, when(r.started_at)), h("td", {}, r.by), h("td", {}, status(r.state)),
      h("td", {}, r.records), h("td", { class: r.error ? "error" : "muted" }, r.error || r.progress))));
    document.getElementById("sync-summary").textContent = now.sync.summary;
    if (now.runs.length && now.runs[0].state === "running") setTimeout(() => { if (document.body.contains(runs)) follow(); }, 1000);
  }
  const box = data.outbox;
  const retry = h("button", { id: "outbox-retry", hidden: !admin || !box.refused, onclick: async () => {
    const answer = await api("POST", "/integrations/outbox/retry", { ids: null });
    alert(`${answer.queued} message(s) queued again`); render();
  } }, "Retry the refused");
  main.replaceChildren(
    h("h2", {}, "Integrations"),
    h("div", { class: "card", id: "marketo" }, h("h3", {}, "Marketo"),
      h("p", {}, data.configured ? `Connected to ${data.host} with client id ${data.client_id}.`
        : "Not configured: set MARKETO_BASE_URL, MARKETO_CLIENT_ID and MARKETO_CLIENT_SECRET where the bot runs."),
      h("p", { class: "muted" }, "The secret is read from the environment and never shown or stored here."),
      h("div", { class: "toolbar" }, test, sync), result,
      h("h3", {}, "Lead sync"), h("pre", { id: "sync-summary" }, data.sync.summary),
      h("table", { id: "sync-runs" }, h("thead", {}, h("tr", {}, ["Started", "By", "State", "Leads", "Progress"].map((t) => h("th", {}, t)))), runs),
      h("h3", {}, "Outbox: what waits to reach Marketo"),
      h("div", { class: "figures", id: "outbox" },
        [["pending", "Pending"], ["due", "Due now"], ["sent", "Sent"], ["refused", "Refused by Marketo"]].map(([key, label]) =>
          h("div", { class: "figure", "data-measure": key }, h("div", { class: "value" }, box[key]), h("div", { class: "label" }, label)))),
      box.last_error ? h("p", { class: "muted" }, `Last error: ${box.last_error}`) : null,
      box.refused_messages.length ? h("table", { id: "refused" },
        h("thead", {}, h("tr", {}, ["Queued", "Kind", "Attempts", "Marketo's answer"].map((t) => h("th", {}, t)))),
        h("tbody", {}, box.refused_messages.map((m) => h("tr", {}, h("td", {}, when(m.created_at)), h("td", {}, m.kind),
          h("td", {}, m.attempts), h("td", {}, m.error || "–"))))) : null,
      retry));
  follow();
}

// --- Configuration ----------------------------------------------------------------------
const APPEARANCE = [
  ["bot_name", "Bot name", "text"], ["header_label", "Header label", "text"], ["avatar", "Avatar (https URL, or upload one)", "text"],
  ["primary_color", "Colour", "color"], ["font_family", "Font", "text"],
  ["position", "Position", ["bottom-right", "bottom-left"]], ["padding", "Distance from the corner (px)", "number"],
  ["launcher_icon", "Launcher icon (chat, an emoji, or an https URL)", "text"],
  ["response_delay_ms", "Typing delay before each message (ms)", "number"], ["sound", "Sound for new messages", "checkbox"],
  ["privacy_url", "Privacy link (https URL)", "url"], ["open_on_trigger", "Open the chat when a dialogue starts", "checkbox"],
  ["enabled", "Widget on", "checkbox"],
];

async function configurationPage(main) {
  const data = await api("GET", "/configuration");
  const editable = can("configuration");
  const inputs = {};
  const frame = h("iframe", { id: "preview", title: "Widget preview", class: "preview" });
  const values = () => {
    const result = {};
    for (const [key, , kind] of APPEARANCE) {
      const input = inputs[key];
      if (kind === "checkbox") result[key] = input.checked;
      else if (kind === "number") result[key] = Number(input.value);
      else result[key] = input.value.trim() === "" && (key === "avatar" || key === "privacy_url") ? null : input.value;
    }
    return result;
  };
  let timer = null;
  const refresh = () => {
    clearTimeout(timer);
    timer = setTimeout(() => { frame.src = "/console/preview?settings=" + encodeURIComponent(JSON.stringify(values())); }, 250);
  };
  const fields = APPEARANCE.map(([key, label, kind]) => {
    const value = data.appearance[key];
    let input;
    if (Array.isArray(kind)) input = h("select", { id: "cfg-" + key }, kind.map((o) => h("option", { value: o, selected: o === value }, o)));
    else input = h("input", { id: "cfg-" + key, type: kind, checked: kind === "checkbox" && value ? true : null,
      value: kind === "checkbox" ? null : (value ?? "") });
    input.disabled = !editable;
    input.addEventListener("input", refresh);
    input.addEventListener("change", refresh);
    inputs[key] = input;
    return h("label", { class: "field" + (kind === "checkbox" ? " check" : "") }, h("span", {}, label), input);
  });
  const saved = h("p", { id: "appearance-saved", role: "status" });
  const upload = h("input", { type: "file", id: "avatar-upload", accept: "image/png,image/jpeg,image/gif,image/webp",
    hidden: !editable, "aria-label": "Upload an avatar" });
  upload.addEventListener("change", async () => {
    const file = upload.files && upload.files[0];
    if (!file) return;
    const answer = await fetch("/api/configuration/avatar", { method: "POST", credentials: "same-origin", body: file,
      headers: { "Content-Type": file.type || "application/octet-stream", "X-CSRF-Token": state.session.csrf } });
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) { saved.className = "error"; saved.textContent = data.error || answer.statusText; return; }
    inputs.avatar.value = data.avatar;
    saved.className = "muted"; saved.textContent = "Uploaded: save the look to use it.";
    refresh();
  });
  const saveLook = h("button", { class: "primary", id: "save-appearance", hidden: !editable, onclick: async () => {
    try {
      await api("PUT", "/configuration/appearance", values());
      saved.className = "ok"; saved.textContent = "Saved: visitors see it on their next page load.";
    } catch (error) { saved.className = "error"; saved.textContent = error.message; }
  } }, "Save the look");
  const list = (id, items) => h("textarea", { id, rows: 6, readonly: !editable, placeholder: "one domain per line" }, items.join("\n"));
  const blocked = list("blocked-domains", data.blocked_email_domains);
  const allowed = list("allowed-domains", data.allowed_domains);
  const domainsSaved = h("p", { id: "domains-saved", role: "status" });
  const lines = (area) => area.value.split(/[\s,]+/).filter(Boolean);
  const saveDomains = h("button", { class: "primary", id: "save-domains", hidden: !editable, onclick: async () => {
    try {
      const answer = await api("PUT", "/configuration/domains", { blocked_email_domains: lines(blocked), allowed_domains: lines(allowed) });
      blocked.value = answer.blocked_email_domains.join("\n");
      allowed.value = answer.allowed_domains.join("\n");
      domainsSaved.className = "ok"; domainsSaved.textContent = "Saved: in effect at once.";
    } catch (error) { domainsSaved.className = "error"; domainsSaved.textContent = error.message; }
  } }, "Save the domains");
  const snippet = h("code", { id: "snippet" }, data.snippet);
  main.replaceChildren(
    h("h2", {}, "Configuration"),
    h("div", { id: "widget-file-problems" }, data.problems.length
      ? h("ul", { class: "problems" }, data.problems.map((p) => h("li", {}, p))) : null),
    h("div", { class: "editor" },
      h("div", { class: "card" }, h("h3", {}, "The widget's look"), h("div", { class: "fields" }, fields),
        h("label", { class: "field" }, h("span", {}, "Upload an avatar (PNG, JPEG, GIF or WebP, at most 256 kB)"), upload),
        saveLook, saved),
      h("div", { class: "card" }, h("h3", {}, "Live preview"), frame)),
    h("div", { class: "card" }, h("h3", {}, "Domains"),
      h("div", { class: "editor" },
        h("label", { class: "field" }, h("span", {}, "Blocked email domains: a capture with one is refused politely"), blocked),
        h("label", { class: "field" }, h("span", {}, "Sites that may embed the widget (empty: any site)"), allowed)),
      saveDomains, domainsSaved),
    h("div", { class: "card" }, h("h3", {}, "Install the widget"),
      h("p", { class: "muted" }, "Put this before </body> on every page of your site:"), h("pre", {}, snippet),
      h("button", { onclick: () => navigator.clipboard && navigator.clipboard.writeText(data.snippet) }, "Copy")));
  refresh();
}

// --- Meetings --------------------------------------------------------------------------
async function meetingsPage(main) {
  const filters = { status: "", agent: "", dialogue: "", limit: 50, offset: 0 };
  const body = h("div");
  const field = (name, element) => {
    element.addEventListener("change", () => { filters[name] = element.value.trim(); filters.offset = 0; load(); });
    return element;
  };
  const statusSelect = field("status", h("select", { id: "meeting-status", "aria-label": "Status" },
    ["", "booked", "rescheduled", "past", "cancelled", "failed"].map((s) => h("option", { value: s }, s || "any status"))));
  const csv = h("a", { id: "meetings-csv", href: "/api/meetings.csv", download: "meetings.csv" }, "Export CSV");
  main.replaceChildren(
    h("div", { class: "toolbar" }, h("h2", {}, "Meetings"), h("span", { class: "spacer" }), statusSelect,
      field("agent", h("input", { placeholder: "agent email", "aria-label": "Agent" })),
      field("dialogue", h("input", { placeholder: "dialogue", "aria-label": "Dialogue" })), csv),
    h("p", { class: "muted" }, `Times in ${zone}.`), body);
  async function load() {
    const { limit, offset, ...rest } = filters;
    csv.href = "/api/meetings.csv" + query(rest);
    try {
      const data = await api("GET", "/meetings" + query(filters));
      body.replaceChildren(
        h("table", { id: "meetings" },
          h("thead", {}, h("tr", {}, ["Time", "Agent", "Visitor", "Dialogue", "Status", "Why this agent", ""].map((t) => h("th", {}, t)))),
          h("tbody", {}, data.meetings.map((m) => h("tr", { "data-id": m.id },
            h("td", {}, when(m.start)), h("td", {}, m.agent), h("td", {}, m.visitor || "–"), h("td", {}, m.dialogue || "–"),
            h("td", {}, status(m.status)), h("td", { class: "muted" }, m.reason),
            h("td", {}, meetingActions(m, load)))))),
        h("div", { class: "pager" },
          h("button", { disabled: offset === 0, onclick: () => { filters.offset = Math.max(0, offset - limit); load(); } }, "Newer"),
          h("span", { class: "muted" }, data.total ? `${offset + 1}–${offset + data.meetings.length} of ${data.total}` : "No meetings"),
          h("button", { disabled: offset + limit >= data.total, onclick: () => { filters.offset = offset + limit; load(); } }, "Older")));
    } catch (error) { body.replaceChildren(failure(error)); }
  }
  await load();
}

function meetingActions(meeting, reload) {
  const history = h("button", { onclick: async (event) => {
    const row = event.target.closest("tr");
    const data = await api("GET", "/meetings/" + encodeURIComponent(meeting.id));
    row.after(h("tr", {}, h("td", { colspan: 7 }, h("ul", {}, data.history.map((e) => h("li", {}, `${when(e.at)}: ${e.status} (${e.note})`))))));
  } }, "History");
  if (!can("meetings") || !["booked", "rescheduled"].includes(meeting.status)) return history;
  return h("span", {}, history, " ",
    h("button", { class: "danger", "data-action": "cancel", onclick: async () => {
      if (!confirm("Cancel this meeting? Its calendar event is deleted too.")) return;
      try { await api("POST", `/meetings/${encodeURIComponent(meeting.id)}/cancel`); reload(); } catch (error) { alert(error.message); }
    } }, "Cancel"), " ",
    h("button", { "data-action": "reassign", onclick: async () => {
      const agent = prompt("Reassign to (agent email; empty: the rotation's next free agent)", "");
      if (agent === null) return;
      try { await api("POST", `/meetings/${encodeURIComponent(meeting.id)}/reassign`, { agent: agent.trim() || null }); reload(); }
      catch (error) { alert(error.message); }
    } }, "Reassign"));
}

// --- Routing -----------------------------------------------------------------------------
async function routingPage(main) {
  const data = await api("GET", "/routing");
  main.replaceChildren(
    h("h2", {}, "Routing"),
    h("h3", {}, "Rotations"),
    h("table", { id: "pools" },
      h("thead", {}, h("tr", {}, ["Pool", "Order", "Last", "Next (if free)", "Credits"].map((t) => h("th", {}, t)))),
      h("tbody", {}, data.pools.map((p) => h("tr", {}, h("td", {}, p.label), h("td", {}, p.order.join(" → ")),
        h("td", {}, p.last || "–"), h("td", {}, p.next),
        h("td", {}, Object.entries(p.credits).map(([a, n]) => `${a} ×${n}`).join(", ") || "–"))))),
    h("h3", {}, "Agents"),
    h("table", { id: "agents" },
      h("thead", {}, h("tr", {}, ["Agent", "Calendar", "Teams", "Active", "Meetings"].map((t) => h("th", {}, t)))),
      h("tbody", {}, data.agents.map((a) => h("tr", { "data-agent": a.email }, h("td", {}, `${a.name} (${a.email})`),
        h("td", {}, a.calendar), h("td", {}, a.teams.join(", ") || "–"), h("td", {}, a.active ? "yes" : "no"),
        h("td", { class: "meetings" }, a.meetings))))),
    h("h3", {}, `Rule routing (${data.rules} rules, in priority order)`),
    h("table", { id: "rules" }, h("thead", {}, h("tr", {}, ["If", "Then"].map((t) => h("th", {}, t)))),
      h("tbody", {}, data.rule_list.map((r) => h("tr", {}, h("td", {}, r.if), h("td", {}, r.to))))),
    h("h3", {}, `Account routing (${data.accounts} accounts with an owner${data.accounts > data.account_list.length ? ", the first 200 shown" : ""})`),
    h("table", { id: "accounts" }, h("thead", {}, h("tr", {}, ["Account (company or email domain)", "Owner"].map((t) => h("th", {}, t)))),
      h("tbody", {}, data.account_list.map((a) => h("tr", {}, h("td", {}, a.account), h("td", {}, a.agent))))),
    h("h3", {}, "Recent choices"),
    h("table", { id: "reasons" },
      h("thead", {}, h("tr", {}, ["When", "Meeting", "Status", "Reason"].map((t) => h("th", {}, t)))),
      h("tbody", {}, data.recent.map((r) => h("tr", {}, h("td", {}, when(r.at)), h("td", { class: "muted" }, r.meeting.slice(0, 8)),
        h("td", {}, status(r.status)), h("td", {}, r.reason))))));
}

// --- Analytics ------------------------------------------------------------------------------
async function analyticsPage(main) {
  const today = new Date();
  const filters = { from: isoDay(new Date(today.getTime() - 29 * 86400000)), to: isoDay(today), dialogue: "" };
  const body = h("div");
  const input = (name, attrs) => {
    const element = h(attrs.tag || "input", { ...attrs, tag: null, value: filters[name] });
    element.addEventListener("change", () => { filters[name] = element.value; load(); });
    return element;
  };
  const dialogues = (await api("GET", "/dialogues")).dialogues;
  const select = h("select", { id: "analytics-dialogue", "aria-label": "Dialogue" }, h("option", { value: "" }, "All dialogues"),
    dialogues.map((d) => h("option", { value: d.id }, d.name)));
  select.addEventListener("change", () => { filters.dialogue = select.value; load(); });
  const csv = h("a", { id: "analytics-csv", download: "analytics.csv" }, "Export CSV");
  main.replaceChildren(
    h("div", { class: "toolbar" }, h("h2", {}, "Analytics"), h("span", { class: "spacer" }),
      h("label", {}, "From ", input("from", { type: "date", id: "analytics-from" })),
      h("label", {}, "To ", input("to", { type: "date", id: "analytics-to" })), select, csv),
    body);
  async function load() {
    csv.href = "/api/analytics.csv" + query(filters);
    try {
      const data = await api("GET", "/analytics" + query(filters));
      const total = data.total;
      body.replaceChildren(
        h("div", { class: "figures", id: "figures" },
          MEASURES.map(([key, label]) => h("div", { class: "figure", "data-measure": key },
            h("div", { class: "value" }, total[key]), h("div", { class: "label" }, label))),
          h("div", { class: "figure", "data-measure": "engagement_rate" }, h("div", { class: "value" }, percent(total.engagement_rate)),
            h("div", { class: "label" }, "Engagement rate (engaged / triggered)")),
          h("div", { class: "figure", "data-measure": "conversion_rate" }, h("div", { class: "value" }, percent(total.conversion_rate)),
            h("div", { class: "label" }, "Conversion rate (acquired / engaged)"))),
        h("div", { class: "card chart" }, h("img", { alt: "Triggered, engaged and acquired per day", id: "chart",
          src: "/api/analytics/chart.svg" + query(filters) })),
        h("h3", {}, "Per dialogue"),
        h("table", { id: "per-dialogue" },
          h("thead", {}, h("tr", {}, ["Dialogue", ...MEASURES.map(([, l]) => l), "Engagement", "Conversion"].map((t) => h("th", {}, t)))),
          h("tbody", {}, Object.entries(data.dialogues).map(([name, counts]) => h("tr", { "data-dialogue": name },
            h("td", {}, name || "(none)"), MEASURES.map(([key]) => h("td", { "data-measure": key }, counts[key])),
            h("td", {}, percent(counts.engagement_rate)), h("td", {}, percent(counts.conversion_rate)))))),
        h("p", { class: "muted" }, "Days are UTC days. Counted for every visitor, known or anonymous."));
    } catch (error) { body.replaceChildren(failure(error)); }
  }
  await load();
}

// --- Conversations and requests -----------------------------------------------------------
function transcriptList(lines) {
  return h("ol", { class: "transcript" }, lines.map((line) => h("li", { class: line.from }, line.text)));
}

async function conversationsPage(main, rest) {
  if (rest.length) {
    const data = await api("GET", "/conversations/" + encodeURIComponent(rest[0]));
    main.replaceChildren(h("div", { class: "toolbar" }, h("a", { href: "#/conversations" }, "← Conversations")),
      h("div", { class: "card" }, transcriptList(data.transcript)));
    return;
  }
  const data = await api("GET", "/conversations");
  main.replaceChildren(h("h2", {}, "Conversations"),
    h("table", { id: "conversations" },
      h("thead", {}, h("tr", {}, ["Last message", "Visitor", "Dialogue", "Page", "Messages"].map((t) => h("th", {}, t)))),
      h("tbody", {}, data.conversations.map((c) => h("tr", { class: "clickable",
        onclick: () => { location.hash = "#/conversations/" + encodeURIComponent(c.id); } },
        h("td", {}, when(c.last_at)), h("td", {}, c.known ? `lead ${c.lead_id}${c.email ? " (" + c.email + ")" : ""}` : "anonymous"),
        h("td", {}, c.dialogue || "–"), h("td", {}, c.page || "–"), h("td", {}, c.messages))))));
}

async function requestsPage(main) {
  const data = await api("GET", "/requests");
  main.replaceChildren(h("h2", {}, `Requests for a person (${data.open} open)`),
    data.requests.length ? h("div", { id: "requests" }, data.requests.map((r) => h("div", { class: "card", "data-id": r.id },
      h("div", { class: "toolbar" }, status(r.status), h("strong", {}, r.email || (r.lead_id ? `lead ${r.lead_id}` : "anonymous visitor")),
        h("span", { class: "muted" }, `${when(r.at)} · ${r.dialogue || "no dialogue"} · ${r.page || ""}`), h("span", { class: "spacer" }),
        r.status === "open" && can("people") ? h("button", { "data-action": "done", onclick: async () => {
          try { await api("POST", `/requests/${encodeURIComponent(r.id)}/done`); render(); } catch (error) { alert(error.message); }
        } }, "Mark handled") : (r.handled_by ? h("span", { class: "muted" }, `handled by ${r.handled_by}`) : null)),
      transcriptList(r.transcript))))
      : h("p", { class: "muted" }, "Nobody has asked for a person yet."));
}

const PAGES = { integrations: integrationsPage, dialogues: dialoguesPage, configuration: configurationPage, calendar: calendarPage, meetings: meetingsPage, routing: routingPage, analytics: analyticsPage,
  conversations: conversationsPage, requests: requestsPage };

window.addEventListener("hashchange", render);
render();
