// Live progress for an import on the Imports page. The page works without this script
// (it shows the run as it was, with a Refresh link); with it, the <progress> bar and the
// counts follow GET /api/v1/xero/runs/{id} until the run finishes, then the page loads
// once more to show each type's new counts.
(function () {
  "use strict";
  var box = document.querySelector("[data-run-url]");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-run-url");
  var bar = box.querySelector("[data-run-progress]");
  var status = box.querySelector("[data-run-status]");
  var step = box.querySelector("[data-run-step]");
  var error = box.querySelector("[data-run-error]");
  var done = box.getAttribute("data-done-url");
  var labels = JSON.parse(box.getAttribute("data-labels") || "{}");
  var words = { queued: "Waiting to start", running: "Running", succeeded: "Finished",
                partial: "Finished with problems", failed: "Failed" };
  var delay = 1000;

  function show(run) {
    var p = run.progress || {};
    var steps = p.steps || (run.record_types || []).length || 1;
    var finished = run.finished_at !== null;
    bar.max = steps;
    bar.value = finished ? steps : Math.max((p.step || 0) - 1, 0) + (p.total ? (p.done || 0) / p.total : 0);
    bar.textContent = Math.round(bar.value) + " of " + steps + " types";
    status.textContent = words[run.status] || run.status;
    status.className = "status status-" + run.status;
    step.textContent = (!finished && p.record_type)
      ? (labels[p.record_type] || p.record_type) + " (step " + p.step + " of " + steps + ")" +
        (p.total ? ": " + (p.done || 0) + " of " + p.total + " records" : "")
      : "";
    Object.keys(run.counts || {}).forEach(function (name) {
      var cell = box.querySelector('[data-count="' + name + '"]');
      if (cell) { cell.textContent = Number(run.counts[name]).toLocaleString(); }
    });
    if (run.error) { error.textContent = run.error; error.hidden = false; }
    return finished;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (run) {
        if (show(run)) { window.location.assign(done); return; }
        delay = 1000;
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        // Keep the Refresh link; try again a little later (the server may be restarting).
        delay = Math.min(delay * 2, 15000);
        window.setTimeout(poll, delay);
      });
  }

  poll();
})();
