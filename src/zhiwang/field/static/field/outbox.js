// The outbox screen: every report on this phone with its state (queued, sending, reported with
// its case number, failed with the reason), and retry and delete for the ones that need the worker.
(function (Field) {
  "use strict";

  var ui = Field.ui;
  var labels = ui.labels;
  var byId = ui.byId;
  var el = ui.el;
  var STATE = Field.queue.STATE;

  function isMine(item) {
    return Field.queue.owner !== null && item.owner && item.owner.id === Field.queue.owner.id;
  }

  function waitingText(item) {
    if (item.error) {
      return ui.fill(labels.retry_at, { reason: ui.errorText(item.error), when: ui.when(item.nextTryAt) });
    }
    return navigator.onLine ? labels.waiting_to_send : labels.waiting_for_signal;
  }

  function stateText(item) {
    if (item.state === STATE.QUEUED) {
      return waitingText(item);
    }
    if (item.state === STATE.SENDING) {
      return labels.sending_now;
    }
    if (item.state === STATE.SENT) {
      return ui.fill(labels.reported_as, { number: item.caseNumber });
    }
    var reason = ui.errorText(item.error);
    return item.caseNumber ? ui.fill(labels.photo_failed, { number: item.caseNumber, reason: reason }) : reason;
  }

  function photoText(item) {
    var parts = [];
    if (item.photos.length) {
      parts.push(ui.fill(labels.photo_count, { count: item.photos.length }));
    }
    if (item.report.self_handled) {
      parts.push(labels.self_handled);
    }
    return parts.join(" · ");
  }

  function buttons(item) {
    var box = el("div", { className: "actions" });
    if (item.state === STATE.FAILED) {
      var retry = el("button", { type: "button", className: "small", textContent: labels.retry });
      retry.addEventListener("click", function () { Field.queue.retry(item.key); });
      box.append(retry);
    }
    if (item.state === STATE.FAILED || item.state === STATE.QUEUED) {
      var remove = el("button", { type: "button", className: "small danger", textContent: labels["delete"] });
      remove.addEventListener("click", function () {
        if (window.confirm(item.caseNumber ? labels.confirm_delete_reported : labels.confirm_delete)) {
          Field.queue.remove(item.key);
        }
      });
      box.append(remove);
    }
    return box.childElementCount ? box : null;
  }

  function row(item) {
    var detailClass = item.state === STATE.FAILED ? "reason" : "hint";
    return el("li", { dataset: { key: item.key, state: item.state } }, [
      el("span", { className: "state", textContent: labels["state_" + item.state] }),
      " ",
      el("span", { className: "hint", textContent: ui.when(item.createdAt) }),
      el("p", { className: "what", textContent: item.report.description }),
      el("p", { className: "hint", textContent: photoText(item) }),
      el("p", { className: "detail " + detailClass, textContent: stateText(item) }),
      buttons(item)
    ]);
  }

  var generation = 0;

  async function render() {
    var mark = (generation += 1);
    var items = await Field.queue.all();
    if (mark !== generation) {
      return; // a newer render is on its way
    }
    var mine = items.filter(isMine).sort(function (a, b) { return b.createdAt - a.createdAt; });
    var list = byId("outbox-list");
    list.replaceChildren();
    if (!mine.length) {
      list.append(el("li", { className: "empty", textContent: labels.outbox_empty }));
    }
    mine.forEach(function (item) { list.append(row(item)); });

    var open = mine.filter(function (item) { return item.state !== STATE.SENT; }).length;
    var badge = byId("outbox-badge");
    badge.textContent = String(open);
    badge.hidden = open === 0;

    var others = items.filter(function (item) { return !isMine(item) && item.state !== STATE.SENT; }).length;
    var hint = byId("outbox-others");
    hint.textContent = ui.fill(labels.others_waiting, { count: others });
    hint.hidden = others === 0;
  }

  function init() {
    Field.queue.events.addEventListener("change", render);
    window.addEventListener("online", render);
    window.addEventListener("offline", render);
    byId("outbox-sync").addEventListener("click", function () { Field.queue.wake(); });
    byId("outbox-clear").addEventListener("click", function () { Field.queue.clearSent(0); });
  }

  Field.views = Field.views || {};
  Field.views.outbox = { init: init, show: render, refresh: render };
})(window.Field = window.Field || {});
