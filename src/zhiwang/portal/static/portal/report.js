// The report form: a map where the resident drops or drags a pin (starting at the phone's own
// position when allowed, else at the city centre), a photo preview, and one tap per submission.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var lon = document.getElementById("id_lon");
  var lat = document.getElementById("id_lat");
  var hint = document.getElementById("map-hint");
  var map = L.map("map", { zoomControl: true });
  var marker = null;

  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
  }

  // Browsers give WGS-84; the server takes the pin as it is.
  function place(latlng, state) {
    if (marker === null) {
      marker = L.marker(latlng, { draggable: true, autoPan: true }).addTo(map);
      marker.on("dragend", function () { place(marker.getLatLng(), "moved"); });
    } else {
      marker.setLatLng(latlng);
    }
    lat.value = latlng.lat.toFixed(6);
    lon.value = latlng.lng.toFixed(6);
    hint.textContent = state === "located" ? config.labels.located : config.labels.moved;
    document.body.dataset.pin = state;
  }

  function locate() {
    if (!navigator.geolocation) {
      hint.textContent = config.labels.failed;
      return;
    }
    navigator.geolocation.getCurrentPosition(
      function (position) {
        var here = L.latLng(position.coords.latitude, position.coords.longitude);
        map.setView(here, Math.max(map.getZoom(), 16));
        place(here, "located");
      },
      function () {
        hint.textContent = config.labels.failed;
        document.body.dataset.pin = document.body.dataset.pin || "none";
      },
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 }
    );
  }

  map.on("click", function (event) { place(event.latlng, "moved"); });
  document.getElementById("locate").addEventListener("click", locate);
  if (config.pin) {
    map.setView(config.pin, 16);
    place(L.latLng(config.pin[0], config.pin[1]), "kept");
  } else {
    map.setView(config.centre, config.zoom);
    hint.textContent = config.labels.choose;
    locate();
  }
  document.body.dataset.mapReady = "1";

  var photo = document.getElementById("id_photo");
  var preview = document.getElementById("photo-preview");
  photo.addEventListener("change", function () {
    var file = photo.files && photo.files[0];
    if (preview.src) { URL.revokeObjectURL(preview.src); }
    preview.hidden = !file;
    if (file) { preview.src = URL.createObjectURL(file); }
  });

  // One tap, one submission (a repeated one would find the same case anyway).
  var form = document.getElementById("report-form");
  var send = document.getElementById("send");
  form.addEventListener("submit", function () {
    window.setTimeout(function () { send.disabled = true; }, 0);
  });
})();
