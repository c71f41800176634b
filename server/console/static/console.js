// Tickiti console: the pages work without this script. It adds two things:
// a ticket page follows its delivery while a decision is on its way (the
// server re-renders the live part; nothing is built here), and the
// template editor shows a live preview.
"use strict";

(function () {
  // follow re-fetches #live every data-every ms while it has data-poll,
  // and swaps in the server's fresh rendering of it.
  function follow() {
    var live = document.getElementById("live");
    if (!live || !live.dataset.poll) return;
    var every = parseInt(live.dataset.every, 10) || 1000;
    setTimeout(function () {
      fetch(live.dataset.poll, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin", cache: "no-store" })
        .then(function (r) {
          if (r.status === 401) throw new Error("signed out");
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.text();
        })
        .then(function (html) {
          var tpl = document.createElement("template");
          tpl.innerHTML = html.trim();
          var fresh = tpl.content.firstElementChild;
          var current = document.getElementById("live");
          // Keep keyboard focus on the same control across the swap.
          var focused = document.activeElement && current && current.contains(document.activeElement) ? document.activeElement.id : "";
          if (fresh && current) current.replaceWith(fresh);
          var again = focused && document.getElementById(focused);
          if (again) again.focus();
          follow();
        })
        .catch(function (err) {
          if (err.message === "signed out") return;
          setTimeout(follow, 4000); // a hiccup: try again, more slowly
        });
    }, every);
  }

  // preview renders a template body with sample data as the admin types.
  function preview() {
    var form = document.getElementById("template-form");
    var out = document.getElementById("template-preview");
    if (!form || !out) return;
    var timer = null;
    function update() {
      var body = new URLSearchParams(new FormData(form));
      fetch("/settings/templates/preview", { method: "POST", body: body, credentials: "same-origin" })
        .then(function (r) {
          // Only a preview goes in the page, not an error page (a 403, a
          // session that ended).
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.text();
        })
        .then(function (html) { out.innerHTML = html; })
        .catch(function () { out.textContent = "No preview: reload the page (you may need to sign in again)."; });
    }
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(update, 250);
    });
    update();
  }

  // Forms with data-confirm ask before they are sent.
  document.addEventListener("submit", function (e) {
    var msg = e.target.dataset && e.target.dataset.confirm;
    if (msg && !window.confirm(msg)) e.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    follow();
    preview();
  });
})();
