// The report form: description, category, urgency, a photo from the camera (or two, for a problem
// solved on the spot), and the phone's position. Submitting puts the report into the outbox; the
// outbox sends it when it can.
(function (Field) {
  "use strict";

  var ui = Field.ui;
  var labels = ui.labels;
  var config = ui.config;
  var byId = ui.byId;

  var form = byId("report-form");
  var errorNode = byId("report-error");
  var selfBox = byId("report-self");
  var locationText = byId("report-location");

  var FIX_FRESH_MS = 60000;
  var fix = null; // {lon, lat, accuracy (metres, null when placed on the map), source: "gps" | "map", at}
  var photos = { main: null, after: null };
  var decoding = { main: Promise.resolve(), after: Promise.resolve() };
  var map = null;
  var gridLayer = null;
  var outlined = false;
  var marker = null;

  // --- categories --------------------------------------------------------------------------------

  function fillCategories(tree) {
    var select = byId("report-category");
    var chosen = select.value;
    while (select.options.length > 1) {
      select.remove(1);
    }
    select.querySelectorAll("optgroup").forEach(function (group) { group.remove(); });
    tree.forEach(function (major) {
      if (!major.minors || !major.minors.length) {
        return;
      }
      var group = ui.el("optgroup", { label: major.name });
      major.minors.forEach(function (minor) {
        group.append(ui.el("option", { value: minor.code, textContent: minor.name }));
      });
      select.append(group);
    });
    select.value = chosen;
  }

  function loadCategories() {
    var cached = ui.recall("categories");
    if (cached) {
      fillCategories(cached.value);
    }
    return Field.api.get(config.urls.categories).then(function (answer) {
      ui.remember("categories", answer.data);
      fillCategories(answer.data);
    }).catch(function () {
      // Offline: the cached list (or none: the category is optional) will do.
    });
  }

  // --- position ----------------------------------------------------------------------------------

  function describeFix() {
    if (fix.source === "map") {
      return labels.location_from_map;
    }
    return ui.fill(labels.location_fixed, { metres: fix.accuracy });
  }

  function setFix(value) {
    fix = value;
    locationText.textContent = describeFix();
    form.dataset.located = "true";
    if (map) {
      placeMarker();
    }
  }

  function placeMarker() {
    if (!fix) {
      return;
    }
    if (marker) {
      marker.setLatLng([fix.lat, fix.lon]);
    } else {
      marker = ui.point(fix.lat, fix.lon, "#c8102e").addTo(map);
    }
    map.setView([fix.lat, fix.lon], Math.max(map.getZoom(), 16));
  }

  function locate() {
    if (!("geolocation" in navigator)) {
      locationText.textContent = labels.location_unsupported;
      return;
    }
    locationText.textContent = labels.locating;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        // The Geolocation API answers on WGS-84, so reports say system "wgs84". The API also accepts
        // "gcj02" and "bd09", for native shells whose location SDKs (AMap, Baidu) hand over those.
        setFix({
          lon: position.coords.longitude,
          lat: position.coords.latitude,
          accuracy: Math.round(position.coords.accuracy),
          source: "gps",
          at: Date.now()
        });
      },
      function (error) {
        if (fix) {
          locationText.textContent = describeFix();
          return;
        }
        locationText.textContent = error.code === error.PERMISSION_DENIED ? labels.location_denied : labels.location_failed;
      },
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 30000 }
    );
  }

  function outlineGrids() {
    if (!gridLayer || outlined || !(Field.grids && Field.grids.length)) {
      return;
    }
    outlined = true;
    Field.outlineGrids(gridLayer).then(function (bounds) {
      if (!fix && bounds.isValid()) {
        map.fitBounds(bounds);
      }
    });
  }

  function ensureMap() {
    if (map) {
      map.invalidateSize();
      outlineGrids();
      return;
    }
    map = ui.map("report-map");
    gridLayer = L.featureGroup().addTo(map);
    // The grid polygons and the map are on WGS-84, so a point placed by hand is WGS-84 too.
    map.on("click", function (event) {
      setFix({ lon: event.latlng.lng, lat: event.latlng.lat, accuracy: null, source: "map", at: Date.now() });
    });
    outlineGrids();
    placeMarker();
  }

  // --- photos ------------------------------------------------------------------------------------

  function takePhoto(slot, input, preview) {
    var file = input.files && input.files[0];
    photos[slot] = null;
    preview.hidden = true;
    if (preview.src.startsWith("blob:")) {
      URL.revokeObjectURL(preview.src);
    }
    if (!file) {
      return;
    }
    decoding[slot] = Field.photo.downscale(file, config.photo.maxSide, config.photo.quality).then(
      function (blob) {
        photos[slot] = blob;
        preview.src = URL.createObjectURL(blob);
        preview.hidden = false;
        ui.showError(errorNode, "");
      },
      function () {
        input.value = "";
        ui.showError(errorNode, labels.photo_unreadable);
      }
    );
  }

  function toggleSelfHandled() {
    var label = byId("report-photo-label");
    label.textContent = selfBox.checked ? label.dataset.self : label.dataset.plain;
    byId("report-after-box").hidden = !selfBox.checked;
  }

  // --- submit ------------------------------------------------------------------------------------

  function problem(description) {
    if (!description) {
      return labels.need_description;
    }
    if (!fix) {
      return labels.need_location;
    }
    if (selfBox.checked && !(photos.main && photos.after)) {
      return labels.need_two_photos;
    }
    if (!Field.queue.owner) {
      return labels.need_account;
    }
    return "";
  }

  function photoSteps() {
    if (selfBox.checked) {
      return [{ stage: "before", blob: photos.main }, { stage: "after", blob: photos.after }];
    }
    return photos.main ? [{ stage: "report", blob: photos.main }] : [];
  }

  function clearForm() {
    form.reset();
    photos = { main: null, after: null };
    ["report-preview", "report-after-preview"].forEach(function (id) { byId(id).hidden = true; });
    toggleSelfHandled();
    if (fix) {
      locationText.textContent = describeFix();
    }
  }

  async function submit(event) {
    event.preventDefault();
    var button = byId("report-submit");
    button.disabled = true;
    try {
      await Promise.all([decoding.main, decoding.after]);
      var description = byId("report-description").value.trim();
      var refusal = problem(description);
      if (refusal) {
        ui.showError(errorNode, refusal);
        return;
      }
      var report = {
        description: description,
        category: byId("report-category").value || null,
        urgency: byId("report-urgency").value,
        address: byId("report-address").value.trim(),
        lon: fix.lon,
        lat: fix.lat,
        system: "wgs84",
        self_handled: selfBox.checked
      };
      try {
        await Field.queue.add(Field.queue.owner, report, photoSteps());
      } catch (exc) {
        // Nothing is cleared: the worker keeps what they typed and can try again.
        ui.showError(errorNode, labels.save_failed);
        return;
      }
      ui.showError(errorNode, "");
      clearForm();
      window.location.hash = "#outbox";
      Field.queue.sync();
    } finally {
      button.disabled = false;
    }
  }

  function init() {
    form.addEventListener("submit", submit);
    byId("report-locate").addEventListener("click", locate);
    document.addEventListener("field:grids", outlineGrids);
    selfBox.addEventListener("change", toggleSelfHandled);
    byId("report-photo").addEventListener("change", function (event) {
      takePhoto("main", event.target, byId("report-preview"));
    });
    byId("report-after").addEventListener("change", function (event) {
      takePhoto("after", event.target, byId("report-after-preview"));
    });
    loadCategories();
  }

  function show() {
    ensureMap();
    // A point placed by hand stays; a GPS fix older than a minute is taken again.
    if (!fix || (fix.source === "gps" && Date.now() - fix.at > FIX_FRESH_MS)) {
      locate();
    }
  }

  Field.views = Field.views || {};
  Field.views.report = { init: init, show: show, refresh: loadCategories };
})(window.Field = window.Field || {});
