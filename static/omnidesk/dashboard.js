/* Omnidesk dashboard: live updates over the websocket, with catch-up from the database (docs/realtime.md).
 * Every event has `seq`, its number in the municipality's stream, given after its commit, without gaps. Events are
 * applied strictly in that order, once each; a gap, a watermark beyond what arrived, or a reconnect asks the server
 * for what was missed, so nothing shows twice and nothing is lost. */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  const labels = config.labels;
  let socket = null;
  let retryDelay = 1000;

  const $ = (sel, root) => (root || document).querySelector(sel);
  const statusEl = $("#live-status");

  function setLive(online) {
    if (!statusEl) return;
    statusEl.textContent = online ? labels.live : labels.offline;
    statusEl.className = "live-status " + (online ? "online" : "offline");
  }

  const locale = document.documentElement.lang || [];
  function parts(d, options) {
    return new Intl.DateTimeFormat(locale, { timeZone: config.timeZone, ...options }).format(d);
  }
  function formatTime(iso) {
    const d = new Date(iso);
    return isNaN(d) ? "" : parts(d, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  }
  // As the server renders them: the time today, otherwise the day (list), or day and time (messages).
  function formatWhen(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return "";
    const today = parts(new Date(), { dateStyle: "short" }) === parts(d, { dateStyle: "short" });
    return today ? formatTime(iso) : parts(d, { day: "numeric", month: "short" });
  }
  function formatStamp(iso) {
    const d = new Date(iso);
    return isNaN(d) ? "" : parts(d, { day: "numeric", month: "short" }) + " " + formatTime(iso);
  }

  function interpolate(template, values) {
    return template.replace(/%\((\w+)\)s/g, (_, key) => (values[key] == null ? "" : String(values[key])));
  }

  // --- ticket list -------------------------------------------------------------------------
  // Filters the browser can check itself; for the others (search, tag, dates) a live event only updates rows
  // already listed, and new tickets appear at the next load.
  const CLIENT_FILTERS = ["status", "channel", "channel_account", "assignee", "view", "priority", "team", "sort"];
  function canJudge() {
    return Object.keys(config.filters || {}).every((k) => CLIENT_FILTERS.includes(k));
  }

  function matchesFilters(ticket) {
    const f = config.filters || {};
    if (f.view === "unassigned" && ticket.assignee_id !== null) return false;
    if (f.view === "mine" && ticket.assignee_id !== config.userId) return false;
    if (f.view === "team" && !(config.teamIds || []).includes(ticket.team_id)) return false;
    if (f.team && String(ticket.team_id) !== String(f.team)) return false;
    if (f.channel && ticket.channel_key !== f.channel) return false;
    if (f.priority && ticket.priority !== f.priority) return false;
    if (f.status && ticket.status !== f.status) return false;
    if (f.channel_account && String(ticket.channel_account_id) !== String(f.channel_account)) return false;
    if (f.assignee === "me" && ticket.assignee_id !== config.userId) return false;
    if (f.assignee === "none" && ticket.assignee_id !== null) return false;
    if (f.assignee && /^\d+$/.test(f.assignee) && String(ticket.assignee_id) !== f.assignee) return false;
    return true;
  }

  function fillRow(row, t) {
    row.dataset.ticketId = t.id;
    row.dataset.status = t.status;
    const link = $("a", row);
    link.href = t.url + window.location.search;
    $("[data-field=contact_name]", row).textContent = t.contact_name;
    const time = $("[data-field=last_activity_at]", row);
    time.dateTime = t.last_activity_at;
    time.textContent = formatWhen(t.last_activity_at);
    $("[data-field=channel_name]", row).textContent = t.channel_name;
    const status = $("[data-field=status]", row);
    status.textContent = labels.status[t.status] || t.status;
    status.className = "badge status status-" + t.status;
    $(".number", row).textContent = "#" + t.number;
    const select = $(".select-row", row);
    if (select && !select.value) {
      select.value = t.number;
      select.setAttribute("aria-label", interpolate(labels.select_ticket, { n: t.number }));
    }
    $("[data-field=assignee_name]", row).textContent = t.assignee_name || "";
    $("[data-field=preview]", row).textContent = t.preview || "";
    const current = t.id === config.ticketId;
    row.classList.toggle("current", current);
    if (current) link.setAttribute("aria-current", "page");
  }

  function upsertRow(t, moveToTop) {
    const list = $("#ticket-list");
    if (!list) return;
    let row = list.querySelector('[data-ticket-id="' + t.id + '"]');
    const judged = canJudge();
    // Under "waiting longest" the order is by waiting time, not activity: rows stay where they are.
    const toTop = moveToTop && (config.filters || {}).sort !== "waiting";
    // Rows added above what the agent is looking at must not push it down: keep the scroll position.
    const scroller = list.closest(".inbox-list") || list;
    const before = scroller.scrollHeight;
    const keepScroll = scroller.scrollTop > 0;
    if (judged && !matchesFilters(t)) {
      if (row) row.remove();
    } else if (row || judged) {
      if (!row) {
        row = $("#tpl-ticket-row").content.firstElementChild.cloneNode(true);
        list.prepend(row);
      } else if (toTop && list.firstElementChild !== row) {
        list.prepend(row);
      }
      fillRow(row, t);
    }
    if (keepScroll) scroller.scrollTop += scroller.scrollHeight - before;
    scheduleCounts();
    const empty = $("#empty-inbox");
    if (empty) empty.hidden = list.children.length > 0;
    const count = $("#ticket-count");
    if (count) count.textContent = String(list.children.length);
  }

  // Live counts beside each view and channel: asked from the server (it knows what the browser cannot filter).
  let countsTimer = null;
  function scheduleCounts() {
    if (!config.countsUrl || countsTimer) return;
    countsTimer = window.setTimeout(async () => {
      countsTimer = null;
      try {
        const response = await fetch(config.countsUrl, { headers: { Accept: "application/json" } });
        if (!response.ok) return;
        const data = await response.json();
        for (const [key, value] of Object.entries(data.views || {})) {
          const el = document.querySelector('[data-count-view="' + key + '"]');
          if (el) el.textContent = String(value);
        }
        for (const el of document.querySelectorAll("[data-count-channel]")) {
          el.textContent = String((data.channels || {})[el.dataset.countChannel] || 0);
        }
      } catch (e) { /* the next event tries again */ }
    }, 1000);
  }

  // --- thread ------------------------------------------------------------------------------
  function fillDelivery(el, m) {
    const badge = $("[data-field=delivery_status]", el);
    if (badge) {
      badge.hidden = !m.delivery_status;
      badge.textContent = labels.delivery[m.delivery_status] || m.delivery_status;
      badge.className = "badge delivery delivery-" + m.delivery_status;
    }
    const failure = $("[data-field=failure]", el);
    if (failure) {
      failure.hidden = m.delivery_status !== "failed";
      $("[data-field=error_message]", failure).textContent = labels.failures[m.error_code] || m.error_message || "";
      const code = $("[data-field=error_code]", failure);
      if (code) code.textContent = m.error_code ? "(" + m.error_code + ")" : "";
    }
  }

  function fillAttachments(el, m) {
    const list = $("[data-field=attachments]", el);
    if (!list) return;
    list.replaceChildren(...(m.attachments || []).map((a) => {
      const li = document.createElement("li");
      if (a.url) {
        if (["image/png", "image/jpeg", "image/gif", "image/webp"].includes(a.content_type)) {
          // A preview of images, so agents see a photo of the broken streetlight without downloading it.
          const preview = document.createElement("a");
          preview.href = a.url;
          preview.className = "preview-link";
          const img = document.createElement("img");
          img.className = "preview";
          img.src = a.url;
          img.alt = a.filename;
          img.loading = "lazy";
          preview.append(img);
          li.append(preview, document.createElement("br"));
        }
        const link = document.createElement("a");
        link.href = a.url;
        link.textContent = a.filename;
        li.append(link, " (" + Math.max(1, Math.round(a.size / 1024)) + " KB)");
      } else {
        const note = document.createElement("span");
        note.className = a.error ? "error" : "hint";
        note.textContent = a.error ? labels.attachment_unavailable + " (" + a.error + ")" : labels.attachment_pending;
        li.append(a.filename + ": ", note);
      }
      return li;
    }));
  }

  function buildMessage(m) {
    if (m.kind === "event") {
      const el = $("#tpl-event").content.firstElementChild.cloneNode(true);
      const template = labels.events[m.metadata.event] || labels.system;
      const status = labels.status[m.metadata.status] || m.metadata.status;
      $(".event-text", el).textContent =
        interpolate(template, { ...m.metadata, actor: m.metadata.actor || labels.system, status: status,
          priority: labels.priority[m.metadata.priority] || m.metadata.priority }) +
        " · " + formatTime(m.created_at);
      return el;
    }
    const el = $("#tpl-message").content.firstElementChild.cloneNode(true);
    $(".author", el).textContent = m.author_name;
    $(".badge.note", el).hidden = m.kind !== "note";
    $(".badge.automatic", el).hidden = !m.automatic;
    const earlier = $("[data-field=earlier]", el);
    earlier.hidden = !m.earlier_text;
    $(".earlier-text", earlier).textContent = m.earlier_text || "";
    const copies = $("[data-field=cc]", el);
    copies.hidden = !(m.cc || []).length;
    $("span", copies).textContent = (m.cc || []).join(", ");
    const time = $("time", el);
    time.dateTime = m.created_at;
    time.textContent = formatStamp(m.created_at);
    $(".body", el).textContent = m.text;
    const quoteButton = $(".quote-button", el);
    if (quoteButton && m.quotable && $("#composer-quote")) {
      quoteButton.hidden = false;
      quoteButton.dataset.quote = m.id;
      quoteButton.dataset.excerpt = m.text.length > 80 ? m.text.slice(0, 79) + "…" : m.text;
    }
    $("form", el).action = config.resendUrl.replace("/0/", "/" + m.id + "/");
    bindAsyncForm($("form", el));
    return el;
  }

  // A form's answer can be older than events already applied (delivery happens right after commit),
  // so it may add a missing message but never overwrite a newer state.
  function upsertMessage(m, insertOnly) {
    const thread = $("#thread");
    if (!thread || m.ticket_id !== config.ticketId) return;
    let el = document.getElementById("message-" + m.id);
    if (el && insertOnly) return;
    // A long thread shows its latest messages: a change to an earlier one that is not shown stays off the page.
    if (!el && thread.dataset.oldestShown && m.id < Number(thread.dataset.oldestShown)) return;
    if (!el) {
      el = buildMessage(m);
      el.id = "message-" + m.id;
      el.dataset.messageId = m.id;
      el.classList.add("msg-" + m.kind, "msg-" + m.direction);
      const nearBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 80;
      $(".thread-list", thread).append(el);
      if (nearBottom) thread.scrollTop = thread.scrollHeight;
    }
    fillDelivery(el, m);
    fillAttachments(el, m);
    const reactions = $("[data-field=reactions]", el);
    if (reactions) {
      reactions.textContent = (m.reactions || []).join(" ");
      reactions.hidden = !(m.reactions || []).length;
    }
    const forwarded = $("[data-field=forwarded]", el);
    if (forwarded) forwarded.hidden = !m.forwarded;
    const quoted = $("[data-field=quoted]", el);
    if (quoted) {
      quoted.textContent = m.quoted_text || "";
      quoted.hidden = !m.quoted_text;
    }
  }

  function updateTicketHeader(t) {
    if (t.id !== config.ticketId) return;
    const assignee = $("#ticket-assignee");
    if (assignee) assignee.textContent = t.assignee_name || labels.unassigned;
    const me = $("#assign-me");
    if (me) me.disabled = t.assignee_id === config.userId;
    const status = $("#ticket-status");
    if (status && document.activeElement !== status) status.value = t.status;
    const select = $("#assignee-select");
    if (select && document.activeElement !== select) select.value = t.assignee_id ? String(t.assignee_id) : "";
  }

  // --- events --------------------------------------------------------------------------------
  function showChannelProblem(data) {
    const banner = $("#channel-problems");
    if (!banner) return;
    let line = banner.querySelector('[data-channel-account="' + data.channel_account_id + '"]');
    if (!data.problem) {
      if (line) line.remove();
    } else {
      if (!line) {
        line = document.createElement("p");
        line.dataset.channelAccount = data.channel_account_id;
        line.append(document.createElement("strong"), "");
        banner.append(line);
      }
      line.firstChild.textContent = data.name;
      line.lastChild.textContent = ": " + data.problem;
    }
    banner.hidden = banner.children.length === 0;
  }

  function apply(frame) {
    // Other scripts (crisis.js) follow stored events too.
    document.dispatchEvent(new CustomEvent("omnidesk:event", { detail: frame }));
    const data = frame.data || {};
    if (frame.type === "channel.problem") { showChannelProblem(data); return; }
    if (data.ticket) {
      upsertRow(data.ticket, frame.type === "message.created" || frame.type === "ticket.created");
      updateTicketHeader(data.ticket);
    }
    if (data.message) {
      warnOfCollision(frame.type, data.message);
      upsertMessage(data.message);
    }
  }

  // Collision: something new arrived in this ticket while the agent was writing; sending then asks to confirm.
  let collision = false;
  function warnOfCollision(type, m) {
    const composer = $("#composer-text");
    if (type !== "message.created" || m.ticket_id !== config.ticketId || !composer || !composer.value.trim()) return;
    if (m.kind === "event" || m.author_user_id === config.userId || document.getElementById("message-" + m.id)) return;
    collision = true;
    const warning = $("#collision-warning");
    if (warning) { warning.textContent = labels.collision; warning.hidden = false; }
  }

  // Ephemeral notices (id null): never stored, never replayed, no gap to catch up.
  let typingTimer = null;
  const agentTypingTimers = {};
  function onColleagueSignal(frame) {
    const data = frame.data || {};
    if (data.ticket_id !== config.ticketId) return;
    if (frame.type === "ticket.viewers") {
      const line = $("#ticket-viewers");
      const others = (data.viewers || []).filter((v) => v.id !== config.userId).map((v) => v.name);
      if (line) {
        line.hidden = others.length === 0;
        line.textContent = others.length ? interpolate(labels.also_viewing, { names: others.join(", ") }) : "";
      }
    } else if (frame.type === "agent.typing" && data.user_id !== config.userId) {
      const line = $("#agent-typing");
      if (!line) return;
      window.clearTimeout(agentTypingTimers[data.user_id]);
      line.hidden = !data.on;
      line.textContent = interpolate(labels.agent_typing, { name: data.name });
      if (data.on) agentTypingTimers[data.user_id] = window.setTimeout(() => { line.hidden = true; }, 8000);
    }
  }

  function onSignal(frame) {
    document.dispatchEvent(new CustomEvent("omnidesk:signal", { detail: frame }));
    if (frame.type === "ticket.viewers" || frame.type === "agent.typing") { onColleagueSignal(frame); return; }
    const data = frame.data || {};
    const line = $("#resident-typing");
    if (frame.type !== "resident.typing" || !line || data.ticket_id !== config.ticketId) return;
    line.textContent = labels.resident_typing;
    line.hidden = !data.on;
    window.clearTimeout(typingTimer);
    if (data.on) typingTimer = window.setTimeout(() => { line.hidden = true; }, 8000);  // a lost "off"
  }

  // --- the stream: in order, once, nothing missed ------------------------------------------------
  // `cursor`: every number up to it is applied. `head`: the highest number known to exist. Events beyond a gap wait
  // in `held`; a gap may be two transactions' pushes crossing in flight, so it is asked for after GRACE_MS.
  const GRACE_MS = 150;
  let cursor = config.lastEventId || 0;  // the stream position when the page was rendered
  let head = cursor;
  const held = new Map();
  let fetching = false;  // a catch-up is on its way (also right after connecting)
  let graceTimer = null;

  function drain() {
    while (held.has(cursor + 1)) {
      cursor += 1;
      const frame = held.get(cursor);
      held.delete(cursor);
      apply(frame);
    }
  }

  function receiveEvents(frames) {
    for (const frame of frames) {
      if (frame.seq == null || frame.seq <= cursor || held.has(frame.seq)) continue;
      held.set(frame.seq, frame);
      head = Math.max(head, frame.seq);
    }
    drain();
  }

  function askCatchUp() {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;  // the reconnect catches up
    fetching = true;
    socket.send(JSON.stringify({ type: "catch_up", since: cursor }));
  }

  function checkBehind() {
    if (cursor >= head || fetching || graceTimer) return;
    graceTimer = window.setTimeout(() => {
      graceTimer = null;
      if (cursor < head && !fetching) askCatchUp();
    }, GRACE_MS);
  }

  function onCatchUp(frame) {
    fetching = false;
    receiveEvents(frame.events);
    head = Math.max(head, frame.head);
    // Numbers have no gaps: one the answer settles but lacks was pruned while this page slept. Start afresh.
    const last = frame.events.length ? frame.events[frame.events.length - 1].seq : cursor;
    if (cursor < (frame.more ? last : frame.head)) { window.location.reload(); return; }
    if (frame.more) askCatchUp();
  }

  function onFrame(frame) {
    if (frame.type === "batch") {
      const events = [];
      for (const f of frame.frames) {
        if (f.seq == null) onSignal(f); else events.push(f);
      }
      receiveEvents(events);
    } else if (frame.type === "catch_up") {
      onCatchUp(frame);
    } else if (frame.type === "watermark") {
      head = Math.max(head, frame.seq);  // the last push(es) were dropped: nothing later reveals the gap
    } else if (frame.seq != null) {
      receiveEvents([frame]);
    } else {
      onSignal(frame);
    }
    checkBehind();
  }

  let presenceTimer = null;
  function sendFrame(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function clearCollision() {
    collision = false;
    const warning = $("#collision-warning");
    if (warning) warning.hidden = true;
    const send = $("#composer button.primary");
    if (send && send.dataset.label) { send.textContent = send.dataset.label; delete send.dataset.label; }
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/ws/dashboard/" + config.municipalityId +
                           "/?v=2&since=" + cursor);
    fetching = true;  // the server answers the connection with what followed `since`
    socket.onopen = () => {
      retryDelay = 1000;
      setLive(true);
      sendFrame({ type: "viewing", ticket_id: config.ticketId || null });
    };
    if (!presenceTimer) {
      // Presence: which agents have the dashboard open decides a livechat's online/away state.
      presenceTimer = window.setInterval(() => {
        if (socket && socket.readyState === WebSocket.OPEN) {
          socket.send(JSON.stringify({ type: "presence" }));
          if (config.ticketId) socket.send(JSON.stringify({ type: "viewing", ticket_id: config.ticketId }));
        }
      }, 30000);
    }
    socket.onmessage = (e) => onFrame(JSON.parse(e.data));
    socket.onclose = (e) => {
      setLive(false);
      fetching = false;
      window.clearTimeout(graceTimer);
      graceTimer = null;
      if (e.code === 4403) return; // not a member: reconnecting cannot help
      const delay = retryDelay * (0.5 + Math.random());
      retryDelay = Math.min(retryDelay * 2, 30000);
      window.setTimeout(connect, delay);
    };
  }

  // --- forms -----------------------------------------------------------------------------------
  function bindAsyncForm(form) {
    if (form.dataset.bound) return;
    form.dataset.bound = "1";
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const submitter = event.submitter;
      const action = (submitter && submitter.getAttribute("formaction")) || form.action;
      const body = new FormData(form);
      const buttons = form.querySelectorAll("button");
      buttons.forEach((b) => (b.disabled = true));
      const errorEl = form.querySelector(".error[role=alert]");
      let ticket = null;
      try {
        const response = await fetch(action, { method: "POST", body, headers: { Accept: "application/json" }, credentials: "same-origin" });
        const result = await response.json();
        if (!response.ok || !result.ok) throw new Error(typeof result.errors === "string" ? result.errors : JSON.stringify(result.errors));
        if (errorEl) errorEl.hidden = true;
        if (form.hasAttribute("data-reset")) form.reset();
        ticket = result.ticket || null;
        if (ticket) upsertRow(ticket, Boolean(result.message));
        if (result.message) upsertMessage(result.message, true);
      } catch (err) {
        if (errorEl) { errorEl.textContent = interpolate(labels.send_failed, { reason: err.message }); errorEl.hidden = false; }
      } finally {
        buttons.forEach((b) => (b.disabled = false));
        if (ticket) updateTicketHeader(ticket);
      }
    });
  }

  // The collision check runs before the async handler: the first send after a warning only asks to confirm.
  const composerForm0 = $("#composer");
  if (composerForm0) {
    composerForm0.addEventListener("submit", (event) => {
      const submitter = event.submitter;
      const isNote = submitter && submitter.getAttribute("formaction");
      if (!collision || isNote) return;
      const send = $("#composer button.primary");
      if (send && !send.dataset.label) {
        event.preventDefault();
        event.stopImmediatePropagation();
        send.dataset.label = send.textContent;
        send.textContent = labels.send_anyway;
        send.focus();
        return;
      }
      clearCollision();  // confirmed
    });
    composerForm0.addEventListener("reset", clearCollision);
  }
  document.querySelectorAll("form[data-async]").forEach(bindAsyncForm);

  // Quoting: the reply will carry the resident's message as a quote (on channels that have replies).
  const quoteInput = $("#composer-quote");
  const quoting = $("#composer-quoting");
  const setQuote = (id, excerpt) => {
    if (!quoteInput || !quoting) return;
    quoteInput.value = id || "";
    quoting.hidden = !id;
    $("span", quoting).textContent = id ? interpolate(labels.quoting, { text: excerpt }) : "";
    if (id) $("#composer-text").focus();
  };
  document.addEventListener("click", (event) => {
    const button = event.target.closest(".quote-button");
    if (button) setQuote(button.dataset.quote, button.dataset.excerpt);
  });
  const unquote = $("#composer-unquote");
  if (unquote) unquote.addEventListener("click", () => setQuote("", ""));
  const composerForm = $("#composer");
  if (composerForm) composerForm.addEventListener("reset", () => setQuote("", ""));

  const composer = $("#composer-text");
  const counter = $("#composer-count");
  if (composer && counter) {
    const max = parseInt(composer.dataset.max || "0", 10);
    const smsWarning = $("#composer-sms-warning");
    const sms = composer.dataset.sms === "1" && window.OmnideskSms;
    const updateCounter = () => {
      const length = sms ? window.OmnideskSms.count(composer.value).characters : composer.value.length;
      let text = max ? length + " / " + max : String(length);
      if (sms) {
        // Characters, encoding and segments as the agent types; one non-GSM character makes it all UCS-2.
        const c = window.OmnideskSms.count(composer.value);
        text = interpolate(labels.sms_counter, { characters: c.characters, encoding: c.encoding, segments: c.segments, remaining: c.remaining });
        if (smsWarning) {
          smsWarning.hidden = !c.ucs2Culprit;
          smsWarning.textContent = c.ucs2Culprit ? interpolate(labels.sms_ucs2, { character: c.ucs2Culprit }) : "";
        }
      }
      counter.textContent = text;
      counter.classList.toggle("over", max > 0 && length > max);
    };
    composer.addEventListener("input", updateCounter);
    // Typing indicator for the resident (channels that show one): "on" at most every 3 s, "off" after 4 s idle.
    let typingSentAt = 0;
    let typingIdle = null;
    composer.addEventListener("input", () => {
      if (!config.ticketId) return;
      const now = Date.now();
      if (now - typingSentAt > 3000) { sendFrame({ type: "typing", ticket_id: config.ticketId, on: true }); typingSentAt = now; }
      window.clearTimeout(typingIdle);
      typingIdle = window.setTimeout(() => { sendFrame({ type: "typing", ticket_id: config.ticketId, on: false }); typingSentAt = 0; }, 4000);
    });
    updateCounter();  // a browser may restore text into the composer
    composer.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); composer.form.requestSubmit(); }
    });
  }
  // Template picker: one labelled field per {{n}} placeholder of the chosen template, and a live preview.
  const templateChoice = $("#template-choice");
  if (templateChoice) {
    const params = $("#template-params");
    const preview = $("#template-preview");
    const render = () => {
      const option = templateChoice.selectedOptions[0];
      const count = parseInt(option.dataset.params || "0", 10);
      const current = Array.from(params.querySelectorAll("input")).map((i) => i.value);
      params.replaceChildren();
      for (let n = 1; n <= count; n++) {
        const label = document.createElement("label");
        label.htmlFor = "template-param-" + n;
        label.textContent = interpolate(labels.template_field, { n: n });
        const input = document.createElement("input");
        input.id = "template-param-" + n;
        input.name = "param_" + n;
        input.required = true;
        input.value = current[n - 1] || "";
        input.addEventListener("input", update);
        params.append(label, input);
      }
      update();
    };
    const update = () => {
      const values = Array.from(params.querySelectorAll("input")).map((i) => i.value);
      preview.textContent = (templateChoice.selectedOptions[0].dataset.body || "").replace(/\{\{(\d+)\}\}/g, (m, n) => values[n - 1] || m);
    };
    templateChoice.addEventListener("change", render);
    render();
  }

  const thread = $("#thread");
  if (thread) {
    // After "Show earlier messages" the page opens where the agent was reading (the link's #message-…);
    // otherwise at the latest message.
    const anchor = location.hash.startsWith("#message-") ? document.getElementById(location.hash.slice(1)) : null;
    if (anchor && thread.contains(anchor)) anchor.scrollIntoView({ block: "start" });
    else thread.scrollTop = thread.scrollHeight;
  }
  connect();
})();

