document.addEventListener("DOMContentLoaded", () => {
  const filters = document.getElementById("risk-filters");
  if (filters) filters.addEventListener("change", () => filters.requestSubmit());
  document.querySelectorAll("button.toggle").forEach(button => button.addEventListener("click", () => {
    const row = document.getElementById(button.getAttribute("aria-controls"));
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? "\u25BE" : "\u25B8";
    row.hidden = !open;
  }));
  const source = document.getElementById("risk-charts");
  if (!source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  const MINUS = "\u2212";
  const grouped = (v, digits) => new Intl.NumberFormat("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(Math.abs(v));
  const signed = (v, digits) => (v > 0 ? "+" : v < 0 ? MINUS : "") + grouped(v, digits);
  const pct = (v, digits) => (v < 0 ? MINUS : "") + grouped(v, digits) + " %";
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#5b6b7c";
  const BLUE = "#1d4e89", GOLD = "#d9a21b", GREY = "#9aa8b7";

  new Chart(document.getElementById("dv01-chart"), {
    type: "bar",
    data: { labels: data.dv01.labels, datasets: [
      { label: "DI (nominal)", data: data.dv01.di, backgroundColor: BLUE },
      { label: "DAP (real)", data: data.dv01.dap, backgroundColor: GOLD }
    ] },
    options: { maintainAspectRatio: false, animation: false, skipNull: true,
      scales: {
        x: { title: { display: true, text: "Vertex: business days (approx. tenor)" },
             ticks: { autoSkip: false, maxRotation: 0, callback: function (v) { return this.getLabelForValue(v).replace(")", "").split(" ("); } } },
        y: { title: { display: true, text: "R$ per +1 bp" }, ticks: { callback: v => signed(v, 0) } }
      },
      plugins: { legend: { position: "top", align: "end" },
        tooltip: { callbacks: { label: c => c.dataset.label + ": R$ " + signed(c.parsed.y, 0) + " /bp" } } } }
  });

  const exposure = (id, series, title) => new Chart(document.getElementById(id), {
    type: "bar",
    data: { labels: series.labels, datasets: [
      { label: "Gross", data: series.gross, backgroundColor: BLUE },
      { label: "Net", data: series.net, backgroundColor: GOLD }
    ] },
    options: { indexAxis: "y", maintainAspectRatio: false, animation: false,
      scales: { x: { title: { display: true, text: "% of NAV" }, ticks: { maxRotation: 0, callback: v => pct(v, 0) } }, y: { ticks: { autoSkip: false } } },
      plugins: { title: { display: true, text: title, align: "start" }, legend: { position: "top", align: "end" },
        tooltip: { callbacks: { label: c => c.dataset.label + ": " + (c.dataset.label === "Net" ? signed(c.parsed.x, 1) + " %" : pct(c.parsed.x, 1)) } } } }
  });
  exposure("exposure-strategy", data.exposures.strategy, "By strategy");
  exposure("exposure-asset", data.exposures.asset, "By asset class");

  const history = document.getElementById("history-chart");
  if (history) new Chart(history, {
    type: "line",
    data: { labels: data.history.labels, datasets: [
      { label: "VaR 99 %", data: data.history.var99, borderColor: BLUE, backgroundColor: BLUE, pointRadius: data.history.labels.length > 40 ? 0 : 3, tension: 0.1 },
      { label: "ES 97.5 %", data: data.history.es975, borderColor: "#c0262d", backgroundColor: "#c0262d", borderDash: [5, 4], pointRadius: data.history.labels.length > 40 ? 0 : 3, tension: 0.1 }
    ] },
    options: { maintainAspectRatio: false, animation: false,
      scales: { x: { title: { display: true, text: "Snapshot date" }, ticks: { maxTicksLimit: 10 } },
                y: { title: { display: true, text: "% of NAV" }, beginAtZero: true, ticks: { callback: v => pct(v, 2) } } },
      plugins: { legend: { position: "top", align: "end", labels: { usePointStyle: true, pointStyle: "line" } },
        tooltip: { callbacks: { label: c => c.dataset.label + ": " + pct(c.parsed.y, 3) + " of NAV" } } } }
  });
});
