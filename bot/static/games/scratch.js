// The scratch card: a silver cover drawn on a canvas over the prize the server already decided. A finger (or any
// pointer) scratches the cover away; once about half of it is gone the rest fades and the result is shown.
// Nothing here decides or reports anything: the page only reveals.
(function () {
  "use strict";
  var REVEAL_AT = 0.5;
  var BRUSH = 22;
  var game = document.getElementById("game");
  var canvas = document.getElementById("cover");
  var result = document.getElementById("result");
  if (!game || !canvas || !canvas.getContext) { return; }
  var ctx = canvas.getContext("2d");
  var scratching = false;
  var last = null;
  var strokes = 0;

  function reveal() {
    game.setAttribute("data-revealed", "true");
    if (result) { result.hidden = false; }
  }

  if (game.getAttribute("data-revealed") === "true") { return; }

  function paintCover() {
    var ratio = window.devicePixelRatio || 1;
    var rect = canvas.getBoundingClientRect();
    canvas.width = Math.max(1, Math.round(rect.width * ratio));
    canvas.height = Math.max(1, Math.round(rect.height * ratio));
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    var gradient = ctx.createLinearGradient(0, 0, rect.width, rect.height);
    gradient.addColorStop(0, "#b8bcc4");
    gradient.addColorStop(0.5, "#e6e8ec");
    gradient.addColorStop(1, "#a9aeb7");
    ctx.globalCompositeOperation = "source-over";
    ctx.fillStyle = gradient;
    ctx.fillRect(0, 0, rect.width, rect.height);
    ctx.fillStyle = "#6b7280";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.font = "bold 22px 'Noto Sans TC', 'PingFang TC', sans-serif";
    ctx.fillText(canvas.getAttribute("data-label") || "", rect.width / 2, rect.height / 2 - 12);
    ctx.font = "14px sans-serif";
    ctx.fillText(canvas.getAttribute("data-label-en") || "", rect.width / 2, rect.height / 2 + 14);
  }

  function point(event) {
    var rect = canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  function scratchTo(p) {
    ctx.globalCompositeOperation = "destination-out";
    ctx.lineWidth = BRUSH * 2;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(last ? last.x : p.x, last ? last.y : p.y);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
    last = p;
  }

  function clearedShare() {
    var data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    var clear = 0;
    var samples = 0;
    for (var i = 3; i < data.length; i += 4 * 16) {
      samples += 1;
      if (data[i] === 0) { clear += 1; }
    }
    return samples ? clear / samples : 0;
  }

  canvas.addEventListener("pointerdown", function (event) {
    scratching = true;
    last = null;
    if (canvas.setPointerCapture) { canvas.setPointerCapture(event.pointerId); }
    scratchTo(point(event));
    event.preventDefault();
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!scratching) { return; }
    scratchTo(point(event));
    strokes += 1;
    if (strokes % 8 === 0 && clearedShare() >= REVEAL_AT) { scratching = false; reveal(); }
    event.preventDefault();
  });
  function stop() {
    if (!scratching) { return; }
    scratching = false;
    last = null;
    if (clearedShare() >= REVEAL_AT) { reveal(); }
  }
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  canvas.addEventListener("pointerleave", stop);

  paintCover();
})();
