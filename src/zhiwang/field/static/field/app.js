// The app's frame: who is signed in, the online indicator, the screens behind the tab bar, the
// service worker, and the language and sign-out forms. Loaded last; it starts everything.
(function (Field) {
  "use strict";

  var ui = Field.ui;
  var labels = ui.labels;
  var config = ui.config;
  var byId = ui.byId;
  var VIEWS = ["tasks", "case", "report", "outbox", "map"];
  var PERSONAL_KEYS = ["me", "tasks"]; // dropped at sign-out; a phone may be shared

  // --- online indicator --------------------------------------------------------------------------

  var reachable = true;

  function renderNet() {
    var online = navigator.onLine && reachable;
    var net = byId("net");
    net.dataset.online = String(online);
    net.textContent = online ? labels.online : labels.offline;
  }

  // --- the worker --------------------------------------------------------------------------------

  function gridsOf(me) {
    return me.assignments
      .filter(function (a) { return a.role === "grid_worker" && a.grid_id !== null; })
      .map(function (a) { return { id: a.grid_id, code: a.grid_code, name: a.grid_name }; });
  }

  function setWorker(me, confirmed) {
    byId("who").textContent = me.display_name || me.username;
    Field.grids = gridsOf(me);
    Field.views.tasks.renderGrids(Field.grids);
    document.dispatchEvent(new Event("field:grids")); // maps drawn before this outline them now
    Field.queue.identify({ id: me.id, username: me.username }, confirmed);
  }

  // Asks the server who is signed in; answers whether it could tell.
  async function confirmWorker() {
    try {
      var answer = await Field.api.get(config.urls.me);
      ui.remember("me", answer.data);
      setWorker(answer.data, true);
      return true;
    } catch (exc) {
      if (exc.kind === "auth") {
        ui.signInNotice();
      }
      return false;
    }
  }

  function loadWorker() {
    var cached = ui.recall("me");
    if (cached) {
      setWorker(cached.value, false); // shown at once; sending waits until the server confirms
    }
    return confirmWorker();
  }

  // --- screens -----------------------------------------------------------------------------------

  function route() {
    var parts = (window.location.hash.replace(/^#/, "") || "tasks").split("/");
    var name = VIEWS.indexOf(parts[0]) >= 0 ? parts[0] : "tasks";
    VIEWS.forEach(function (view) { byId("view-" + view).hidden = view !== name; });
    document.body.dataset.view = name;
    var tab = name === "case" ? "tasks" : name;
    document.querySelectorAll(".tabs a").forEach(function (link) {
      if (link.dataset.tab === tab) {
        link.setAttribute("aria-current", "page");
      } else {
        link.removeAttribute("aria-current");
      }
    });
    window.scrollTo(0, 0);
    Field.views[name].show(parts[1]);
  }

  // --- service worker ----------------------------------------------------------------------------

  function registerServiceWorker() {
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register(config.urls.sw, { scope: config.urls.scope }).catch(function (exc) {
        console.warn("service worker", exc);
      });
    }
  }

  // Asks the service worker to fetch the shell again (after a language change), waiting at most 5 s.
  function refreshShell() {
    var worker = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (!worker) {
      return Promise.resolve();
    }
    return new Promise(function (resolve) {
      var pipe = new MessageChannel();
      pipe.port1.onmessage = function () { resolve(); };
      worker.postMessage({ type: "refresh-shell" }, [pipe.port2]);
      setTimeout(resolve, 5000);
    });
  }

  // --- language and sign-out ---------------------------------------------------------------------

  // The shell may come from the cache with an old token; the cookie holds the current one.
  function freshToken(form) {
    var input = form.querySelector("[name=csrfmiddlewaretoken]");
    if (input && Field.api.csrfToken()) {
      input.value = Field.api.csrfToken();
    }
  }

  async function changeLanguage() {
    var form = byId("language-form");
    freshToken(form);
    try {
      await fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" });
    } catch (exc) {
      ui.showNotice(document.createTextNode(labels.needs_signal));
      return;
    }
    await refreshShell();
    window.location.reload();
  }

  async function signOut(event) {
    event.preventDefault();
    var form = event.target;
    var items = await Field.queue.all();
    var waiting = items.filter(function (item) { return item.state !== Field.queue.STATE.SENT; }).length;
    if (waiting && !window.confirm(ui.fill(labels.confirm_sign_out, { count: waiting }))) {
      return;
    }
    PERSONAL_KEYS.forEach(function (key) { localStorage.removeItem("zhiwang-field:" + key); });
    freshToken(form);
    form.submit();
  }

  // --- start -------------------------------------------------------------------------------------

  function start() {
    Field.queue.urls.cases = config.urls.cases;
    Field.queue.confirm = confirmWorker;
    Object.keys(Field.views).forEach(function (name) { Field.views[name].init(); });
    Field.api.onReachable(function (value) { reachable = value; renderNet(); });
    window.addEventListener("online", function () { reachable = true; renderNet(); });
    window.addEventListener("offline", renderNet);
    Field.queue.events.addEventListener("auth", ui.signInNotice);
    window.addEventListener("hashchange", route);
    byId("language").addEventListener("change", changeLanguage);
    byId("logout-form").addEventListener("submit", signOut);
    renderNet();
    registerServiceWorker();
    route();
    loadWorker().then(Field.queue.start);
  }

  start();
})(window.Field = window.Field || {});
