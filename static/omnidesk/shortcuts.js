// Keyboard shortcuts for the inbox. They never fire while typing in a field; "?" shows them all.
(function () {
  "use strict";
  const help = document.getElementById("shortcuts-help");
  let opener = null;

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable=true]") !== null;
  }

  function go(step) {
    const rows = Array.from(document.querySelectorAll("#ticket-list .ticket-row"));
    if (!rows.length) return;
    const current = rows.findIndex((row) => row.classList.contains("current"));
    const next = rows[Math.min(rows.length - 1, Math.max(0, current === -1 ? 0 : current + step))];
    const link = next.querySelector("a");
    if (link) window.location.assign(link.href);
  }

  function submitStatus(status) {
    const select = document.getElementById("ticket-status");
    if (!select) return;
    select.value = status;
    select.form.requestSubmit();
  }

  const actions = {
    j: () => go(1),
    k: () => go(-1),
    r: () => { const c = document.getElementById("composer-text"); if (c) c.focus(); },
    n: () => {
      const c = document.getElementById("composer-text");
      if (c) { c.focus(); c.dataset.intent = "note"; }
    },
    a: () => { const b = document.getElementById("assign-me"); if (b && !b.disabled) b.click(); },
    c: () => submitStatus("resolved"),
    "/": () => { const q = document.getElementById("id_q"); if (q) q.focus(); },
    "?": () => {
      if (!help) return;
      opener = document.activeElement;
      help.showModal();
    },
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (help && help.open) return;
    const action = actions[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  });

  if (help) {
    help.addEventListener("close", () => { if (opener && opener.focus) opener.focus(); });
    const close = help.querySelector("[data-close]");
    if (close) close.addEventListener("click", () => help.close());
  }
  const button = document.getElementById("shortcuts-button");
  if (button && help) button.addEventListener("click", () => { opener = button; help.showModal(); });
})();
