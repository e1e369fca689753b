/* siteupdates-web: a little progressive JavaScript. Every page works without it. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) {
      el.form.submit();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question) {
      // Asked here, the server needs no page of its own to confirm.
      if (!window.confirm(question)) {
        event.preventDefault();
        return;
      }
      var flag = form.querySelector("input[name=confirmed]");
      if (flag) { flag.value = "1"; }
    }
    if (form.hasAttribute("data-once")) {
      if (form.getAttribute("data-sent") === "1") {
        event.preventDefault();  // a double click sends once (the server is idempotent too)
        return;
      }
      form.setAttribute("data-sent", "1");
    }
  });

  // Request an Update: offer only the versions of the chosen site, and preset
  // DB refresh to yes where the plan allows a refresh only.
  function syncTarget(form) {
    var chosen = form.querySelector("input[name=target]:checked");
    var select = form.querySelector("select[name=version]");
    if (!chosen || !select) { return; }
    var target = chosen.value;
    Array.prototype.forEach.call(select.options, function (option) {
      var forTarget = option.getAttribute("data-target");
      var hide = forTarget !== null && forTarget !== target;
      option.hidden = hide;
      option.disabled = hide;
      if (hide && option.selected) { select.value = ""; }
    });
    if (chosen.getAttribute("data-refresh-only") === "yes") {
      var yes = form.querySelector("input[name=db_refresh][value=yes]");
      if (yes) { yes.checked = true; }
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form.su-form"), function (form) {
      syncTarget(form);
      form.addEventListener("change", function (event) {
        if (event.target.name === "target") { syncTarget(form); }
      });
    });
  });
})();
