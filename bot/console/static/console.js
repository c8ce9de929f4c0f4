// The console's only script: keyboard shortcuts in the queue and live SLA countdowns. No framework, no network.
(function () {
  "use strict";

  function human(seconds) {
    var s = Math.abs(seconds);
    if (s < 60) return Math.round(s) + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " min";
    var h = Math.floor(m / 60); m = m % 60;
    if (h < 48) return m ? h + " h " + m + " min" : h + " h";
    var d = Math.floor(h / 24); h = h % 24;
    return h ? d + " d " + h + " h" : d + " d";
  }

  function tick(started) {
    var elapsed = (Date.now() - started) / 1000;
    document.querySelectorAll(".countdown[data-seconds]").forEach(function (el) {
      var left = parseFloat(el.getAttribute("data-seconds")) - elapsed;
      el.textContent = left < 0 ? "overdue by " + human(left) : "in " + human(left);
      el.classList.toggle("overdue", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 600);
    });
  }

  function typing(event) {
    var t = event.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }

  function move(step) {
    var rows = Array.prototype.slice.call(document.querySelectorAll(".rows .row"));
    if (!rows.length) return;
    var index = rows.findIndex(function (r) { return r.classList.contains("selected"); });
    var next = rows[Math.max(0, Math.min(rows.length - 1, index + step))];
    var link = next && next.querySelector(".row-link");
    if (link) window.location.href = link.href;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape" && typing(event)) { event.target.blur(); return; }
    if (typing(event) || !document.querySelector(".queue")) return;
    var selected = document.querySelector(".rows .row.selected");
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "a": {
        var approve = document.getElementById("approve");
        if (approve) { event.preventDefault(); approve.click(); }
        break;
      }
      case "e": {
        var text = document.getElementById("draft-text");
        if (text && !text.readOnly) { event.preventDefault(); text.focus(); }
        break;
      }
      case "r": {
        var reason = document.getElementById("reject-reason");
        if (reason) { event.preventDefault(); reason.focus(); }
        break;
      }
      case "x": {
        var box = selected && selected.querySelector("input[type=checkbox]");
        if (box) { event.preventDefault(); box.checked = !box.checked; }
        break;
      }
    }
  });

  // The triage correction form offers only the labels of the chosen field.
  function narrowLabels(form) {
    var head = form.querySelector("select[name=head]");
    var label = form.querySelector("select[name=label]");
    if (!head || !label) return;
    var first = null;
    label.querySelectorAll("optgroup").forEach(function (group) {
      var match = group.label === head.value;
      group.hidden = !match;
      group.disabled = !match;
      if (match && !first) first = group.querySelector("option");
    });
    if (first && (label.selectedOptions.length === 0 || label.selectedOptions[0].parentNode.label !== head.value)) {
      first.selected = true;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.correct").forEach(function (form) {
      narrowLabels(form);
      form.querySelector("select[name=head]").addEventListener("change", function () { narrowLabels(form); });
    });
    var started = Date.now();
    if (document.querySelector(".countdown[data-seconds]")) {
      window.setInterval(function () { tick(started); }, 1000);
    }
    var selected = document.querySelector(".rows .row.selected");
    if (selected && selected.scrollIntoView) selected.scrollIntoView({ block: "nearest" });
  });
})();
