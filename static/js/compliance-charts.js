// The compliance page's chart: each rule's use of its limit over time (100 % = the limit).
(() => {
  const COLOURS = ["#1d4e89", "#d9a21b", "#2f8f5b", "#8a4fb0", "#c0262d", "#5b6b7c", "#0f8a8a", "#b5651d", "#6b7f1d", "#a3376d", "#3a3a8c"];
  let chart = null;
  const draw = () => {
    const source = document.getElementById("compliance-charts-data");
    const canvas = document.getElementById("compliance-history");
    if (chart) { chart.destroy(); chart = null; }
    if (!source || !canvas || !window.Chart) return;
    const data = JSON.parse(source.textContent);
    const labels = (data.rules[0] || { history: [] }).history.map(p => p.date);
    const datasets = data.rules.map((r, i) => ({
      label: r.name, data: r.history.map(p => p.utilisation === null ? null : p.utilisation * 100),
      borderColor: COLOURS[i % COLOURS.length], backgroundColor: COLOURS[i % COLOURS.length],
      borderWidth: 1.5, pointRadius: labels.length < 30 ? 3 : 0, spanGaps: true,
    }));
    datasets.push({ label: "Limit (100 %)", data: labels.map(() => 100), borderColor: "#a11d24", borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0 });
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#5b6b7c";
    chart = new Chart(canvas, {
      type: "line", data: { labels, datasets },
      options: { maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false },
        scales: { x: { ticks: { maxTicksLimit: 12 } }, y: { beginAtZero: true, title: { display: true, text: "% of the limit" }, ticks: { callback: v => v + " %" } } },
        plugins: { legend: { position: "top", align: "start" },
          tooltip: { callbacks: { label: c => c.dataset.label + ": " + (c.parsed.y === null ? "—" : c.parsed.y.toFixed(1) + " %") } } } },
    });
  };
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSwap", draw);
})();
