// The bulk pages, made nicer with JavaScript; without it each works by plain forms and links.
//
// The preview: a row's own form (Fix, Use the suggested team, Remove) is sent in the background and the
// new preview takes the old one's place where the person is, with the row (or the notice) in view and
// focused, instead of a full page load that starts at the top.
//
// A running job: polls the job's JSON for what changed since the last poll (a cursor) and updates the
// counts, the bar, rate and time left, and the rows on this page, found through a Map built once.
(function () {
  "use strict";

  // ------------------------------------------------------------------------------------------- preview

  function rowFixes() {
    var main = document.querySelector("main");
    if (!main || !main.querySelector("form[data-row-fix]")) return;
    var busy = false;

    main.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.hasAttribute || !form.hasAttribute("data-row-fix") || form.hasAttribute("data-plain")) return;
      event.preventDefault();
      if (busy) return;
      busy = true;
      var submitter = event.submitter;
      var data = new FormData(form);
      if (submitter && submitter.name) data.append(submitter.name, submitter.value);
      if (submitter) { submitter.setAttribute("aria-disabled", "true"); submitter.textContent = "Checking…"; }
      fetch(form.getAttribute("action"), { method: "POST", body: data, credentials: "same-origin", redirect: "follow" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text().then(function (text) { return { text: text, url: response.url }; });
        })
        .then(function (answer) {
          var next = new DOMParser().parseFromString(answer.text, "text/html");
          var nextMain = next.querySelector("main");
          if (!nextMain || !nextMain.querySelector("table.bulk-preview")) {
            // Not a preview (the list expired, or every row went): show that page as it is.
            window.location.assign(answer.url);
            return;
          }
          main.innerHTML = nextMain.innerHTML;
          document.title = next.title;
          busy = false;
          settle(answer.url);
        })
        .catch(function () {
          // The background send failed: send the form as a page instead (the server does the same work).
          busy = false;
          form.setAttribute("data-plain", "");
          if (submitter && form.requestSubmit) form.requestSubmit(submitter); else form.submit();
        });
    });

    // Put the changed row (marked by the server: a fetch does not see the redirect's #fragment) or else
    // the notice in view, give it focus, and let the address say where the page now is.
    function settle(url) {
      var target = main.querySelector("[data-focus]") || document.getElementById("fix-notice");
      history.replaceState(null, "", url.split("#")[0] + (target ? "#" + target.id : ""));
      if (!target) return;
      target.scrollIntoView({ block: "center" });
      target.focus({ preventScroll: true });
      submitOnce(main);
    }
  }

  // The confirm form's guard against a second click (static/app.js binds it on load; a swapped preview
  // brings a new form).
  function submitOnce(root) {
    Array.prototype.forEach.call(root.querySelectorAll("form[data-once]"), function (form) {
      form.addEventListener("submit", function (event) {
        if (form.getAttribute("data-submitting") === "1") { event.preventDefault(); return; }
        form.setAttribute("data-submitting", "1");
      });
    });
  }

  // ------------------------------------------------------------------------------------------- job page

  function jobPage() {
    var section = document.querySelector("[data-bulk-status]");
    if (!section || section.getAttribute("data-state") !== "running") return;
    var url = section.getAttribute("data-bulk-status");
    var cursor = section.getAttribute("data-cursor") || "";
    var field = function (name) { return section.querySelector("[data-field='" + name + "']"); };
    var label = section.querySelector("label[for='bulk-progress']");

    // Every row shown on this page and its two changing cells, found once: a poll then updates a row in
    // constant time, not with a document search per row (which at 5,000 rows froze the page for seconds).
    var rows = new Map();
    Array.prototype.forEach.call(document.querySelectorAll("tr[data-row-id]"), function (tr) {
      rows.set(tr.getAttribute("data-row-id"), {
        outcome: tr.querySelector("[data-field='outcome']"),
        message: tr.querySelector("[data-field='message']")
      });
    });
    var counts = {};
    Array.prototype.forEach.call(section.querySelectorAll("[data-count]"), function (cell) {
      counts[cell.getAttribute("data-count")] = cell;
    });

    function render(job) {
      field("state_words").textContent = job.state_words;
      field("message").textContent = job.message || (job.paused_until ? "Junction asked to slow down; sending goes on shortly." : "");
      var bar = field("progress");
      bar.max = job.total || 1;
      bar.value = job.finished;
      bar.textContent = job.percent + "%";
      field("percent").textContent = job.percent + "%";
      if (label) label.textContent = job.finished + " of " + job.total + " rows finished";
      Object.keys(job.counts).forEach(function (group) {
        if (counts[group]) counts[group].textContent = job.counts[group];
      });
      if (counts.all) counts.all.textContent = job.total + (job.counts.skipped || 0);
      field("rate").textContent = job.rate_per_minute ? job.rate_per_minute + " rows a minute" : "–";
      field("eta").textContent = job.eta_seconds !== null ? Math.round(job.eta_seconds) + " s" : "–";
      job.rows.forEach(function (row) {
        var cells = rows.get(String(row.id));
        if (!cells) return;  // a row on another page of the table
        if (cells.outcome.textContent !== row.outcome) cells.outcome.textContent = row.outcome;
        var tone = "pill outcome-" + row.tone;
        if (cells.outcome.className !== tone) cells.outcome.className = tone;
        var errors = (row.field_errors && row.field_errors.row) || [];
        var message = [row.message].concat(errors).join(" ").trim();
        if (cells.message.textContent !== message) cells.message.textContent = message;
      });
    }

    function poll() {
      var address = url + (url.indexOf("?") >= 0 ? "&" : "?") + "since=" + encodeURIComponent(cursor);
      fetch(address, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (job) {
          if (!job) return setTimeout(poll, 5000);
          render(job);
          if (job.cursor) cursor = job.cursor;
          // Once the job leaves "running", the page reloads so its buttons match what can be done next.
          if (job.state !== "running") { window.location.reload(); return; }
          setTimeout(poll, 1500);
        })
        .catch(function () { setTimeout(poll, 5000); });
    }
    setTimeout(poll, 1000);
  }

  rowFixes();
  jobPage();
})();
