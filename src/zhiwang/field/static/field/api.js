// Calls to the zhiwang REST API with the session cookie and the CSRF token, and the one error type
// the rest of the app reasons about: network trouble and server trouble are worth a retry, a refusal
// (4xx) is not, and a lost sign-in waits for the worker to sign in again.
(function (Field) {
  "use strict";

  var JSON_TIMEOUT_MS = 30000;
  var UPLOAD_TIMEOUT_MS = 120000;

  class ApiError extends Error {
    // kind: "network" (no answer), "server" (5xx, 408, 429), "auth" (signed out, CSRF), "refused" (4xx)
    constructor(kind, status, code, message, details) {
      super(message || code);
      this.kind = kind;
      this.status = status;
      this.code = code;
      this.details = details === undefined ? null : details;
    }

    get retryable() {
      return this.kind !== "refused";
    }

    toJSON() {
      return { kind: this.kind, status: this.status, code: this.code, message: this.message };
    }
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function classify(status, body) {
    var error = (body && body.error) || {};
    var code = error.code || "http_" + status;
    var message = error.message || "";
    if (status === 401 || (status === 403 && /csrf/i.test(message || code))) {
      return new ApiError("auth", status, code, message);
    }
    if (status >= 500 || status === 408 || status === 429) {
      return new ApiError("server", status, code, message);
    }
    return new ApiError("refused", status, code, message, error.details);
  }

  async function request(method, url, body) {
    var headers = { Accept: "application/json" };
    var init = { method: method, credentials: "same-origin", headers: headers, cache: "no-store" };
    if (method !== "GET") {
      headers["X-CSRFToken"] = csrfToken();
    }
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, body instanceof FormData ? UPLOAD_TIMEOUT_MS : JSON_TIMEOUT_MS);
    init.signal = controller.signal;
    var response;
    try {
      response = await fetch(url, init);
    } catch (exc) {
      Field.api.reachable(false);
      throw new ApiError("network", 0, "network", String(exc));
    } finally {
      clearTimeout(timer);
    }
    Field.api.reachable(true);
    var data = await response.json().catch(function () { return null; });
    if (!response.ok) {
      throw classify(response.status, data);
    }
    return { status: response.status, data: data };
  }

  var listeners = [];

  Field.api = {
    ApiError: ApiError,
    get: function (url) { return request("GET", url); },
    post: function (url, body) { return request("POST", url, body === undefined ? {} : body); },
    csrfToken: csrfToken,
    // Whether the last request got an answer; the network indicator listens.
    reachable: function (value) { listeners.forEach(function (fn) { fn(value); }); },
    onReachable: function (fn) { listeners.push(fn); }
  };
})(window.Field = window.Field || {});
