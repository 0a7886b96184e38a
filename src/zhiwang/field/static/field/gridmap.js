// The map of the worker's grids, with the cases waiting for them and where the phone is now.
(function (Field) {
  "use strict";

  var ui = Field.ui;
  var labels = ui.labels;
  var config = ui.config;

  var map = null;
  var outlines = null;
  var markers = null;
  var drawnFor = "";

  var geometries = {}; // grid id -> GeoJSON geometry, once fetched (or recalled) in this page

  async function geometryOf(grid) {
    if (geometries[grid.id]) {
      return geometries[grid.id];
    }
    try {
      var answer = await Field.api.get(config.urls.grids + grid.id);
      ui.remember("grid:" + grid.id, answer.data.geometry);
      geometries[grid.id] = answer.data.geometry;
    } catch (exc) {
      var cached = ui.recall("grid:" + grid.id);
      geometries[grid.id] = cached ? cached.value : null;
    }
    return geometries[grid.id];
  }

  // Draws the worker's grids into `layer` (of any map); answers their bounds.
  async function outline(layer) {
    layer.clearLayers();
    var grids = Field.grids || [];
    for (var i = 0; i < grids.length; i += 1) {
      var geometry = await geometryOf(grids[i]);
      if (geometry) {
        L.geoJSON(geometry, { style: { color: "#c8102e", weight: 2, fillOpacity: 0.06 } })
          .bindTooltip(grids[i].name + " · " + grids[i].code)
          .addTo(layer);
      }
    }
    return layer.getBounds();
  }

  async function drawGrids() {
    var bounds = await outline(outlines);
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [12, 12] });
    }
  }

  function taskMarker(item, colour, label) {
    var link = ui.el("a", { href: "#case/" + item.id, textContent: (item.number || "#" + item.id) + " · " + label });
    return ui.point(item.lat, item.lon, colour).bindPopup(link);
  }

  function drawTasks() {
    markers.clearLayers();
    var tasks = ui.recall("tasks");
    if (!tasks) {
      return;
    }
    tasks.value.verify.forEach(function (item) { taskMarker(item, "#2f6fde", labels.to_verify).addTo(markers); });
    tasks.value.revisit.forEach(function (item) { taskMarker(item, "#13795b", labels.to_revisit).addTo(markers); });
  }

  function drawHere() {
    if (!("geolocation" in navigator)) {
      return;
    }
    navigator.geolocation.getCurrentPosition(function (position) {
      ui.point(position.coords.latitude, position.coords.longitude, "#1f2933")
        .bindTooltip(labels.you_are_here)
        .addTo(markers);
    }, function () {}, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  }

  async function show() {
    if (!map) {
      map = ui.map("grid-map");
      outlines = L.featureGroup().addTo(map);
      markers = L.featureGroup().addTo(map);
    }
    map.invalidateSize();
    var key = (Field.grids || []).map(function (grid) { return grid.id; }).join(",");
    if (key !== drawnFor) {
      drawnFor = key;
      await drawGrids();
    }
    await Field.views.tasks.refresh();
    drawTasks();
    drawHere();
  }

  function init() {
    document.addEventListener("field:grids", function () {
      if (map && !ui.byId("view-map").hidden) {
        show();
      }
    });
  }

  Field.views = Field.views || {};
  Field.views.map = { init: init, show: show };
  Field.outlineGrids = outline;
})(window.Field = window.Field || {});
