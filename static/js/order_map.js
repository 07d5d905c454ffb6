// The ordering dialogue's map: draw or show the AOI, with a background that works offline
// (land, sea and borders, a graticule, the AOI outline and the user's own finished products'
// quicklooks) and OpenStreetMap tiles only when they can be reached (basemap.js).
(function () {
  "use strict";
  const form = document.querySelector("form.order");
  const aoiField = document.getElementById("id_aoi");
  const mapDiv = document.getElementById("aoi-map");
  if (!form || !aoiField || !mapDiv || typeof L === "undefined") return;

  const AOI_STYLE = { color: "#d9480f", weight: 2, fillOpacity: 0.08 };
  // No zoom animation: it would scale the panes under the corner-placed quicklooks.
  const map = L.map(mapDiv, { zoomControl: true, zoomAnimation: false }).setView([52.75, -7.2], 7);
  map.attributionControl.setPrefix("Leaflet");
  const scenes = L.featureGroup().addTo(map);  // where the archive has data (footprints.js)
  const drawn = new L.FeatureGroup().addTo(map);
  const products = L.layerGroup().addTo(map);
  const layers = L.control.layers({}, { "Area of interest": drawn, "My products": products,
                                        "Archive scenes": scenes },
                                  { collapsed: false }).addTo(map);
  hubFootprints(mapDiv.dataset.collectionUrl, scenes).then((found) => {
    scenes.bringToBack();
    mapDiv.dataset.footprints = String(found.length);
  });
  map.addControl(new L.Control.Draw({
    draw: { polyline: false, circle: false, marker: false, circlemarker: false,
            rectangle: { shapeOptions: AOI_STYLE },
            polygon: { allowIntersection: false, shapeOptions: AOI_STYLE } },
    edit: { featureGroup: drawn },
  }));

  // ---------------------------------------------------------------- offline background
  const graticule = L.layerGroup().addTo(map);
  function drawGraticule() {
    graticule.clearLayers();
    const z = map.getZoom();
    const step = z >= 9 ? 0.1 : z >= 7 ? 0.5 : z >= 5 ? 1 : z >= 3 ? 5 : 10;
    const b = map.getBounds().pad(0.2);
    const style = { color: "#8aa1ab", weight: 0.6, opacity: 0.7, interactive: false };
    const west = Math.max(-180, Math.floor(b.getWest() / step) * step);
    const east = Math.min(180, b.getEast());
    const south = Math.max(-85, Math.floor(b.getSouth() / step) * step);
    const north = Math.min(85, b.getNorth());
    for (let lon = west; lon <= east; lon += step) {
      graticule.addLayer(L.polyline([[south, lon], [north, lon]], style));
    }
    for (let lat = south; lat <= north; lat += step) {
      graticule.addLayer(L.polyline([[lat, west], [lat, east]], style));
    }
  }
  map.on("moveend", drawGraticule);
  drawGraticule();

  // Land, sea and borders offline; OSM tiles only once one loads.
  hubBasemap.naturalEarth(map);
  hubBasemap.osmWhenReachable(map, (osm) => layers.addBaseLayer(osm, "OpenStreetMap"));

  let productBounds = null;
  async function loadQuicklooks() {
    try {
      const resp = await fetch(form.dataset.quicklooksUrl, { credentials: "same-origin" });
      if (!resp.ok) return;
      const data = await resp.json();
      for (const p of data.results) {
        const [w, s, e, n] = p.bounds;
        const bounds = L.latLngBounds([s, w], [n, e]);
        const look = { opacity: 0.9, alt: `quicklook of ${p.name}`, className: "product-overlay" };
        let outline;
        if (p.corners) {  // the grid's own corners: a UTM quicklook sits rotated, as it is
          const [tl, tr, bl] = p.corners;
          const br = [tr[0] + bl[0] - tl[0], tr[1] + bl[1] - tl[1]];
          L.cornerImage(p.quicklook, p.corners, look).addTo(products);
          outline = L.polygon([tl, tr, br, bl]);
        } else {  // no metadata: the AOI's box, which the grid covers up to a pixel
          L.imageOverlay(p.quicklook, bounds, look).addTo(products);
          outline = L.rectangle(bounds);
        }
        outline.setStyle({ color: "#12394a", weight: 1, fill: false });
        outline.bindTooltip(`${p.name}: ${p.start} to ${p.end}`).addTo(products);
        productBounds = productBounds ? productBounds.extend(bounds) : bounds;
      }
      mapDiv.dataset.products = String(data.results.length);
      if (productBounds && !drawn.getLayers().length) {
        map.fitBounds(productBounds, { maxZoom: 13 });
      }
    } catch (e) { /* the overlays are a background; the page works without them */ }
  }

  // ---------------------------------------------------------------- the AOI
  // Show a GeoJSON geometry as the AOI; fit the view when asked.
  function showGeometry(geojson, fit) {
    drawn.clearLayers();
    try {
      L.geoJSON(geojson, { style: AOI_STYLE }).eachLayer((l) => drawn.addLayer(l));
      if (fit && drawn.getLayers().length) map.fitBounds(drawn.getBounds(), { maxZoom: 13 });
    } catch (e) { /* not a geometry: the server says why */ }
  }

  // Text typed in the AOI box: GeoJSON and bboxes are drawn here; anything else (a tile id)
  // is drawn from the preview's answer, which says what the server understood.
  function showText(text) {
    const t = text.trim();
    if (!t) { drawn.clearLayers(); return; }
    if (t[0] === "{") {
      try { showGeometry(JSON.parse(t), true); } catch (e) { /* the server says why */ }
      return;
    }
    const v = t.split(",").map(Number);
    if (v.length === 4 && !v.some(isNaN)) {
      showGeometry({ type: "Polygon", coordinates: [[[v[0], v[1]], [v[2], v[1]], [v[2], v[3]],
                                                    [v[0], v[3]], [v[0], v[1]]]] }, true);
    } else {
      drawn.clearLayers();
    }
  }

  function fromDrawing() {
    const drawnLayers = drawn.getLayers();
    if (!drawnLayers.length) return;
    aoiField.value = JSON.stringify(drawnLayers[drawnLayers.length - 1].toGeoJSON().geometry);
    form.dispatchEvent(new CustomEvent("aoi:changed"));
  }

  map.on(L.Draw.Event.CREATED, (e) => { drawn.clearLayers(); drawn.addLayer(e.layer);
                                        fromDrawing(); });
  map.on(L.Draw.Event.EDITED, fromDrawing);
  map.on(L.Draw.Event.DELETED, () => { aoiField.value = "";
                                       form.dispatchEvent(new CustomEvent("aoi:changed")); });
  aoiField.addEventListener("change", () => showText(aoiField.value));

  window.orderMap = { showGeometry, showText };
  showText(aoiField.value);
  loadQuicklooks();
})();
