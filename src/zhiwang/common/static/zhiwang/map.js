// The console's grid map: drills down city -> town -> community -> grid, one level per click.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var roots = JSON.parse(document.getElementById("roots-data").textContent);
  var palette = ["#2f6fde", "#13a36e", "#d9822b", "#8f4fd8", "#d64545", "#1d9bb2", "#a3a328", "#c2418e"];

  var map = L.map("map", { preferCanvas: true, zoomControl: true });
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  map.setView([23.02, 113.75], 10);
  var outline = L.geoJSON(null, { style: { color: "#333", weight: 2, fill: false } }).addTo(map);
  var layer = L.geoJSON(null, {
    style: function (f) {
      return { color: "#fff", weight: 1, fillColor: palette[f.properties.id % palette.length], fillOpacity: 0.55 };
    },
    onEachFeature: function (f, l) {
      l.bindTooltip(f.properties.name + " · " + f.properties.code, { sticky: true });
      l.on("click", function () { show(f.properties.id); });
    }
  }).addTo(map);

  var title = document.getElementById("node-title");
  var meta = document.getElementById("node-meta");
  var list = document.getElementById("children");
  var crumbs = document.getElementById("breadcrumbs");
  var loading = document.getElementById("loading");

  function text(tag, value, cls) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (cls) { el.className = cls; }
    return el;
  }

  function show(id) {
    loading.hidden = false;
    fetch(config.childrenUrl.replace("/0/", "/" + id + "/"), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        loading.hidden = true;
        title.textContent = data.node.name;
        meta.textContent = data.node.kind + " · " + data.node.code + " · " + data.features.length + " " + config.labels.children;
        crumbs.replaceChildren();
        data.breadcrumbs.forEach(function (b, i) {
          if (i) { crumbs.appendChild(text("span", " › ")); }
          var a = text("a", b.name);
          a.href = "#" + b.id;
          a.addEventListener("click", function (e) { e.preventDefault(); show(b.id); });
          crumbs.appendChild(a);
        });
        list.replaceChildren();
        if (!data.features.length) { list.appendChild(text("li", config.labels.empty, "empty")); }
        data.features.forEach(function (f) {
          var li = document.createElement("li");
          var a = text("a", f.properties.name);
          a.href = "#" + f.properties.id;
          a.addEventListener("click", function (e) { e.preventDefault(); show(f.properties.id); });
          li.appendChild(a);
          li.appendChild(text("small", " " + f.properties.kind + " · " + f.properties.area_km2 + " " + config.labels.area));
          list.appendChild(li);
        });
        layer.clearLayers();
        outline.clearLayers();
        outline.addData({ type: "Feature", geometry: data.node.geometry, properties: {} });
        layer.addData(data);
        var bounds = outline.getBounds();
        if (bounds.isValid()) { map.fitBounds(bounds, { padding: [10, 10] }); }
        document.body.dataset.mapReady = String(id);
      })
      .catch(function () {
        loading.hidden = true;
        meta.textContent = config.labels.failed;
      });
  }

  var start = parseInt(window.location.hash.slice(1), 10);
  if (start) { show(start); } else if (roots.length) { show(roots[0].id); }
})();
