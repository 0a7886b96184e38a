// The case console: htmx swaps a refused action (400, 403, 409) in place like a success, so the
// reason and everything typed stay on screen. Any other failed answer reloads the page (a GET:
// nothing is sent twice), which then shows the case as it now stands or why it cannot.
(function () {
  "use strict";
  var SHOWN = [400, 403, 409];
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (SHOWN.indexOf(event.detail.xhr.status) !== -1) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:responseError", function () {
    window.location.reload();
  });
})();
