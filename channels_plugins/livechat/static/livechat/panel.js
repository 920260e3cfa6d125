/* Omnidesk livechat panel: runs inside the iframe on our origin.
 * Protocol (see the channel docs): POST session/ for a visitor token and history, then one WebSocket for live frames.
 * Messages typed while offline stay in an outbox (persisted) and are resent with the same client_id, which the server
 * de-duplicates, so a message never shows or arrives twice. All visitor and server text goes in with textContent. */
(() => {
  "use strict";

  const readJSON = (id) => JSON.parse(document.getElementById(id).textContent);
  const labels = readJSON("livechat-labels");
  const config = readJSON("livechat-config");
  const base = config.base.endsWith("/") ? config.base : config.base + "/";
  const langQuery = "?lang=" + encodeURIComponent(document.documentElement.lang); // for the server's own texts
  const $ = (id) => document.getElementById(id);
  const el = {
    close: $("lc-close"), status: $("lc-status"), statusText: $("lc-status-text"), scroller: $("lc-scroller"),
    list: $("lc-messages"), typing: $("lc-typing"), jump: $("lc-jump"), away: $("lc-away"), awayText: $("lc-away-text"),
    offline: $("lc-offline"), offlineError: $("lc-offline-error"), offlineSubmit: $("lc-offline-submit"),
    contactHint: $("lc-contact-hint"), thanks: $("lc-thanks"), composer: $("lc-composer"), text: $("lc-text"), file: $("lc-file"),
    crisis: $("lc-crisis"), crisisText: $("lc-crisis-text"), closed: $("lc-closed"), closedText: $("lc-closed-text"),
    nextOpening: $("lc-next-opening"),
  };

  // ---- Small helpers ---------------------------------------------------------------------------------------------
  // Newer keys fall back to an existing label, so a server without them never shows a raw key name.
  const FALLBACK = { offline_question_required: "offline_question", offline_email_invalid: "offline_email",
    offline_phone_invalid: "offline_phone", error_generic: "failed" };
  const L = (key) => (typeof labels[key] === "string" ? labels[key]
    : FALLBACK[key] && typeof labels[FALLBACK[key]] === "string" ? labels[FALLBACK[key]] : key);
  // Labels use Python's %(name)s placeholders, as Django's gettext strings do.
  const fmt = (text, vars) => text.replace(/%\((\w+)\)s/g, (m, k) => (k in vars ? String(vars[k]) : m));
  const locale = document.documentElement.lang === "en" ? "en-GB" : "nl-NL";
  const timeFormat = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
  const dateTimeFormat = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  const openingFormat = new Intl.DateTimeFormat(locale, { weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit" });

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID(); // only in secure contexts; the fallback covers http:// in dev
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function formatSize(bytes) {
    const [value, unit] = bytes >= 1048576 ? [bytes / 1048576, "megabyte"] : [Math.max(1, Math.round(bytes / 1024)), "kilobyte"];
    return new Intl.NumberFormat(locale, { style: "unit", unit, unitDisplay: "short", maximumFractionDigits: 1 }).format(value);
  }

  // Storage may be blocked or partitioned in third-party iframes: use localStorage, else sessionStorage, else memory.
  const store = (() => {
    const memory = new Map();
    let backend = null;
    for (const name of ["localStorage", "sessionStorage"]) {
      try {
        const s = window[name];
        s.setItem("omnidesk-probe", "1");
        s.removeItem("omnidesk-probe");
        backend = s;
        break;
      } catch (e) { /* blocked: try the next one */ }
    }
    return {
      get(key) {
        try { if (backend) { const v = backend.getItem(key); if (v !== null) return v; } } catch (e) { /* ignore */ }
        return memory.has(key) ? memory.get(key) : null;
      },
      set(key, value) {
        memory.set(key, value);
        try { if (backend) backend.setItem(key, value); } catch (e) { /* quota or blocked: memory still has it */ }
      },
    };
  })();
  const TOKEN_KEY = "omnidesk-livechat-" + config.public_id;
  const OUTBOX_KEY = "omnidesk-livechat-outbox-" + config.public_id;

  // ---- State -------------------------------------------------------------------------------------------------------
  let token = store.get(TOKEN_KEY) || "";
  let identity = null;            // {user, hash} when the host page vouches for the resident
  let hostOrigin = null;          // the only origin we ever post to; null = not embedded, never post
  let started = false;
  let panelVisible = true;        // told by the loader (omnidesk:open / omnidesk:hidden)
  let online = true;              // agents available; false = away, show the offline form
  let closed = config.switched_off === true; // the municipality switched this chat off: no conversation at all
  let ws = null;
  let wsGeneration = 0;           // bumps per socket, so handlers of an old socket ignore late events
  let connState = "connecting";   // connecting | retrying | connected
  let attempt = 0;                // reconnect / session retry attempt, for backoff
  let retryTimer = null;
  let sessionReady = false;
  let sessionInFlight = false;
  let sessionAgain = false;       // a restart was asked for while a session request was in flight
  let rateLimitedUntil = 0;
  let rateTimer = null;
  let errorText = "";
  let errorTimer = null;
  let maxId = 0;                  // highest message id known (for resume)
  let maxOutboundId = 0;          // highest outbound id rendered (for read receipts)
  let lastReadSent = 0;
  let readUpTo = 0;               // the municipality has read our messages up to this id
  let unread = 0;
  let typingSentAt = 0;
  let typingIdleTimer = null;
  let theirTypingTimer = null;

  const byId = new Map();         // message id -> entry
  const byClient = new Map();     // client_id -> entry
  // Outbox: [{client_id, text, created_at}], in order; `sentOn` (not persisted) = socket generation it was sent on.
  let outbox = [];
  try { outbox = JSON.parse(store.get(OUTBOX_KEY) || "[]").filter((i) => i && i.client_id && typeof i.text === "string"); } catch (e) { outbox = []; }
  const saveOutbox = () => store.set(OUTBOX_KEY, JSON.stringify(outbox.map(({ client_id, text, created_at }) => ({ client_id, text, created_at }))));

  // ---- Status line -------------------------------------------------------------------------------------------------
  function renderStatus() {
    let text;
    let state = connState;
    if (closed) { text = L("closed_status"); state = "closed"; }
    else if (errorText) { text = errorText; state = "error"; }
    else if (connState === "connecting") text = L("connecting");
    else if (connState === "retrying") text = L("offline_retrying");
    else if (!online) { text = L("away_heading"); state = "away"; } // short: the details are in the away section
    else text = L("connected");
    el.status.dataset.state = state;
    if (el.statusText.textContent !== text) el.statusText.textContent = text;
  }
  function setConn(state) { connState = state; renderStatus(); }
  // Errors show in the status line for a while (a rate limit: until it ends), then the connection state returns.
  function showError(text, ms = 8000) {
    errorText = text || L("error_generic");
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => { errorText = ""; renderStatus(); }, ms);
    renderStatus();
  }
  function clearError() { clearTimeout(errorTimer); errorText = ""; renderStatus(); }

  // ---- Rendering messages ------------------------------------------------------------------------------------------
  const nearBottom = () => el.scroller.scrollHeight - el.scroller.scrollTop - el.scroller.clientHeight < 48;
  const scrollToBottom = () => { el.scroller.scrollTop = el.scroller.scrollHeight; el.jump.hidden = true; };

  function safeUrl(url) {
    try {
      const u = new URL(url, base);
      return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
    } catch (e) { return null; }
  }

  // Text with http(s) links made clickable, built from text nodes and <a> elements (never HTML parsing).
  function appendText(parent, text) {
    const re = /\bhttps?:\/\/[^\s<>"']+/gi;
    let last = 0;
    for (const m of text.matchAll(re)) {
      let url = m[0].replace(/[.,;:!?)\]]+$/, "");
      if (!url) continue;
      parent.append(document.createTextNode(text.slice(last, m.index)));
      const href = safeUrl(url);
      if (href) {
        const a = document.createElement("a");
        a.href = href;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        a.textContent = url;
        parent.append(a);
      } else parent.append(document.createTextNode(url));
      last = m.index + url.length;
    }
    parent.append(document.createTextNode(text.slice(last)));
  }

  function renderAttachments(entry, attachments) {
    const key = JSON.stringify(attachments.map((a) => [a.filename, a.url, a.size]));
    if (entry.attachmentsKey === key) return; // unchanged: do not touch the live region
    entry.attachmentsKey = key;
    entry.files.replaceChildren();
    entry.files.hidden = !attachments.length;
    for (const a of attachments) {
      const li = document.createElement("li");
      const name = String(a.filename || "");
      const href = a.url ? safeUrl(a.url) : null;
      if (href && /^image\//.test(a.content_type || "")) {
        const img = document.createElement("img");
        img.src = href;
        img.alt = ""; // decorative: the link text next to it names the file
        img.loading = "lazy";
        li.append(img);
      }
      const label = name + (Number.isFinite(a.size) && a.size > 0 ? " (" + formatSize(a.size) + ")" : "");
      if (href) {
        const link = document.createElement("a");
        link.href = href;
        link.download = name;
        link.textContent = label;
        li.append(link);
      } else li.append(document.createTextNode(label));
      entry.files.append(li);
    }
  }

  function createEntry(direction) {
    const li = document.createElement("li");
    li.className = "msg " + (direction === "outbound" ? "outbound" : "inbound");
    const meta = document.createElement("p");
    meta.className = "meta";
    const who = document.createElement("span");
    who.className = "who";
    const time = document.createElement("time");
    meta.append(who, " ", time);
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    const text = document.createElement("p");
    text.className = "text";
    const files = document.createElement("ul");
    files.className = "files";
    files.hidden = true;
    bubble.append(text, files);
    const state = document.createElement("p");
    state.className = "state";
    li.append(meta, bubble, state);
    return { li, who, time, text, files, stateEl: state, direction, id: 0, clientId: "", status: "", textValue: null, attachmentsKey: null, pendingTimer: null };
  }

  function setTime(entry, iso) {
    const d = iso ? new Date(iso) : new Date();
    if (Number.isNaN(d.getTime()) || entry.time.dateTime === d.toISOString()) return;
    entry.time.dateTime = d.toISOString();
    const today = new Date().toDateString() === d.toDateString();
    entry.time.textContent = (today ? timeFormat : dateTimeFormat).format(d);
  }

  function setText(entry, text) {
    if (entry.textValue === text) return;
    entry.textValue = text;
    entry.text.replaceChildren();
    appendText(entry.text, text);
    entry.text.hidden = !text;
  }

  // Delivery state of the resident's own messages. Never moves backwards (read > delivered > sent).
  const RANK = { pending: 1, sent: 2, delivered: 3, read: 4 };
  function setStatus(entry, status, detail) {
    if (entry.direction !== "inbound") return;
    if (status !== "failed" && entry.status !== "failed" && (RANK[status] || 0) < (RANK[entry.status] || 0)) return;
    entry.status = status;
    clearTimeout(entry.pendingTimer);
    entry.li.classList.toggle("is-pending", status === "pending");
    entry.li.classList.toggle("is-failed", status === "failed");
    let text = "";
    if (status === "pending") {
      // While connected an ack comes within moments: only say "pending" if it lingers, to keep the log quiet.
      if (connState !== "connected") text = L("pending");
      else entry.pendingTimer = setTimeout(() => { if (entry.status === "pending") entry.stateEl.textContent = L("pending"); }, 1500);
    } else if (status === "failed") text = detail ? L("failed") + ": " + detail : L("failed");
    else if (status === "read") text = L("read");
    else if (status === "sent" || status === "delivered") text = L("sent");
    if (entry.stateEl.textContent !== text) entry.stateEl.textContent = text;
  }

  // Confirmed messages are ordered by id; pending bubbles stay at the end, in the order they were typed.
  // Failed local bubbles (no id, never will have one) stay where they are.
  function insertionPoint(id, except) {
    for (const li of el.list.children) {
      if (li === except) continue;
      const other = Number(li.dataset.id || 0);
      if ((other && other > id) || (!other && li.classList.contains("is-pending"))) return li;
    }
    return null;
  }
  function placeEntry(entry) {
    if (entry.li.isConnected) {
      // Moving a node inside the live region re-announces it: only move when the order is actually wrong.
      let prev = entry.li.previousElementSibling;
      while (prev && !prev.dataset.id) prev = prev.previousElementSibling;
      let next = entry.li.nextElementSibling;
      while (next && !next.dataset.id) next = next.nextElementSibling;
      if ((!prev || Number(prev.dataset.id) < entry.id) && (!next || Number(next.dataset.id) > entry.id)) return;
    }
    el.list.insertBefore(entry.li, entry.id ? insertionPoint(entry.id, entry.li) : null);
  }

  function removeFromOutbox(clientId) {
    const before = outbox.length;
    outbox = outbox.filter((i) => i.client_id !== clientId);
    if (outbox.length !== before) saveOutbox();
  }

  function validMessage(m) {
    return m && typeof m === "object" && Number.isFinite(Number(m.id)) && Number(m.id) > 0
      && (m.direction === "inbound" || m.direction === "outbound");
  }

  // Insert or update a server message; a pending bubble with the same client_id becomes this message.
  function upsert(m, live) {
    if (!validMessage(m)) return;
    const id = Number(m.id);
    const clientId = typeof m.client_id === "string" ? m.client_id : "";
    const wasNearBottom = nearBottom();
    let entry = byId.get(id) || (clientId && byClient.get(clientId)) || null;
    const isNew = !entry;
    if (!entry) entry = createEntry(m.direction);
    entry.id = id;
    entry.li.dataset.id = String(id);
    byId.set(id, entry);
    if (clientId) {
      entry.clientId = clientId;
      byClient.set(clientId, entry);
      removeFromOutbox(clientId);
    }
    const who = m.direction === "inbound" ? L("you") : (m.author_name || L("team"));
    if (entry.who.textContent !== who) entry.who.textContent = who;
    setTime(entry, m.created_at);
    setText(entry, typeof m.text === "string" ? m.text : "");
    renderAttachments(entry, Array.isArray(m.attachments) ? m.attachments.filter((a) => a && typeof a === "object") : []);
    if (m.direction === "inbound") {
      if (id <= readUpTo) setStatus(entry, "read");
      else if (RANK[m.status]) setStatus(entry, m.status);
      else if (!entry.status || entry.status === "pending") setStatus(entry, "sent");
    }
    placeEntry(entry);
    maxId = Math.max(maxId, id);
    if (m.direction === "outbound") {
      maxOutboundId = Math.max(maxOutboundId, id);
      if (live && isNew) {
        hideTheirTyping();
        if (!panelVisible) {
          unread += 1;
          postToParent({ type: "omnidesk:unread", count: unread });
        }
      }
    }
    if (wasNearBottom || (m.direction === "inbound" && live)) scrollToBottom();
    else if (live && isNew && m.direction === "outbound") el.jump.hidden = false;
    maybeSendRead();
  }

  function addPending(item, extra) {
    const entry = createEntry("inbound");
    entry.clientId = item.client_id;
    byClient.set(item.client_id, entry);
    entry.who.textContent = L("you");
    setTime(entry, item.created_at);
    setText(entry, item.text || "");
    if (extra && extra.attachments) renderAttachments(entry, extra.attachments);
    el.list.append(entry.li);
    setStatus(entry, "pending");
    scrollToBottom();
    return entry;
  }

  // ---- Talking to the parent (the loader) --------------------------------------------------------------------------
  function postToParent(msg) {
    if (!hostOrigin) return;
    try { window.parent.postMessage(msg, hostOrigin); } catch (e) { /* an opaque host origin cannot be targeted */ }
  }
  const requestClose = () => { stopTyping(); postToParent({ type: "omnidesk:close" }); };

  function setVisible(visible) {
    panelVisible = visible;
    if (visible) { unread = 0; maybeSendRead(); }
    else stopTyping();
  }

  function focusFirst() {
    const target = !el.closed.hidden ? el.closed
      : !el.composer.hidden ? el.text
      : !el.thanks.hidden ? el.thanks
        : !el.away.hidden ? el.offline.querySelector("input, textarea") : el.close;
    if (target) target.focus({ preventScroll: true });
  }

  window.addEventListener("message", (event) => {
    if (window.parent === window || event.source !== window.parent) return;
    const data = event.data;
    if (!data || typeof data !== "object" || typeof data.type !== "string") return;
    if (data.type === "omnidesk:hello" || data.type === "omnidesk:identity") {
      // The claimed host origin must be the real sender's origin; the server's frame-ancestors CSP limits who that is.
      if (typeof data.hostOrigin !== "string" || data.hostOrigin !== event.origin || event.origin === "null") return;
      if (hostOrigin && hostOrigin !== event.origin) return;
      hostOrigin = event.origin;
      el.close.hidden = false;
      // Browsers block storage in third-party frames: the loader keeps our visitor token on the host page.
      if (!token && typeof data.token === "string" && data.token.length < 2000) token = data.token;
      const id = data.type === "omnidesk:identity" && typeof data.user === "string" && data.user
        && typeof data.hash === "string" && data.hash ? { user: data.user, hash: data.hash } : null;
      if (!started) { identity = id; start(); }
      else if (id && !identity) { identity = id; restartSession(); } // identity came after the 1.5 s wait
      return;
    }
    if (!hostOrigin || event.origin !== hostOrigin) return;
    if (data.type === "omnidesk:open") { setVisible(true); focusFirst(); }
    else if (data.type === "omnidesk:hidden") setVisible(false);
  });

  // ---- Session and socket ------------------------------------------------------------------------------------------
  // Exponential backoff with jitter, 1 s doubling to a 30 s cap; the jitter spreads reconnects after a server restart.
  function backoff() {
    const cap = Math.min(30000, 1000 * 2 ** Math.min(attempt, 5));
    attempt += 1;
    return cap / 2 + Math.random() * (cap / 2);
  }

  async function startSession() {
    if (sessionInFlight || closed) return;
    sessionInFlight = true;
    sessionAgain = false;
    clearTimeout(retryTimer);
    if (connState !== "retrying") setConn("connecting");
    try {
      const response = await fetch(base + "session/" + langQuery, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "omit",
        body: JSON.stringify({ visitor_token: token, user: identity ? identity.user : "", user_hash: identity ? identity.hash : "" }),
      });
      const data = await response.json().catch(() => null);
      const error = data && data.error && typeof data.error === "object" ? data.error : null;
      if (error && error.code === "switched_off") { showClosed(error.message); return; } // final: no retry
      if (error && error.code === "identity" && identity) {
        // The portal's signature does not check out: chat on anonymously rather than not at all.
        identity = null;
        sessionAgain = true;
        return;
      }
      if (!response.ok || !data || typeof data.visitor_token !== "string" || !data.visitor_token) {
        throw Object.assign(new Error("HTTP " + response.status), { server: error });
      }
      if (sessionAgain) return; // superseded (an identity arrived meanwhile): `finally` starts the new request
      token = data.visitor_token;
      store.set(TOKEN_KEY, token);
      postToParent({ type: "omnidesk:token", token });
      sessionReady = true;
      clearError();
      for (const m of Array.isArray(data.history) ? data.history : []) upsert(m, false);
      applyState(data.state);
      scrollToBottom();
      connect();
    } catch (err) {
      const server = err.server || {};
      showError(typeof server.message === "string" && server.message ? server.message : L("error_session"), 600000);
      setConn("retrying");
      // A rate limit says when to come back; otherwise the usual backoff.
      retryTimer = setTimeout(startSession, Math.max(backoff(), (Number(server.retry_after) || 0) * 1000));
    } finally {
      sessionInFlight = false;
      if (sessionAgain) startSession();
    }
  }

  function restartSession() {
    wsGeneration += 1; // orphan the current socket's handlers
    if (ws) { try { ws.close(1000); } catch (e) { /* ignore */ } ws = null; }
    sessionReady = false;
    attempt = 0;
    if (sessionInFlight) sessionAgain = true;
    else startSession();
  }

  function send(frame) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  function connect() {
    clearTimeout(retryTimer);
    if (!sessionReady) { startSession(); return; }
    if (ws && (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN)) return;
    const generation = ++wsGeneration;
    if (connState !== "retrying") setConn("connecting");
    let socket;
    try {
      socket = new WebSocket(config.ws_url + "?token=" + encodeURIComponent(token));
    } catch (err) {
      scheduleReconnect();
      return;
    }
    ws = socket;
    socket.addEventListener("open", () => {
      if (generation !== wsGeneration) return;
      attempt = 0;
      setConn("connected");
      // Resume first, then resend the outbox with the same client_ids: the server de-duplicates them.
      send({ type: "resume", after: maxId });
      flushOutbox();
      lastReadSent = 0; // the server may have missed the last read frame
      maybeSendRead();
    });
    socket.addEventListener("message", (event) => {
      if (generation !== wsGeneration) return;
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame && typeof frame === "object") handleFrame(frame);
    });
    socket.addEventListener("close", (event) => {
      if (generation !== wsGeneration) return;
      ws = null;
      hideTheirTyping();
      for (const item of outbox) item.sentOn = null;
      // 4401/4403 = token refused (expired, revoked) or origin refused: ask the session endpoint again, which
      // issues a fresh token or says why not. 4429 (too many sockets) and the rest: reconnect with backoff.
      if (event.code === 4410) { // switched off meanwhile: session/ says where to go instead
        sessionReady = false;
        attempt = 0;
        startSession();
      } else if (event.code === 4401 || event.code === 4403) {
        sessionReady = false;
        setConn("retrying");
        retryTimer = setTimeout(startSession, backoff());
      } else scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    setConn("retrying");
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, backoff());
  }

  // Back online or back in view: do not wait for the backoff timer.
  function reconnectNow() {
    if (!started || closed) return;
    if (!sessionReady) { if (!sessionInFlight) { attempt = 0; startSession(); } return; }
    if (!ws) { attempt = 0; connect(); }
  }
  window.addEventListener("online", reconnectNow);
  window.addEventListener("offline", () => { if (ws) ws.close(); }); // the socket may not notice for minutes
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") { reconnectNow(); maybeSendRead(); }
  });
  window.addEventListener("focus", maybeSendRead);

  function flushOutbox() {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const wait = rateLimitedUntil - Date.now();
    if (wait > 0) {
      clearTimeout(rateTimer);
      rateTimer = setTimeout(flushOutbox, wait);
      return;
    }
    for (const item of outbox) {
      if (item.sentOn === wsGeneration) continue;
      if (send({ type: "message", client_id: item.client_id, text: item.text })) item.sentOn = wsGeneration;
    }
  }

  function handleFrame(frame) {
    switch (frame.type) {
      case "message":
        upsert(frame.message, true);
        break;
      case "ack": {
        const entry = byClient.get(frame.client_id);
        removeFromOutbox(frame.client_id);
        if (!entry) break;
        const id = Number(frame.id);
        if (Number.isFinite(id) && id > 0 && !entry.id) {
          entry.id = id;
          entry.li.dataset.id = String(id);
          byId.set(id, entry);
          maxId = Math.max(maxId, id);
          placeEntry(entry);
        }
        setStatus(entry, entry.id && entry.id <= readUpTo ? "read" : "sent");
        break;
      }
      case "typing":
        if (frame.on) showTheirTyping(frame.author_name);
        else hideTheirTyping();
        break;
      case "read": {
        const upTo = Number(frame.up_to);
        if (!Number.isFinite(upTo) || upTo <= readUpTo) break;
        readUpTo = upTo;
        for (const [id, entry] of byId) if (id <= upTo && entry.direction === "inbound") setStatus(entry, "read");
        break;
      }
      case "state":
        applyState(frame);
        break;
      case "error":
        handleError(frame);
        break;
      default:
        break; // unknown frames are ignored, so the server can add new ones
    }
  }

  function handleError(frame) {
    const message = typeof frame.message === "string" && frame.message ? frame.message : L("error_generic");
    const item = frame.client_id ? outbox.find((i) => i.client_id === frame.client_id) : null;
    if (frame.code === "rate_limited") {
      const seconds = Math.max(1, Number(frame.retry_after) || 5);
      rateLimitedUntil = Math.max(rateLimitedUntil, Date.now() + seconds * 1000);
      // Keep it queued: mark every unacknowledged item unsent so the retry keeps their order.
      if (item) for (const i of outbox) i.sentOn = null;
      showError(message, seconds * 1000);
      clearTimeout(rateTimer);
      rateTimer = setTimeout(flushOutbox, rateLimitedUntil - Date.now());
      return;
    }
    showError(message);
    if (frame.client_id) {
      // Any other refusal of a message (too_long, ...) is final: retrying the same text would fail the same way.
      removeFromOutbox(frame.client_id);
      const entry = byClient.get(frame.client_id);
      if (entry) setStatus(entry, "failed", message);
    }
  }

  // Crisis mode: the municipality's message in the panel's language, in the alert region above the conversation.
  function applyCrisis(crisis) {
    const text = crisis && typeof crisis === "object" && typeof crisis[document.documentElement.lang] === "string"
      ? crisis[document.documentElement.lang] : "";
    if (el.crisisText.textContent !== text) el.crisisText.textContent = text;
    el.crisis.hidden = !text;
  }

  // Switched off (told by session/ or the socket while the panel was open): where else to go, instead of the chat.
  function showClosed(text) {
    closed = true;
    clearTimeout(retryTimer);
    wsGeneration += 1;
    if (ws) { try { ws.close(1000); } catch (e) { /* ignore */ } ws = null; }
    for (const item of outbox) { const entry = byClient.get(item.client_id); if (entry) setStatus(entry, "failed"); }
    outbox = [];
    saveOutbox();
    stopTyping();
    const hadFocus = el.composer.contains(document.activeElement) || el.away.contains(document.activeElement);
    if (text) { el.closedText.replaceChildren(); appendText(el.closedText, text); }
    el.closed.hidden = false;
    el.composer.hidden = true;
    el.away.hidden = true;
    clearError();
    if (hadFocus) focusFirst();
  }

  function applyState(state) {
    if (!state || typeof state !== "object") return;
    applyCrisis(state.crisis);
    if (closed) return;
    const wasOnline = online;
    online = state.online !== false;
    const awayText = typeof state.away_text === "string" ? state.away_text : "";
    el.away.hidden = online;
    el.awayText.textContent = awayText; // the expected reply time, next to the form it is about
    el.awayText.hidden = !awayText;
    const opens = typeof state.next_opening === "string" ? new Date(state.next_opening) : null;
    el.nextOpening.textContent = opens && !Number.isNaN(opens.getTime())
      ? fmt(L("next_opening"), { when: openingFormat.format(opens) }) : "";
    el.nextOpening.hidden = !el.nextOpening.textContent;
    const composerHadFocus = el.composer.contains(document.activeElement);
    el.composer.hidden = !online;
    if (!online && wasOnline) {
      stopTyping();
      // Carry a half-written message over into the form instead of losing it.
      const question = el.offline.elements.question;
      if (el.text.value.trim() && !question.value.trim()) question.value = el.text.value.trim();
      if (composerHadFocus) focusFirst();
    } else if (online && !wasOnline && el.away.contains(document.activeElement)) focusFirst();
    renderStatus();
  }

  // ---- Typing ------------------------------------------------------------------------------------------------------
  function showTheirTyping(name) {
    el.typing.textContent = fmt(L("typing"), { name: name || L("team") });
    el.typing.hidden = false;
    clearTimeout(theirTypingTimer);
    theirTypingTimer = setTimeout(hideTheirTyping, 10000); // in case the "off" frame is lost
    if (nearBottom()) scrollToBottom();
  }
  function hideTheirTyping() {
    clearTimeout(theirTypingTimer);
    el.typing.hidden = true;
  }

  // At most one "on" per 3 s while typing; "off" after 4 s idle or on send.
  function noteTyping() {
    if (!el.text.value.trim()) { stopTyping(); return; }
    const now = Date.now();
    if (now - typingSentAt >= 3000 && send({ type: "typing", on: true })) typingSentAt = now;
    clearTimeout(typingIdleTimer);
    typingIdleTimer = setTimeout(stopTyping, 4000);
  }
  function stopTyping() {
    clearTimeout(typingIdleTimer);
    if (typingSentAt) send({ type: "typing", on: false });
    typingSentAt = 0;
  }

  // ---- Read receipts -----------------------------------------------------------------------------------------------
  // "Shown" = the panel is open, the tab visible, the panel focused, and the newest messages scrolled into view.
  function maybeSendRead() {
    if (!panelVisible || document.visibilityState !== "visible" || !document.hasFocus() || !nearBottom()) return;
    if (maxOutboundId > lastReadSent && send({ type: "read", up_to: maxOutboundId })) lastReadSent = maxOutboundId;
  }
  el.scroller.addEventListener("scroll", () => {
    if (nearBottom()) { el.jump.hidden = true; maybeSendRead(); }
  }, { passive: true });
  el.jump.addEventListener("click", () => { scrollToBottom(); maybeSendRead(); el.text.focus(); });

  // ---- Composer ----------------------------------------------------------------------------------------------------
  function autoGrow() {
    el.text.style.height = "auto";
    el.text.style.height = Math.min(el.text.scrollHeight + 2, 160) + "px";
  }

  el.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = el.text.value.trim();
    if (!text) return;
    const item = { client_id: uuid(), text, created_at: new Date().toISOString() };
    outbox.push(item);
    saveOutbox();
    addPending(item);
    el.text.value = "";
    autoGrow();
    stopTyping();
    flushOutbox();
    el.text.focus();
  });
  el.text.addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter is a newline; never while an IME is composing a character.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      el.composer.requestSubmit();
    }
  });
  el.text.addEventListener("input", () => { autoGrow(); noteTyping(); });
  el.text.addEventListener("blur", () => { if (!el.text.value.trim()) stopTyping(); });

  // ---- Upload ------------------------------------------------------------------------------------------------------
  const acceptList = String(config.accept || "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  function accepted(file) {
    if (!acceptList.length) return true;
    const type = (file.type || "").toLowerCase();
    const name = file.name.toLowerCase();
    return acceptList.some((a) => (a.startsWith(".") ? name.endsWith(a)
      : a.endsWith("/*") ? type.startsWith(a.slice(0, -1)) : type === a));
  }
  const acceptedNames = () => acceptList.map((a) => (a.startsWith(".") ? a.slice(1) : a.split("/")[1] || a).toUpperCase()).join(", ");

  // A refused file gets a failed bubble in the log too: the status line is not a live region, the log is.
  function refuseFile(file, message) {
    const entry = addPending({ client_id: uuid(), text: "", created_at: new Date().toISOString() },
      { attachments: [{ filename: file.name, size: file.size }] });
    setStatus(entry, "failed", message);
    showError(message);
  }

  el.file.addEventListener("change", async () => {
    const file = el.file.files && el.file.files[0];
    el.file.value = ""; // the same file can be picked again after an error
    if (!file) return;
    const vars = { name: file.name, max: formatSize(config.max_upload_bytes), types: acceptedNames() };
    if (config.max_upload_bytes && file.size > config.max_upload_bytes) { refuseFile(file, fmt(L("file_too_large"), vars)); return; }
    if (!accepted(file)) { refuseFile(file, fmt(L("file_type"), vars)); return; }
    const clientId = uuid();
    const entry = addPending({ client_id: clientId, text: "", created_at: new Date().toISOString() },
      { attachments: [{ filename: file.name, size: file.size }] });
    const body = new FormData();
    body.append("file", file);
    body.append("client_id", clientId);
    let message = L("error_generic");
    try {
      const response = await fetch(base + "upload/" + langQuery, { method: "POST", headers: { "X-Visitor-Token": token }, body, credentials: "omit" });
      const data = await response.json().catch(() => null);
      if (response.ok && data && data.message) { upsert(data.message, true); return; }
      if (data && data.error && data.error.code === "switched_off") {
        setStatus(entry, "failed");
        showClosed(data.error.message);
        return;
      }
      if (data && data.error && typeof data.error.message === "string") message = data.error.message;
      else if (response.status === 413) message = fmt(L("file_too_large"), vars); // refused by a proxy before Django
    } catch (err) { /* network error: the generic message */ }
    if (!entry.id) setStatus(entry, "failed", message);
    showError(message);
  });

  // ---- Offline form ------------------------------------------------------------------------------------------------
  const fields = ["name", "email", "phone", "question"];
  const fieldInput = (name) => el.offline.elements[name];
  const fieldError = (name) => $("lc-" + name + "-error");

  function setFieldError(name, message) {
    const input = fieldInput(name);
    const error = fieldError(name);
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && x !== error.id);
    if (message) {
      error.textContent = message;
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
      described.push(error.id);
    } else {
      error.textContent = ""; // empty too: a hidden node referenced by aria-describedby would still be read
      error.hidden = true;
      input.removeAttribute("aria-invalid");
    }
    if (described.length) input.setAttribute("aria-describedby", described.join(" "));
    else input.removeAttribute("aria-describedby");
  }
  function clearOfflineErrors() {
    fields.forEach((f) => setFieldError(f, ""));
    el.contactHint.classList.remove("is-error");
    el.offlineError.hidden = true;
    el.offlineError.textContent = "";
  }
  function markContactMissing() {
    // The hint that says "email or phone" already describes both fields; it turns into the error.
    el.contactHint.classList.add("is-error");
    fieldInput("email").setAttribute("aria-invalid", "true");
    fieldInput("phone").setAttribute("aria-invalid", "true");
  }

  function validateOffline() {
    const v = (n) => fieldInput(n).value.trim();
    let first = null;
    const fail = (name, message) => { if (message) setFieldError(name, message); if (!first) first = fieldInput(name); };
    if (!v("email") && !v("phone")) { markContactMissing(); fail("email", ""); }
    if (v("email") && !fieldInput("email").validity.valid) fail("email", L("offline_email_invalid"));
    if (v("phone") && !/^\+?[0-9][0-9 ()\-.]{5,}$/.test(v("phone"))) fail("phone", L("offline_phone_invalid"));
    if (!v("question")) fail("question", L("offline_question_required"));
    return first;
  }

  el.offline.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (el.offlineSubmit.getAttribute("aria-disabled") === "true") return;
    clearOfflineErrors();
    const invalid = validateOffline();
    if (invalid) { invalid.focus(); return; }
    el.offlineSubmit.setAttribute("aria-disabled", "true");
    const payload = { visitor_token: token };
    fields.forEach((f) => { payload[f] = fieldInput(f).value.trim(); });
    try {
      const response = await fetch(base + "offline/" + langQuery, {
        method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit", body: JSON.stringify(payload),
      });
      const data = await response.json().catch(() => null);
      if (data && data.error && data.error.code === "switched_off") { showClosed(data.error.message); return; }
      if (data && data.ok) {
        const reply = typeof data.reply_expected === "string" ? data.reply_expected : "";
        const thanks = L("offline_thanks");
        el.thanks.textContent = thanks.includes("%(reply_expected)s") ? fmt(thanks, { reply_expected: reply }) : [thanks, reply].filter(Boolean).join(" ");
        el.offline.hidden = true;
        el.thanks.hidden = false;
        el.thanks.focus(); // focus, not a live region, makes screen readers read it
        return;
      }
      if (data && data.errors && typeof data.errors === "object") {
        let first = null;
        const general = [];
        for (const [name, messages] of Object.entries(data.errors)) {
          const text = (Array.isArray(messages) ? messages : [messages]).map(String).join(" ");
          if (fields.includes(name)) { setFieldError(name, text); first = first || fieldInput(name); }
          else general.push(text);
        }
        if (general.length) { el.offlineError.textContent = general.join(" "); el.offlineError.hidden = false; }
        (first || (general.length ? el.offlineError : el.offlineSubmit)).focus();
        return;
      }
      throw new Error("HTTP " + response.status);
    } catch (err) {
      el.offlineError.textContent = L("error_generic");
      el.offlineError.hidden = false;
      el.offlineError.focus();
    } finally {
      el.offlineSubmit.removeAttribute("aria-disabled");
    }
  });

  // ---- Closing, start-up -------------------------------------------------------------------------------------------
  el.close.addEventListener("click", requestClose);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !event.isComposing && !event.defaultPrevented) { event.preventDefault(); requestClose(); }
  });

  function start() {
    if (started) return;
    started = true;
    if (!hostOrigin) el.close.hidden = true; // opened directly: there is no launcher to return to
    if (!closed) startSession(); // switched off: the page already says where to go; no conversation starts
  }

  // Colours come from the account; set through CSSOM so a strict style-src CSP still allows them.
  const colour = (value, fallback) => (/^#[0-9a-f]{3,8}$/i.test(value || "") ? value : fallback);
  document.documentElement.style.setProperty("--lc-accent", colour(config.colour, "#1d4ed8"));
  document.documentElement.style.setProperty("--lc-on-accent", colour(config.text_colour, "#ffffff"));

  // Messages still in the outbox after a reload show as pending at once; they are resent once connected.
  for (const item of outbox) addPending(item);
  renderStatus();
  autoGrow();
  // Wait for the loader's hello (it carries the host origin and, maybe, a vouched identity); opened directly, go on.
  if (window.parent === window) start();
  else setTimeout(start, 1500);
})();
