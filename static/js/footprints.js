// Where the hub's own archive has scenes: the distinct footprints of its items (its STAC API,
// a few pages of them), drawn into a layer of the order and time-series maps. Where the
// items cannot be listed, the collection's extent is outlined instead.
(function () {
  "use strict";
  const MAX_ITEM_PAGES = 5;
  const STYLE = { color: "#1f6f8b", weight: 1, fillOpacity: 0.06, className: "scene-footprint" };

  // Resolves to the footprints drawn (GeoJSON geometries); never rejects.
  async function drawFootprints(collectionUrl, layer) {
    const footprints = [];
    try {
      const coll = await (await fetch(collectionUrl, { credentials: "same-origin" })).json();
      const seen = new Set();
      let next = collectionUrl + "/items?limit=200";
      for (let page = 0; next && page < MAX_ITEM_PAGES; page++) {
        const items = await (await fetch(next, { credentials: "same-origin" })).json();
        for (const item of items.features || []) {
          const key = JSON.stringify(item.geometry);
          if (!item.geometry || seen.has(key)) continue;
          seen.add(key);
          footprints.push(item.geometry);
          L.geoJSON(item.geometry, { interactive: false, style: STYLE }).addTo(layer);
        }
        const link = (items.links || []).find((l) => l.rel === "next");
        next = link ? link.href : null;
      }
      const bbox = coll.extent && coll.extent.spatial.bbox[0];
      if (!footprints.length && bbox) {
        L.rectangle([[bbox[1], bbox[0]], [bbox[3], bbox[2]]],
                    { color: "#12394a", weight: 1, fill: false, dashArray: "4 4",
                      interactive: false }).addTo(layer);
      }
    } catch (e) { /* no local archive: nothing to draw */ }
    return footprints;
  }

  window.hubFootprints = drawFootprints;
})();
