// Lookout's dashboard script: the theme switch, the overview's refresh and
// the target page's buttons. Pages work without it; nothing is built.
(function () {
  "use strict";
  var root = document.documentElement;
  var saved = null;
  try { saved = localStorage.getItem("lookout-theme"); } catch (e) { /* storage off */ }
  if (saved === "dark" || saved === "light") root.dataset.theme = saved;

  function isDark() {
    if (root.dataset.theme) return root.dataset.theme === "dark";
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var btn = document.getElementById("theme");
    if (btn) {
      var label = function () { btn.textContent = isDark() ? "Light mode" : "Dark mode"; };
      label();
      btn.hidden = false;
      btn.addEventListener("click", function () {
        root.dataset.theme = isDark() ? "light" : "dark";
        try { localStorage.setItem("lookout-theme", root.dataset.theme); } catch (e) { /* storage off */ }
        label();
      });
    }

    // The overview refreshes its figures in place, not the filter form,
    // and not while the tab is hidden.
    var live = document.getElementById("live");
    var every = parseInt(document.body.dataset.refresh || "0", 10);
    if (live && every > 0) {
      var refresh = function () {
        if (document.hidden) return;
        var u = new URL(location.href);
        u.searchParams.set("fragment", "1");
        fetch(u, { credentials: "same-origin", headers: { "Accept": "text/html" } })
          .then(function (r) {
            // Signed out meanwhile: show the sign-in page, not it inside this one.
            if (r.redirected) { location.reload(); return Promise.reject(r.status); }
            return r.ok ? r.text() : Promise.reject(r.status);
          })
          .then(function (html) { live.innerHTML = html; })
          .catch(function () { /* try again next time */ });
      };
      setInterval(refresh, every * 1000);
      document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
    }

    // Pause, resume and check now go to the API, with the CSRF token.
    var actions = document.querySelector(".actions[data-target]");
    if (actions) {
      var name = actions.dataset.target;
      var status = actions.querySelector(".action-status");
      actions.addEventListener("click", function (ev) {
        var b = ev.target.closest("button[data-action]");
        if (!b) return;
        var headers = {};
        if (document.body.dataset.csrf) headers["X-Lookout-CSRF"] = document.body.dataset.csrf;
        b.disabled = true;
        status.textContent = b.dataset.action === "check" ? "Checking…" : "Saving…";
        fetch("/api/v1/targets/" + encodeURIComponent(name) + "/" + b.dataset.action,
          { method: "POST", credentials: "same-origin", headers: headers })
          .then(function (r) {
            if (r.ok) { location.reload(); return; }
            return r.json().then(function (p) { status.textContent = p.detail || ("Failed: " + r.status); });
          })
          .catch(function () { status.textContent = "Lookout did not answer."; })
          .finally(function () { b.disabled = false; });
      });
    }
  });
})();
