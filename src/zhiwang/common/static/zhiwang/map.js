// The console's grid map: drills down city -> town -> community -> grid, one level per click (or
// shows every grid of a chosen level below the node), each grid coloured by its open and overdue
// cases, with pins and a heat layer of the open cases under the node in view.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var roots = JSON.parse(document.getElementById("roots-data").textContent);
  var labels = config.labels;
  var COLOURS = {
    clear: "#4caf7a",
    open: ["#fde7a0", "#f7bd56", "#e8892b"],
    overdue: ["#f3a1a1", "#de4b4b", "#9f1c1c"]
  };
  var LIST_LIMIT = 300;

  var title = document.getElementById("node-title");
  var meta = document.getElementById("node-meta");
  var caseMeta = document.getElementById("case-meta");
  var pinsNote = document.getElementById("pins-note");
  var list = document.getElementById("children");
  var crumbs = document.getElementById("breadcrumbs");
  var loading = document.getElementById("loading");
  var levelChoice = document.getElementById("level-choice");
  var levelSelect = document.getElementById("level");

  var map = L.map("map", { preferCanvas: true, zoomControl: true });
  var baseLayers = {};
  if (config.tileUrl) {
    baseLayers[labels.tiles] = L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  var outline = L.geoJSON(null, { style: { color: "#333", weight: 2, fill: false }, interactive: false }).addTo(map);
  var breaks = { open: [], overdue: [] };
  var layer = L.geoJSON(null, {
    style: function (f) {
      return { color: "#fff", weight: 1, fillColor: colourOf(f.properties), fillOpacity: 0.7 };
    },
    onEachFeature: function (f, l) {
      var p = f.properties;
      l.bindTooltip(p.name + " · " + p.code + " · " + p.open + " " + labels.open + " · " + p.overdue + " " + labels.overdueShort, { sticky: true });
      l.on("click", function () { show(p.id, ""); });
    }
  }).addTo(map);
  // Pins get a pane of their own above the heat layer (which draws into the overlay pane).
  map.createPane("pins").style.zIndex = 450;
  var pinRenderer = L.canvas({ pane: "pins" });
  var pins = L.layerGroup().addTo(map);
  var heat = L.heatLayer([], { radius: 20, blur: 18, maxZoom: 15, minOpacity: 0.35 });
  var overlays = {};
  overlays[labels.pins] = pins;
  overlays[labels.heat] = heat;
  L.control.layers(baseLayers, overlays, { collapsed: false }).addTo(map);

  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    var div = L.DomUtil.create("div", "legend");
    div.id = "map-legend";
    return div;
  };
  legend.addTo(map);

  var bboxes = {};
  var current = { id: null, level: "" };
  var sequence = 0;
  roots.forEach(function (r) { bboxes[r.id] = r.bbox; });

  function text(tag, value, cls) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (cls) { el.className = cls; }
    return el;
  }

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return String(values[key]); });
  }

  // Up to three classes over the non-zero values, split at their thirds: [upper bound, ...].
  function classBreaks(values) {
    var nonzero = values.filter(function (v) { return v > 0; }).sort(function (a, b) { return a - b; });
    if (!nonzero.length) { return []; }
    var result = [];
    [1 / 3, 2 / 3, 1].forEach(function (q) {
      var bound = nonzero[Math.min(nonzero.length - 1, Math.ceil(q * nonzero.length) - 1)];
      if (!result.length || bound > result[result.length - 1]) { result.push(bound); }
    });
    return result;
  }

  function shade(value, bounds, colours) {
    for (var i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) { return colours[Math.min(i + colours.length - bounds.length, colours.length - 1)]; }
    }
    return colours[colours.length - 1];
  }

  function colourOf(p) {
    if (p.overdue > 0) { return shade(p.overdue, breaks.overdue, COLOURS.overdue); }
    if (p.open > 0) { return shade(p.open, breaks.open, COLOURS.open); }
    return COLOURS.clear;
  }

  function legendRow(colour, label) {
    var row = text("div", "", "legend-row");
    var swatch = text("span", "", "swatch");
    swatch.style.background = colour;
    row.appendChild(swatch);
    row.appendChild(text("span", label));
    return row;
  }

  function legendRange(bounds, index) {
    var low = index ? bounds[index - 1] + 1 : 1;
    return low === bounds[index] ? String(low) : low + "–" + bounds[index];
  }

  function drawLegend() {
    var div = document.getElementById("map-legend");
    div.replaceChildren(text("strong", labels.legend));
    div.appendChild(legendRow(COLOURS.clear, labels.clear));
    [["open", labels.openOnly], ["overdue", labels.overdue]].forEach(function (group) {
      var bounds = breaks[group[0]];
      bounds.forEach(function (_, i) {
        var colour = shade(bounds[i], bounds, COLOURS[group[0]]);
        div.appendChild(legendRow(colour, format(group[1], { range: legendRange(bounds, i) })));
      });
    });
  }

  function zoomFor(id) {
    var b = bboxes[id];
    if (!b) { return null; }
    var bounds = L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
    return map.getBoundsZoom(bounds, false, L.point(20, 20));
  }

  function url(template, id, params) {
    var query = Object.keys(params).filter(function (k) { return params[k] !== null && params[k] !== ""; })
      .map(function (k) { return k + "=" + encodeURIComponent(params[k]); }).join("&");
    return template.replace("/0/", "/" + id + "/") + (query ? "?" + query : "");
  }

  function getJson(address) {
    return fetch(address, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    });
  }

  function drawCrumbs(data) {
    crumbs.replaceChildren();
    data.breadcrumbs.forEach(function (b, i) {
      if (i) { crumbs.appendChild(text("span", " › ")); }
      var a = text("a", b.name);
      a.href = "#" + b.id;
      a.addEventListener("click", function (e) { e.preventDefault(); show(b.id, ""); });
      crumbs.appendChild(a);
    });
  }

  function drawLevels(data) {
    levelSelect.replaceChildren(text("option", labels.nextLevel));
    levelSelect.firstChild.value = "";
    data.levels.forEach(function (l) {
      var option = text("option", l.label);
      option.value = l.value;
      levelSelect.appendChild(option);
    });
    levelSelect.value = data.level;
    levelChoice.hidden = !data.levels.length;
  }

  function drawList(data) {
    list.replaceChildren();
    if (!data.features.length) { list.appendChild(text("li", labels.empty, "empty")); }
    data.features.slice(0, LIST_LIMIT).forEach(function (f) {
      var p = f.properties;
      var li = document.createElement("li");
      li.dataset.id = p.id;
      li.dataset.open = p.open;
      li.dataset.overdue = p.overdue;
      var swatch = text("span", "", "swatch");
      swatch.style.background = colourOf(p);
      swatch.dataset.fill = colourOf(p);
      li.appendChild(swatch);
      var a = text("a", p.name);
      a.href = "#" + p.id;
      a.addEventListener("click", function (e) { e.preventDefault(); show(p.id, ""); });
      li.appendChild(a);
      li.appendChild(text("small", p.kind + " · " + p.code));
      li.appendChild(text("span", p.open + " " + labels.open + (p.overdue ? " · " + p.overdue + " " + labels.overdueShort : ""), p.overdue ? "counts overdue" : "counts"));
      list.appendChild(li);
    });
    if (data.features.length > LIST_LIMIT) {
      list.appendChild(text("li", format(labels.more, { count: data.features.length - LIST_LIMIT }), "empty"));
    }
  }

  function drawGrids(data, id, level) {
    title.textContent = data.node.name;
    meta.textContent = data.node.kind + " · " + data.node.code + " · " + data.features.length + " " + labels.children;
    caseMeta.textContent = format(labels.summary, data.cases);
    caseMeta.hidden = false;
    caseMeta.className = "case-meta" + (data.cases.overdue ? " has-overdue" : "");
    bboxes[data.node.id] = data.node.bbox;
    data.features.forEach(function (f) { bboxes[f.properties.id] = f.properties.bbox; });
    breaks.open = classBreaks(data.features.filter(function (f) { return !f.properties.overdue; })
      .map(function (f) { return f.properties.open; }));
    breaks.overdue = classBreaks(data.features.map(function (f) { return f.properties.overdue; }));
    drawCrumbs(data);
    drawLevels(data);
    drawList(data);
    drawLegend();
    layer.clearLayers();
    outline.clearLayers();
    outline.addData({ type: "Feature", geometry: data.node.geometry, properties: {} });
    layer.addData(data);
    var bounds = outline.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [10, 10], animate: false }); }
    // Mark the map drawn once the canvas has painted (tests and the benchmark wait for it).
    requestAnimationFrame(function () {
      requestAnimationFrame(function () {
        document.body.dataset.mapFeatures = String(data.features.length);
        document.body.dataset.mapRenderedMs = String(Math.round(performance.now()));
        document.body.dataset.mapReady = id + (level ? ":" + level : "");
      });
    });
  }

  function pinPopup(pin) {
    var div = document.createElement("div");
    var title = document.createElement("a");
    title.href = "/console/cases/" + encodeURIComponent(pin.id) + "/";
    title.appendChild(text("strong", pin.number || "#" + pin.id));
    div.appendChild(title);
    div.appendChild(text("div", pin.category + " · " + pin.status + (pin.overdue ? " · " + labels.overduePin : "")));
    if (pin.address) { div.appendChild(text("div", pin.address)); }
    div.appendChild(text("div", labels.reported + " " + pin.reported, "hint"));
    return div;
  }

  function drawCases(data, total) {
    pins.clearLayers();
    data.pins.forEach(function (pin) {
      L.circleMarker([pin.lat, pin.lon], {
        renderer: pinRenderer, pane: "pins", radius: 6, weight: 2, color: "#fff", fillOpacity: 1,
        fillColor: pin.overdue ? "#e3001b" : "#1f5fbf"
      }).bindPopup(function () { return pinPopup(pin); }).addTo(pins);
    });
    heat.setLatLngs(data.heat);
    pinsNote.hidden = !data.capped;
    pinsNote.textContent = data.capped ? format(labels.capped, { shown: data.limit, total: total }) : "";
    document.body.dataset.pinsReady = String(data.pins.length);
  }

  function show(id, level) {
    var mine = ++sequence;
    current = { id: id, level: level || "" };
    loading.hidden = false;
    var zoom = zoomFor(id);
    var grids = getJson(url(config.childrenUrl, id, { zoom: zoom, level: current.level }));
    var cases = getJson(url(config.casesUrl, id, {}));
    grids.then(function (data) {
      if (mine !== sequence) { return; }
      loading.hidden = true;
      drawGrids(data, id, current.level);
      return cases.then(function (found) {
        if (mine === sequence) { drawCases(found, data.cases.open); }
      });
    }).catch(function () {
      if (mine !== sequence) { return; }
      loading.hidden = true;
      meta.textContent = labels.failed;
    });
    var hash = "#" + id + (current.level ? "/" + current.level : "");
    if (window.location.hash !== hash) { history.replaceState(null, "", hash); }
  }

  levelSelect.addEventListener("change", function () { show(current.id, levelSelect.value); });
  window.addEventListener("hashchange", function () { start(); });

  function start() {
    var parts = window.location.hash.slice(1).split("/");
    var id = parseInt(parts[0], 10);
    if (id) {
      if (id !== current.id || (parts[1] || "") !== current.level) { show(id, parts[1] || ""); }
    } else if (roots.length) {
      show(roots[0].id, "");
    }
  }

  var first = roots.length ? bboxes[roots[0].id] : null;
  if (first) {
    map.fitBounds(L.latLngBounds([first[1], first[0]], [first[3], first[2]]), { padding: [10, 10], animate: false });
  } else {
    map.setView([23.02, 113.75], 10);
  }
  start();
})();