// Bulk changes: select tickets in the list, then assign, tag or set a status for all of them at once.
(function () {
  "use strict";
  const form = document.getElementById("bulk-form");
  const list = document.getElementById("ticket-list");
  if (!form || !list) return;
  const selected = () => Array.from(list.querySelectorAll(".select-row:checked")).map((box) => box.value);
  const countLabel = JSON.parse(document.getElementById("dashboard-config").textContent).labels.selected;
  function refresh() {
    const numbers = selected();
    form.hidden = numbers.length === 0;
    form.elements.tickets.value = numbers.join(",");
    document.getElementById("bulk-count").textContent = countLabel.replace("%(n)s", numbers.length);
    const action = form.elements.action.value;
    form.querySelectorAll("[data-for]").forEach((el) => { el.hidden = el.dataset.for !== action; });
  }
  list.addEventListener("change", (event) => { if (event.target.matches(".select-row")) refresh(); });
  form.elements.action.addEventListener("change", refresh);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = form.querySelector(".error");
    error.hidden = true;
    const response = await fetch(form.action, { method: "POST", body: new FormData(form),
      headers: { Accept: "application/json" }, credentials: "same-origin" });
    const data = await response.json().catch(() => ({}));
    if (!response.ok || !data.ok) {
      error.textContent = typeof data.errors === "string" ? data.errors : JSON.stringify(data.errors || response.status);
      error.hidden = false;
      return;
    }
    list.querySelectorAll(".select-row:checked").forEach((box) => { box.checked = false; });
    refresh();  // the rows themselves change through the live events
  });
  refresh();
})();
