// The counter page: the scan field keeps the focus (a USB scanner types the code and Enter), the member shown after
// a scan, and the actions (purchase with a preview, smart stamp, coupons, undo). Every text people see comes from
// the page's #counter-texts block, translated on the server.
(function () {
  "use strict";

  var root = document.getElementById("counter");
  if (!root) return;
  var texts = JSON.parse(document.getElementById("counter-texts").textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var $ = function (id) { return document.getElementById(id); };
  var scanField = $("scan");
  var lookupField = $("lookup");
  var amountField = $("amount");

  // The member on screen; `code` is the scanned rotating code (null after a look-up by number or phone), `spent`
  // whether a purchase or stamp has used it (the shopper's card has rolled over to a new code since).
  var state = { member: null, code: null, spent: false, transactionId: root.dataset.transactionId, busy: false };

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function newId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // ---- focus: the scan field has it unless the clerk is typing somewhere else --------------------------------
  function typingElsewhere() {
    var active = document.activeElement;
    if (!active || active === scanField || active === document.body) return false;
    var tag = active.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function refocus() {
    if (!typingElsewhere() && $("camera-box").hidden) scanField.focus({ preventScroll: true });
  }

  scanField.addEventListener("blur", function () { window.setTimeout(refocus, 0); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) refocus(); });
  window.addEventListener("focus", refocus);

  // ---- answers ------------------------------------------------------------------------------------------------
  function say(message, good) {
    var status = $("status");
    status.hidden = false;
    status.textContent = message;
    status.className = "status " + (good ? "good" : "bad");
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify(body),
    }).then(
      function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") === -1) {
          // Signed out or the page's token is stale: the server answered with a page, not JSON.
          return { ok: false, message: texts.expired, reload: true };
        }
        return response.json();
      },
      function () { return { ok: false, message: texts.network, network: true }; }
    );
  }

  // Run one action at a time; the buttons stay off while it runs so a double tap sends once.
  function act(url, body, done) {
    if (state.busy) return Promise.resolve();
    state.busy = true;
    root.classList.add("busy");
    say(texts.working, true);
    return post(url, body).then(function (answer) {
      state.busy = false;
      root.classList.remove("busy");
      say(answer.message || texts.network, !!answer.ok);
      if (answer.reload) window.setTimeout(function () { window.location.reload(); }, 2500);
      if (answer.ok && answer.member) showMember(answer.member);
      if (done) done(answer);
      updateButtons();
      refocus();
    });
  }

  // ---- the member -----------------------------------------------------------------------------------------------
  function showMember(member) {
    if (state.member && state.member.member_number !== member.member_number) {
      // Another member (an undo from an earlier shopper): the scanned code on hand is not theirs.
      state.code = null;
      state.spent = false;
      resetPurchase();
    }
    state.member = member;
    $("member").hidden = false;
    $("actions").hidden = false;
    $("member-name").textContent = member.name;
    $("member-tier").textContent = member.tier_label;
    $("member-tier").className = "tier tier-" + member.tier;
    $("member-number").textContent = member.member_number;
    $("member-points").textContent = member.points.toLocaleString() + " " + texts.points_suffix;
    $("member-phone").textContent = member.phone || texts.no_phone;

    var cards = $("member-cards");
    cards.textContent = "";
    if (!member.stamp_cards.length) cards.appendChild(el("li", "hint", texts.no_cards));
    member.stamp_cards.forEach(function (card) {
      var item = el("li", "card-line", fill(texts.card_line, { name: card.name, stamps: card.stamps, to_fill: card.stamps_to_fill }));
      var bar = el("span", "bar");
      var fillBar = el("span", "bar-fill");
      fillBar.style.width = Math.min(100, Math.round((100 * card.stamps) / card.stamps_to_fill)) + "%";
      bar.appendChild(fillBar);
      item.appendChild(bar);
      cards.appendChild(item);
    });

    var coupons = $("member-coupons");
    coupons.textContent = "";
    if (!member.coupons.length) coupons.appendChild(el("li", "hint", texts.no_coupons));
    member.coupons.forEach(function (coupon) {
      var item = el("li", "coupon");
      var about = el("span", "coupon-about");
      about.appendChild(el("strong", null, coupon.name));
      var details = [coupon.code];
      if (coupon.min_spend) details.push(fill(texts.coupon_min_spend, { amount: coupon.min_spend.toLocaleString() }));
      if (coupon.expires_on) details.push(fill(texts.coupon_expires, { date: coupon.expires_on }));
      about.appendChild(el("small", null, details.join(" · ")));
      var use = el("button", "secondary use-coupon", texts.use);
      use.type = "button";
      use.dataset.code = coupon.code;
      use.addEventListener("click", function () { redeemCoupon(coupon.code); });
      item.appendChild(about);
      item.appendChild(use);
      coupons.appendChild(item);
    });

    var carrier = member.carrier;
    $("carrier").hidden = !carrier;
    if (carrier) {
      $("carrier-code").textContent = carrier.code;
      var image = $("carrier-image");
      image.hidden = !carrier.image;
      if (carrier.image) {
        image.src = carrier.image;
        image.alt = carrier.code;
      }
    }
  }

  function canSpend() { return !!(state.member && state.code && !state.spent); }

  function updateButtons() {
    var spend = canSpend();
    var mode = $("member-mode");
    if (state.member) {
      mode.textContent = spend ? texts.spendable : state.code ? texts.code_spent : texts.lookup_only;
      mode.className = "mode " + (spend ? "good" : "warn");
    }
    $("confirm").disabled = !spend || state.busy;
    $("confirm").textContent = spend ? texts.confirm : texts.needs_scan;
    $("stamp").disabled = !spend || state.busy;
    $("stamp").textContent = spend ? texts.stamp : texts.needs_scan;
    $("preview").disabled = !spend || state.busy;
    Array.prototype.forEach.call(document.querySelectorAll(".use-coupon"), function (button) {
      button.disabled = !state.code || state.busy;
      button.title = state.code ? "" : texts.needs_scan;
    });
  }

  function resetPurchase() {
    state.transactionId = newId();
    amountField.value = "";
    $("preview-box").hidden = true;
  }

  // ---- scan and look-up -----------------------------------------------------------------------------------------
  function scanned(value) {
    var text = value.trim();
    if (!text) return;
    if (/^CP\d{12}$/i.test(text)) {
      redeemCoupon(text.toUpperCase());
      return;
    }
    act(root.dataset.scanUrl, { code: text }, function (answer) {
      if (!answer.ok) return;
      state.code = answer.member.spendable ? text : null;
      state.spent = false;
      resetPurchase();
    });
  }

  $("scan-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var value = scanField.value;
    scanField.value = "";
    scanned(value);
  });

  $("lookup-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var value = lookupField.value.trim();
    if (!value) return;
    lookupField.value = "";
    lookupField.blur();
    act(root.dataset.lookupUrl, { query: value }, function (answer) {
      if (!answer.ok) return;
      state.code = null;
      state.spent = false;
      resetPurchase();
    });
  });

  // ---- purchase: amount, preview, confirm --------------------------------------------------------------------------
  $("purchase-form").addEventListener("submit", function (event) {
    event.preventDefault();
    if (!canSpend()) return;
    var amount = parseInt(amountField.value, 10);
    if (!(amount >= 1 && amount <= 10000000) || String(amount) !== amountField.value.trim()) {
      say(texts.amount_needed, false);
      amountField.focus();
      return;
    }
    amountField.blur();
    act(root.dataset.previewUrl, { member_number: state.member.member_number, amount: amount }, function (answer) {
      if (!answer.ok) return;
      $("preview-box").hidden = false;
      $("preview-box").dataset.amount = String(amount);
      $("preview-text").textContent = fill(texts.preview_points, { amount: amount.toLocaleString(), points: answer.points });
      var list = $("preview-stamps");
      list.textContent = "";
      answer.stamps.forEach(function (stamp) {
        var line = fill(texts.preview_stamp, { name: stamp.name, stamps: stamp.stamps, to_fill: stamp.stamps_to_fill, adding: stamp.adding });
        list.appendChild(el("li", null, line + (stamp.limited ? texts.preview_limited : "")));
      });
      say(answer.message || $("preview-text").textContent, true);
    });
  });

  amountField.addEventListener("input", function () { $("preview-box").hidden = true; });

  $("confirm").addEventListener("click", function () {
    if (!canSpend()) return;
    var amount = parseInt($("preview-box").dataset.amount, 10);
    var transactionId = state.transactionId;
    act(root.dataset.purchaseUrl, { code: state.code, amount: amount, transaction_id: transactionId }, function (answer) {
      if (answer.network) return; // the same transaction id is sent again on the next tap: recorded once
      if (answer.ok) {
        state.spent = true;
        addRecent(fill(texts.recent_purchase, { amount: amount.toLocaleString(), points: answer.points_earned }), {
          url: root.dataset.purchaseUndoUrl,
          body: { transaction_id: transactionId },
        });
        resetPurchase();
      } else if (answer.error === "code_used" || answer.error === "code_expired") {
        state.spent = true;
      }
    });
  });

  // ---- smart stamp ----------------------------------------------------------------------------------------------
  $("stamp").addEventListener("click", function () {
    if (!canSpend()) return;
    act(root.dataset.stampUrl, { code: state.code, idempotency_key: newId() }, function (answer) {
      if (answer.ok) {
        state.spent = true;
        addRecent(texts.recent_stamp, null);
      } else if (answer.error === "code_used" || answer.error === "code_expired") {
        state.spent = true;
      }
    });
  });

  // ---- coupons --------------------------------------------------------------------------------------------------
  function redeemCoupon(couponCode) {
    var body = { coupon_code: couponCode };
    if (state.code) body.code = state.code;
    else if (state.member) body.member_number = state.member.member_number;
    act(root.dataset.redeemUrl, body, function (answer) {
      if (!answer.ok) return;
      addRecent(fill(texts.recent_coupon, { name: answer.coupon.name }), {
        url: root.dataset.couponUndoUrl,
        body: { coupon_code: answer.coupon.code },
      });
    });
  }

  // ---- what was done for this member, with undo -----------------------------------------------------------------
  function addRecent(label, undo) {
    $("recent-empty").hidden = true;
    var item = el("li", "recent-item");
    item.appendChild(el("span", null, (state.member ? state.member.name + " · " : "") + label));
    if (undo) {
      var button = el("button", "danger undo", texts.undo);
      button.type = "button";
      button.addEventListener("click", function () {
        act(undo.url, undo.body, function (answer) {
          if (!answer.ok) return;
          button.disabled = true;
          button.textContent = texts.undone;
          item.classList.add("undone");
        });
      });
      item.appendChild(button);
    }
    $("recent").insertBefore(item, $("recent").firstChild);
  }

  // ---- camera (phones and tablets) ----------------------------------------------------------------------------
  var camera = null;
  var cameraButton = $("camera");
  var canUseCamera = !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia) &&
    window.matchMedia("(pointer: coarse)").matches;
  cameraButton.hidden = !canUseCamera;

  function loadCameraLibrary() {
    if (window.__Html5QrcodeLibrary__) return Promise.resolve(window.__Html5QrcodeLibrary__);
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = root.dataset.cameraLib;
      script.onload = function () { resolve(window.__Html5QrcodeLibrary__); };
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function closeCamera() {
    var running = camera;
    camera = null;
    $("camera-box").hidden = true;
    if (running) running.stop().catch(function () {}).then(function () { running.clear(); });
    refocus();
  }

  cameraButton.addEventListener("click", function () {
    $("camera-box").hidden = false;
    loadCameraLibrary().then(function (library) {
      var formats = library.Html5QrcodeSupportedFormats;
      camera = new library.Html5Qrcode("camera-view", {
        formatsToSupport: [formats.CODE_128, formats.QR_CODE],
        verbose: false,
      });
      return camera.start(
        { facingMode: "environment" },
        { fps: 10, qrbox: function (width, height) { return { width: Math.floor(width * 0.9), height: Math.floor(Math.min(height, width) * 0.5) }; } },
        function (text) {
          closeCamera();
          scanned(text);
        },
        function () {}
      );
    }).catch(function () {
      say(texts.camera_failed, false);
      closeCamera();
    });
  });
  $("camera-close").addEventListener("click", closeCamera);

  updateButtons();
  refocus();
})();
