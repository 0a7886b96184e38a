// Shared pieces of the app's screens: the configuration the shell carries (URLs and the translated
// wording), DOM helpers, dates, error wording, small maps and a local cache of the last answers.
(function (Field) {
  "use strict";

  var config = JSON.parse(document.getElementById("field-config").textContent);
  var labels = config.labels;

  function byId(id) {
    return document.getElementById(id);
  }

  // el("li", {className: "x", dataset: {key: "1"}}, ["text", otherNode])
  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (name) {
      if (name === "dataset") {
        Object.assign(node.dataset, props.dataset);
      } else {
        node[name] = props[name];
      }
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) {
        node.append(child);
      }
    });
    return node;
  }

  // Fills Django-style named placeholders: fill("%(n)s items", {n: 3}).
  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (match, name) {
      return values[name] === undefined || values[name] === null ? "" : String(values[name]);
    });
  }

  function when(value) {
    if (value === null || value === undefined || value === "") {
      return "";
    }
    return new Date(value).toLocaleString(config.locale, {
      month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit"
    });
  }

  // The worker-facing sentence for an ApiError (or its stored JSON form).
  function errorText(error) {
    if (!error) {
      return "";
    }
    if (error.kind === "network") {
      return labels.error_network;
    }
    if (error.kind === "server") {
      return labels.error_server;
    }
    if (error.kind === "auth") {
      return labels.error_auth;
    }
    var known = config.errors[error.code];
    if (known) {
      return known;
    }
    return fill(labels.error_refused, { status: error.status, message: error.message || error.code });
  }

  function showError(node, message) {
    node.textContent = message || "";
    node.hidden = !message;
  }

  var notice = byId("notice");

  function showNotice(content) {
    notice.replaceChildren();
    if (content) {
      notice.append(content);
    }
    notice.hidden = !content;
  }

  function signInNotice() {
    var link = el("a", { href: config.urls.login, textContent: labels.sign_in_again });
    showNotice(el("span", {}, [labels.signed_out + " ", link]));
  }

  // --- a small local cache of the last answers, for opening the app without a signal -------------

  function remember(name, value) {
    try {
      localStorage.setItem("zhiwang-field:" + name, JSON.stringify({ at: Date.now(), value: value }));
    } catch (exc) {
      // A full or disabled storage only costs the offline copy.
    }
  }

  function recall(name) {
    try {
      return JSON.parse(localStorage.getItem("zhiwang-field:" + name) || "null");
    } catch (exc) {
      return null;
    }
  }

  // --- maps ------------------------------------------------------------------------------------

  function map(container) {
    var leaflet = L.map(container, { zoomControl: true, attributionControl: Boolean(config.map.tileAttribution) });
    if (config.map.tileUrl) {
      L.tileLayer(config.map.tileUrl, { attribution: config.map.tileAttribution, maxZoom: 19 }).addTo(leaflet);
    }
    leaflet.setView(config.map.center, config.map.zoom);
    return leaflet;
  }

  function point(lat, lon, colour) {
    return L.circleMarker([lat, lon], { radius: 8, color: "#fff", weight: 2, fillColor: colour, fillOpacity: 0.95 });
  }

  Field.ui = {
    config: config,
    labels: labels,
    byId: byId,
    el: el,
    fill: fill,
    when: when,
    errorText: errorText,
    showError: showError,
    showNotice: showNotice,
    signInNotice: signInNotice,
    remember: remember,
    recall: recall,
    map: map,
    point: point
  };
})(window.Field = window.Field || {});
