// The product page's map: the quicklook placed by its grid's corners over the ordered area.
// Works offline: the quicklook and the outline are the hub's own; OSM tiles appear when reachable.
(function () {
  "use strict";
  const element = document.getElementById("product-map");
  const source = document.getElementById("product-map-data");
  if (!element || !source || typeof L === "undefined") return;
  const data = JSON.parse(source.textContent);

  // A UTM grid is rotated against lon/lat, so a bounding box (L.imageOverlay) would misplace
  // its quicklook; three corners fix an affine placement, exact at the corners and within a
  // fraction of a pixel inside for any product a person orders.
  const CornerImage = L.Layer.extend({
    initialize: function (url, corners, options) {
      this._url = url;
      this._corners = corners.map((c) => L.latLng(c[0], c[1]));  // top-left, top-right, bottom-left
      L.setOptions(this, options);
    },
    onAdd: function (map) {
      const img = L.DomUtil.create("img", "leaflet-image-layer " + (this.options.className || ""));
      img.alt = this.options.alt || "";
      img.addEventListener("load", () => this._place());
      img.src = this._url;
      this._image = img;
      map.getPane("overlayPane").appendChild(img);
      this._place();
    },
    onRemove: function () {
      L.DomUtil.remove(this._image);
    },
    getEvents: function () {
      return { zoomend: this._place, viewreset: this._place };
    },
    getBounds: function () {
      const c = this._corners;
      const bottomRight = L.latLng(c[1].lat + c[2].lat - c[0].lat, c[1].lng + c[2].lng - c[0].lng);
      return L.latLngBounds(c.concat([bottomRight]));
    },
    _place: function () {
      const img = this._image, map = this._map;
      if (!img || !map || !img.naturalWidth || !img.naturalHeight) return;
      const w = img.naturalWidth, h = img.naturalHeight;
      const [o, right, down] = this._corners.map((c) => map.latLngToLayerPoint(c));
      img.style.width = w + "px";
      img.style.height = h + "px";
      img.style.transformOrigin = "0 0";
      img.style.transform = "matrix(" + [(right.x - o.x) / w, (right.y - o.y) / w,
        (down.x - o.x) / h, (down.y - o.y) / h, o.x, o.y].join(",") + ")";
    },
  });

  // Zoom animation would scale the panes under an image placed by its own transform.
  const map = L.map(element, { zoomAnimation: false });
  L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 19, attribution: "&copy; OpenStreetMap contributors",
  }).addTo(map);  // unreachable tiles simply stay hidden: Leaflet shows only loaded tiles
  L.control.scale({ imperial: false }).addTo(map);

  const overlays = {};
  let bounds = null;
  if (data.quicklook) {
    const quicklook = new CornerImage(data.quicklook.url, data.quicklook.corners,
                                      { className: "quicklook", alt: "true-colour quicklook" });
    quicklook.addTo(map);
    overlays.Quicklook = quicklook;
    bounds = quicklook.getBounds();
  }
  if (data.aoi) {
    const outline = L.geoJSON(data.aoi, {
      style: { color: "#e8590c", weight: 2, fill: false, dashArray: "6 4" },
    }).addTo(map);
    overlays["Ordered area"] = outline;
    bounds = bounds ? bounds.extend(outline.getBounds()) : outline.getBounds();
  }
  if (bounds && bounds.isValid()) {
    map.fitBounds(bounds, { padding: [24, 24] });
  } else {
    map.setView([0, 0], 2);
  }
  L.control.layers(null, overlays, { collapsed: false }).addTo(map);
})();
