// The ordering dialogue's map: draw or show the AOI, and preview the order as it is typed.
(function () {
  "use strict";
  const form = document.querySelector("form.order");
  const aoiField = document.getElementById("id_aoi");
  const mapDiv = document.getElementById("aoi-map");
  const summary = document.getElementById("order-summary");
  if (!form || !aoiField || !mapDiv || typeof L === "undefined") return;

  const map = L.map(mapDiv, { zoomControl: true }).setView([52.75, -7.2], 8);
  // OpenStreetMap when it is reachable; offline the AOI outline stays on a plain background.
  L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 18, attribution: "© OpenStreetMap contributors",
  }).addTo(map);
  const drawn = new L.FeatureGroup().addTo(map);
  map.addControl(new L.Control.Draw({
    draw: { polyline: false, circle: false, marker: false, circlemarker: false,
            rectangle: { shapeOptions: { color: "#1f6f8b" } },
            polygon: { allowIntersection: false, shapeOptions: { color: "#1f6f8b" } } },
    edit: { featureGroup: drawn },
  }));

  function showAoi(text) {
    drawn.clearLayers();
    let geojson = null;
    const t = text.trim();
    if (!t) return;
    if (t[0] === "{") {
      try { geojson = JSON.parse(t); } catch (e) { return; }
    } else {
      const v = t.split(",").map(Number);
      if (v.length !== 4 || v.some(isNaN)) return;
      geojson = { type: "Polygon", coordinates: [[[v[0], v[1]], [v[2], v[1]], [v[2], v[3]],
                                                  [v[0], v[3]], [v[0], v[1]]]] };
    }
    try {
      const layer = L.geoJSON(geojson, { style: { color: "#1f6f8b" } });
      layer.eachLayer((l) => drawn.addLayer(l));
      map.fitBounds(drawn.getBounds(), { maxZoom: 13 });
    } catch (e) { /* not a geometry: the server says why on submit */ }
  }

  function fromDrawing() {
    const layers = drawn.getLayers();
    if (!layers.length) return;
    aoiField.value = JSON.stringify(layers[layers.length - 1].toGeoJSON().geometry);
    refresh();
  }

  map.on(L.Draw.Event.CREATED, (e) => { drawn.clearLayers(); drawn.addLayer(e.layer);
                                        fromDrawing(); });
  map.on(L.Draw.Event.EDITED, fromDrawing);
  aoiField.addEventListener("change", () => { showAoi(aoiField.value); refresh(); });

  let pending = null;
  function refresh() {
    window.clearTimeout(pending);
    pending = window.setTimeout(async () => {
      const params = new URLSearchParams(new FormData(form));
      params.delete("csrfmiddlewaretoken");
      try {
        const resp = await fetch("/requests/preview?" + params.toString(),
                                 { credentials: "same-origin" });
        const data = await resp.json();
        if (!resp.ok) {
          summary.textContent = data.field ? `${data.field}: ${data.error}` : data.error;
          summary.className = "summary invalid";
          return;
        }
        const b = data.estimated_bytes;
        const size = b >= 1e9 ? (b / 1e9).toFixed(1) + " GB" : b >= 1e6 ?
          (b / 1e6).toFixed(1) + " MB" : Math.max(1, Math.round(b / 1e3)) + " kB";
        summary.textContent = `AOI ${data.area_km2} km² · ${data.start} to ${data.end} · ` +
          `${data.scenes} L2A scenes · EPSG:${data.epsg} ${data.crs_name} · ` +
          `${data.width} × ${data.height} px · about ${size}`;
        summary.className = "summary";
      } catch (e) { /* offline or server busy: keep the last summary */ }
    }, 300);
  }
  form.addEventListener("change", refresh);
  showAoi(aoiField.value);
  if (aoiField.value.trim()) refresh();
})();
