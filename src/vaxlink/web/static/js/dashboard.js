// Dashboard charts: fetch the unit's figures as JSON and draw them with the vendored Chart.js.
// Runs on load and after every htmx drill-down swap.
(function () {
  "use strict";
  const charts = [];

  function fmtShare(v) { return v === null ? null : Math.round(v * 1000) / 10; }
  // the same levels as vaxlink.reports.charts: green from 95 %, amber from 80 %, red below
  function levelColour(share) {
    if (share === null || share === undefined) return "#8c959f";
    return share >= 0.95 ? "#1a7f37" : share >= 0.80 ? "#bf8700" : "#cf222e";
  }
  function numberFormat(lang, digits) {
    return new Intl.NumberFormat(lang === "vi" ? "vi-VN" : "en-GB",
      { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  }
  function percentText(lang, pct) {  // pct in 0..100: "97,5 %" / "97.5%"
    const text = numberFormat(lang, 1).format(pct);
    return lang === "vi" ? text + " %" : text + "%";
  }
  function shortLabel(text, limit) {
    return text.length <= limit ? text : text.slice(0, limit - 1).trim() + "…";
  }
  function dayLabel(iso) { return iso.slice(8, 10) + "/" + iso.slice(5, 7); }

  function draw() {
    const dash = document.getElementById("dash");
    if (!dash || typeof window.Chart === "undefined") return;
    while (charts.length) charts.pop().destroy();
    const url = "/dashboard/data?unit=" + encodeURIComponent(dash.dataset.unit) +
      "&day=" + encodeURIComponent(dash.dataset.day) +
      (dash.dataset.since ? "&since=" + encodeURIComponent(dash.dataset.since) : "");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (data) {
        const d = dash.dataset;
        const lang = d.lang || "vi";
        const counts = numberFormat(lang, 1);
        const narrow = window.matchMedia("(max-width: 40rem)").matches;
        const progress = document.getElementById("chart-progress");
        if (progress) {
          charts.push(new window.Chart(progress, {
            type: "line",
            data: {
              labels: data.series.map(function (p) { return dayLabel(p.day); }),
              datasets: [
                { label: d.labelSent, data: data.series.map(function (p) { return p.doses_sent; }), borderColor: "#0b5cad", backgroundColor: "#0b5cad" },
                { label: d.labelLinked, data: data.series.map(function (p) { return p.doses_linked; }), borderColor: "#1a7f37", backgroundColor: "#1a7f37" },
                { label: d.labelWrong, data: data.series.map(function (p) { return p.doses_wrong; }), borderColor: "#cf222e", backgroundColor: "#cf222e" }
              ]
            },
            options: { responsive: true, maintainAspectRatio: false, animation: false, locale: lang === "vi" ? "vi-VN" : "en-GB",
                       interaction: { mode: "index", intersect: false },
                       scales: { x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: narrow ? 5 : 10 } },
                                 y: { ticks: { callback: function (v) { return counts.format(v); } } } },
                       plugins: { legend: { labels: { boxWidth: 12, font: { size: narrow ? 10 : 12 } } } } }
          }));
        }
        const worst = document.getElementById("chart-worst");
        if (worst) {
          charts.push(new window.Chart(worst, {
            type: "bar",
            data: {
              labels: data.worst.map(function (r) { return shortLabel(r.label, narrow ? 14 : 28); }),
              datasets: [{ label: d.labelShare, data: data.worst.map(function (r) { return fmtShare(r.linked_share); }),
                           backgroundColor: data.worst.map(function (r) { return levelColour(r.linked_share); }) }]
            },
            options: { indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
                       scales: { x: { min: 0, max: 100, ticks: { callback: function (v) { return percentText(lang, v); } } },
                                 y: { ticks: { font: { size: narrow ? 10 : 12 } } } },
                       plugins: { legend: { display: false },
                                  tooltip: { callbacks: {
                                    title: function (items) { return data.worst[items[0].dataIndex].label; },
                                    label: function (item) { return percentText(lang, item.parsed.x); } } } } }
          }));
        }
        if (worst) {  // what was drawn, for tests: one colour per bar
          dash.dataset.worstColours = data.worst.map(function (r) { return levelColour(r.linked_share); }).join(" ");
        }
        dash.dataset.rendered = "1";
      })
      .catch(function () { dash.dataset.rendered = "error"; });
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
