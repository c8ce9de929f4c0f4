// The console's only script: keyboard shortcuts in the queue, live SLA countdowns, and presence (who else has this
// case or draft open, and whether it changed since the page was drawn). No framework; it talks only to /presence.
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

  // Presence: every few seconds tell the console "I have this open (editing or not)", and show who else has.
  function listOf(box, people, empty) {
    var list = box.querySelector(".others");
    if (!list) return;
    list.textContent = "";
    people.forEach(function (p) {
      var item = document.createElement("li");
      item.className = p.editing ? "editing" : "viewing";
      item.textContent = p.text;
      list.appendChild(item);
    });
    if (!people.length && empty) {
      var none = document.createElement("li");
      none.className = "muted nobody";
      none.textContent = empty;
      list.appendChild(none);
    }
  }

  function rowsOf(watched) {
    document.querySelectorAll("[data-presence-row]").forEach(function (slot) {
      var people = watched[slot.getAttribute("data-presence-row")] || [];
      slot.textContent = "";
      people.forEach(function (p) {
        var chip = document.createElement("span");
        chip.className = "chip " + (p.editing ? "editing" : "viewing");
        chip.textContent = p.name + " is " + (p.editing ? "editing" : "viewing");
        slot.appendChild(chip);
      });
    });
  }

  function startPresence() {
    var box = document.querySelector("[data-presence]");
    var csrf = document.querySelector("input[name=csrf_token]");
    if (!box || !csrf || !window.fetch) return;
    var text = document.getElementById("draft-text");
    var empty = box.getAttribute("data-object-type") === "case" ? "Nobody else has it open." : "";
    var every = Math.max(1, parseFloat(box.getAttribute("data-every") || "5")) * 1000;
    var stopped = false;
    var timer = null;
    var busy = false;  // one request at a time; a beat asked for meanwhile runs right after it
    var again = false;

    function fields(extra) {
      var data = new URLSearchParams();
      data.set("csrf_token", csrf.value);
      data.set("object_type", box.getAttribute("data-object-type"));
      data.set("object_id", box.getAttribute("data-object-id"));
      ["draft-version", "case-version"].forEach(function (name) {
        var value = box.getAttribute("data-" + name);
        if (value !== null) data.set(name.replace("-", "_"), value);
      });
      var rows = Array.prototype.map.call(document.querySelectorAll("[data-presence-row]"), function (slot) {
        return slot.getAttribute("data-presence-row");
      });
      if (rows.length) data.set("watch", rows.join(","));
      Object.keys(extra || {}).forEach(function (key) { data.set(key, extra[key]); });
      return data;
    }

    function editing() {
      return !!text && !text.readOnly && text.value !== text.getAttribute("data-saved");
    }

    function beat() {
      if (stopped) return;
      if (busy) { again = true; return; }
      busy = true;
      window.clearTimeout(timer);
      window.fetch("/presence", {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/x-www-form-urlencoded", "x-csrf-token": csrf.value },
        body: fields({ editing: editing() ? "1" : "" }).toString()
      }).then(function (response) {
        if (response.status === 401 || response.status === 403) { stopped = true; return null; }
        return response.ok ? response.json() : null;
      }).then(function (answer) {
        if (!answer) return;
        listOf(box, answer.others || [], empty);
        rowsOf(answer.watched || {});
        var stale = box.querySelector(".stale-live");
        if (stale) {
          var changed = answer.changed || [];
          stale.hidden = !changed.length;
          stale.textContent = changed.length ? "Changed since you opened it: " + changed.join("; ") + ". Reload to see it." : "";
        }
      }).catch(function () { /* offline for a moment: the next beat tries again */ }).then(function () {
        busy = false;
        if (stopped) return;
        if (again) { again = false; beat(); } else { timer = window.setTimeout(beat, every); }
      });
    }

    var last = null;
    if (text) {
      text.addEventListener("input", function () {
        var now = editing();
        if (now !== last) { last = now; beat(); }  // others see "editing" at once, not a beat later
      });
    }
    window.addEventListener("pagehide", function () {
      stopped = true;
      if (navigator.sendBeacon) navigator.sendBeacon("/presence", fields({ gone: "1" }));
    });
    last = editing();
    beat();
  }

  document.addEventListener("DOMContentLoaded", function () {
    startPresence();
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
