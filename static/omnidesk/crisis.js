/* The agents' crisis banner, live: when an admin switches crisis mode on or off or changes its message, open pages
 * show, update or hide #crisis-banner without a reload. The realtime event "municipality.crisis" (data: active,
 * message_nl, message_en, since) reaches this script as the DOM event "omnidesk:event" that dashboard.js fires for
 * every stored frame it applies. */
(function () {
  "use strict";

  function messageFor(data) {
    const english = (document.documentElement.lang || "").toLowerCase().startsWith("en");
    const first = english ? data.message_en : data.message_nl;
    const second = english ? data.message_nl : data.message_en;
    return String((first && first.trim()) || (second && second.trim()) || "");
  }

  // The server renders <div id="crisis-banner"><strong>label:</strong> message</div> while crisis mode is on.
  // Without one (crisis mode was off at page load) the banner is made here, after the top bar.
  function banner() {
    let element = document.getElementById("crisis-banner");
    if (!element) {
      element = document.createElement("div");
      element.id = "crisis-banner";
      element.className = "crisis-banner";
      element.setAttribute("role", "alert");
      const topbar = document.querySelector("header.topbar");
      if (topbar) topbar.after(element); else document.body.prepend(element);
    }
    return element;
  }

  function setMessage(element, text) {
    const label = element.querySelector("strong");
    element.replaceChildren();
    if (label) element.append(label, " ");
    const message = document.createElement("span");
    message.className = "crisis-message";
    message.textContent = text;
    element.append(message);
  }

  function apply(data) {
    const text = messageFor(data || {});
    if (!data || !data.active || !text) {
      const element = document.getElementById("crisis-banner");
      if (element) element.hidden = true;
      return;
    }
    const element = banner();
    setMessage(element, text);
    element.hidden = false;
  }

  document.addEventListener("omnidesk:event", (event) => {
    const frame = event.detail || {};
    if (frame.type === "municipality.crisis") apply(frame.data);
  });
  window.OmnideskCrisis = { apply: apply };
})();
