// The console's only script of its own: draws the amount collected per day with uPlot from the
// page's JSON data island (money stays integer minor units until drawn). Everything else is HTML
// forms and HTMX attributes.
"use strict";

function drawCollected() {
  const island = document.getElementById("collected-data");
  const target = document.getElementById("collected-chart");
  if (!island || !target || typeof uPlot === "undefined") return;
  const data = JSON.parse(island.textContent);
  const scale = Math.pow(10, data.digits);
  const amounts = data.amounts.map((minor) => minor / scale);
  // The money's own locale (the campaign's), as the page's figures; whole units on the axis.
  const money = new Intl.NumberFormat(data.locale, { style: "currency", currency: data.currency, maximumFractionDigits: data.digits });
  const day = 86400;
  // KPI days are UTC days: label them so, in the page's language.
  const dates = new Intl.DateTimeFormat(document.documentElement.lang || "en", { day: "numeric", month: "short", timeZone: "UTC" });
  const dateOf = (seconds) => dates.format(new Date(seconds * 1000));
  const width = Math.max(320, target.clientWidth);
  new uPlot(
    {
      width: width,
      height: 240,
      // The report's window, half a day either side, so one day's bar is not stretched over years.
      scales: { x: { time: true, range: () => [data.start - day / 2, data.end + day / 2] } },
      axes: [
        { incrs: [day, 2 * day, 7 * day, 14 * day, 30 * day, 91 * day, 365 * day], values: (u, ticks) => ticks.map(dateOf) },
        { values: (u, ticks) => ticks.map((v) => money.format(v)), size: 90 },
      ],
      series: [
        { label: "", value: (u, v) => (v == null ? "—" : dateOf(v)) },
        { label: data.currency, stroke: "#1f5fbf", fill: "rgba(31, 95, 191, 0.25)", paths: uPlot.paths.bars({ size: [0.6, 40] }),
          value: (u, v) => (v == null ? "—" : money.format(v)) },
      ],
    },
    [data.days, amounts],
    target,
  );
}

document.addEventListener("DOMContentLoaded", drawCollected);
