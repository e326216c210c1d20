// The widget's DOM: built with elements and text nodes only, never from HTML strings, so no text from the
// bot, a dialogue or a visitor is ever interpreted as markup.

const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

function el(tag, attributes, children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children || []) if (child) node.appendChild(child);
  return node;
}

// Text with its http(s) links made clickable; everything else stays a text node.
export function textWithLinks(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of String(text).matchAll(URL_IN_TEXT)) {
    fragment.appendChild(document.createTextNode(text.slice(last, match.index)));
    fragment.appendChild(el("a", { href: match[0], target: "_blank", rel: "noopener noreferrer nofollow", text: match[0] }));
    last = match.index + match[0].length;
  }
  fragment.appendChild(document.createTextNode(String(text).slice(last)));
  return fragment;
}

// The built-in launcher icon: a speech bubble drawn with SVG elements (no icon font, no markup string).
function chatIcon() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "28");
  svg.setAttribute("height", "28");
  svg.setAttribute("aria-hidden", "true");
  const bubble = document.createElementNS(ns, "path");
  bubble.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
  bubble.setAttribute("fill", "currentColor");
  svg.appendChild(bubble);
  return svg;
}

function luminance(hex) {
  const value = /^#?([0-9a-f]{6})$/i.exec(hex || "");
  if (!value) return 0;
  const channel = (offset) => {
    const c = parseInt(value[1].slice(offset, offset + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
}

// Black or white, whichever reads better on the brand colour (WCAG contrast).
export function textOn(hex) {
  const l = luminance(hex);
  return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? "#111111" : "#ffffff";
}

function styles(config) {
  const side = config.position === "bottom-left" ? "left" : "right";
  const padding = Number(config.padding) || 20;
  const primary = config.primary_color || "#1f5fbf";
  return `
    :host { all: initial; }
    * { box-sizing: border-box; font-family: ${config.font_family || "system-ui, sans-serif"}; }
    .launcher { position: fixed; bottom: ${padding}px; ${side}: ${padding}px; width: 60px; height: 60px;
      border-radius: 50%; border: none; background: ${primary}; color: ${textOn(primary)}; font-size: 26px;
      cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25); z-index: 2147483000; }
    .launcher img { width: 34px; height: 34px; border-radius: 50%; }
    .poke { position: fixed; bottom: ${padding + 72}px; ${side}: ${padding}px; max-width: 280px; background: #fff;
      color: #111; border-radius: 12px; padding: 12px 14px; box-shadow: 0 4px 18px rgba(0,0,0,.2); cursor: pointer;
      z-index: 2147483000; border: 1px solid #ddd; font-size: 15px; line-height: 1.4; text-align: left; }
    .panel { position: fixed; bottom: ${padding + 72}px; ${side}: ${padding}px; width: 370px; height: 560px;
      max-height: calc(100vh - ${padding + 90}px); display: flex; flex-direction: column; background: #fff;
      color: #111; border-radius: 14px; box-shadow: 0 8px 30px rgba(0,0,0,.3); overflow: hidden;
      z-index: 2147483001; font-size: 15px; }
    .panel[hidden], .poke[hidden], .launcher[hidden] { display: none; }
    header { display: flex; align-items: center; gap: 10px; padding: 12px 14px; background: ${primary};
      color: ${textOn(primary)}; }
    header .avatar { width: 36px; height: 36px; border-radius: 50%; background: rgba(255,255,255,.25);
      display: flex; align-items: center; justify-content: center; font-weight: 700; font-size: 18px; }
    .launcher { display: flex; align-items: center; justify-content: center; }
    header .names { flex: 1; min-width: 0; }
    header .name { font-weight: 700; }
    header .label { font-size: 13px; }
    header button { background: transparent; border: 1px solid currentColor; color: inherit; border-radius: 6px;
      padding: 4px 8px; cursor: pointer; font-size: 13px; }
    .log { flex: 1; overflow-y: auto; padding: 14px; display: flex; flex-direction: column; gap: 8px;
      background: #f6f7f9; }
    .message { max-width: 85%; padding: 9px 12px; border-radius: 12px; line-height: 1.4; white-space: pre-wrap;
      word-wrap: break-word; }
    .bot { align-self: flex-start; background: #fff; border: 1px solid #d8dbe0; color: #111; }
    .visitor { align-self: flex-end; background: ${primary}; color: ${textOn(primary)}; }
    .bot a { color: #0b4fa8; }
    .visitor a { color: inherit; }
    .buttons { display: flex; flex-wrap: wrap; gap: 6px; align-self: flex-start; max-width: 95%; }
    .buttons button { border: 1px solid ${primary}; background: #fff; color: #123; border-radius: 16px;
      padding: 6px 12px; cursor: pointer; font-size: 14px; }
    .buttons button:disabled { opacity: .55; cursor: default; }
    .typing { align-self: flex-start; color: #444; font-size: 13px; font-style: italic; }
    form { display: flex; gap: 6px; padding: 10px; border-top: 1px solid #d8dbe0; background: #fff; }
    form input { flex: 1; padding: 9px 10px; border: 1px solid #767676; border-radius: 8px; font-size: 15px;
      color: #111; }
    form button { border: none; background: ${primary}; color: ${textOn(primary)}; border-radius: 8px;
      padding: 0 14px; cursor: pointer; font-size: 15px; }
    .privacy { font-size: 12px; text-align: center; padding: 0 0 8px; background: #fff; }
    .privacy a { color: #0b4fa8; }
    button:focus-visible, input:focus-visible, a:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }
    @media (max-width: 480px) {
      .panel { left: 0; right: 0; bottom: 0; top: 0; width: 100%; height: 100%; max-height: none;
        border-radius: 0; }
      .poke { ${side}: 12px; max-width: calc(100vw - 24px); }
    }`;
}

export class Ui {
  constructor(config, words, handlers) {
    this.config = config;
    this.words = words;
    this.handlers = handlers;
    this.host = el("div", { id: "dynchat-widget", "data-dynchat": "" });
    this.root = this.host.attachShadow({ mode: "open" });
    this.root.appendChild(el("style", { text: styles(config) }));
    const icon = config.launcher_icon || "chat";
    const launcherFace = /^https:\/\//.test(icon) ? el("img", { src: icon, alt: "" })
      : icon === "chat" ? chatIcon() : document.createTextNode(icon);
    this.launcher = el("button", { class: "launcher", type: "button", "aria-label": words.open,
      "aria-expanded": "false", onclick: () => (this.isOpen ? handlers.close() : handlers.open()) }, [launcherFace]);
    this.poke = el("button", { class: "poke", type: "button", hidden: true, "aria-label": words.poke,
      onclick: () => handlers.open() });
    this.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": config.bot_name || "" });
    this.typing = el("div", { class: "typing", hidden: true, "aria-hidden": "true" });
    this.input = el("input", { type: "text", name: "message", autocomplete: "off", "aria-label": words.placeholder,
      placeholder: words.placeholder, maxlength: "1000" });
    const form = el("form", { novalidate: true, onsubmit: (event) => { event.preventDefault(); this.submitTyped(); } }, [
      this.input, el("button", { type: "submit", text: words.send })]);
    const avatar = config.avatar ? el("img", { class: "avatar", src: config.avatar, alt: "" })
      : el("div", { class: "avatar", "aria-hidden": "true", text: (config.bot_name || "").slice(0, 1) });
    this.closeButton = el("button", { type: "button", class: "close", text: "✕", "aria-label": words.close,
      onclick: () => handlers.close() });
    const header = el("header", {}, [avatar,
      el("div", { class: "names" }, [el("div", { class: "name", text: config.bot_name || "" }),
        el("div", { class: "label", text: config.header_label || "" })]),
      el("button", { type: "button", class: "restart", text: words.restart, onclick: () => handlers.restart() }),
      this.closeButton]);
    const privacy = config.privacy_url ? el("div", { class: "privacy" }, [
      el("a", { href: config.privacy_url, target: "_blank", rel: "noopener noreferrer", text: words.privacy })]) : null;
    this.panel = el("div", { class: "panel", role: "dialog", "aria-label": config.bot_name || words.chat,
      hidden: true }, [header, this.log, this.typing, form, privacy]);
    this.root.append(this.launcher, this.poke, this.panel);
    document.body.appendChild(this.host);
  }

  submitTyped() {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = "";
    this.handlers.send(text, text);
  }

  // What the text field expects next: an email or a phone number brings the right keyboard and hint.
  expect(kind) {
    const types = { email: ["email", "email", this.words.placeholderEmail, "email"],
      phone: ["tel", "tel", this.words.placeholderPhone, "tel"] };
    const [type, inputmode, placeholder, autocomplete] = types[kind] || ["text", "text", this.words.placeholder, "off"];
    this.input.setAttribute("type", type);
    this.input.setAttribute("inputmode", inputmode);
    this.input.setAttribute("placeholder", placeholder);
    this.input.setAttribute("autocomplete", autocomplete);
  }

  get isOpen() {
    return !this.panel.hidden;
  }

  open() {
    this.poke.hidden = true;
    this.panel.hidden = false;
    this.launcher.setAttribute("aria-expanded", "true");
    this.launcher.setAttribute("aria-label", this.words.close);
    this.scrollToEnd();
    this.input.focus();
  }

  close() {
    this.panel.hidden = true;
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.setAttribute("aria-label", this.words.open);
    this.launcher.focus();
  }

  showPoke(text) {
    if (this.isOpen) return;
    this.poke.textContent = "";
    this.poke.appendChild(document.createTextNode(text));
    this.poke.hidden = false;
  }

  showTyping(on) {
    this.typing.textContent = on ? `${this.config.bot_name || ""} ${this.words.typing}…`.trim() : "";
    this.typing.hidden = !on;
    this.scrollToEnd();
  }

  clear() {
    this.log.textContent = "";
  }

  addVisitor(text) {
    this.log.appendChild(el("div", { class: "message visitor", "data-from": "visitor" }, [textWithLinks(text)]));
    this.scrollToEnd();
  }

  // One bot message: its text, then its buttons (disabled once one is chosen or the visitor moved on).
  addBot(message, answered) {
    if (message.text) {
      this.log.appendChild(el("div", { class: "message bot", "data-from": "bot" }, [textWithLinks(message.text)]));
    }
    const buttons = message.quick_replies || message.buttons || [];
    if (buttons.length) {
      const group = el("div", { class: "buttons", role: "group" });
      for (const button of buttons) {
        group.appendChild(el("button", { type: "button", text: button.title, disabled: answered,
          onclick: () => {
            for (const other of group.querySelectorAll("button")) other.disabled = true;
            this.handlers.send(String(button.payload), String(button.title));
          } }));
      }
      this.log.appendChild(group);
      if (!answered && this.isOpen) group.querySelector("button").focus();
    }
    this.scrollToEnd();
  }

  disableOpenButtons() {
    for (const button of this.log.querySelectorAll(".buttons button")) button.disabled = true;
  }

  scrollToEnd() {
    this.log.scrollTop = this.log.scrollHeight;
  }
}
