// L.cornerImage(url, corners, options): an image placed by three corners, for quicklooks of
// grids that are rotated against lon/lat. The map must be created with zoomAnimation: false,
// since zoom animation would scale the panes under an image placed by its own transform.
(function () {
  "use strict";
  if (typeof L === "undefined") return;

  // A UTM grid is rotated against lon/lat, so a bounding box (L.imageOverlay) would misplace
  // its quicklook; three corners fix an affine placement, exact at the corners and within a
  // fraction of a pixel inside for any product a person orders.
  L.CornerImage = L.Layer.extend({
    initialize: function (url, corners, options) {
      this._url = url;
      this._corners = corners.map((c) => L.latLng(c[0], c[1]));  // top-left, top-right, bottom-left
      L.setOptions(this, options);
    },
    onAdd: function (map) {
      const img = L.DomUtil.create("img", "leaflet-image-layer " + (this.options.className || ""));
      img.alt = this.options.alt || "";
      if (this.options.opacity !== undefined) img.style.opacity = String(this.options.opacity);
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

  L.cornerImage = (url, corners, options) => new L.CornerImage(url, corners, options);
})();
