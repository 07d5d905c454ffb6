// The time-series tool: pick a pixel on the map, ask /api/v1/timeseries for the composite of
// every period and for the raw observations behind them, and chart and tabulate both.
(function () {
  "use strict";
  const form = document.getElementById("ts-form");
  const mapDiv = document.getElementById("ts-map");
  if (!form || !mapDiv || typeof L === "undefined" || typeof TsChart === "undefined") return;

  const api = form.dataset.api;
  const sclNames = JSON.parse(document.getElementById("ts-scl-names").textContent);
  const lonInput = document.getElementById("ts-lon");
  const latInput = document.getElementById("ts-lat");
  const pixelText = document.getElementById("ts-pixel");
  const status = document.getElementById("ts-status");
  const showButton = document.getElementById("ts-show");
  const DAY = 86400000;
  const COLOURS = { B01: "#6a3d9a", B02: "#1f5fd1", B03: "#2a9d3a", B04: "#d62728",
                    B05: "#e377c2", B06: "#b0489f", B07: "#9467bd", B08: "#7f3b08",
                    B8A: "#b15928", B09: "#17becf", B11: "#8c564b", B12: "#555555",
                    NDVI: "#2e7d32", EVI: "#6a1b9a", SAVI: "#a1887f", NDWI: "#0277bd",
                    MNDWI: "#00acc1", NDMI: "#3949ab", NBR: "#d84315", NDSI: "#78909c" };
  // The index columns of an answer (NDVI, then those asked for).
  const indexColumns = (data) => (data.indices || ["ndvi"]).map((n) => n.toUpperCase());
  function indexChart(idx, rows, point, extra) {
    return { yLabel: idx.length > 1 ? "index" : "NDVI", height: 170,
             yDomain: idx.length > 1 ? [-1, 1] : [0, 1],
             series: idx.map((n) => ({ name: n, color: COLOURS[n], points: rows.map(point(n)),
                                      ...extra })) };
  }
  const NOTE_VALID = '<b class="glyph">●</b> valid';
  const NOTE_INVALID = '<b class="glyph">○</b> invalid (cloud, shadow, cirrus, no data…)';
  const NOTE_CHOSEN = '<b class="glyph">◎</b> chosen for the period\'s composite';
  const NOTE_PERIODS = '<i class="period-swatch"></i> alternate periods';

  // --- map ---------------------------------------------------------------------------------
  const map = L.map(mapDiv).setView([52.75, -7.45], 9);
  const coverage = L.featureGroup().addTo(map);
  const selection = L.featureGroup().addTo(map);
  // Land, sea and borders offline; OSM tiles only once one loads (basemap.js).
  hubBasemap.naturalEarth(map);
  hubBasemap.osmWhenReachable(map);

  // Footprints of the archive's scenes (footprints.js), for the background and to tell a user
  // who clicks outside them that the series will be empty.
  const footprints = [];

  async function showCoverage() {
    footprints.push(...await hubFootprints(mapDiv.dataset.collectionUrl, coverage));
    if (!lonInput.value && coverage.getLayers().length) {
      map.fitBounds(coverage.getBounds(), { maxZoom: 14 });
    }
  }

  function inRing(lon, lat, ring) {
    let inside = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i], [xj, yj] = ring[j];
      if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) {
        inside = !inside;
      }
    }
    return inside;
  }

  function covered(lon, lat) {
    return footprints.some((g) => {
      const polygons = g.type === "Polygon" ? [g.coordinates]
        : g.type === "MultiPolygon" ? g.coordinates : [];
      return polygons.some((rings) => inRing(lon, lat, rings[0]) &&
        !rings.slice(1).some((hole) => inRing(lon, lat, hole)));
    });
  }
  showCoverage();

  map.on("click", (e) => {
    const p = e.latlng.wrap();
    lonInput.value = p.lng.toFixed(6);
    latInput.value = p.lat.toFixed(6);
    snap(true);
    // Zoomed out, a scene is a few screen pixels: zoom in on the click so the selected pixel
    // (and its neighbours, to pick another) can be seen.
    if (map.getZoom() < 14 && covered(p.lng, p.lat)) map.setView(e.latlng, 15);
  });

  let snapping = 0;
  async function snap(moveInputs) {
    const lon = lonInput.value.trim(), lat = latInput.value.trim();
    if (!lon || !lat) return;
    const ticket = ++snapping;
    const params = new URLSearchParams({ lon, lat, resolution: value("resolution"),
                                         window: value("window") });
    try {
      const resp = await fetch(mapDiv.dataset.pixelUrl + "?" + params,
                               { credentials: "same-origin" });
      const data = await resp.json();
      if (ticket !== snapping) return;
      clearErrors(["lon", "lat"]);
      if (!resp.ok) { showError(data); return; }
      if (moveInputs) {
        lonInput.value = data.lon.toFixed(6);
        latInput.value = data.lat.toFixed(6);
      }
      selection.clearLayers();
      L.geoJSON(data.outline, { style: { color: "#d62728", weight: 2, fillOpacity: 0.15 } })
        .addTo(selection);
      L.circleMarker([data.lat, data.lon], { radius: 4, color: "#d62728", fillOpacity: 1 })
        .addTo(selection);
      if (!map.getBounds().contains([data.lat, data.lon])) map.setView([data.lat, data.lon], 14);
      const outside = footprints.length > 0 && !covered(data.lon, data.lat);
      pixelText.className = outside ? "ts-hint invalid" : "hint";
      pixelText.textContent = `Pixel centre ${data.lat.toFixed(5)}, ${data.lon.toFixed(5)} · ` +
        `EPSG:${data.epsg} x ${data.x}, y ${data.y} · ${data.resolution} m` +
        (data.window === 3 ? " · 3 × 3 window" : "") +
        (outside ? " · outside every scene of the archive: the series will be empty" : "");
    } catch (e) { /* the series request reports problems */ }
  }
  for (const input of [lonInput, latInput]) input.addEventListener("change", () => snap(false));
  for (const name of ["resolution", "window"]) {
    form.querySelectorAll(`[name=${name}]`).forEach((i) =>
      i.addEventListener("change", () => snap(false)));
  }

  // --- form --------------------------------------------------------------------------------
  function value(name) {
    const checked = form.querySelector(`[name=${name}]:checked`);
    return checked ? checked.value : form.querySelector(`[name=${name}]`).value;
  }

  function bands() {
    return [...form.querySelectorAll("[name=bands]:checked")].map((i) => i.value);
  }

  function chosenIndices() {
    return Array.from(form.querySelectorAll("input[name=indices]:checked")).map((b) => b.value);
  }

  function query(extra) {
    return new URLSearchParams({
      lon: lonInput.value.trim(), lat: latInput.value.trim(), start: value("start"),
      end: value("end"), period: value("period"), resolution: value("resolution"),
      window: value("window"), bands: bands().join(","), indices: chosenIndices().join(","),
      ...extra });
  }

  function clearErrors(fields) {
    form.querySelectorAll("p.error").forEach((p) => {
      if (fields && !fields.includes(p.dataset.field)) return;
      p.hidden = true;
      p.textContent = "";
      const box = p.closest(".field");
      if (box) box.classList.remove("has-error");
    });
  }

  function showError(data) {
    const field = data.field || "";
    const p = form.querySelector(`p.error[data-field="${field}"]`) ||
      form.querySelector('p.error[data-field=""]');
    p.textContent = data.error || "the request failed";
    p.hidden = false;
    const box = p.closest(".field");
    if (box) box.classList.add("has-error");
  }

  async function getJson(params) {
    const began = performance.now();
    const resp = await fetch(api + "?" + params, { credentials: "same-origin",
                                                   headers: { Accept: "application/json" } });
    let data;
    try { data = await resp.json(); } catch (e) {
      data = { error: `the server answered ${resp.status} ${resp.statusText}`, field: null };
    }
    return { ok: resp.ok, data, seconds: (performance.now() - began) / 1000 };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    if (!bands().length) {
      showError({ field: "bands", error: "tick at least one band" });
      return;
    }
    showButton.disabled = true;
    form.setAttribute("aria-busy", "true");
    document.querySelectorAll(".ts-result").forEach((s) => s.classList.add("loading"));
    status.className = "ts-hint busy";
    status.textContent = "Compositing every period at the pixel…";
    try {
      // Both series at once: the observations of the composite's whole periods, so each
      // composite can be traced to them.
      const params = query({ kind: "composite" });
      const obsParams = query({ kind: "observations", extent: "periods" });
      const began = performance.now();
      const pendingObs = getJson(obsParams);
      const composite = await getJson(params);
      if (!composite.ok) {
        showError(composite.data);
        status.className = "ts-hint invalid";
        status.textContent = `Not shown: ${composite.data.error}`;
        document.querySelectorAll(".ts-result").forEach((s) => s.classList.add("stale"));
        return;
      }
      document.querySelectorAll(".ts-result").forEach((s) => s.classList.remove("stale"));
      snap(false);
      renderComposite(composite.data, params);
      const rows = composite.data.rows;
      status.textContent = `Composite: ${rows.length} periods in ` +
        `${composite.seconds.toFixed(2)} s · reading the raw observations…`;
      const obs = await pendingObs;
      if (!obs.ok) {
        showError(obs.data);
        status.className = "ts-hint invalid";
        status.textContent = `Observations not shown: ${obs.data.error}`;
        return;
      }
      renderObservations(obs.data, obsParams, composite.data);
      status.className = "ts-hint done";
      status.textContent = `Composite: ${rows.length} periods in ` +
        `${composite.seconds.toFixed(2)} s · observations: ${obs.data.rows.length} in ` +
        `${obs.seconds.toFixed(2)} s · both in ` +
        `${((performance.now() - began) / 1000).toFixed(2)} s`;
    } catch (e) {
      status.className = "ts-hint invalid";
      status.textContent = "The hub could not be reached; try again.";
    } finally {
      showButton.disabled = false;
      form.removeAttribute("aria-busy");
      document.querySelectorAll(".ts-result").forEach((s) => s.classList.remove("loading"));
    }
  });

  // --- rendering ---------------------------------------------------------------------------
  const day = (iso) => Date.parse(iso.slice(0, 10) + "T00:00:00Z");
  const num = (v, d = 4) => (v === null || v === undefined ? "" : Number(v).toFixed(d));
  const plusMinus = (v, s, d = 4) => (v === null ? "–" : num(v, d) + (s === undefined ||
    s === null ? "" : " ± " + num(s, d)));
  const sclText = (scl) => (scl === null ? "" : `${scl} ${sclNames[scl] || ""}`.trim());

  // The CSV has S2GM's quality columns too (AOT, cloud and snow probability, angles), which
  // the charts do not need: they cost reads the page would otherwise wait for.
  function csvLink(id, params) {
    const p = new URLSearchParams(params);
    p.set("format", "csv");
    p.set("quality", "true");
    document.getElementById(id).href = api + "?" + p;
  }

  function table(id, headers, rows) {
    const t = document.getElementById(id);
    t.textContent = "";
    const head = t.createTHead().insertRow();
    for (const h of headers) {
      const th = document.createElement("th");
      th.textContent = h;
      head.appendChild(th);
    }
    const body = t.createTBody();
    rows.forEach((cells, i) => {
      const tr = body.insertRow();
      tr.dataset.row = i;
      for (const c of cells) {
        const td = tr.insertCell();
        if (c && typeof c === "object") { td.textContent = c.text; td.className = c.cls || ""; }
        else td.textContent = c;
      }
    });
  }

  function highlighter(tableId) {
    return (row) => document.querySelectorAll(`#${tableId} tbody tr`).forEach((tr) =>
      tr.classList.toggle("hot", String(row) === tr.dataset.row));
  }

  function periodsOf(rows) {
    return rows.map((r) => ({ from: day(r.period_start), to: day(r.period_end) + DAY }));
  }

  function renderComposite(data, params) {
    const section = document.getElementById("ts-composite");
    section.hidden = false;
    csvLink("ts-composite-csv", params);
    const rows = data.rows;
    const three = data.pixel.window === 3;
    const periods = periodsOf(rows);
    const xDomain = [periods[0].from, periods[periods.length - 1].to];
    const idx = indexColumns(data);
    const tips = rows.map((r) => {
      const lines = [`${r.period_start} – ${r.period_end}`];
      for (const b of [...data.bands, ...idx]) {
        lines.push(`${b}  ${plusMinus(r[b], three ? r[b + "_std"] : undefined)}`);
      }
      if (three) lines.push(`pixels with a value: ${r.n_pixels} of 9`);
      lines.push(`valid_obs ${r.valid_obs} of ${r.total_obs} · method ${r.method}`);
      if (r.medoid_mos !== null) lines.push(`medoid_mos ${num(r.medoid_mos)}`);
      if (r.scl !== null) lines.push(`SCL ${sclText(r.scl)}`);
      if (r.acquisition_date) lines.push(`from ${r.acquisition_date}`);
      return lines.join("\n");
    });
    const point = (b) => (r, i) => ({ t: (periods[i].from + periods[i].to) / 2, y: r[b],
                                       err: three ? r[b + "_std"] : 0, row: i, tip: tips[i] });
    const series = data.bands.map((b) => ({ name: b, color: COLOURS[b],
                                            points: rows.map(point(b)) }));
    const gaps = rows.map((r, i) => ({ r, i })).filter(({ r }) => r.method === "none")
      .map(({ i }) => ({ t: (periods[i].from + periods[i].to) / 2, row: i, tip: tips[i] }));
    const onHover = highlighter("ts-composite-table");
    TsChart.legend(document.getElementById("ts-composite-legend"),
                   [...series, ...idx.map((n) => ({ name: n, color: COLOURS[n] }))],
                   [three ? "bars: ± standard deviation over the 3 × 3 pixels" : "",
                    gaps.length ? "<b class=\"glyph\">×</b> no valid observation in the period"
                      : "", NOTE_PERIODS,
                    "method: medoid with enough valid observations, else stc (short-term " +
                    "composite)"].filter(Boolean));
    TsChart.draw(document.getElementById("ts-composite-chart"),
                 { xDomain, yLabel: "reflectance", periods, series, gaps, onHover,
                   yDomain: [0, 0.1], title: "composite reflectance per period" });
    TsChart.draw(document.getElementById("ts-composite-ndvi"),
                 { xDomain, periods, gaps, onHover, ...indexChart(idx, rows, point, {}),
                   title: `composite ${idx.join(", ")} per period` });
    const p = data.pixel;
    document.getElementById("ts-composite-about").textContent =
      `${rows.length} ${data.period} periods at the ${p.resolution} m pixel centred on ` +
      `${p.lat.toFixed(5)}, ${p.lon.toFixed(5)} (EPSG:${p.epsg} ${p.x}, ${p.y})` +
      (three ? ", mean ± std of the 3 × 3 window; quality columns of the centre pixel." : ".") +
      (rows.every((r) => r.method === "none") ? " No period has a valid observation here." : "");
    const headers = ["Period", ...data.bands, ...idx, ...(three ? ["Pixels"] : []),
                     "valid_obs", "Method", "medoid_mos", "Scene class", "Acquired", "Scene"];
    table("ts-composite-table", headers, rows.map((r) => [
      `${r.period_start} – ${r.period_end}`,
      ...[...data.bands, ...idx].map((b) => plusMinus(r[b], three ? r[b + "_std"] : undefined)),
      ...(three ? [String(r.n_pixels)] : []),
      `${r.valid_obs} / ${r.total_obs}`, { text: r.method, cls: "method-" + r.method },
      num(r.medoid_mos), sclText(r.scl), r.acquisition_date || "",
      { text: r.scene_id || "", cls: "scene" },
    ]));
  }

  function renderObservations(data, params, composite) {
    const section = document.getElementById("ts-observations");
    section.hidden = false;
    csvLink("ts-observations-csv", params);
    const rows = data.rows;
    const periods = periodsOf(composite.rows);
    const xDomain = [periods[0].from, periods[periods.length - 1].to];
    // An observation "made" a period's composite when it is the one the composite took.
    const chosen = new Set(composite.rows.filter((r) => r.method !== "none" && r.scene_id)
      .map((r) => `${r.acquisition_date}|${r.scene_id}`));
    const used = rows.map((r) => chosen.has(`${r.date}|${r.scene_id}`));
    const idx = indexColumns(data);
    const tips = rows.map((r, i) => [
      `${r.datetime.slice(0, 19).replace("T", " ")} UTC`,
      `${r.scene_id || ""}`,
      ...[...data.bands, ...idx].map((b) => `${b}  ${r[b] === null ? "–" : num(r[b])}`),
      `SCL ${sclText(r.scl)} · ${r.valid ? "valid" : "invalid"}` +
        (used[i] ? " · chosen for the composite" : ""),
    ].join("\n"));
    const point = (b) => (r, i) => ({ t: Date.parse(r.datetime), y: r[b], hollow: !r.valid,
                                       ring: used[i], row: i, tip: tips[i] });
    const series = data.bands.map((b) => ({ name: b, color: COLOURS[b], line: "filled",
                                            points: rows.map(point(b)) }));
    const onHover = highlighter("ts-observations-table");
    TsChart.legend(document.getElementById("ts-observations-legend"),
                   [...series, ...idx.map((n) => ({ name: n, color: COLOURS[n] }))],
                   [NOTE_VALID, NOTE_INVALID, NOTE_CHOSEN, NOTE_PERIODS]);
    TsChart.draw(document.getElementById("ts-observations-chart"),
                 { xDomain, yLabel: "reflectance", periods, series, onHover, yDomain: [0, 0.1],
                   title: "reflectance of every L2A observation" });
    TsChart.draw(document.getElementById("ts-observations-ndvi"),
                 { xDomain, periods, onHover, ...indexChart(idx, rows, point, { line: "filled" }),
                   title: `${idx.join(", ")} of every L2A observation` });
    const valid = rows.filter((r) => r.valid).length;
    document.getElementById("ts-observations-about").textContent =
      `${rows.length} acquisitions with data at the centre pixel from ${data.start} ` +
      `to ${data.end}, ${valid} of them valid. Lines join the valid ones.` +
      (rows.length ? "" : " No scene of the archive has data here: pick a pixel inside the " +
                          "blue scene footprints on the map.");
    table("ts-observations-table",
          ["Date", "Tile", ...data.bands, ...idx, "Scene class", "Valid", "Composite", "Scene"],
          rows.map((r, i) => [
            r.date, r.tile || "", ...[...data.bands, ...idx].map((b) => num(r[b])),
            sclText(r.scl), { text: r.valid ? "valid" : "invalid",
                              cls: r.valid ? "valid" : "invalid" },
            used[i] ? "chosen" : "", { text: r.scene_id || "", cls: "scene" },
          ]));
  }
})();
