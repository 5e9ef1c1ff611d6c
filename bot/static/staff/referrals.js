// Staff referral pages: the print button of the QR card, and the report's chart (data from a JSON block; the
// Content-Security-Policy allows no inline script).
(function () {
  "use strict";
  const print = document.getElementById("print-card");
  if (print) print.addEventListener("click", () => window.print());

  const canvas = document.getElementById("referral-chart");
  const source = document.getElementById("referral-chart-data");
  if (!canvas || !source || typeof window.Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const colours = ["#06c755", "#2563eb", "#f59e0b", "#9ca3af"];
  const datasets = data.series.map((series, index) => ({
    label: series.label,
    data: series.values,
    backgroundColor: colours[index % colours.length],
    yAxisID: series.key === "revenue" ? "revenue" : "count",
    order: series.key === "revenue" ? 1 : 0,
  }));
  new window.Chart(canvas, {
    type: "bar",
    data: { labels: data.labels, datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: {
        count: { type: "linear", position: "left", beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: data.axes.count } },
        revenue: { type: "linear", position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: data.axes.revenue } },
      },
      plugins: { legend: { position: "bottom" } },
    },
  });
  canvas.dataset.rendered = "true";
})();
