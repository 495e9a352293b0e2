// The firm page's charts: DV01 by vertex and net exposure by asset class, stacked by fund.
(() => {
  const MINUS = "\u2212";
  const COLOURS = ["#1d4e89", "#d9a21b", "#2f8f5b", "#8a4fb0", "#c0262d", "#5b6b7c"];
  const grouped = (v, digits) => new Intl.NumberFormat("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(Math.abs(v));
  const signed = (v, digits) => (v > 0 ? "+" : v < 0 ? MINUS : "") + grouped(v, digits);
  const charts = [];
  const stacked = (id, series, horizontal, unit) => {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    const value = horizontal ? "x" : "y";
    charts.push(new Chart(canvas, {
      type: "bar",
      data: { labels: series.labels, datasets: series.funds.map((f, i) => ({ label: f.label, data: f.data, backgroundColor: COLOURS[i % COLOURS.length] })) },
      options: { indexAxis: horizontal ? "y" : "x", maintainAspectRatio: false, animation: false,
        scales: { x: { stacked: true, ticks: horizontal ? { callback: v => signed(v, 0) + unit } : { autoSkip: false, maxRotation: 60 } },
                  y: { stacked: true, ticks: horizontal ? { autoSkip: false } : { callback: v => signed(v, 0) } } },
        plugins: { legend: { position: "top", align: "end" },
          tooltip: { callbacks: { label: c => c.dataset.label + ": " + signed(c.parsed[value], horizontal ? 1 : 0) + unit } } } }
    }));
  };
  const draw = () => {
    const source = document.getElementById("firm-charts-data");
    if (!source || !window.Chart) return;
    charts.splice(0).forEach(chart => chart.destroy());
    const data = JSON.parse(source.textContent);
    if (!data.dv01) return;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#5b6b7c";
    stacked("firm-dv01", data.dv01, false, " R$/bp");
    stacked("firm-exposure", data.exposure, true, " % NAV");
  };
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSwap", draw);
})();
