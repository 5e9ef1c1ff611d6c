/* The local LINE chat page: pick a user, follow/block, write, tap the rich menu; polls the platform every second,
   and every 100 ms for a few seconds after a tap until the answer is there. */
(function () {
  "use strict";

  const R = window.DevLineRender;
  const API = document.body.dataset.apiBase + "/api";
  const $ = (id) => document.getElementById(id);
  const FRIENDSHIP = { none: "尚未加入好友 Not a friend", friend: "好友 Friend", blocked: "已封鎖 Blocked" };

  let selected = localStorage.getItem("devline-user") || "";
  let shown = { version: -1, user: null, menu: null, menuId: null, menuUser: null, chatLength: 0 };
  let keepMenuOpen = false;
  let current = null;

  async function call(path, method, body) {
    const response = await fetch(API + path, {
      method: method || "GET",
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || data.message || response.statusText);
    return data;
  }

  function act(path, body) {
    if (!selected) return Promise.resolve();
    return call(`/users/${selected}${path}`, "POST", body || {}).then(pollUntilAnswered).catch((e) => showError(e.message));
  }

  /* After a tap the bot answers within a fraction of a second: look often for a few seconds rather than waiting for
     the once-a-second poll, so the answer shows as soon as LINE would show it. */
  function botMessages() {
    return ((current && current.chat) || []).filter((entry) => entry.from === "bot").length;
  }

  function pollUntilAnswered() {
    const before = botMessages();
    const started = Date.now();
    const again = () => poll().then(() => {
      if (botMessages() === before && Date.now() - started < 4000) setTimeout(again, 100);
    });
    return again();
  }

  function showError(text) { $("form-error").textContent = text || ""; }

  /* Actions from bubbles, quick replies and rich menu areas, as the LINE app performs them. */
  function perform(action) {
    if (!action || !selected) return;
    switch (action.type) {
      case "message":
        return act("/text", { text: action.text });
      case "postback": {
        // inputOption: what LINE does with the menu and keyboard after the tap.
        if (action.inputOption === "closeRichMenu") setMenuOpen(false);
        if (action.inputOption === "openRichMenu") setMenuOpen(true);
        if (action.inputOption === "openKeyboard" || action.inputOption === "openVoice") $("message-input").focus();
        const body = { data: action.data, displayText: action.displayText || action.text || null };
        return act("/postback", body);
      }
      case "uri": {
        const uri = action.uri || "";
        if (/^(https?:|line:|tel:)/.test(uri)) window.open(uri, "_blank", "noopener");
        return;
      }
      case "datetimepicker": {
        const mode = action.mode || "datetime";
        const value = window.prompt(`選擇 ${mode} (${mode === "date" ? "YYYY-MM-DD" : mode === "time" ? "HH:mm" : "YYYY-MM-DDTHH:mm"})`, action.initial || "");
        if (value) return act("/postback", { data: action.data, params: { [mode]: value } });
        return;
      }
      case "richmenuswitch":
        // LINE switches the tab on the phone and keeps the menu open, then posts a postback to the bot.
        keepMenuOpen = true;
        return act("/richmenu-switch", { richMenuAliasId: action.richMenuAliasId, data: action.data || "" });
      case "clipboard":
        if (navigator.clipboard) navigator.clipboard.writeText(action.clipboardText || "");
        return;
      default:
        window.alert(`此動作在模擬器中不支援 Not supported here: ${action.type}`);
    }
  }

  function renderUsers(users) {
    const select = $("user-select");
    const wanted = [""].concat(users.map((u) => u.userId)).join(",");
    if (select.dataset.ids !== wanted) {
      select.dataset.ids = wanted;
      select.replaceChildren(new Option(users.length ? "— 選擇使用者 Pick a user —" : "— 請先新增使用者 Add a user first —", ""));
      users.forEach((u) => select.appendChild(new Option(`${u.displayName} (${u.language})`, u.userId)));
    }
    select.value = selected;
  }

  function renderHeader(user) {
    const brand = document.body.dataset.brand;
    $("chat-title").textContent = user ? `${brand} · ${user.displayName}` : brand;
    $("friend-state").textContent = user ? FRIENDSHIP[user.friendship] || user.friendship : "";
    $("add-friend").disabled = !user || user.friendship === "friend";
    $("block").disabled = !user || user.friendship !== "friend";
    const canWrite = Boolean(user) && user.friendship !== "blocked";
    $("message-input").disabled = !canWrite;
    $("send").disabled = !canWrite;
  }

  function renderChat(chat) {
    const box = $("chat");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    box.replaceChildren();
    if (!chat.length) box.appendChild(R.el("p", "empty", "還沒有訊息。No messages yet."));
    chat.forEach((entry) => {
      const row = R.el("div", `row ${entry.from}`);
      const rendered = R.message(entry.message, perform);
      const bubble = R.el("div", `bubble ${entry.from}${rendered.media ? " media" : ""}`);
      bubble.dataset.testid = `bubble-${entry.from}`;
      bubble.dataset.type = entry.message.type;
      bubble.appendChild(rendered.node);
      const time = R.el("span", "time", new Date(entry.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
      if (entry.via) time.appendChild(R.el("span", "via", entry.via));
      if (entry.from === "user") row.append(time, bubble); else row.append(bubble, time);
      box.appendChild(row);
    });
    // Like LINE: jump to the newest message when one arrives or another user is picked.
    if (atBottom || shown.user !== selected || chat.length !== shown.chatLength) {
      box.scrollTop = box.scrollHeight;
      const stick = () => { box.scrollTop = box.scrollHeight; };
      box.querySelectorAll("img").forEach((img) => ["load", "error"].forEach((type) => img.addEventListener(type, stick, { once: true })));
    }
    shown.chatLength = chat.length;
    renderQuickReplies(chat);
  }

  function renderQuickReplies(chat) {
    const bar = $("quick-replies");
    bar.replaceChildren();
    const last = chat[chat.length - 1];
    const items = last && last.from === "bot" && last.message.quickReply ? last.message.quickReply.items || [] : [];
    items.forEach((item) => {
      const chip = R.el("button", "quick-reply", R.actionLabel(item.action));
      chip.type = "button";
      chip.dataset.testid = "quick-reply";
      chip.addEventListener("click", () => perform(item.action));
      bar.appendChild(chip);
    });
  }

  function setMenuOpen(open) { $("richmenu").classList.toggle("collapsed", !open); }

  const MENU_SOURCE = {
    user: "連結給此使用者 linked to this user",
    default: "預設選單 default menu",
    switched: "由分頁切換 switched to by a tab",
  };

  /* The rich menu LINE shows this user (their own, else the default; a tab they switched to wins), or none:
     its image scaled to the phone's width, with a transparent button over each area's bounds. */
  function renderRichMenu(menu, user) {
    const menuId = menu ? menu.richMenuId : null;
    const userId = user ? user.userId : null;
    const key = JSON.stringify([menuId, userId, user && user.friendship, menu && menu.source, menu && menu.aliases]);
    if (shown.menu === key) return;
    const fresh = shown.menuId !== menuId || shown.menuUser !== userId;
    shown.menu = key;
    shown.menuId = menuId;
    shown.menuUser = userId;
    renderMenuInfo(menu, user);
    const section = $("richmenu");
    const body = $("richmenu-body");
    body.replaceChildren();
    section.hidden = !menu;
    if (!menu) return;
    section.dataset.richMenuId = menu.richMenuId;
    $("richmenu-label").textContent = menu.chatBarText;
    if (fresh) setMenuOpen(keepMenuOpen || menu.selected !== false);
    keepMenuOpen = false;
    const disabled = !user || user.friendship === "blocked";
    const holder = R.el("div", "richmenu-image");
    const img = R.el("img");
    img.src = menu.imageUrl;
    img.alt = menu.name || menu.chatBarText;
    img.dataset.testid = "richmenu-image";
    holder.appendChild(img);
    (menu.areas || []).forEach((area, index) => {
      const b = area.bounds;
      const button = R.el("button", "richmenu-area");
      button.type = "button";
      button.dataset.testid = `richmenu-area-${index}`;
      button.dataset.actionType = area.action.type;
      button.title = R.actionLabel(area.action) || area.action.richMenuAliasId || area.action.type;
      button.setAttribute("aria-label", button.title);
      Object.assign(button.style, {
        left: `${(100 * b.x) / menu.size.width}%`, top: `${(100 * b.y) / menu.size.height}%`,
        width: `${(100 * b.width) / menu.size.width}%`, height: `${(100 * b.height) / menu.size.height}%`,
      });
      button.disabled = disabled;
      button.addEventListener("click", () => perform(area.action));
      holder.appendChild(button);
    });
    body.appendChild(holder);
  }

  function renderMenuInfo(menu, user) {
    const info = $("richmenu-info");
    if (!user) { info.textContent = "—"; return; }
    if (!menu) {
      info.textContent = "此使用者沒有圖文選單（沒有預設選單，也沒有連結給他的選單）。No rich menu: none is the default or linked to this user.";
      return;
    }
    const aliases = menu.aliases.length ? ` · alias ${menu.aliases.join(", ")}` : "";
    info.textContent = `${menu.name}（${MENU_SOURCE[menu.source] || menu.source}）${aliases}`;
  }

  function renderDeliveries(deliveries) {
    const list = $("deliveries");
    list.replaceChildren();
    deliveries.slice().reverse().forEach((d) => {
      const ok = d.status >= 200 && d.status < 300;
      const item = R.el("li", ok ? "" : "bad", `${d.types.join(",") || "(empty)"} → ${d.status || "unreachable"}${d.redelivery ? " (redelivery)" : ""}`);
      if (!ok) item.title = d.body;
      list.appendChild(item);
    });
  }

  // The development SMS backend's texts (one-time codes), newest first; served by the app at /dev/sms.
  let smsShown = "";
  async function pollSms() {
    let messages;
    try {
      const response = await fetch("/dev/sms", { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      messages = (await response.json()).messages;
    } catch (e) {
      return;
    }
    const fingerprint = JSON.stringify(messages);
    if (fingerprint === smsShown) return;
    smsShown = fingerprint;
    const list = $("sms-inbox");
    list.replaceChildren();
    if (!messages.length) list.appendChild(R.el("li", "empty", "尚無簡訊 No texts yet"));
    messages.slice().reverse().forEach((m) => list.appendChild(R.el("li", "", `${m.to}：${m.text}`)));
  }

  async function poll() {
    let state;
    try {
      state = await call(`/state?user=${encodeURIComponent(selected)}`);
    } catch (e) {
      return;
    }
    if (state.version === shown.version && shown.user === selected) return;
    current = state;
    if (!state.user && selected) { selected = ""; localStorage.removeItem("devline-user"); }
    renderUsers(state.users);
    renderHeader(state.user);
    renderChat(state.chat);
    renderRichMenu(state.richMenu, state.user);
    renderDeliveries(state.deliveries);
    shown.version = state.version;
    shown.user = selected;
  }

  $("user-select").addEventListener("change", (event) => {
    selected = event.target.value;
    localStorage.setItem("devline-user", selected);
    shown.menu = null;
    poll();
  });
  $("new-user-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    try {
      const created = await call("/users", "POST", { displayName: $("new-user-name").value, language: $("new-user-language").value });
      selected = created.user.userId;
      localStorage.setItem("devline-user", selected);
      $("new-user-name").value = "";
      shown.menu = null;
      poll();
    } catch (e) { showError(e.message); }
  });
  $("add-friend").addEventListener("click", () => act("/follow"));
  $("block").addEventListener("click", () => act("/unfollow"));
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("message-input");
    if (!input.value.trim()) return;
    const text = input.value;
    input.value = "";
    act("/text", { text });
  });
  $("richmenu-toggle").addEventListener("click", () => setMenuOpen($("richmenu").classList.contains("collapsed")));

  // LINE's oaMessage link opens the chat with a message typed in, not sent: `/dev/line/?text=…` does the same here
  // (the staff referral landing page points at it in development).
  const typed = new URLSearchParams(window.location.search).get("text");
  if (typed) $("message-input").value = typed.slice(0, 5000);

  window.DevLine = { perform, state: () => current };
  poll();
  pollSms();
  setInterval(poll, 1000);
  setInterval(pollSms, 2000);
})();
