// The widget's own words, in English and Swedish, chosen by the page's language.
const STRINGS = {
  en: {
    open: "Open chat",
    close: "Close chat",
    restart: "Start over",
    send: "Send",
    placeholder: "Type your message…",
    placeholderEmail: "name@company.com",
    placeholderPhone: "+1 555 123 4567",
    typing: "is typing",
    you: "You",
    privacy: "Privacy policy",
    poke: "New message",
    chat: "Chat",
  },
  sv: {
    open: "Öppna chatten",
    close: "Stäng chatten",
    restart: "Börja om",
    send: "Skicka",
    placeholder: "Skriv ditt meddelande…",
    placeholderEmail: "namn@foretag.se",
    placeholderPhone: "070-123 45 67",
    typing: "skriver",
    you: "Du",
    privacy: "Integritetspolicy",
    poke: "Nytt meddelande",
    chat: "Chatt",
  },
};

export function language(locale) {
  const code = String(locale || "").toLowerCase().split(/[-_]/)[0];
  return STRINGS[code] ? code : "en";
}

export function stringsFor(locale) {
  return STRINGS[language(locale)];
}
