/* Omnidesk livechat loader: a launcher in Shadow DOM (open: testable by axe), out of reach of host CSS; the panel,
 * an iframe from our origin, is made on the first click. */
(() => {
  "use strict";
  const script = document.currentScript; // set while this (async) script first runs
  if (!script || window.__omnideskLivechat) return; // once per page
  window.__omnideskLivechat = true;
  const base = script.src.replace(/widget\.js(\?.*)?$/, "");
  const origin = new URL(base).origin;
  const lang = (script.dataset.lang || document.documentElement.lang || "").toLowerCase().startsWith("en") ? "en" : "nl";
  const user = script.dataset.user || "", hash = script.dataset.userHash || "";
  const CHAT = "M4 5h16v11H10l-6 4z", CLOSE = "M6 6l12 12M18 6 6 18";
  const CSS = `:host{all:initial}
.l{position:fixed;right:20px;bottom:20px;z-index:2147483646;width:52px;height:52px;padding:0;
border:2px solid;border-radius:50%;background:var(--bg);color:var(--fg);cursor:pointer;display:grid;place-items:center;
box-shadow:0 2px 10px #0006}
.l:focus-visible{outline:3px solid #0b0c0c;outline-offset:3px;box-shadow:0 0 0 3px #fff}
.l svg{width:28px;height:28px;fill:none;stroke:currentColor;stroke-width:2.2;stroke-linejoin:round}
.b{position:absolute;top:-6px;right:-6px;min-width:22px;padding:0 5px;border:2px solid #fff;border-radius:11px;
background:#b3261e;color:#fff;font:700 12px/18px system-ui,sans-serif}
.p{position:fixed;right:20px;bottom:88px;z-index:2147483647;width:380px;height:min(560px,100vh - 108px);border-radius:12px;overflow:hidden;
background:#fff;box-shadow:0 6px 28px #0006}
iframe{display:block;width:100%;height:100%;border:0}
@media (max-width:480px),(max-height:500px){.p{inset:0;width:100%;height:100%;border-radius:0}
.l[aria-expanded=true]{visibility:hidden}}
@media (prefers-reduced-motion:no-preference){.p:not([hidden]){animation:i .18s ease-out}}
@keyframes i{from{opacity:0;transform:translateY(12px)}}`;
  let labels, button, panel, frame, badge, path, loaded = false, unread = 0;
  // The visitor token lives on the host page (first-party storage): browsers block storage in our third-party
  // frame, and without it every page load would be a new visitor with an empty history.
  const TOKEN_KEY = "omnidesk-livechat-" + base.replace(/\/+$/, "").split("/").pop();
  const saved = () => { try { return localStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; } };

  // Our origin only: were the frame navigated away, the browser drops it.
  const post = (msg) => loaded && frame.contentWindow.postMessage(msg, origin);

  function render() {
    const open = !panel.hidden;
    let name = open ? labels.close : labels.open;
    if (!open && unread && labels.new_messages) name += " (" + labels.new_messages + ")";
    button.setAttribute("aria-expanded", open);
    button.setAttribute("aria-label", name);
    badge.textContent = unread > 9 ? "9+" : unread;
    badge.hidden = open || !unread;
    path.setAttribute("d", open ? CLOSE : CHAT);
  }

  // The panel needs its visibility (read receipts, unread); on open it takes focus.
  function tell() {
    if (panel.hidden) return post({ type: "omnidesk:hidden" });
    if (loaded) frame.focus(); // so that the panel may focus its textarea
    post({ type: "omnidesk:open" });
  }

  function setOpen(open, refocus) {
    if (open && !frame) {
      frame = document.createElement("iframe");
      frame.title = labels.title;
      frame.src = base + "panel/?lang=" + lang;
      frame.onload = () => {
        loaded = true;
        post(user && hash ? { type: "omnidesk:identity", user, hash, hostOrigin: location.origin, token: saved() }
          : { type: "omnidesk:hello", hostOrigin: location.origin, token: saved() });
        tell();
      };
      panel.append(frame);
    }
    panel.hidden = !open;
    if (open) unread = 0;
    render();
    tell();
    if (refocus) button.focus();
  }

  function build(config) {
    labels = Object.assign({}, config.labels, { title: config.title || "" });
    if (!labels.open || !labels.close) return; // no accessible name: no launcher
    const host = document.createElement("omnidesk-livechat");
    const root = host.attachShadow({ mode: "open" });
    try { // a constructed sheet passes a host CSP without 'unsafe-inline'
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      root.append(Object.assign(document.createElement("style"), { textContent: CSS }));
    }
    button = Object.assign(document.createElement("button"), { type: "button", className: "l" });
    button.setAttribute("aria-controls", "omnidesk-panel");
    button.style.setProperty("--bg", config.colour || "#1d4ed8");
    button.style.setProperty("--fg", config.text_colour || "#fff");
    // DOM calls, no innerHTML: host pages may enforce Trusted Types.
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    path = document.createElementNS(svg.namespaceURI, "path");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.append(path);
    badge = Object.assign(document.createElement("span"), { className: "b" });
    for (const el of [svg, badge]) el.setAttribute("aria-hidden", "true"); // the name says it
    button.append(svg, badge);
    panel = Object.assign(document.createElement("div"), { className: "p", id: "omnidesk-panel", hidden: true });
    render();
    button.onclick = () => setOpen(panel.hidden, false);
    button.onkeydown = (e) => { if (e.key === "Escape" && !panel.hidden) setOpen(false, true); }; // returning false would cancel Enter
    root.append(button, panel);
    document.body.append(host);
  }

  window.addEventListener("message", (e) => {
    if (!frame || e.origin !== origin || e.source !== frame.contentWindow || !e.data) return;
    if (e.data.type === "omnidesk:close" && !panel.hidden) setOpen(false, true);
    if (e.data.type === "omnidesk:token" && typeof e.data.token === "string") {
      try { localStorage.setItem(TOKEN_KEY, e.data.token); } catch (err) { /* blocked here too: one visit only */ }
    }
    if (e.data.type === "omnidesk:unread" && panel.hidden) {
      unread = Math.max(0, Math.floor(e.data.count) || 0);
      render();
    }
  });

  const ready = new Promise((ok) => (document.body ? ok() : document.addEventListener("DOMContentLoaded", ok)));
  Promise.all([fetch(base + "config.json?lang=" + lang)
    .then((r) => (r.ok ? r.json() : Promise.reject(r.status))), ready])
    .then(([config]) => build(config))
    .catch((err) => console.warn("Omnidesk livechat:", err));
})();
