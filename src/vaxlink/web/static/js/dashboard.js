// Dashboard charts: fetch the unit's figures as JSON and draw them with the vendored Chart.js.
// Runs on load and after every htmx drill-down swap.
(function () {
  "use strict";
  const charts = [];

  function fmtShare(v) { return v === null ? null : Math.round(v * 1000) / 10; }

  function draw() {
    const dash = document.getElementById("dash");
    if (!dash || typeof window.Chart === "undefined") return;
    while (charts.length) charts.pop().destroy();
    const url = "/dashboard/data?unit=" + encodeURIComponent(dash.dataset.unit) +
      "&day=" + encodeURIComponent(dash.dataset.day);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (data) {
        const d = dash.dataset;
        const progress = document.getElementById("chart-progress");
        if (progress) {
          charts.push(new window.Chart(progress, {
            type: "line",
            data: {
              labels: data.series.map(function (p) { return p.day; }),
              datasets: [
                { label: d.labelSent, data: data.series.map(function (p) { return p.doses_sent; }), borderColor: "#0b5cad", backgroundColor: "#0b5cad" },
                { label: d.labelLinked, data: data.series.map(function (p) { return p.doses_linked; }), borderColor: "#1a7f37", backgroundColor: "#1a7f37" },
                { label: d.labelWrong, data: data.series.map(function (p) { return p.doses_wrong; }), borderColor: "#cf222e", backgroundColor: "#cf222e" }
              ]
            },
            options: { responsive: true, maintainAspectRatio: false, animation: false,
                       interaction: { mode: "index", intersect: false } }
          }));
        }
        const worst = document.getElementById("chart-worst");
        if (worst) {
          charts.push(new window.Chart(worst, {
            type: "bar",
            data: {
              labels: data.worst.map(function (r) { return r.label; }),
              datasets: [{ label: d.labelShare + " (%)", data: data.worst.map(function (r) { return fmtShare(r.linked_share); }), backgroundColor: "#cf222e" }]
            },
            options: { indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
                       scales: { x: { min: 0, max: 100 } } }
          }));
        }
        dash.dataset.rendered = "1";
      })
      .catch(function () { dash.dataset.rendered = "error"; });
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
