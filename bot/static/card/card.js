/* The live member card: swaps in the next code as each time step ends, without reloading the page.

   The server says how many seconds the shown code has left (its clock, not the phone's). A code is accepted in its
   own step and the next one, so the page asks for the new code just after the step ends and the code on screen is
   still good while it waits. A failed fetch is retried with a growing pause and an offline notice is shown; a code
   past its last valid moment is greyed out so that it never looks valid. window.omoCard.refresh() asks at once.

   A value-changing scan at a till spends the code and the server issues the next one of the same minute at once, so
   while the page is looked at it also asks every few seconds, naming the version it shows: the answer is a small
   `unchanged` (no images) until the code was spent, then the new code, which replaces the old one as at a step end. */
(function () {
  "use strict";

  var ASK_AFTER_STEP_MS = 400;
  var RETRY_MS = [1000, 2000, 4000, 8000, 10000];
  var TEXTS = {
    offline: ["無法更新條碼，請檢查網路連線，正在重試…", "Can't refresh the code: check your connection. Retrying…"],
    refreshing: ["條碼更新中…", "refreshing…"],
    halted: ["條碼已停止更新", "no longer refreshing"],
    stopped: ["請回到 LINE 重新開啟會員條碼", "Please open the member barcode again from LINE."],
  };

  var card = document.getElementById("card");
  var codes = document.getElementById("codes");
  var barcode = document.getElementById("barcode");
  var qr = document.getElementById("qr");
  var digits = document.getElementById("digits");
  var stepMs = Number(card.dataset.stepSeconds) * 1000;
  var pollMs = Number(card.dataset.pollSeconds) * 1000;
  var loadedAt = Date.now();
  var secondsLeft = Number(card.dataset.secondsLeft);
  var state = {
    code: card.dataset.code,
    version: card.dataset.version,
    polledAt: loadedAt,
    refreshAt: loadedAt + secondsLeft * 1000,
    validUntil: loadedAt + secondsLeft * 1000 + stepMs,
    retryAt: 0,
    failures: 0,
    inFlight: null,
    stopped: false,
  };

  function grouped(code) {
    return code.slice(0, 6) + " " + code.slice(6, 12) + " " + code.slice(12);
  }

  function setText(id, text) {
    var node = document.getElementById(id);
    if (node.textContent !== text) node.textContent = text;
  }

  function notify(texts) {
    var box = document.getElementById("offline");
    if (!texts) {
      box.hidden = true;
      return;
    }
    setText("offline-zh", texts[0]);
    setText("offline-en", texts[1]);
    box.hidden = false;
  }

  function preload(url) {
    return new Promise(function (resolve, reject) {
      var image = new Image();
      image.onload = resolve;
      image.onerror = function () { reject(new Error("image " + url)); };
      image.src = url;
    });
  }

  function time(data, sameCode) {
    var now = Date.now();
    state.refreshAt = now + data.seconds_left * 1000;
    state.validUntil = state.refreshAt + stepMs;
    // The server's step has not turned yet (a slow clock here): ask again shortly.
    state.retryAt = sameCode && data.seconds_left < 1 ? now + 1000 : 0;
  }

  function show(data) {
    time(data, data.version === state.version);
    state.code = data.code;
    state.version = data.version;
    barcode.src = data.barcode_url;
    qr.src = data.qr_url;
    digits.textContent = grouped(data.code);
    card.dataset.code = data.code;
    card.dataset.version = data.version;
    codes.classList.remove("stale");
  }

  function stop(response) {
    state.stopped = true;
    if (response.status === 404) state.validUntil = 0;
    return response.json().then(
      function (body) { notify([body.message || TEXTS.stopped[0], body.message_en || TEXTS.stopped[1]]); },
      function () { notify(TEXTS.stopped); }
    );
  }

  function failed() {
    state.failures += 1;
    state.retryAt = Date.now() + RETRY_MS[Math.min(state.failures, RETRY_MS.length) - 1];
    notify(TEXTS.offline);
  }

  function refresh() {
    if (state.inFlight) return state.inFlight;
    var url = card.dataset.codeUrl + "&v=" + encodeURIComponent(state.version);
    state.polledAt = Date.now();
    state.inFlight = fetch(url, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 403 || response.status === 404) return stop(response);
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json().then(function (data) {
          if (data.unchanged) {
            time(data, true);
            state.failures = 0;
            notify(null);
            return null;
          }
          return Promise.all([preload(data.barcode_url), preload(data.qr_url)]).then(function () {
            show(data);
            state.failures = 0;
            notify(null);
          });
        });
      })
      .catch(failed)
      .then(function () {
        state.inFlight = null;
        tick();
      });
    return state.inFlight;
  }

  function tick() {
    var now = Date.now();
    var left = Math.max(0, Math.ceil((state.refreshAt - now) / 1000));
    var shown = state.stopped ? TEXTS.halted : left > 0 ? null : TEXTS.refreshing;
    setText("countdown-zh", shown ? shown[0] : "條碼將於 " + left + " 秒後更新");
    setText("countdown-en", shown ? shown[1] : "refreshes in " + left + " s");
    document.getElementById("timer-fill").style.width = Math.min(100, (100 * left * 1000) / stepMs) + "%";
    codes.classList.toggle("stale", now >= state.validUntil);
    if (state.stopped || state.inFlight || now < state.retryAt) return;
    var stepEnded = now >= state.refreshAt + ASK_AFTER_STEP_MS;
    var spentYet = !document.hidden && now < state.refreshAt && now >= state.polledAt + pollMs;
    if (stepEnded || spentYet) refresh();
  }

  // A sleeping phone stops timers: check again the moment the page is looked at.
  document.addEventListener("visibilitychange", function () { if (!document.hidden) tick(); });
  window.addEventListener("online", function () { state.retryAt = 0; tick(); });
  if (navigator.wakeLock) navigator.wakeLock.request("screen").catch(function () {});
  setInterval(tick, 250);
  tick();

  window.omoCard = { refresh: refresh, state: state };
})();
