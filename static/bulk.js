// Bulk job page: polls the job's JSON and updates counts, bar, rate, time left and each row's outcome.
// Without this file the page's Refresh link shows the same.
(function () {
  "use strict";
  var section = document.querySelector("[data-bulk-status]");
  if (!section || section.getAttribute("data-state") !== "running") return;
  var url = section.getAttribute("data-bulk-status");
  var field = function (name) { return section.querySelector("[data-field='" + name + "']"); };

  function render(job) {
    field("state_words").textContent = job.state_words;
    field("message").textContent = job.message || (job.paused_until ? "Junction asked to slow down; sending goes on shortly." : "");
    var bar = field("progress");
    bar.max = job.total || 1;
    bar.value = job.finished;
    bar.textContent = job.percent + "%";
    field("percent").textContent = job.percent + "%";
    var label = section.querySelector("label[for='bulk-progress']");
    if (label) label.textContent = job.finished + " of " + job.total + " rows finished";
    Object.keys(job.counts).forEach(function (group) {
      var cell = section.querySelector("[data-count='" + group + "']");
      if (cell) cell.textContent = job.counts[group];
    });
    field("rate").textContent = job.rate_per_minute ? job.rate_per_minute + " rows a minute" : "–";
    field("eta").textContent = job.eta_seconds !== null ? Math.round(job.eta_seconds) + " s" : "–";
    job.rows.forEach(function (row) {
      var tr = document.querySelector("tr[data-row-id='" + row.id + "']");
      if (!tr) return;
      var outcome = tr.querySelector("[data-field='outcome']");
      outcome.textContent = row.outcome;
      outcome.className = "pill outcome-" + row.tone;
      var errors = row.field_errors.row || [];
      tr.querySelector("[data-field='message']").textContent = [row.message].concat(errors).join(" ").trim();
    });
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job) return setTimeout(poll, 5000);
        render(job);
        // Once the job leaves "running", the page reloads so its buttons match what can be done next.
        if (job.state !== "running") { window.location.reload(); return; }
        setTimeout(poll, 1500);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
