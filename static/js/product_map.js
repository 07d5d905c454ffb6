// The product page's map: the quicklook placed by its grid's corners over the ordered area.
// Works offline: the quicklook, the outline and the land and borders under them are the hub's
// own; OSM tiles appear when reachable.
(function () {
  "use strict";
  const element = document.getElementById("product-map");
  const source = document.getElementById("product-map-data");
  if (!element || !source || typeof L === "undefined") return;
  const data = JSON.parse(source.textContent);

  // Zoom animation would scale the panes under an image placed by its own transform.
  const map = L.map(element, { zoomAnimation: false });
  hubBasemap.naturalEarth(map);  // land, sea and borders offline (basemap.js)
  hubBasemap.osmWhenReachable(map);  // credited only once a tile has loaded
  L.control.scale({ imperial: false }).addTo(map);

  const overlays = {};
  let bounds = null;
  if (data.quicklook) {
    const quicklook = L.cornerImage(data.quicklook.url, data.quicklook.corners,
                                      { className: "quicklook", alt: "true-colour quicklook" });
    quicklook.addTo(map);
    overlays.Quicklook = quicklook;
    bounds = quicklook.getBounds();
  }
  if (data.aoi) {
    const outline = L.geoJSON(data.aoi, {
      style: { color: "#e8590c", weight: 2, fill: false, dashArray: "6 4" },
    }).addTo(map);
    overlays[data.aoi_label || "Ordered area"] = outline;  // a catalogue item: its footprint
    bounds = bounds ? bounds.extend(outline.getBounds()) : outline.getBounds();
  }
  if (bounds && bounds.isValid()) {
    map.fitBounds(bounds, { padding: [24, 24] });
  } else {
    map.setView([0, 0], 2);
  }
  L.control.layers(null, overlays, { collapsed: false }).addTo(map);
})();
