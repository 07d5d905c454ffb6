// Live status of active requests: poll the REST API and update their rows in place (status,
// queue position, progress, time taken, files, expiry, quicklook and the actions that apply).
(function () {
  "use strict";
  const POLL_MS = 2000;
  const active = (s) => s === "QUEUED" || s === "RUNNING";

  // The same wording as the server-rendered page (hub/mosaics/listing.py, filesizeformat).
  function duration(ms) {
    let s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + " s";
    let m = Math.floor(s / 60); s %= 60;
    if (m < 60) return m + " min " + String(s).padStart(2, "0") + " s";
    const h = Math.floor(m / 60); m %= 60;
    return h + " h " + String(m).padStart(2, "0") + " min";
  }

  function fileSize(n) {
    if (n < 1024) return n + (n === 1 ? " byte" : " bytes");
    const units = ["KB", "MB", "GB", "TB", "PB"];
    let v = n / 1024, i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return v.toFixed(1) + " " + units[i];
  }

  function setText(row, selector, text) {
    const el = row.querySelector(selector);
    if (el) el.textContent = text;
  }

  function timeTaken(data) {
    if (!data.started) return "";
    const end = data.finished ? Date.parse(data.finished) : Date.now();
    return duration(end - Date.parse(data.started));
  }

  function quicklook(data) {
    return data.files.find((f) => !f.name.includes("/") && /^quicklook.*\.png$/i.test(f.name))
      || data.files.find((f) => !f.name.includes("/") && /\.png$/i.test(f.name));
  }

  function showThumb(row, data) {
    const cell = row.querySelector("td.thumb");
    const file = data.status === "DONE" ? quicklook(data) : null;
    if (!cell || !file || cell.querySelector("img")) return;
    const link = document.createElement("a");
    link.href = "/requests/" + row.dataset.request + "/";
    const img = document.createElement("img");
    img.src = file.href;
    img.alt = "quicklook of " + data.options.name;
    link.appendChild(img);
    cell.appendChild(link);
  }

  function update(row, data) {
    const wasActive = active(row.dataset.status);
    row.dataset.status = data.status;
    row.className = row.className.replace(/\bstatus-\w+/, "") + " status-" + data.status.toLowerCase();
    const badge = row.querySelector(".badge");
    badge.textContent = data.status_label;
    badge.className = "badge " + data.status.toLowerCase();
    setText(row, ".queue", data.queue_position ? data.queue_position + " in queue" : "");
    const bar = row.querySelector("progress");
    bar.value = data.progress;
    bar.hidden = data.status !== "RUNNING";
    setText(row, ".pct", data.status === "RUNNING" ? Math.round(data.progress) + " %" : "");
    // "20 of 49 chunks": a large order is seen to move between two percent steps.
    const chunks = row.querySelector(".chunks-line");
    if (chunks) {
      chunks.hidden = data.status !== "RUNNING" || !data.chunks || data.chunks.total < 2;
      chunks.textContent = data.chunks ? `${data.chunks.done} of ${data.chunks.total} chunks` : "";
    }
    // As the page's truncatechars:140 (the list only; the product page gives all of it).
    const error = data.error || "";
    setText(row, ".reason", row.closest("table.list") && error.length > 140
      ? error.slice(0, 139) + "…" : error);
    const why = row.querySelector(".why");
    if (why) why.hidden = data.status !== "FAILED";
    const taken = timeTaken(data);
    const takenLine = row.querySelector(".taken-line");
    if (takenLine) {
      takenLine.hidden = !taken;
      takenLine.textContent = (data.status === "RUNNING" ? "running for " : "took ") + taken;
    } else {
      setText(row, ".taken", taken || "–");
    }
    if (data.files.length) {
      const total = data.files.reduce((sum, f) => sum + f.size, 0);
      setText(row, "td.files .count", data.files.length + (data.files.length === 1 ? " file" : " files"));
      setText(row, "td.files .size", fileSize(total));
    }
    const expiry = row.querySelector(".expiry");
    if (expiry && data.expires) {
      const date = document.createElement("span");
      date.className = "nowrap";
      date.textContent = data.expires.slice(0, 10);
      expiry.replaceChildren("expires ", date);
    }
    showThumb(row, data);
    row.querySelectorAll(".cancel").forEach((el) => { el.hidden = !active(data.status); });
    row.querySelectorAll(".delete, .reorder").forEach((el) => { el.hidden = active(data.status); });
    if (wasActive && !active(data.status) && document.getElementById("request-status")) {
      window.location.reload();  // the product page shows the new map, metadata and files
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

  // Deleting removes the product's files for good: ask first.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.delete");
    if (!button) return;
    const row = button.closest("tr[data-request]");
    const name = row ? row.dataset.name : "this request";
    if (!window.confirm("Delete " + name + " and its files?")) event.preventDefault();
  });

  window.setTimeout(poll, POLL_MS);
})();
