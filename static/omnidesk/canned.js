// Canned responses in the composer. Typing "/" (at the start or after a space) and a few letters offers the
// municipality's responses, already rendered for this ticket by the server; the choice replaces the "/query".
// ARIA combobox pattern: focus stays in the textarea, the active option is named by aria-activedescendant.
(function () {
  "use strict";
  const textarea = document.getElementById("composer-text");
  const list = document.getElementById("canned-list");
  if (!textarea || !list) return;
  const form = textarea.form || document.getElementById("composer");
  const status = document.getElementById("canned-status");
  const endpoint = list.dataset.url || "/responses/";
  const DEBOUNCE_MS = 150;
  // "/" at the start or after whitespace, then letters, digits or hyphens up to the caret.
  const TOKEN = /(^|\s)\/([\p{L}\p{N}-]*)$/u;

  function ticketNumber() {
    const explicit = (form && form.dataset.ticketNumber) || textarea.dataset.ticketNumber;
    if (explicit && /^\d+$/.test(explicit)) return explicit;
    const action = form && form.getAttribute("action");
    if (!action) return "";
    const match = new URL(action, window.location.href).pathname.match(/\/tickets\/(\d+)\/reply\/?$/);
    return match ? match[1] : "";
  }

  let options = [];      // [{shortcut, title, text}] as shown
  let active = -1;       // index into options
  let token = null;      // {start, end, query}: the "/query" the popup belongs to
  let dismissedAt = -1;  // start of a token the agent closed with Escape: not offered again until it changes
  let timer = null;
  let controller = null;
  let inserting = false;

  // Combobox semantics only once the script runs: without it the field stays a plain textarea.
  textarea.setAttribute("role", "combobox");
  textarea.setAttribute("aria-autocomplete", "list");
  textarea.setAttribute("aria-controls", list.id);
  textarea.setAttribute("aria-expanded", "false");
  const described = (textarea.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
  if (document.getElementById("canned-hint") && !described.includes("canned-hint")) {
    textarea.setAttribute("aria-describedby", described.concat("canned-hint").join(" "));
  }

  function currentToken() {
    if (textarea.selectionStart !== textarea.selectionEnd) return null;
    const end = textarea.selectionStart;
    const match = textarea.value.slice(0, end).match(TOKEN);
    if (!match) return null;
    return { start: end - match[2].length - 1, end, query: match[2] };
  }

  function announce(text) {
    if (status) status.textContent = text;
  }

  function isOpen() {
    return !list.hidden;
  }

  function close() {
    window.clearTimeout(timer);
    timer = null;
    if (controller) controller.abort();
    controller = null;
    token = null;
    options = [];
    active = -1;
    list.hidden = true;
    list.replaceChildren();
    textarea.setAttribute("aria-expanded", "false");
    textarea.removeAttribute("aria-activedescendant");
  }

  // Fixed, so neither the form's overflow nor its layout is touched; below the textarea, above when there is no room.
  function place() {
    const rect = textarea.getBoundingClientRect();
    list.style.left = rect.left + "px";
    list.style.width = rect.width + "px";
    const below = window.innerHeight - rect.bottom;
    if (below >= list.offsetHeight + 8 || below >= rect.top) {
      list.style.top = rect.bottom + 2 + "px";
      list.style.bottom = "";
    } else {
      list.style.top = "";
      list.style.bottom = window.innerHeight - rect.top + 2 + "px";
    }
  }

  function setActive(index) {
    const items = list.querySelectorAll("[role=option]");
    items.forEach((item, i) => item.setAttribute("aria-selected", i === index ? "true" : "false"));
    active = index;
    if (index < 0 || !items[index]) { textarea.removeAttribute("aria-activedescendant"); return; }
    textarea.setAttribute("aria-activedescendant", items[index].id);
    items[index].scrollIntoView({ block: "nearest" });
  }

  function show(responses) {
    options = responses;
    list.replaceChildren(...responses.map((response, i) => {
      const option = document.createElement("div");
      option.id = "canned-option-" + i;
      option.className = "canned-option";
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      const title = document.createElement("span");
      title.className = "canned-title";
      title.textContent = response.title;
      const shortcut = document.createElement("span");
      shortcut.className = "canned-shortcut";
      shortcut.textContent = "/" + response.shortcut;
      option.append(title, " ", shortcut);
      return option;
    }));
    if (!responses.length) {
      list.hidden = true;
      textarea.setAttribute("aria-expanded", "false");
      setActive(-1);
      announce(status ? status.dataset.none || "" : "");
      return;
    }
    list.hidden = false;
    textarea.setAttribute("aria-expanded", "true");
    place();
    setActive(0);
    announce(status ? (status.dataset.found || "").replace("{count}", String(responses.length)) : "");
  }

  async function fetchFor(wanted) {
    const number = ticketNumber();
    if (!number) return;
    if (controller) controller.abort();
    controller = new AbortController();
    const url = new URL(endpoint, window.location.href);
    url.searchParams.set("ticket", number);
    url.searchParams.set("q", wanted.query);
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin",
                                           signal: controller.signal });
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      // Only if the agent is still on this very token: a late answer never pops up over newer typing.
      const now = currentToken();
      const moved = !now || now.start !== wanted.start || now.query !== wanted.query;
      if (moved || document.activeElement !== textarea) return;
      token = now;
      show(Array.isArray(data.responses) ? data.responses : []);
    } catch (err) {
      if (err.name !== "AbortError") close();
    }
  }

  function update() {
    if (inserting) return;
    const found = currentToken();
    if (!found || found.start === dismissedAt) {
      if (!found) dismissedAt = -1;
      if (isOpen() || timer || controller) close();
      return;
    }
    if (token && isOpen() && found.start === token.start && found.query === token.query) return;
    window.clearTimeout(timer);
    timer = window.setTimeout(() => { timer = null; fetchFor(found); }, DEBOUNCE_MS);
  }

  function insert(index) {
    const chosen = options[index];
    // The range typed by now (the agent may have typed on while the list showed): the "/" up to the caret.
    const target = currentToken() || token;
    if (!chosen || !target) return;
    close();
    const text = chosen.text.replace(/\r\n?/g, "\n");  // a textarea's value knows only "\n" (admin forms send "\r\n")
    const expected = textarea.value.slice(0, target.start) + text + textarea.value.slice(target.end);
    inserting = true;  // the inserted text itself is never taken for a new "/query"
    try {
      textarea.focus();
      textarea.setSelectionRange(target.start, target.end);
      // insertText keeps the browser's undo history (Ctrl+Z brings the "/query" back) and fires input itself.
      const viaEditing = typeof document.execCommand === "function" && document.execCommand("insertText", false, text);
      if (!viaEditing || textarea.value !== expected) {
        textarea.value = expected;
        const caret = target.start + text.length;
        textarea.setSelectionRange(caret, caret);
        // Counters, the SMS segment count and the typing indicator listen for input.
        textarea.dispatchEvent(new Event("input", { bubbles: true }));
      }
    } finally {
      inserting = false;
    }
  }

  textarea.addEventListener("input", update);
  textarea.addEventListener("click", update);
  textarea.addEventListener("keyup", (event) => {
    if (["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) update();
  });
  textarea.addEventListener("blur", close);

  textarea.addEventListener("keydown", (event) => {
    // Ctrl/Cmd+Enter still sends; keys that finish an IME composition are the IME's.
    if (!isOpen() || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const count = options.length;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      setActive((active + 1) % count);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      setActive((active - 1 + count) % count);
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey && active >= 0) {
      event.preventDefault();
      insert(active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      dismissedAt = token ? token.start : -1;
      close();
    }
  });

  // mousedown would move focus out of the textarea (and close the list) before the click lands.
  list.addEventListener("mousedown", (event) => event.preventDefault());
  list.addEventListener("click", (event) => {
    const option = event.target.closest("[role=option]");
    if (!option) return;
    insert(Array.prototype.indexOf.call(list.querySelectorAll("[role=option]"), option));
  });

  if (form) form.addEventListener("reset", () => { dismissedAt = -1; close(); });
  window.addEventListener("resize", () => { if (isOpen()) place(); });
  document.addEventListener("scroll", () => { if (isOpen()) place(); }, true);
})();
