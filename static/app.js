// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // The team picker: a filter whose count is what the list shows, the ticked teams as removable chips
  // with a count, and the whole fieldset present only for Team admin (out of the page and the Tab order
  // otherwise, and disabled so no hidden tick is sent with another role).
  function setUpTeamPicker() {
    var fieldset = document.querySelector("[data-team-picker]");
    var role = document.getElementById("role");
    if (!fieldset || !role) return;
    var list = document.getElementById("team-list");
    var box = fieldset.querySelector(".team-filter");
    var input = document.getElementById("team-filter");
    var chips = fieldset.querySelector(".team-chips");
    var confirm = fieldset.querySelector(".confirm-no-teams");
    var note = fieldset.querySelector(".teams-note");
    if (note) note.hidden = true;  // with JavaScript the fieldset itself shows only for Team admin
    var items = list ? Array.prototype.slice.call(list.querySelectorAll("li")) : [];
    var boxes = items.map(function (li) { return li.querySelector("input[type=checkbox]"); });
    // Match team names only: the region badge ("US", "EU") would make short queries match everything.
    var texts = items.map(function (li) {
      var label = li.querySelector("label[data-name]");
      return (label ? label.getAttribute("data-name") : li.textContent).toLowerCase();
    });
    var names = items.map(function (li) {
      var label = li.querySelector("label[data-name]");
      return label ? label.getAttribute("data-name") : li.textContent;
    });

    if (box && input) {
      var count = box.querySelector(".filter-count");
      box.hidden = false;
      input.addEventListener("input", function () {
        var needle = input.value.trim().toLowerCase();
        var shown = 0;
        for (var i = 0; i < items.length; i++) {
          var match = !needle || texts[i].indexOf(needle) !== -1;
          items[i].hidden = !match;
          if (match) shown++;
        }
        list.scrollTop = 0;
        count.textContent = needle ? shown + " of " + items.length + " teams shown" : "";
      });
      input.addEventListener("keydown", function (event) {
        // Enter in the filter must not send the invitation.
        if (event.key === "Enter") event.preventDefault();
      });
    }

    var drawChips = function () {
      if (!chips) return;
      while (chips.firstChild) chips.removeChild(chips.firstChild);
      var ticked = [];
      for (var i = 0; i < boxes.length; i++) if (boxes[i] && boxes[i].checked) ticked.push(i);
      chips.hidden = ticked.length === 0;
      if (!ticked.length) return;
      var total = document.createElement("li");
      total.className = "chip-count";
      total.textContent = ticked.length + " selected";
      chips.appendChild(total);
      ticked.forEach(function (i) {
        var li = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = names[i] + " \u00d7";
        button.setAttribute("aria-label", "Remove " + names[i]);
        button.addEventListener("click", function () {
          boxes[i].checked = false;
          boxes[i].dispatchEvent(new Event("change", { bubbles: true }));
          var next = chips.querySelector("button") || role;
          next.focus();
        });
        li.appendChild(button);
        chips.appendChild(li);
      });
    };

    var update = function () {
      var forTeamAdmin = role.value === "team_admin";
      // Still shown when Junction flagged a team, so the problem and its fix are never hidden.
      var flagged = Boolean(fieldset.querySelector("[aria-invalid='true'], .field-errors"));
      fieldset.hidden = !forTeamAdmin && !flagged;
      fieldset.disabled = fieldset.hidden;
      var anyTeam = boxes.some(function (b) { return b && b.checked; });
      if (confirm) {
        // Unticked and hidden once a team is picked, so it cannot quietly apply later.
        if (anyTeam) confirm.querySelector("input").checked = false;
        confirm.hidden = !forTeamAdmin || anyTeam;
      }
      var helps = document.querySelectorAll("[data-role-help]");
      for (var i = 0; i < helps.length; i++) {
        helps[i].classList.toggle("current", helps[i].getAttribute("data-role-help") === role.value);
      }
    };
    role.addEventListener("change", update);
    if (list) list.addEventListener("change", function () { update(); drawChips(); });
    update();
    drawChips();
  }

  // A second click while the first submission is on its way is ignored (the server also refuses
  // to send twice; this just spares the round trip).
  function setUpSubmitOnce() {
    var forms = document.querySelectorAll("form[data-once]");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (event) {
        if (form.getAttribute("data-submitting") === "1") {
          event.preventDefault();
          return;
        }
        form.setAttribute("data-submitting", "1");
        // Any submit but a formaction one ("Refresh teams") sends; Enter in a field uses the hidden default.
        var sends = !event.submitter || !event.submitter.hasAttribute("formaction");
        var primary = form.querySelector("button.primary");
        if (primary && sends) {
          primary.setAttribute("aria-disabled", "true");
          primary.textContent = "Sending…";
        }
      });
    });
  }

  // Times are rendered in UTC on the server; show them in the viewer's zone too.
  function localiseTimes() {
    var times = document.querySelectorAll("time.local[datetime]");
    Array.prototype.forEach.call(times, function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      // One rule for times: the reader's own clock with its zone named, the exact UTC time on hover.
      el.title = el.textContent;
      el.textContent = when.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric",
                                                        hour: "numeric", minute: "2-digit", timeZoneName: "short" });
    });
  }

  // After a failed submission, start where the problem is: the first invalid control, else the alert.
  function focusFirstProblem() {
    var target = document.querySelector("main [aria-invalid='true']") || document.querySelector("main .alert[tabindex]");
    if (target) target.focus();
  }

  // "Still sending" pages: look again every 2 s and show the outcome as soon as there is one.
  function pollWhileSending() {
    if (!document.querySelector("[data-still-sending]") || !window.fetch) return;
    var check = function () {
      fetch(window.location.href, { cache: "no-store", credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (text) {
          if (text.indexOf("data-still-sending") === -1) window.location.reload();
          else window.setTimeout(check, 2000);
        })
        .catch(function () { window.setTimeout(check, 5000); });
    };
    window.setTimeout(check, 2000);
  }

  // Request ids and the access block are for pasting into a ticket: a Copy button beside each.
  function addCopyButtons() {
    if (!navigator.clipboard) return;
    var targets = document.querySelectorAll(".copy-ref code, pre.copy-block");
    Array.prototype.forEach.call(targets, function (el) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = "Copy";
      button.setAttribute("aria-label", el.tagName === "PRE" ? "Copy these details" : "Copy request id " + el.textContent);
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(el.textContent).then(function () { button.textContent = "Copied"; });
      });
      el.parentNode.insertBefore(button, el.nextSibling);
    });
  }

  // Long addresses wrap before "@" and ".", not in the middle of a word (the CSS alone can only do that).
  function breakAddresses() {
    var cells = document.querySelectorAll("main h1, .email, .summary dd");
    Array.prototype.forEach.call(cells, function (cell) {
      var node = cell.firstChild;
      if (!node || node.nodeType !== 3 || node.nodeValue.indexOf("@") === -1) return;
      var parts = node.nodeValue.split(/(?=[@.])/);
      // No break before an address's last label: ".com" never ends up alone on a line.
      for (var i = parts.length - 1; i > 0; i--) {
        if (/^\.[^\s]/.test(parts[i]) && (i === parts.length - 1 || !/^[.@][^\s]/.test(parts[i + 1]))) {
          parts[i - 1] += parts[i];
          parts.splice(i, 1);
          i--;  // the label before it may still break
        }
      }
      var fragment = document.createDocumentFragment();
      parts.forEach(function (part, i) {
        if (i) fragment.appendChild(document.createElement("wbr"));
        fragment.appendChild(document.createTextNode(part));
      });
      cell.replaceChild(fragment, node);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    breakAddresses();
    addCopyButtons();
    setUpTeamPicker();
    setUpSubmitOnce();
    localiseTimes();
    focusFirstProblem();
    pollWhileSending();
  });
})();

// Support pages: the search box has focus on load (autofocus); select what it holds so that pasting an
// address from a ticket replaces the previous search.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var box = document.querySelector("form[role='search'] input[type='search'][autofocus]");
  if (box && document.activeElement === box && box.value) box.select();
});

// A list's filter bar: fields left empty ("Any role") stay out of the address, so a search reads
// /invitations?q=ada, as a link would. Without this file the empty fields are sent and ignored.
document.addEventListener("submit", function (event) {
  "use strict";
  var form = event.target;
  if (!form.classList || !form.classList.contains("list-filters")) return;
  Array.prototype.forEach.call(form.elements, function (field) {
    if (field.name && field.value === "" && (field.tagName === "SELECT" || field.type === "search")) field.disabled = true;
  });
});
