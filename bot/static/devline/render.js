/* Renders LINE message objects (text, image, Flex, templates) as DOM, roughly as the LINE app shows them.
   Every action is handed to onAction(action); nothing from a message is ever inserted as HTML. */
(function () {
  "use strict";

  const SPACING = { none: 0, xs: 2, sm: 4, md: 8, lg: 12, xl: 16, xxl: 20 };
  const TEXT_SIZE = { xxs: 11, xs: 13, sm: 14, md: 16, lg: 19, xl: 22, xxl: 29, "3xl": 35, "4xl": 48, "5xl": 74 };
  const IMAGE_SIZE = { xxs: 40, xs: 60, sm: 80, md: 100, lg: 120, xl: 140, xxl: 160, "3xl": 180, "4xl": 200, "5xl": 220 };
  const ICON_SIZE = { xxs: 11, xs: 13, sm: 14, md: 16, lg: 19, xl: 22, xxl: 29, "3xl": 35, "4xl": 48, "5xl": 74 };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function size(value, table) {
    if (value === undefined || value === null) return null;
    if (table && Object.prototype.hasOwnProperty.call(table, value)) return table[value] + "px";
    return String(value);
  }

  function safeUrl(url) {
    return typeof url === "string" && /^(https?:|\/)/.test(url) ? url : "";
  }

  function actionLabel(action) {
    return (action && (action.label || action.displayText || action.text || action.data || action.uri)) || "";
  }

  function clickable(node, action, onAction) {
    if (!action) return node;
    node.classList.add("clickable");
    node.addEventListener("click", (event) => { event.stopPropagation(); onAction(action); });
    return node;
  }

  function boxStyle(node, c) {
    const s = node.style;
    if (c.spacing) s.gap = size(c.spacing, SPACING);
    if (c.backgroundColor) s.backgroundColor = c.backgroundColor;
    if (c.borderColor) s.borderColor = c.borderColor;
    if (c.borderWidth) { s.borderStyle = "solid"; s.borderWidth = size(c.borderWidth, { none: 0, light: 0.5, normal: 1, medium: 2, "semi-bold": 3, bold: 4 }); }
    if (c.cornerRadius) s.borderRadius = size(c.cornerRadius, SPACING);
    if (c.width) s.width = c.width;
    if (c.height) s.height = c.height;
    if (c.maxWidth) s.maxWidth = c.maxWidth;
    if (c.paddingAll) s.padding = size(c.paddingAll, SPACING);
    if (c.paddingTop) s.paddingTop = size(c.paddingTop, SPACING);
    if (c.paddingBottom) s.paddingBottom = size(c.paddingBottom, SPACING);
    if (c.paddingStart) s.paddingLeft = size(c.paddingStart, SPACING);
    if (c.paddingEnd) s.paddingRight = size(c.paddingEnd, SPACING);
    if (c.justifyContent) s.justifyContent = c.justifyContent;
    if (c.alignItems) s.alignItems = c.alignItems;
    if (c.background && c.background.type === "linearGradient") {
      s.background = `linear-gradient(${c.background.angle || "0deg"}, ${c.background.startColor}, ${c.background.endColor})`;
    }
  }

  function common(node, c, parentLayout) {
    const s = node.style;
    const horizontal = parentLayout === "horizontal" || parentLayout === "baseline";
    const flex = c.flex !== undefined ? c.flex : (horizontal ? 1 : 0);
    s.flex = flex === 0 ? "0 0 auto" : `${flex} 1 0`;
    if (c.margin) s[horizontal ? "marginLeft" : "marginTop"] = size(c.margin, SPACING);
    if (c.gravity) s.alignSelf = { top: "flex-start", bottom: "flex-end", center: "center" }[c.gravity] || "";
    if (c.position === "absolute") s.position = "absolute";
    for (const side of ["Top", "Bottom", "Start", "End"]) {
      const value = c["offset" + side];
      if (value) s[{ Top: "top", Bottom: "bottom", Start: "left", End: "right" }[side]] = size(value, SPACING);
    }
    return node;
  }

  function component(c, parentLayout, onAction) {
    let node;
    switch (c.type) {
      case "box": {
        node = el("div", `flex-box ${c.layout || "vertical"}`);
        boxStyle(node, c);
        node.style.position = "relative";
        (c.contents || []).forEach((child) => node.appendChild(component(child, c.layout, onAction)));
        break;
      }
      case "text": {
        node = el("div", "flex-text" + (c.wrap ? " wrap" : ""));
        if (Array.isArray(c.contents) && c.contents.length) {
          c.contents.forEach((span) => {
            const part = el("span", "", span.text);
            if (span.color) part.style.color = span.color;
            if (span.weight === "bold") part.style.fontWeight = "bold";
            if (span.size) part.style.fontSize = size(span.size, TEXT_SIZE);
            if (span.decoration) part.style.textDecoration = span.decoration;
            node.appendChild(part);
          });
        } else {
          node.textContent = c.text || "";
        }
        if (c.size) node.style.fontSize = size(c.size, TEXT_SIZE);
        if (c.weight === "bold") node.style.fontWeight = "bold";
        if (c.color) node.style.color = c.color;
        if (c.align) node.style.textAlign = { start: "left", end: "right", center: "center" }[c.align] || c.align;
        if (c.decoration) node.style.textDecoration = c.decoration;
        if (c.style === "italic") node.style.fontStyle = "italic";
        break;
      }
      case "image": {
        node = el("img", "flex-image");
        node.src = safeUrl(c.url);
        node.alt = "";
        const width = c.size === "full" ? "100%" : size(c.size || "md", IMAGE_SIZE);
        node.style.width = width;
        if (c.aspectRatio) node.style.aspectRatio = String(c.aspectRatio).replace(":", " / ");
        node.style.objectFit = c.aspectMode === "cover" ? "cover" : "contain";
        if (c.backgroundColor) node.style.backgroundColor = c.backgroundColor;
        if (c.align !== "start" && c.align !== "end") node.style.margin = "0 auto";
        break;
      }
      case "icon": {
        node = el("img", "flex-icon");
        node.src = safeUrl(c.url);
        node.style.width = node.style.height = size(c.size || "md", ICON_SIZE);
        break;
      }
      case "button": {
        const label = actionLabel(c.action);
        node = el("button", `flex-button ${c.style || "link"} ${c.height || "md"}`, label);
        node.type = "button";
        node.dataset.testid = "flex-button";
        if (c.color) node.style[c.style === "link" || !c.style ? "color" : "backgroundColor"] = c.color;
        break;
      }
      case "separator":
        node = el("hr", "flex-separator");
        if (c.color) node.style.borderColor = c.color;
        break;
      case "spacer":
        node = el("div", "flex-spacer");
        node.style.minHeight = size(c.size || "md", SPACING);
        break;
      case "filler":
        node = el("div", "flex-filler");
        break;
      default:
        node = el("div", "alt", `[${c.type}]`);
    }
    common(node, c, parentLayout);
    if (c.type === "filler") node.style.flex = `${c.flex || 1} 1 0`;
    return clickable(node, c.action, onAction);
  }

  function bubble(b, onAction) {
    const node = el("div", `flex-bubble ${b.size || "mega"}`);
    node.dataset.testid = "flex-bubble";
    const styles = b.styles || {};
    ["header", "hero", "body", "footer"].forEach((block) => {
      if (!b[block]) return;
      const wrap = el("div", `flex-block flex-${block}`);
      const style = styles[block] || {};
      if (style.backgroundColor) wrap.style.backgroundColor = style.backgroundColor;
      if (style.separator) wrap.style.borderTop = `1px solid ${style.separatorColor || "#e5e7eb"}`;
      if (block === "hero" && b.hero.type === "image") wrap.style.padding = "0";
      wrap.appendChild(component(b[block], "vertical", onAction));
      node.appendChild(wrap);
    });
    return clickable(node, b.action, onAction);
  }

  function flexContainer(contents, onAction) {
    if (contents && contents.type === "carousel") {
      const node = el("div", "flex-carousel");
      (contents.contents || []).forEach((b) => node.appendChild(bubble(b, onAction)));
      return node;
    }
    return bubble(contents || {}, onAction);
  }

  function templateCard(className, parts, actions, onAction) {
    const card = el("div", `template ${className}`);
    card.dataset.testid = "template";
    if (parts.image) { const img = el("img"); img.src = safeUrl(parts.image); img.alt = ""; card.appendChild(img); }
    const body = el("div", "t-body");
    if (parts.title) body.appendChild(el("div", "t-title", parts.title));
    if (parts.text) body.appendChild(el("div", "t-text", parts.text));
    if (parts.title || parts.text) card.appendChild(body);
    const row = el("div", "t-actions");
    (actions || []).forEach((action) => {
      const button = el("button", "", actionLabel(action));
      button.type = "button";
      button.dataset.testid = "template-action";
      row.appendChild(clickable(button, action, onAction));
    });
    card.appendChild(row);
    return card;
  }

  function template(t, onAction) {
    if (t.type === "buttons") return templateCard("buttons", { image: t.thumbnailImageUrl, title: t.title, text: t.text }, t.actions, onAction);
    if (t.type === "confirm") return templateCard("confirm", { text: t.text }, t.actions, onAction);
    const row = el("div", "flex-carousel");
    (t.columns || []).forEach((column) => {
      const card = t.type === "image_carousel"
        ? templateCard("image", { image: column.imageUrl }, [column.action], onAction)
        : templateCard("buttons", { image: column.thumbnailImageUrl, title: column.title, text: column.text }, column.actions, onAction);
      row.appendChild(card);
    });
    return row;
  }

  /** One message object as a DOM node; `media` tells the caller to drop the bubble padding. */
  function message(m, onAction) {
    switch (m.type) {
      case "text":
      case "textV2":
        return { node: document.createTextNode(m.text || ""), media: false };
      case "image": {
        const img = el("img");
        img.src = safeUrl(m.previewImageUrl || m.originalContentUrl);
        img.alt = "image";
        img.addEventListener("click", () => window.open(safeUrl(m.originalContentUrl), "_blank"));
        return { node: img, media: true };
      }
      case "flex":
        return { node: flexContainer(m.contents, onAction), media: true };
      case "template":
        return { node: template(m.template || {}, onAction), media: true };
      case "sticker":
        return { node: el("span", "", `🧸 貼圖 sticker ${m.packageId}/${m.stickerId}`), media: false };
      case "location":
        return { node: el("span", "", `📍 ${m.title || ""}\n${m.address || ""}`), media: false };
      default:
        return { node: el("span", "alt", `[${m.type}] ${m.altText || ""}`), media: false };
    }
  }

  window.DevLineRender = { message, actionLabel, safeUrl, el };
})();
