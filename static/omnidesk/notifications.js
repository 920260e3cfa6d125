/* Notifications for agents: the bell in the top bar (templates/dashboard/_notifications.html) and the
 * "Follow this ticket" toggle (_follow.html).
 * Live notifications arrive over the dashboard's websocket, which dashboard.js owns: it re-dispatches every
 * ephemeral frame as a DOM event "omnidesk:signal", and frames of type "notification" are ours.
 * The database is the source of truth: opening the list (or coming back to the tab) reloads it. */
(function () {
  "use strict";
  if (window.OmnideskNotifications) return; // the template may be included twice
  window.OmnideskNotifications = true;

  const $ = (id) => document.getElementById(id);
  const DESKTOP_KEY = "omnidesk.notifications.desktop";
  const SOUND_KEY = "omnidesk.notifications.sound";
  const MAX_ITEMS = 30;

  function interpolate(template, values) {
    return template.replace(/%\((\w+)\)s/g, (_, key) => (values[key] == null ? "" : String(values[key])));
  }

  function csrfToken() {
    const input = document.querySelector("[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  async function post(url, body, keepalive) {
    const response = await fetch(url, {
      method: "POST", body, keepalive: Boolean(keepalive), credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok || !data.ok) throw new Error(data.errors || String(response.status));
    return data;
  }

  // --- follow toggles (a plain form without this script) ----------------------------------------
  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-follow]");
    if (!form) return;
    event.preventDefault();
    const button = form.querySelector("button[aria-pressed]");
    const wanted = form.elements.follow;
    button.disabled = true;
    try {
      const data = await post(form.action, new FormData(form));
      button.setAttribute("aria-pressed", String(data.following));
      wanted.value = data.following ? "0" : "1"; // the next click asks for the other state
    } catch (err) {
      form.submit(); // let the server answer the plain way
    } finally {
      button.disabled = false;
    }
  });

  // --- the bell ----------------------------------------------------------------------------------
  const root = $("notifications");
  const configEl = $("notifications-config");
  if (!root || !configEl) return;
  const config = JSON.parse(configEl.textContent);
  const labels = config.labels;
  const bell = $("notifications-bell");
  const popup = $("notifications-popup");
  const list = $("notifications-list");
  const empty = $("notifications-empty");
  const errorEl = $("notifications-error");
  const live = $("notifications-live");
  const settingsStatus = $("notifications-settings-status");
  const desktopButton = $("notifications-desktop");
  const soundButton = $("notifications-sound");
  const readAllForm = $("notifications-read-all");
  const seen = new Set();
  let unread = config.unread || 0;
  let loaded = false;
  let lastLoad = 0;

  function setUnread(n) {
    unread = Math.max(0, n);
    $("notifications-bell-label").textContent = interpolate(labels.bell, { n: unread });
    const count = $("notifications-count");
    count.textContent = unread > 99 ? "99+" : String(unread);
    count.hidden = unread === 0;
  }

  // --- the list ---
  const locale = document.documentElement.lang || [];
  function formatWhen(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return "";
    const time = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(d);
    if (d.toDateString() === new Date().toDateString()) return time;
    return new Intl.DateTimeFormat(locale, { day: "numeric", month: "short" }).format(d) + " " + time;
  }

  // A channel problem concerns an account, not a ticket (admins only).

  function title(n) {
    const values = { actor: n.actor_name, number: n.ticket_number, account: n.account_name };
    if (n.kind === "assigned" && !n.actor_name) return interpolate(labels.assigned_system, values);
    return interpolate(labels[n.kind] || labels.message, values);
  }

  function item(n) {
    const li = document.createElement("li");
    li.className = "notification" + (n.read ? "" : " unread");
    li.dataset.id = n.id;
    const link = document.createElement("a");
    link.href = n.url;
    if (!n.read) {
      const marker = document.createElement("span");
      marker.className = "visually-hidden notification-unread";
      marker.textContent = labels.unread + ": ";
      link.append(marker);
    }
    const heading = document.createElement("span");
    heading.className = "notification-title";
    heading.textContent = title(n);
    link.append(heading);
    if (n.text) {
      const text = document.createElement("span");
      text.className = "notification-text";
      text.textContent = n.text;
      link.append(text);
    }
    const time = document.createElement("time");
    time.dateTime = n.created_at;
    time.textContent = formatWhen(n.created_at);
    link.append(time);
    li.append(link);
    return li;
  }

  function markItemRead(li) {
    if (!li || !li.classList.contains("unread")) return false;
    li.classList.remove("unread");
    const marker = li.querySelector(".notification-unread");
    if (marker) marker.remove();
    return true;
  }

  function showList(items) {
    list.replaceChildren(...items.map(item));
    empty.hidden = items.length > 0;
  }

  async function load() {
    lastLoad = Date.now();
    try {
      const response = await fetch(config.listUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      data.notifications.forEach((n) => seen.add(n.id));
      showList(data.notifications);
      setUnread(data.unread);
      loaded = true;
      errorEl.hidden = true;
    } catch (err) {
      errorEl.textContent = labels.load_failed;
      errorEl.hidden = false;
    }
  }

  list.addEventListener("click", (event) => {
    const li = event.target.closest("li.notification");
    if (!li || !markItemRead(li)) return;
    setUnread(unread - 1);
    const body = new FormData();
    body.append("csrfmiddlewaretoken", csrfToken());
    body.append("ids", li.dataset.id);
    post(config.readUrl, body, true).catch(() => {}); // keepalive: the click navigates away
  });

  readAllForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const data = await post(config.readUrl, new FormData(readAllForm));
      list.querySelectorAll("li.unread").forEach(markItemRead);
      setUnread(data.unread);
      bell.focus();
      close(false);
    } catch (err) {
      readAllForm.submit();
    }
  });

  // --- the popup: a disclosure; Escape or a click elsewhere closes it ---
  function isOpen() { return !popup.hidden; }
  function open() {
    popup.hidden = false;
    bell.setAttribute("aria-expanded", "true");
    load();
  }
  function close(returnFocus) {
    popup.hidden = true;
    bell.setAttribute("aria-expanded", "false");
    if (returnFocus) bell.focus();
  }
  bell.addEventListener("click", () => (isOpen() ? close(false) : open()));
  root.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !isOpen()) return;
    event.preventDefault();
    event.stopPropagation();
    close(true);
  });
  document.addEventListener("pointerdown", (event) => { if (isOpen() && !root.contains(event.target)) close(false); });
  document.addEventListener("focusin", (event) => { if (isOpen() && !root.contains(event.target)) close(false); });

  // Back to a tab left open: another tab may have read them, or the socket may have missed some.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && Date.now() - lastLoad > 30000) load();
  });

  // --- preferences, kept in this browser ---
  function stored(key) {
    try { return window.localStorage.getItem(key) === "1"; } catch (e) { return false; }
  }
  function store(key, on) {
    try { window.localStorage.setItem(key, on ? "1" : "0"); } catch (e) { /* private mode: for this page only */ }
  }
  const desktopSupported = "Notification" in window;
  function desktopOn() { return desktopSupported && Notification.permission === "granted" && stored(DESKTOP_KEY); }
  function showPreferences() {
    desktopButton.setAttribute("aria-pressed", String(desktopOn()));
    soundButton.setAttribute("aria-pressed", String(stored(SOUND_KEY)));
  }

  function askPermission() {
    // Older Safari takes a callback instead of returning a promise.
    return new Promise((resolve) => {
      const answer = Notification.requestPermission(resolve);
      if (answer && answer.then) answer.then(resolve);
    });
  }

  desktopButton.addEventListener("click", async () => {
    settingsStatus.textContent = "";
    if (!desktopSupported) { settingsStatus.textContent = labels.desktop_unsupported; return; }
    if (desktopOn()) { store(DESKTOP_KEY, false); showPreferences(); return; }
    // Asked only here, on the agent's click: browsers refuse (and people dislike) prompts on page load.
    const permission = Notification.permission === "default" ? await askPermission() : Notification.permission;
    store(DESKTOP_KEY, permission === "granted");
    if (permission !== "granted") settingsStatus.textContent = labels.desktop_denied;
    showPreferences();
  });

  let audio = null;
  function beep() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      audio = audio || new Context();
      if (audio.state === "suspended") audio.resume();
      // Two short soft tones, made here: no audio file to fetch.
      const start = audio.currentTime;
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.type = "sine";
      oscillator.frequency.setValueAtTime(880, start);
      oscillator.frequency.setValueAtTime(660, start + 0.12);
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.2, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.3);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(start);
      oscillator.stop(start + 0.32);
    } catch (e) { /* no sound is no reason to lose the notification */ }
  }

  soundButton.addEventListener("click", () => {
    const on = !stored(SOUND_KEY);
    store(SOUND_KEY, on);
    showPreferences();
    if (on) beep(); // a sample, and the click lets the browser play later sounds
  });
  showPreferences();

  // --- live notifications ---
  function showDesktop(n, text) {
    // Only when the agent looks elsewhere: on the page itself the bell and the sound say it already.
    if (!desktopOn() || (document.visibilityState === "visible" && document.hasFocus())) return;
    try {
      const note = new Notification(text, { body: n.text || "", tag: "omnidesk-notification-" + n.id,
        lang: document.documentElement.lang || "" });
      note.onclick = () => {
        window.focus();
        const body = new FormData();
        body.append("csrfmiddlewaretoken", csrfToken());
        body.append("ids", String(n.id));
        post(config.readUrl, body, true).catch(() => {});
        note.close();
        window.location.assign(n.url);
      };
    } catch (e) { /* e.g. Chrome on Android only shows them through a service worker */ }
  }

  function receive(n) {
    if (!n || seen.has(n.id)) return;
    seen.add(n.id);
    setUnread(unread + 1);
    const text = title(n);
    if (loaded) {
      list.prepend(item(n));
      while (list.children.length > MAX_ITEMS) list.lastElementChild.remove();
      empty.hidden = true;
    }
    live.textContent = interpolate(labels.announce, { text: text });
    showDesktop(n, text);
    if (stored(SOUND_KEY)) beep();
  }

  document.addEventListener("omnidesk:signal", (event) => {
    const frame = event.detail;
    if (frame && frame.type === "notification") receive(frame.data);
  });
})();
