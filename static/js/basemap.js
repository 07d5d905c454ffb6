// The background of every map, without network: land, sea and country borders from Natural
// Earth at 1:50 million (world-atlas, vendored from the npm registry by make), drawn under
// everything else; and OpenStreetMap tiles on top of it, credited, only once a tile has
// actually loaded (offline nothing is requested again and no credit is shown for nothing).
(function () {
  "use strict";
  const url = document.currentScript.dataset.url;
  const OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
  let world = null;  // one download for every map of the page

  function naturalEarth(map) {
    map.getContainer().classList.add("basemap-sea");
    const pane = map.createPane("basemap");
    pane.style.zIndex = 150;  // under the tile pane (200) and the overlays
    pane.style.pointerEvents = "none";
    world = world || fetch(url).then((resp) => resp.json());
    return world.then((topo) => {
      const countries = topo.objects.countries;
      L.geoJSON(topojson.feature(topo, countries), {
        pane, interactive: false,
        style: { stroke: false, fillColor: "#f3eedd", fillOpacity: 1 },
      }).addTo(map);
      L.geoJSON(topojson.mesh(topo, countries, (a, b) => a !== b), {
        pane, interactive: false, style: { color: "#8c7f66", weight: 1.2, opacity: 0.9 },
      }).addTo(map);
      map.getContainer().dataset.basemap = "natural-earth";
    }).catch(() => { map.getContainer().dataset.basemap = "none"; });
  }

  // Calls onTiles(layer) once OSM tiles are on the map; sets data-osm on/off either way.
  function osmWhenReachable(map, onTiles) {
    const probe = new Image();
    probe.onload = () => {
      const layer = L.tileLayer(OSM, { maxZoom: 19, attribution: "© OpenStreetMap contributors" })
        .addTo(map);
      layer.bringToBack();
      map.getContainer().dataset.osm = "on";
      if (onTiles) onTiles(layer);
    };
    probe.onerror = () => { map.getContainer().dataset.osm = "off"; };
    probe.referrerPolicy = "strict-origin-when-cross-origin";
    probe.src = OSM.replace("{z}/{x}/{y}", "0/0/0");
  }

  window.hubBasemap = { naturalEarth, osmWhenReachable };
})();
