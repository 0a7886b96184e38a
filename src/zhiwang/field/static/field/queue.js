// The offline outbox. A report is written to IndexedDB first, with its idempotency key, before any
// network; a sync loop then sends it in steps (the case, then each photo), recording every step done
// so that a retry repeats nothing. An item leaves the queue only after the server has answered 2xx to
// every step; a refusal (4xx) keeps it, with the reason, until the worker retries or deletes it;
// network trouble and 5xx answers are retried with a growing pause. The server returns the first
// case for a repeated idempotency key, so a retry after a lost answer never makes a second case.
(function (Field) {
  "use strict";

  var DB_NAME = "zhiwang-field";
  var DB_VERSION = 1;
  var STORE = "outbox";
  var LOCK = "zhiwang-field-sync";
  var KEEP_SENT_MS = 7 * 24 * 3600 * 1000;
  var BACKOFF_FIRST_S = 5;
  var BACKOFF_MAX_S = 300;
  var STATE = { QUEUED: "queued", SENDING: "sending", SENT: "sent", FAILED: "failed" };

  // --- storage ---------------------------------------------------------------------------------

  var opening = null;

  function database() {
    if (!opening) {
      opening = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, DB_VERSION);
        request.onupgradeneeded = function () {
          request.result.createObjectStore(STORE, { keyPath: "key" });
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { opening = null; reject(request.error); };
      });
    }
    return opening;
  }

  async function withStore(mode, work) {
    var db = await database();
    return new Promise(function (resolve, reject) {
      var tx = db.transaction(STORE, mode);
      var result;
      var request = work(tx.objectStore(STORE));
      if (request) {
        request.onsuccess = function () { result = request.result; };
      }
      tx.oncomplete = function () { resolve(result); };
      tx.onerror = function () { reject(tx.error); };
      tx.onabort = function () { reject(tx.error); };
    });
  }

  var store = {
    all: function () { return withStore("readonly", function (s) { return s.getAll(); }); },
    get: function (key) { return withStore("readonly", function (s) { return s.get(key); }); },
    put: function (item) { return withStore("readwrite", function (s) { return s.put(item); }); },
    remove: function (key) { return withStore("readwrite", function (s) { return s.delete(key); }); }
  };

  // --- change notices (this tab and the others) ------------------------------------------------

  var events = new EventTarget();
  var channel = "BroadcastChannel" in window ? new BroadcastChannel(DB_NAME) : null;
  if (channel) {
    channel.onmessage = function () { events.dispatchEvent(new Event("change")); };
  }

  function changed() {
    events.dispatchEvent(new Event("change"));
    if (channel) { channel.postMessage("change"); }
  }

  async function save(item) {
    await store.put(item);
    changed();
  }

  // --- items -----------------------------------------------------------------------------------

  // `report`: the fields of POST /api/v1/cases; `photos`: [{stage, blob}] sent after the case exists.
  function create(owner, report, photos) {
    return {
      key: crypto.randomUUID(), // the idempotency key, made on the phone before any network
      owner: owner,
      createdAt: Date.now(),
      report: report,
      photos: photos.map(function (p) { return { stage: p.stage, blob: p.blob, attempted: false, done: false, photoId: null }; }),
      caseId: null,
      caseNumber: null,
      state: STATE.QUEUED,
      error: null,
      attempts: 0,
      nextTryAt: 0,
      sentAt: null
    };
  }

  async function add(owner, report, photos) {
    var item = create(owner, report, photos);
    await save(item);
    return item;
  }

  function backoffMs(attempts) {
    var seconds = Math.min(BACKOFF_MAX_S, BACKOFF_FIRST_S * Math.pow(2, attempts - 1));
    return Math.round(seconds * 1000 * (0.8 + Math.random() * 0.4));
  }

  function mine(item) {
    return Field.queue.owner !== null && item.owner && item.owner.id === Field.queue.owner.id;
  }

  function due(item, now) {
    // A "sending" item found by the lock holder was cut off (the app closed mid-way): resume it.
    return mine(item) && (item.state === STATE.SENDING || (item.state === STATE.QUEUED && item.nextTryAt <= now));
  }

  // --- the steps ---------------------------------------------------------------------------------

  async function createCase(item) {
    if (item.caseId !== null) {
      return;
    }
    var body = Object.assign({}, item.report, { channel: "grid_worker", idempotency_key: item.key });
    var answer = await Field.api.post(Field.queue.urls.cases, body);
    item.caseId = answer.data.id;
    item.caseNumber = answer.data.number;
    await save(item);
  }

  async function photoAlreadyThere(item, stage) {
    var answer = await Field.api.get(Field.queue.urls.cases + "/" + item.caseId);
    return (answer.data.photos || []).some(function (p) { return p.stage === stage; });
  }

  async function uploadPhoto(item, photo) {
    // An earlier attempt may have reached the server and lost only its answer: look before sending.
    if (photo.attempted && (await photoAlreadyThere(item, photo.stage))) {
      photo.done = true;
      photo.blob = null;
      await save(item);
      return;
    }
    photo.attempted = true;
    await save(item);
    var form = new FormData();
    form.append("stage", photo.stage);
    form.append("file", photo.blob, item.key + "-" + photo.stage + ".jpg");
    var answer = await Field.api.post(Field.queue.urls.cases + "/" + item.caseId + "/photos", form);
    photo.done = true;
    photo.photoId = answer.data.id;
    photo.blob = null; // the server has it; free the phone's storage
    await save(item);
  }

  // Sends one item; answers whether this round should stop (no network, server down, signed out).
  async function send(item) {
    item.state = STATE.SENDING;
    await save(item);
    try {
      await createCase(item);
      for (var i = 0; i < item.photos.length; i += 1) {
        if (!item.photos[i].done) {
          await uploadPhoto(item, item.photos[i]);
        }
      }
      item.state = STATE.SENT;
      item.sentAt = Date.now();
      item.error = null;
      await save(item);
      return false;
    } catch (exc) {
      var error = exc instanceof Field.api.ApiError ? exc : new Field.api.ApiError("network", 0, "client", String(exc));
      item.error = error.toJSON();
      if (error.retryable) {
        item.state = STATE.QUEUED;
        item.attempts += 1;
        item.nextTryAt = Date.now() + backoffMs(item.attempts);
      } else {
        item.state = STATE.FAILED;
      }
      await save(item);
      if (error.kind === "auth") {
        Field.queue.confirmed = false;
        events.dispatchEvent(new Event("auth"));
      }
      return error.retryable;
    }
  }

  // --- the loop ----------------------------------------------------------------------------------

  var running = null;
  var timer = null;

  async function drain() {
    // Items go out only under the session of the worker who wrote them, confirmed by the server
    // since the app started (another worker may have signed in on this phone meanwhile).
    if (!Field.queue.confirmed && !(await Field.queue.confirm())) {
      return;
    }
    var now = Date.now();
    var items = (await store.all()).filter(function (item) { return due(item, now); });
    items.sort(function (a, b) { return a.createdAt - b.createdAt; });
    for (var i = 0; i < items.length; i += 1) {
      if (!navigator.onLine || (await send(items[i]))) {
        break;
      }
    }
  }

  function exclusive() {
    // One tab sends at a time, so that two tabs never upload the same photo together.
    if (navigator.locks) {
      return navigator.locks.request(LOCK, { ifAvailable: true }, function (lock) { return lock ? drain() : null; });
    }
    return drain();
  }

  async function scheduleNext() {
    clearTimeout(timer);
    var waiting = (await store.all()).filter(function (item) { return mine(item) && item.state === STATE.QUEUED; });
    if (!waiting.length) {
      return;
    }
    var next = Math.min.apply(null, waiting.map(function (item) { return item.nextTryAt; }));
    var delay = Math.max(1000, Math.min(60000, next - Date.now()));
    timer = setTimeout(sync, delay);
  }

  // Runs one round now (or joins the round already running).
  function sync() {
    if (!running) {
      running = exclusive()
        .catch(function (exc) { console.error("outbox sync", exc); })
        .then(scheduleNext)
        .finally(function () { running = null; });
    }
    return running;
  }

  // Back online: everything waiting is due now.
  async function wake() {
    var items = (await store.all()).filter(function (item) { return mine(item) && item.state === STATE.QUEUED; });
    for (var i = 0; i < items.length; i += 1) {
      items[i].nextTryAt = 0;
      await store.put(items[i]);
    }
    changed();
    return sync();
  }

  async function retry(key) {
    var item = await store.get(key);
    if (item && item.state === STATE.FAILED) {
      item.state = STATE.QUEUED;
      item.attempts = 0;
      item.nextTryAt = 0;
      item.error = null;
      await save(item);
    }
    return sync();
  }

  async function remove(key) {
    await store.remove(key);
    changed();
  }

  async function clearSent(olderThanMs) {
    var limit = Date.now() - (olderThanMs || 0);
    var items = await store.all();
    for (var i = 0; i < items.length; i += 1) {
      if (mine(items[i]) && items[i].state === STATE.SENT && items[i].sentAt <= limit) {
        await store.remove(items[i].key);
      }
    }
    changed();
  }

  function start() {
    window.addEventListener("online", wake);
    return clearSent(KEEP_SENT_MS).then(sync);
  }

  // `confirmed`: the server has said, since the app started, that this is the signed-in worker.
  function identify(owner, confirmed) {
    Field.queue.owner = owner;
    Field.queue.confirmed = confirmed;
    changed();
  }

  Field.queue = {
    STATE: STATE,
    owner: null, // {id, username}: only the signed-in worker's items are sent
    confirmed: false,
    confirm: function () { return Promise.resolve(false); }, // the app asks the server who is signed in
    identify: identify,
    urls: { cases: "/api/v1/cases" },
    events: events,
    all: store.all,
    add: add,
    sync: sync,
    wake: wake,
    retry: retry,
    remove: remove,
    clearSent: clearSent,
    start: start
  };
})(window.Field = window.Field || {});
