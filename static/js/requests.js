// Live status of active requests: poll the REST API and update rows in place.
(function () {
  "use strict";
  const POLL_MS = 2000;
  const active = (s) => s === "QUEUED" || s === "RUNNING";

  function update(row, data) {
    const wasActive = active(row.dataset.status);
    row.dataset.status = data.status;
    const badge = row.querySelector(".badge");
    badge.textContent = data.status_label;
    badge.className = "badge " + data.status.toLowerCase();
    const bar = row.querySelector("progress");
    bar.value = data.progress;
    bar.hidden = !active(data.status);
    row.querySelector(".pct").textContent = active(data.status) ? Math.round(data.progress) + " %" : "";
    row.querySelector(".reason").textContent = data.error || "";
    const action = row.querySelector("form button");
    if (action) action.textContent = active(data.status) ? "Cancel" : "Delete";
    if (wasActive && !active(data.status) && document.getElementById("request-status")) {
      window.location.reload();  // the detail page lists the new files
    }
  }

  async function poll() {
    const rows = Array.from(document.querySelectorAll("tr[data-request]"))
      .filter((row) => active(row.dataset.status));
    if (!rows.length) return;
    await Promise.all(rows.map(async (row) => {
      try {
        const resp = await fetch("/api/v1/mosaics/" + row.dataset.request,
                                 { credentials: "same-origin" });
        if (resp.ok) update(row, await resp.json());
      } catch (err) { /* the next poll tries again */ }
    }));
    window.setTimeout(poll, POLL_MS);
  }
  window.setTimeout(poll, POLL_MS);
})();
