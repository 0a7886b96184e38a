// The case page's small map: the reported point and the outline of its base grid.
(function () {
  "use strict";
  var element = document.getElementById("case-map");
  var source = document.getElementById("case-map-config");
  if (!element || !source || typeof L === "undefined") { return; }
  var config = JSON.parse(source.textContent);
  var map = L.map(element, { zoomControl: true, scrollWheelZoom: false });
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  var point = L.latLng(config.lat, config.lon);
  var outline = config.outline ? L.geoJSON(config.outline, {
    style: { color: "#2f6fde", weight: 2, fillColor: "#2f6fde", fillOpacity: 0.08 }
  }) : null;
  // The view comes first: vector layers are drawn relative to it.
  if (outline) {
    map.fitBounds(outline.getBounds().extend(point), { padding: [16, 16], maxZoom: 17 });
    outline.addTo(map);
  } else {
    map.setView(point, 16);
  }
  L.circleMarker(point, { radius: 8, color: "#fff", weight: 2, fillColor: "#c8102e", fillOpacity: 1 }).addTo(map);
  element.dataset.ready = "true";
})();
