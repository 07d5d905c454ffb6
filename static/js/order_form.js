// The ordering dialogue's form: a live preview (area, scenes, CRS, size) with errors next to
// their field, band and CRS shortcuts, AOI upload and MGRS tile ids.
(function () {
  "use strict";
  const form = document.querySelector("form.order");
  const aoiField = document.getElementById("id_aoi");
  if (!form || !aoiField) return;
  const summary = document.getElementById("order-summary");
  const warning = document.getElementById("order-warning");
  // Set by the preview where little or nothing of the AOI has scenes: the confirmation says so.
  let confirmText = null;
  const estimate = document.getElementById("order-estimate");
  const crsResolved = document.getElementById("crs-resolved");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const map = () => window.orderMap;

  function humanSize(b) {
    if (b >= 1e9) return (b / 1e9).toFixed(1) + " GB";
    if (b >= 1e6) return (b / 1e6).toFixed(1) + " MB";
    return Math.max(1, Math.round(b / 1e3)) + " kB";
  }

  // Errors found while typing go under their field, like the server's errors on submit.
  function clearLiveErrors() {
    form.querySelectorAll(".live-error").forEach((p) => {
      p.hidden = true;
      p.textContent = "";
      p.closest(".field").classList.remove("live-invalid");
    });
  }
  function showLiveError(field, message) {
    const p = form.querySelector(`.live-error[data-field="${field}"]`);
    if (!p) return false;
    p.textContent = message;
    p.hidden = false;
    p.closest(".field").classList.add("live-invalid");
    return true;
  }

  // ---------------------------------------------------------------- live preview
  let pending = null;
  let fittedText = null;
  let sequence = 0;
  function refresh() {
    window.clearTimeout(pending);
    pending = window.setTimeout(preview, 300);
  }

  // The figures of the form as it is now: {ok, data}, or null where there is no AOI yet, a
  // newer preview overtook this one or the hub could not be asked.
  async function preview() {
    if (!aoiField.value.trim()) return null;
    const mine = ++sequence;
    // POST: an uploaded AOI can be far longer than a URL may be.
    const body = new FormData(form);
    try {
      const resp = await fetch(form.dataset.previewUrl, {
        method: "POST", body, credentials: "same-origin", headers: { "X-CSRFToken": csrf },
      });
      const data = await resp.json();
      if (mine !== sequence) return null;  // a newer preview is on its way
      clearLiveErrors();
      confirmText = null;
      warning.hidden = true;
      if (!resp.ok) {
        const where = data.field && showLiveError(data.field, data.error);
        summary.textContent = data.field ? `${fieldName(data.field)}: ${data.error}` : data.error;
        summary.className = "summary invalid";
        estimate.textContent = where ? "Correct the field marked in red to see the estimate."
                                     : data.error;
        crsResolved.textContent = "";
        return { ok: false, data };
      }
      const down = Object.keys(data.archive_errors || {});
      const unreachable = down.length ? ` · not reachable now: ${down.join(", ")}` : "";
      const periods = data.change
        ? `${data.start} to ${data.end} compared with ${data.compare_start} to ` +
          `${data.compare_end} · ${scenesText(data, "")} and ${scenesText(data, "compare_")}` +
          `${unreachable} · ${coveredText(data, "")} and ${coveredText(data, "compare_")} covered`
        : `${data.start} to ${data.end} · ${scenesText(data, "")}${unreachable} · ` +
          `${coveredText(data, "")} covered`;
      summary.textContent = `AOI ${data.area_km2} km² · ${periods} · ` +
        `EPSG:${data.epsg} ${data.crs_name} · ` +
        `${data.width} × ${data.height} px · ${data.delivery}`;
      summary.className = data.fits_storage ? "summary" : "summary invalid";
      const read = data.change
        ? `${scenesText(data, "")} from ${data.start} to ${data.end} and ` +
          `${scenesText(data, "compare_")} from ${data.compare_start} to ${data.compare_end}`
        : `${scenesText(data, "")} from ${data.start} to ${data.end}`;
      estimate.textContent = `This order ${data.delivery} (${data.width} × ${data.height} px, ` +
        `${read})` +
        (data.fits_storage ? "" : `. Product storage has only ${humanSize(data.free_bytes)} ` +
          "free: too little to make it.");
      const suggested = data.epsg === data.utm_epsg ? " (the AOI's UTM zone)" :
        ` · suggested: EPSG:${data.utm_epsg} ${data.utm_name}`;
      crsResolved.textContent = `EPSG:${data.epsg} · ${data.crs_name}${suggested}`;
      if (data.warning) {
        warning.textContent = data.warning.message;
        warning.hidden = false;
        if (data.confirm) confirmText = data.warning.message;
      }
      if (data.aoi_geometry && map()) {
        const text = aoiField.value.trim();
        map().showGeometry(data.aoi_geometry, text !== fittedText);
        fittedText = text;
      }
      return { ok: true, data };
    } catch (e) { /* offline or server busy: keep the last summary */ }
    return null;
  }

  // "12 L2A scenes (earth-search 8, local 12)": one period's scenes, keyed by its prefix in
  // the preview ("" for the first period, "compare_" for a change order's second).
  function scenesText(d, prefix) {
    const counts = Object.entries(d[`${prefix}scenes_by_archive`] || {});
    const perArchive = counts.length > 1
      ? ` (${counts.map(([name, n]) => `${name} ${n === null ? "?" : n}`).join(", ")})` : "";
    return `${d[`${prefix}scenes`]} L2A scenes${perArchive}`;
  }
  function coveredText(d, prefix) {
    return `${d[`${prefix}coverage_complete`] ? "" : "at least "}` +
      `${Math.round(d[`${prefix}coverage`] * 100)}%`;
  }

  function fieldName(field) {
    const label = form.querySelector(`#field-${field} label`);
    return label ? label.textContent : field;
  }

  form.addEventListener("change", refresh);
  form.addEventListener("aoi:changed", refresh);

  // ---------------------------------------------------------------- confirmation step
  // As S2GM did: what the order will be, then Generate or Cancel. An order the preview
  // cannot describe (a field in error, the hub unreachable) goes to the server, which says why.
  const dialog = document.getElementById("order-confirm");
  let confirmed = false;

  function humanDuration(s) {
    if (s < 60) return `${Math.max(1, Math.round(s))} s`;
    if (s < 3600) return `${Math.round(s / 60)} min`;
    const h = Math.floor(s / 3600);
    return `${h} h ${String(Math.round((s % 3600) / 60)).padStart(2, "0")} min`;
  }
  function chosen(name) {
    return Array.from(form.querySelectorAll(`input[name=${name}]:checked`)).map((b) => b.value);
  }
  function selectedText(id) {
    const select = document.getElementById(id);
    return select && select.selectedIndex >= 0 ? select.options[select.selectedIndex].text : "";
  }
  function confirmRows(d) {
    const bands = chosen("bands");
    const aux = chosen("aux");
    const time = d.estimated_seconds === null
      ? "not measured yet: no order has finished on this hub"
      : `about ${humanDuration(d.estimated_seconds)} of processing, at the rate measured on ` +
        `${d.rate_orders} finished order${d.rate_orders === 1 ? "" : "s"} of this hub ` +
        "(waiting in the queue comes on top)";
    const periodRows = d.change ? [
      ["Period", `${d.start} to ${d.end} (${selectedText("id_period")})`],
      ["Compared with", `${d.compare_start} to ${d.compare_end}`],
      ["Coverage", `${coveredText(d, "")} of the area has scenes in the first period, ` +
        `${coveredText(d, "compare_")} in the second`],
      ["Scenes", `${scenesText(d, "")} in the first period, ` +
        `${scenesText(d, "compare_")} in the second`],
      ["Change", `significant at ${+(d.confidence * 100).toPrecision(8)}% confidence · ` +
        `${d.change_classes} class${d.change_classes === 1 ? "" : "es"} of change`],
    ] : [
      ["Period", `${d.start} to ${d.end} (${selectedText("id_period")})`],
      ["Coverage", `${coveredText(d, "")} of the area has scenes in this period`],
      ["Scenes", scenesText(d, "")],
    ];
    return [
      ["Name", form.querySelector("#id_name").value.trim() || "mosaic"],
      ["Area", `${d.area_km2.toLocaleString("en")} km²`],
      ...periodRows,
      ["Grid", `EPSG:${d.epsg} ${d.crs_name} · ${selectedText("id_resolution")} · ` +
        `${d.width.toLocaleString("en")} × ${d.height.toLocaleString("en")} px`],
      // The server's bands: a change order without any compares its default set.
      ["Bands", (d.change ? d.bands.join(", ") : (bands.length ? bands.join(", ") : "none")) +
        (aux.length ? ` · layers: ${aux.join(", ")}` : "")],
      ["Files", `${selectedText("id_format")} · ` +
        (d.tiles ? `${d.tiles} MGRS tiles` : "one product")],
      ["Size", `about ${humanSize(d.estimated_bytes)}` + (d.fits_storage ? ""
        : ` · product storage has only ${humanSize(d.free_bytes)} free`)],
      ["Time", time],
    ];
  }
  function showConfirmation(d) {
    const list = document.getElementById("order-confirm-summary");
    list.replaceChildren();
    confirmRows(d).forEach(([term, value]) => {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = term;
      dd.textContent = value;
      dd.dataset.row = term.toLowerCase();
      list.append(dt, dd);
    });
    document.getElementById("order-confirm-title").textContent =
      d.change ? "Generate this change product?" : "Generate this mosaic?";
    const warn = document.getElementById("order-confirm-warning");
    warn.textContent = confirmText || "";
    warn.hidden = !confirmText;
    dialog.showModal();
    document.getElementById("order-generate").focus();
  }
  function placeOrder() {
    confirmed = true;
    if (dialog.open) dialog.close();
    form.submit();
  }

  form.addEventListener("submit", async (event) => {
    if (confirmed || !dialog || typeof dialog.showModal !== "function") return;
    event.preventDefault();
    window.clearTimeout(pending);
    const shown = await preview();
    if (shown && shown.ok) showConfirmation(shown.data);
    else placeOrder();
  });
  if (dialog) {
    document.getElementById("order-generate").addEventListener("click", placeOrder);
    document.getElementById("order-cancel").addEventListener("click", () => dialog.close());
  }

  // ---------------------------------------------------------------- band presets
  const bandBoxes = () => Array.from(form.querySelectorAll("input[name=bands]"));
  form.querySelectorAll("button[data-bands]").forEach((button) => {
    button.addEventListener("click", () => {
      const wanted = button.dataset.bands === "*" ? null : button.dataset.bands.split(",");
      bandBoxes().forEach((box) => { box.checked = wanted === null || wanted.includes(box.value); });
      refresh();
    });
  });

  // ---------------------------------------------------------------- CRS shortcuts
  const crsField = document.getElementById("id_crs");
  form.querySelectorAll("button[data-crs]").forEach((button) => {
    button.addEventListener("click", () => { crsField.value = button.dataset.crs; refresh(); });
  });
  crsField.addEventListener("input", refresh);

  // ---------------------------------------------------------------- AOI from a file
  const fileInput = document.getElementById("aoi-file");
  const fileNote = document.getElementById("aoi-file-note");
  fileInput.addEventListener("change", async () => {
    const file = fileInput.files[0];
    clearLiveErrors();
    fileNote.hidden = true;
    if (!file) return;
    const body = new FormData();
    body.append("aoi_file", file);
    try {
      const resp = await fetch(form.dataset.uploadUrl, {
        method: "POST", body, credentials: "same-origin", headers: { "X-CSRFToken": csrf },
      });
      const data = await resp.json();
      if (!resp.ok) { showLiveError("aoi_file", data.error); return; }
      aoiField.value = JSON.stringify(data.geometry);
      if (map()) map().showGeometry(data.geometry, true);
      const ignored = data.ignored ? `, ${data.ignored} points or lines ignored` : "";
      const repaired = data.repaired ? ", invalid rings repaired" : "";
      const crs = data.source_crs === "WGS 84" ? "" : `, reprojected from ${data.source_crs}`;
      fileNote.textContent = `${file.name}: ${data.polygons} polygon(s) from ${data.kind}, ` +
        `${data.area_km2} km²${ignored}${repaired}${crs}`;
      fileNote.hidden = false;
      fittedText = aoiField.value.trim();
      refresh();
    } catch (e) {
      showLiveError("aoi_file", "the upload failed; is the hub reachable?");
    }
  });

  // ---------------------------------------------------------------- AOI from a tile id
  const tileInput = document.getElementById("tile-id");
  function useTile() {
    const id = tileInput.value.trim().toUpperCase();
    if (!id) return;
    aoiField.value = id;  // the server computes the footprint; the preview draws it
    fileInput.value = "";
    fileNote.hidden = true;
    aoiField.dispatchEvent(new Event("change", { bubbles: true }));
  }
  document.getElementById("use-tile").addEventListener("click", useTile);
  tileInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); useTile(); }
  });

  // After a refused order, bring the first field in error into view.
  const firstError = form.querySelector(".has-error");
  if (firstError) firstError.scrollIntoView({ block: "center" });
  if (aoiField.value.trim()) refresh();
})();
