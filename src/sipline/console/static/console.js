// sipline console: live registrations (server-sent events), ticking call durations, dashboard and
// health charts.
// No inline script anywhere (the Content-Security-Policy allows scripts from the platform only).
"use strict";

function watchRegistrations() {
  const table = document.getElementById("phones");
  if (!table || !window.EventSource) return;
  const source = new EventSource(table.dataset.events);
  source.addEventListener("registration", (event) => {
    const changes = JSON.parse(event.data);
    for (const [account, state] of Object.entries(changes)) {
      const row = document.getElementById("phone-" + account);
      if (!row) continue;
      const cell = (name) => row.querySelector("." + name);
      // The words come from the page, in its language.
      cell("state").textContent = state.registered ? table.dataset.registered : table.dataset.unregistered;
      cell("state").className = "state " + (state.registered ? "on" : "off");
      cell("contact").textContent = state.contact || "";
      cell("user-agent").textContent = state.userAgent || "";
      cell("expires").textContent = state.expires || "";
    }
  });
}

function tickDurations() {
  const now = Date.now();
  for (const cell of document.querySelectorAll(".duration[data-since]")) {
    const since = Date.parse(cell.dataset.since);
    if (!isNaN(since)) cell.textContent = Math.max(0, Math.floor((now - since) / 1000)) + " s";
  }
}

function drawCharts() {
  const data = document.getElementById("chart-data");
  if (!data || !window.uPlot) return;
  const charts = JSON.parse(data.textContent);
  const width = (id) => Math.max(300, document.getElementById(id).clientWidth - 10);
  const labels = charts.labels;
  // Times on the axes in the user's time zone (the page's), not the browser's.
  const tzDate = (ts) => uPlot.tzDate(new Date(ts * 1e3), charts.zone);
  new uPlot({
    width: width("chart-hours"), height: 220, tzDate,
    series: [{}, {label: labels.answered, stroke: "#2a7", fill: "rgba(34,170,119,0.15)"},
             {label: labels.failed, stroke: "#c33", fill: "rgba(204,51,51,0.10)"}],
    axes: [{}, {label: labels.calls}],
  }, [charts.hours, charts.answered, charts.failed], document.getElementById("chart-hours"));
  new uPlot({
    width: width("chart-days"), height: 220, tzDate,
    series: [{}, {label: labels.spend, stroke: "#36c", fill: "rgba(51,102,204,0.15)"}],
    axes: [{}, {label: labels.spend}],
  }, [charts.days, charts.spend], document.getElementById("chart-days"));
}

// The health page's small charts: one series each, named by the element's data-* (text from the
// template, so it is translated with the page).
function drawHealthCharts() {
  const data = document.getElementById("health-chart-data");
  if (!data || !window.uPlot) return;
  const samples = JSON.parse(data.textContent);
  const charts = document.getElementById("health-charts");
  const time = charts.dataset.timeLabel;
  const tzDate = (ts) => uPlot.tzDate(new Date(ts * 1e3), charts.dataset.zone || "UTC");  // the user's zone
  for (const box of document.querySelectorAll(".health-chart")) {
    const color = box.dataset.color;
    new uPlot({
      width: Math.max(260, box.clientWidth - 10), height: 160, tzDate,
      series: [{label: time}, {label: box.dataset.label, stroke: color, fill: color + "26"}],
      scales: {y: {range: (_u, _min, max) => [0, Math.max(1, max * 1.1)]}},
      axes: [{}, {}],
    }, [samples.at, samples[box.dataset.series]], box);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  watchRegistrations();
  drawCharts();
  drawHealthCharts();
  tickDurations();
  setInterval(tickDurations, 1000);
});
document.addEventListener("htmx:afterSwap", tickDurations);
