// The worker's grids and task lists (cases to verify, cases waiting for the follow-up visit), and the
// panel of one case with the action the worker may take on it now. Actions need a signal; the lists
// fall back to the last copy the phone received.
(function (Field) {
  "use strict";

  var ui = Field.ui;
  var labels = ui.labels;
  var config = ui.config;
  var byId = ui.byId;
  var el = ui.el;

  var LISTS = { verify: "to_verify", revisit: "to_revisit" };
  var shown = null; // the case in the panel, as the API answered it
  var verifyPhoto = null; // {caseId, blob, uploaded}
  var verifyDecoding = Promise.resolve();
  var caseMap = null;
  var caseGrids = null;
  var caseMarker = null;

  // --- my grids ----------------------------------------------------------------------------------

  function renderGrids(grids) {
    var list = byId("grid-list");
    list.replaceChildren();
    if (!grids.length) {
      list.append(el("li", { className: "empty", textContent: labels.no_grids }));
    }
    grids.forEach(function (grid) {
      list.append(el("li", { textContent: grid.name + " · " + grid.code }));
    });
  }

  // --- task lists --------------------------------------------------------------------------------

  function taskItem(item) {
    var meta = [item.grid_name, item.address, ui.fill(labels.handled_at, { when: ui.when(item.handled_at) })];
    var link = el("a", { href: "#case/" + item.id }, [
      el("span", { className: "number", textContent: item.number || "#" + item.id }),
      " ",
      el("span", { textContent: item.category_name || labels.unclassified }),
      el("span", { className: "what", textContent: item.description }),
      el("span", { className: "meta", textContent: meta.filter(Boolean).join(" · ") })
    ]);
    return el("li", { dataset: { caseId: String(item.id) } }, [link]);
  }

  function renderList(name, items) {
    var list = byId(name + "-list");
    list.replaceChildren();
    if (!items.length) {
      list.append(el("li", { className: "empty", textContent: labels.no_tasks }));
    }
    items.forEach(function (item) { list.append(taskItem(item)); });
    byId(name + "-count").textContent = "(" + items.length + ")";
  }

  function renderTasks(tasks, at, fresh) {
    renderList("verify", tasks.verify);
    renderList("revisit", tasks.revisit);
    var template = fresh ? labels.tasks_updated : labels.tasks_offline;
    byId("tasks-updated").textContent = ui.fill(template, { when: ui.when(at) });
  }

  function listUrl(queue) {
    return config.urls.cases + "?queue=" + queue + "&limit=" + config.taskLimit;
  }

  async function loadTasks() {
    try {
      var answers = await Promise.all([Field.api.get(listUrl(LISTS.verify)), Field.api.get(listUrl(LISTS.revisit))]);
      var tasks = { verify: answers[0].data.items, revisit: answers[1].data.items };
      ui.remember("tasks", tasks);
      renderTasks(tasks, Date.now(), true);
    } catch (exc) {
      var cached = ui.recall("tasks");
      if (cached) {
        renderTasks(cached.value, cached.at, false);
      } else {
        byId("tasks-updated").textContent = ui.errorText(exc);
      }
      if (exc.kind === "auth") {
        ui.signInNotice();
      }
    }
  }

  // --- one case ----------------------------------------------------------------------------------

  function fact(term, value) {
    return value ? [el("dt", { textContent: term }), el("dd", { textContent: value })] : [];
  }

  function handlingResult(item) {
    var handled = item.timeline.filter(function (event) { return event.kind === "handle"; });
    return handled.length ? handled[handled.length - 1].note : "";
  }

  function renderFacts(item) {
    var rows = [].concat(
      fact(labels.category, item.category_name || labels.unclassified),
      fact(labels.address, item.address),
      fact(labels.grid, item.grid_name ? item.grid_name + " · " + item.grid_code : ""),
      fact(labels.department, item.department || item.community),
      fact(labels.reported_at, ui.when(item.reported_at)),
      fact(labels.handled_at_label, ui.when(item.handled_at)),
      fact(labels.handling_result, handlingResult(item)),
      fact(labels.rework_count, item.rework_count ? String(item.rework_count) : "")
    );
    byId("case-facts").replaceChildren.apply(byId("case-facts"), rows);
  }

  function renderPhotos(item) {
    var box = byId("case-photos");
    box.replaceChildren();
    item.photos.forEach(function (photo) {
      var image = el("img", { src: photo.url, alt: config.stages[photo.stage] || photo.stage, loading: "lazy" });
      box.append(el("figure", {}, [image, el("figcaption", { textContent: config.stages[photo.stage] || photo.stage })]));
    });
  }

  function renderCaseMap(item) {
    if (!caseMap) {
      caseMap = ui.map("case-map");
      caseGrids = L.featureGroup().addTo(caseMap);
    }
    if (!caseGrids.getLayers().length) {
      Field.outlineGrids(caseGrids);
    }
    caseMap.invalidateSize();
    if (caseMarker) {
      caseMarker.remove();
    }
    caseMarker = ui.point(item.lat, item.lon, "#2f6fde").addTo(caseMap);
    caseMap.setView([item.lat, item.lon], 16);
  }

  function actionHint(item) {
    if (item.status === "revisit") {
      return labels.revisit_by_dispatcher;
    }
    if (item.status === "handled") {
      return labels.verify_by_finder;
    }
    return labels.no_action_now;
  }

  function renderCase(item) {
    shown = item;
    byId("case-title").textContent = ui.fill(labels.case_number, { number: item.number || item.id });
    byId("case-status").textContent = config.statuses[item.status] || item.status;
    byId("case-description").textContent = item.description;
    renderFacts(item);
    renderPhotos(item);
    renderCaseMap(item);
    var canVerify = item.actions.indexOf("verify") >= 0;
    var canRevisit = item.actions.indexOf("revisit") >= 0;
    byId("verify-form").hidden = !canVerify;
    byId("revisit-form").hidden = !canRevisit;
    byId("case-hint").hidden = canVerify || canRevisit;
    byId("case-hint").textContent = actionHint(item);
  }

  function clearCase(message) {
    shown = null;
    byId("case-title").textContent = message;
    ["case-status", "case-description"].forEach(function (id) { byId(id).textContent = ""; });
    byId("case-facts").replaceChildren();
    byId("case-photos").replaceChildren();
    ["verify-form", "revisit-form", "case-hint"].forEach(function (id) { byId(id).hidden = true; });
    ["verify-error", "revisit-error"].forEach(function (id) { ui.showError(byId(id), ""); });
  }

  async function openCase(id) {
    clearCase(labels.loading);
    try {
      var answer = await Field.api.get(config.urls.cases + "/" + id);
      renderCase(answer.data);
    } catch (exc) {
      clearCase(ui.errorText(exc));
      if (exc.kind === "auth") {
        ui.signInNotice();
      }
    }
  }

  // --- actions -----------------------------------------------------------------------------------

  function done(message) {
    ui.showNotice(document.createTextNode(message));
    setTimeout(function () { ui.showNotice(null); }, 5000);
    window.location.hash = "#tasks";
  }

  async function uploadVerifyPhoto(caseId) {
    if (!verifyPhoto || verifyPhoto.caseId !== caseId || verifyPhoto.uploaded) {
      return;
    }
    var form = new FormData();
    form.append("stage", "verify");
    form.append("file", verifyPhoto.blob, "verify-" + caseId + ".jpg");
    await Field.api.post(config.urls.cases + "/" + caseId + "/photos", form);
    verifyPhoto.uploaded = true; // a retry of the verification does not send the photo twice
  }

  async function act(formId, errorId, work) {
    var form = byId(formId);
    var button = form.querySelector("button[type=submit]");
    var errorNode = byId(errorId);
    if (!navigator.onLine) {
      ui.showError(errorNode, labels.needs_signal);
      return;
    }
    button.disabled = true;
    try {
      await work(shown.id);
    } catch (exc) {
      ui.showError(errorNode, ui.errorText(exc));
      if (exc.kind === "auth") {
        ui.signInNotice();
      } else if (exc.status === 409) {
        openCase(shown.id); // the case moved on meanwhile: show where it stands now
      }
    } finally {
      button.disabled = false;
    }
  }

  function submitVerify(event) {
    event.preventDefault();
    var form = event.target;
    var passed = form.elements.passed.value === "yes";
    var note = form.elements.note.value.trim();
    if (!passed && !note) {
      ui.showError(byId("verify-error"), labels.need_failure_note);
      return;
    }
    act("verify-form", "verify-error", async function (caseId) {
      await verifyDecoding;
      await uploadVerifyPhoto(caseId);
      await Field.api.post(config.urls.cases + "/" + caseId + "/verify", { passed: passed, note: note });
      form.reset();
      byId("verify-preview").hidden = true;
      verifyPhoto = null;
      done(passed ? labels.verified_passed : labels.verified_failed);
    });
  }

  function submitRevisit(event) {
    event.preventDefault();
    var form = event.target;
    var rating = parseInt(form.elements.rating.value, 10);
    var comment = form.elements.comment.value.trim();
    act("revisit-form", "revisit-error", async function (caseId) {
      await Field.api.post(config.urls.cases + "/" + caseId + "/revisit", { rating: rating, comment: comment });
      form.reset();
      done(labels.revisit_recorded);
    });
  }

  function takeVerifyPhoto(event) {
    var file = event.target.files && event.target.files[0];
    var preview = byId("verify-preview");
    verifyPhoto = null;
    preview.hidden = true;
    if (preview.src.startsWith("blob:")) {
      URL.revokeObjectURL(preview.src);
    }
    if (!file || !shown) {
      return;
    }
    var caseId = shown.id;
    verifyDecoding = Field.photo.downscale(file, config.photo.maxSide, config.photo.quality).then(
      function (blob) {
        verifyPhoto = { caseId: caseId, blob: blob, uploaded: false };
        preview.src = URL.createObjectURL(blob);
        preview.hidden = false;
      },
      function () {
        event.target.value = "";
        ui.showError(byId("verify-error"), labels.photo_unreadable);
      }
    );
  }

  function init() {
    byId("tasks-refresh").addEventListener("click", loadTasks);
    byId("verify-form").addEventListener("submit", submitVerify);
    byId("revisit-form").addEventListener("submit", submitRevisit);
    byId("verify-photo").addEventListener("change", takeVerifyPhoto);
  }

  Field.views = Field.views || {};
  Field.views.tasks = { init: init, show: loadTasks, refresh: loadTasks, renderGrids: renderGrids };
  Field.views["case"] = { init: function () {}, show: openCase };
})(window.Field = window.Field || {});
