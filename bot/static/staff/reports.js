// The marketer's reports: each canvas[data-chart] is drawn from the JSON block it names (the Content-Security-Policy
// allows no inline script), with the vendored Chart.js.
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") return;
  const colours = ["#06c755", "#2563eb", "#f59e0b", "#9333ea", "#9ca3af"];
  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source) return;
    const data = JSON.parse(source.textContent);
    const datasets = data.series.map((series, index) => ({
      label: series.label,
      data: series.values,
      borderColor: colours[index % colours.length],
      backgroundColor: colours[index % colours.length],
    }));
    new window.Chart(canvas, {
      type: data.type,
      data: { labels: data.labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
    canvas.dataset.rendered = "true";
  });
})();
