// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Team filter: narrows the checkbox list as you type; checked teams stay checked when hidden.
  function setUpTeamFilter() {
    var box = document.querySelector(".team-filter");
    var input = document.getElementById("team-filter");
    var list = document.getElementById("team-list");
    if (!box || !input || !list) return;
    var items = Array.prototype.slice.call(list.querySelectorAll("li"));
    var count = box.querySelector(".filter-count");
    // Match team names only: the region badge ("US", "EU") would make short queries match everything.
    var texts = items.map(function (li) {
      var label = li.querySelector("label[data-name]");
      return (label ? label.getAttribute("data-name") : li.textContent).toLowerCase();
    });
    box.hidden = false;
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      var shown = 0;
      for (var i = 0; i < items.length; i++) {
        var match = !needle || texts[i].indexOf(needle) !== -1;
        items[i].hidden = !match;
        if (match) shown++;
      }
      count.textContent = needle ? shown + " of " + items.length + " teams shown" : "";
    });
    input.addEventListener("keydown", function (event) {
      // Enter in the filter must not send the invitation.
      if (event.key === "Enter") event.preventDefault();
    });
  }

  // The "team admin of no team" override only matters for team admins.
  function setUpRoleGuidance() {
    var role = document.getElementById("role");
    var confirm = document.querySelector(".confirm-no-teams");
    if (!role || !confirm) return;
    var teamList = document.getElementById("team-list");
    var update = function () {
      var anyTeam = teamList && teamList.querySelector("input[type=checkbox]:checked");
      // Unticked and hidden once a team is picked, so it cannot quietly apply later.
      if (anyTeam) confirm.querySelector("input").checked = false;
      confirm.hidden = role.value !== "team_admin" || Boolean(anyTeam);
      var helps = document.querySelectorAll("[data-role-help]");
      for (var i = 0; i < helps.length; i++) {
        helps[i].classList.toggle("current", helps[i].getAttribute("data-role-help") === role.value);
      }
    };
    role.addEventListener("change", update);
    if (teamList) teamList.addEventListener("change", update);
    update();
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
      el.title = el.textContent;
      el.textContent = when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
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

  document.addEventListener("DOMContentLoaded", function () {
    setUpTeamFilter();
    setUpRoleGuidance();
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
