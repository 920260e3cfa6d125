/* The resident simulator: posts to the account's webhook like a provider would, shows replies live.
 * Unsent messages stay queued and are retried with the same id, so a retry never duplicates. */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("sandbox-config").textContent);
  const scroller = document.getElementById("messages");  // the live region; the list of messages is inside it
  const list = scroller.querySelector(".message-list");
  const form = document.getElementById("send-form");
  const errorEl = document.getElementById("send-error");
  const nameInput = document.getElementById("resident-name");
  const statusEl = document.getElementById("connection");
  const shown = new Set();
  const pending = [];
  // Messages typed here, shown at once; kept across history reloads until a load that started after
  // the webhook accepted them (so the message is in the history) has replaced them.
  const local = [];
  let loadsStarted = 0;
  let loadsRendered = 0;
  nameInput.value = localStorage.getItem("sandbox-name") || "";

  function show(id, direction, text, author) {
    if (id && shown.has(id)) return;
    if (id) shown.add(id);
    const li = document.createElement("li");
    li.className = "bubble " + direction;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = direction === "inbound" ? config.youLabel : author || "";
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    li.append(who, body);
    list.append(li);
    scroller.scrollTop = scroller.scrollHeight;
    return li;
  }

  async function deliver(item) {
    const response = await fetch(config.webhook, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Sandbox-Resident": config.residentId, "X-Sandbox-Token": config.token },
      body: JSON.stringify({ id: item.id, text: item.text, name: nameInput.value.trim() }),
    });
    if (!response.ok) throw new Error("HTTP " + response.status);
  }

  async function flush() {
    while (pending.length) {
      try {
        await deliver(pending[0]);
        const item = pending.shift();
        item.acceptedBefore = loadsStarted;
        errorEl.hidden = true;
      } catch (err) {
        errorEl.textContent = config.failedLabel;
        errorEl.hidden = false;
        window.setTimeout(flush, 3000);
        return;
      }
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const textarea = form.elements.text;
    const text = textarea.value.trim();
    if (!text) return;
    localStorage.setItem("sandbox-name", nameInput.value.trim());
    const id = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/-/g, "");
    const item = { id, text, li: show("local-" + id, "inbound", text), acceptedBefore: null };
    local.push(item);
    pending.push(item);
    textarea.value = "";
    textarea.focus();
    flush();
  });
  form.elements.text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });

  async function loadHistory() {
    const seq = ++loadsStarted;
    const response = await fetch(config.history, { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    if (seq < loadsRendered) return; // a newer load already rendered
    loadsRendered = seq;
    list.replaceChildren();
    shown.clear();
    data.messages.forEach((m) => show(m.direction === "outbound" ? "sbx-" + m.id : "h-" + m.id, m.direction, m.text, m.author_name));
    for (let i = local.length - 1; i >= 0; i--) {
      if (local[i].acceptedBefore !== null && local[i].acceptedBefore < seq) local.splice(i, 1);
    }
    local.forEach((item) => list.append(item.li));
    scroller.scrollTop = scroller.scrollHeight;
  }

  function setLive(online) {
    statusEl.textContent = online ? config.liveLabel : config.offlineLabel;
    statusEl.className = "connection " + (online ? "online" : "offline");
  }

  let delay = 1000;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const url = scheme + location.host + config.socket + "?resident=" + config.residentId + "&token=" + config.token;
    const socket = new WebSocket(url);
    socket.onopen = () => { delay = 1000; setLive(true); loadHistory(); };
    socket.onmessage = (e) => { const m = JSON.parse(e.data); show(m.id, "outbound", m.text, m.author_name); };
    socket.onclose = (e) => {
      setLive(false);
      if (e.code === 4403) return;
      window.setTimeout(connect, delay * (0.5 + Math.random()));
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
