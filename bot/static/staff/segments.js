// The segment builder: edits the definition (docs/console.md) in the form's hidden field as groups of conditions,
// and asks the server for the live count and a masked sample after each change. Also asks before a delete.
(function () {
  "use strict";
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
  var root = document.getElementById("builder");
  if (!root) { return; }
  var options = JSON.parse(root.dataset.options);
  var words = options.words;
  var hidden = document.getElementById("definition");
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var MAX_DEPTH = 3;
  var RANGE = [["days", "days"], ["min", "num"], ["max", "num"]];
  var SPECS = {
    tier: [["tiers", "checks", "tiers"]],
    line_bound: [["value", "bool"]],
    marketing_consent: [["value", "bool"]],
    home_store: [["store_ids", "checks", "stores"]],
    visited_store: [["store_ids", "checks", "stores"], ["days", "days"]],
    spend: RANGE, visits: RANGE, avg_basket: RANGE,
    last_visit: [["since", "date"], ["before", "date"]],
    bought_sku: [["skus", "skus"], ["days", "days"]],
    stamps: [["template_id", "select", "stampCards"], ["min", "num"], ["max", "num"]],
    coupons: [["state", "select", "couponStates"], ["template_id", "optional", "coupons"], ["days", "days"]],
    points: [["min", "num"], ["max", "num"]],
    birthday_month: [["months", "checks", "months"]],
    joined: [["since", "date"], ["before", "date"]],
    source: [["sources", "checks", "sources"]],
    referred_by: [["staff_ids", "checks", "staff"]],
    checkin_streak: [["min", "num"]],
    bought_category: [["categories", "checks", "categories"], ["days", "days"]],
    tags: [["tag_ids", "checks", "tags"]],
    rfm_group: [["groups", "checks", "rfmGroups"]]
  };
  var LABELS = {days: "最近幾天", min: "最小值", max: "最大值", since: "從（含）", before: "到（不含）",
    skus: "SKU（以逗號分隔）", state: "狀態"};
  var TEMPLATE_LABELS = {stamps: "集點卡", coupons: "優惠券"};

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function newCondition(type) {
    var cond = {type: type};
    SPECS[type].forEach(function (field) {
      var name = field[0], kind = field[1];
      if (kind === "checks") { cond[name] = []; }
      else if (kind === "days") { cond[name] = 90; }
      else if (kind === "bool") { cond[name] = true; }
      else if (kind === "select") { var list = options[field[2]]; cond[name] = list.length ? list[0][0] : null; }
      else { cond[name] = kind === "skus" ? [] : null; }
    });
    return cond;
  }

  // The editing model: a group {mode, not, items}; an item is a group or {cond, not}.
  function fromNode(node) {
    var negated = false;
    while (node && node.not) { negated = !negated; node = node.not; }
    if (node && (node.all || node.any)) {
      var mode = node.all ? "all" : "any";
      return {mode: mode, not: negated, items: node[mode].map(fromNode)};
    }
    return {cond: node, not: negated};
  }

  function toNode(item) {
    var node;
    if (item.items) {
      node = {};
      node[item.mode] = item.items.map(toNode);
    } else {
      node = item.cond;
    }
    return item.not ? {not: node} : node;
  }

  var initial = JSON.parse(hidden.value || "{}");
  var model = fromNode(initial || {all: []});
  if (!model.items) { model = {mode: "all", not: false, items: [model]}; }

  function conditionCount(group) {
    return group.items.reduce(function (n, item) { return n + (item.items ? conditionCount(item) : 1); }, 0);
  }

  function fieldInput(item, field) {
    var name = field[0], kind = field[1], cond = item.cond;
    var label = LABELS[name] ? words[LABELS[name]] : "";
    if (name === "template_id") { label = words[TEMPLATE_LABELS[cond.type]]; }
    if (kind === "checks") {
      var box = el("fieldset", {"class": "checks"});
      options[field[2]].forEach(function (choice) {
        var input = el("input", {type: "checkbox", value: String(choice[0])});
        input.checked = cond[name].indexOf(choice[0]) >= 0;
        input.addEventListener("change", function () {
          cond[name] = cond[name].filter(function (v) { return v !== choice[0]; });
          if (input.checked) { cond[name].push(choice[0]); }
          changed();
        });
        box.appendChild(el("label", {"class": "check"}, [input, document.createTextNode(" " + choice[1])]));
      });
      return box;
    }
    var input;
    if (kind === "bool") {
      input = el("select", {"aria-label": words["是"] + "/" + words["否"]}, [
        el("option", {value: "true", text: words["是"]}), el("option", {value: "false", text: words["否"]})]);
      input.value = String(cond[name]);
    } else if (kind === "select" || kind === "optional") {
      input = el("select", {"aria-label": label});
      if (kind === "optional") { input.appendChild(el("option", {value: "", text: words["不限"]})); }
      options[field[2]].forEach(function (choice) {
        input.appendChild(el("option", {value: String(choice[0]), text: choice[1]}));
      });
      input.value = cond[name] === null ? "" : String(cond[name]);
    } else {
      var type = kind === "date" ? "date" : (kind === "skus" ? "text" : "number");
      input = el("input", {type: type, "aria-label": label});
      if (type === "number") { input.setAttribute("min", "0"); input.setAttribute("inputmode", "numeric"); }
      input.value = kind === "skus" ? cond[name].join(", ") : (cond[name] === null ? "" : String(cond[name]));
    }
    input.addEventListener("change", function () {
      var value = input.value.trim();
      if (kind === "bool") { cond[name] = value === "true"; }
      else if (kind === "skus") { cond[name] = value.split(/[,，\s]+/).filter(Boolean); }
      else if (kind === "select" || kind === "optional") {
        cond[name] = value === "" ? null : (/^\d+$/.test(value) && name !== "state" ? Number(value) : value);
      } else if (kind === "date") { cond[name] = value || null; }
      else { cond[name] = value === "" ? null : (/^\d+$/.test(value) ? Number(value) : value); }
      changed();
    });
    return label ? el("label", {"class": "inline-field"}, [document.createTextNode(label + " "), input]) : input;
  }

  function notToggle(item) {
    var box = el("input", {type: "checkbox"});
    box.checked = item.not;
    box.addEventListener("change", function () { item.not = box.checked; changed(); });
    return el("label", {"class": "check not"}, [box, document.createTextNode(" " + words["排除（NOT）"])]);
  }

  function removeButton(group, item) {
    var button = el("button", {type: "button", "class": "secondary small", text: words["移除"]});
    button.addEventListener("click", function () {
      group.items.splice(group.items.indexOf(item), 1);
      render();
    });
    return button;
  }

  function renderCondition(group, item) {
    var kinds = el("select", {"aria-label": words["新增條件"], "data-testid": "condition-kind"});
    options.kinds.forEach(function (kind) { kinds.appendChild(el("option", {value: kind[0], text: kind[1]})); });
    kinds.value = item.cond.type;
    kinds.addEventListener("change", function () { item.cond = newCondition(kinds.value); render(); });
    var fields = el("div", {"class": "fields"}, SPECS[item.cond.type].map(function (f) { return fieldInput(item, f); }));
    return el("div", {"class": "condition", "data-testid": "condition"}, [
      el("div", {"class": "row"}, [kinds, notToggle(item), removeButton(group, item)]), fields]);
  }

  function renderGroup(group, parent, depth) {
    var mode = el("select", {"class": "mode", "aria-label": words["符合以下全部條件"], "data-testid": "group-mode"}, [
      el("option", {value: "all", text: words["符合以下全部條件"]}),
      el("option", {value: "any", text: words["符合以下任一條件"]})]);
    mode.value = group.mode;
    mode.addEventListener("change", function () { group.mode = mode.value; changed(); });
    var head = el("div", {"class": "row"}, [mode]);
    if (parent) { head.appendChild(notToggle(group)); head.appendChild(removeButton(parent, group)); }
    var list = el("div", {"class": "items"}, group.items.map(function (item) {
      return item.items ? renderGroup(item, group, depth + 1) : renderCondition(group, item);
    }));
    var addCondition = el("button", {type: "button", "class": "secondary", text: "＋ " + words["新增條件"],
      "data-testid": "add-condition"});
    addCondition.addEventListener("click", function () {
      group.items.push({cond: newCondition(options.kinds[0][0]), not: false});
      render();
    });
    var tools = el("div", {"class": "row tools"}, [addCondition]);
    if (depth < MAX_DEPTH) {
      var addGroup = el("button", {type: "button", "class": "secondary", text: "＋ " + words["新增群組"],
        "data-testid": "add-group"});
      addGroup.addEventListener("click", function () {
        group.items.push({mode: "any", not: false, items: [{cond: newCondition(options.kinds[0][0]), not: false}]});
        render();
      });
      tools.appendChild(addGroup);
    }
    return el("div", {"class": parent ? "group nested" : "group", "data-testid": "group"}, [head, list, tools]);
  }

  function render() {
    Array.prototype.slice.call(root.children).forEach(function (child) {
      if (child.tagName !== "NOSCRIPT") { root.removeChild(child); }
    });
    root.appendChild(renderGroup(model, null, 1));
    changed();
  }

  var countEl = document.getElementById("preview-count");
  var reachableEl = document.getElementById("preview-reachable");
  var sampleEl = document.getElementById("preview-sample");
  var errorEl = document.getElementById("preview-error");
  var timer = null;
  var asked = 0;

  function showError(message) {
    errorEl.textContent = message;
    errorEl.hidden = !message;
  }

  function showResult(result) {
    countEl.textContent = result.count.toLocaleString();
    reachableEl.textContent = result.reachable.toLocaleString();
    sampleEl.textContent = "";
    if (!result.sample.length) {
      sampleEl.appendChild(el("tr", {}, [el("td", {colspan: "3", text: words["沒有符合的會員"]})]));
    }
    result.sample.forEach(function (row) {
      sampleEl.appendChild(el("tr", {}, [el("td", {text: row.member_number}), el("td", {text: row.name}),
        el("td", {text: row.tier})]));
    });
  }

  function preview() {
    var definition = toNode(model);
    var mine = ++asked;
    if (!conditionCount(model)) {
      countEl.textContent = reachableEl.textContent = "—";
      sampleEl.textContent = "";
      showError("");
      return;
    }
    countEl.textContent = words["計算中…"];
    fetch(root.dataset.preview, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json"},
      body: JSON.stringify({definition: definition})
    }).then(function (response) {
      return response.json().then(function (body) { return {ok: response.ok, body: body}; });
    }).then(function (answer) {
      if (mine !== asked) { return; }
      if (answer.ok) { showError(""); showResult(answer.body); }
      else { countEl.textContent = reachableEl.textContent = "—"; showError(answer.body.error); }
    }).catch(function () {
      if (mine === asked) { countEl.textContent = "—"; showError(errorEl.dataset.failed); }
    });
  }

  function changed() {
    hidden.value = JSON.stringify(toNode(model));
    window.clearTimeout(timer);
    timer = window.setTimeout(preview, 250);
  }

  render();
}());
