// Draws each dashboard chart from the same numbers as the table beside it.
(function () {
  "use strict";
  var source = document.getElementById("insights-charts");
  if (!source || typeof window.Chart === "undefined") return;
  var charts = JSON.parse(source.textContent);
  var colours = ["#2e6f9e", "#c0504d", "#9bbb59", "#8064a2", "#f79646", "#4bacc6", "#7f7f7f"];
  charts.forEach(function (chart) {
    var canvas = document.querySelector('canvas[data-chart="' + chart.slug + '"]');
    if (!canvas) return;
    var drawn = new window.Chart(canvas, {
      type: chart.kind,
      data: {
        labels: chart.labels,
        datasets: chart.datasets.map(function (dataset, index) {
          var colour = colours[index % colours.length];
          return { label: dataset.label, data: dataset.data, backgroundColor: colour, borderColor: colour };
        }),
      },
      options: {
        animation: false,
        responsive: true,
        scales: chart.stacked ? { x: { stacked: true }, y: { stacked: true } } : {},
      },
    });
    canvas.dataset.drawn = "true";
    canvas.insightsChart = drawn;
  });
})();
