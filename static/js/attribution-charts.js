/* Attribution charts, drawn on load and again after every htmx swap of #attribution. */
(function () {
  const POS = "#0a7d3e", NEG = "#c0262d", FUND = "#1d4e89", CDI = "#b26a00";
  const MINUS = "\u2212";
  const signed = (v, digits) => {
    const r = Number(v.toFixed(digits));
    const text = Math.abs(r).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
    return (r > 0 ? "+" : r < 0 ? MINUS : "") + text;
  };
  const pct = (v, digits) => signed(v, digits === undefined ? 2 : digits) + " %";
  const day = iso => iso.slice(8, 10) + "/" + iso.slice(5, 7) + "/" + iso.slice(2, 4);
  let charts = [];

  function destroy() {
    charts.forEach(c => c.destroy());
    charts = [];
  }

  function dateAxis() {
    return {
      ticks: { maxTicksLimit: 8, maxRotation: 0, autoSkipPadding: 12, callback: function (v) { return day(this.getLabelForValue(v)); } },
      grid: { display: false }
    };
  }

  function pctAxis(title, extra) {
    // As many decimals as the tick step needs, the same on every tick of the axis.
    const tick = (v, i, ticks) => {
      const step = ticks.length > 1 ? Math.abs(ticks[1].value - ticks[0].value) : 1;
      return pct(v, step >= 1 ? 0 : step >= 0.1 ? 1 : 2);
    };
    return Object.assign({ title: { display: true, text: title }, ticks: { callback: tick } }, extra || {});
  }

  function cumulative(data) {
    const points = data.dates.length > 60 ? 0 : 2;
    return new Chart(document.getElementById("chart-cumulative"), {
      type: "line",
      data: { labels: data.dates, datasets: [
        { label: "Fund (TWR)", data: data.fund, borderColor: FUND, backgroundColor: FUND, borderWidth: 2, pointRadius: points, tension: 0.1 },
        { label: "CDI", data: data.cdi, borderColor: CDI, backgroundColor: CDI, borderWidth: 2, borderDash: [5, 4], pointRadius: 0, tension: 0.1 }
      ] },
      options: {
        maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false },
        scales: { x: dateAxis(), y: pctAxis("Cumulative return (%)") },
        plugins: {
          legend: { position: "top", align: "end", labels: { boxWidth: 14, boxHeight: 2 } },
          tooltip: { callbacks: { title: items => day(items[0].label), label: c => c.dataset.label + ": " + pct(c.parsed.y) } }
        }
      }
    });
  }

  function drawdown(data) {
    return new Chart(document.getElementById("chart-drawdown"), {
      type: "line",
      data: { labels: data.dates, datasets: [
        { label: "Drawdown", data: data.drawdown, borderColor: NEG, backgroundColor: "rgba(192,38,45,.18)", fill: "origin", borderWidth: 1.5, pointRadius: 0, tension: 0.1 }
      ] },
      options: {
        maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false },
        scales: { x: dateAxis(), y: pctAxis("Below the peak (%)", { max: 0, suggestedMin: -0.1 }) },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { title: items => day(items[0].label), label: c => "Drawdown: " + pct(c.parsed.y) } }
        }
      }
    });
  }

  // Writes each bar's value (bp) at its end, outside the bar.
  const barLabels = {
    id: "barLabels",
    afterDatasetsDraw(chart) {
      const ctx = chart.ctx, values = chart.data.datasets[0].data;
      ctx.save();
      ctx.font = "600 12px system-ui, sans-serif";
      ctx.textBaseline = "middle";
      chart.getDatasetMeta(0).data.forEach((bar, i) => {
        const v = values[i];
        ctx.fillStyle = v < 0 ? NEG : v > 0 ? POS : "#5b6b7c";
        ctx.textAlign = v < 0 ? "right" : "left";
        ctx.fillText(signed(v, 1) + " bp", bar.x + (v < 0 ? -5 : 5), bar.y);
      });
      ctx.restore();
    }
  };

  // Room beyond the longest bar on each side for its value label.
  function room(values) {
    const lo = Math.min(0, ...values), hi = Math.max(0, ...values), span = (hi - lo) || 1;
    return { suggestedMin: lo < 0 ? lo - 0.4 * span : 0, suggestedMax: hi > 0 ? hi + 0.4 * span : 0 };
  }

  function strategies(data) {
    const s = data.strategies;
    const brl = v => "R$ " + signed(v, 0);
    return new Chart(document.getElementById("chart-strategies"), {
      type: "bar",
      data: { labels: s.names, datasets: [{ label: "Contribution", data: s.bps, backgroundColor: s.bps.map(v => v < 0 ? NEG : POS), borderRadius: 2, barPercentage: 0.75, categoryPercentage: 0.85 }] },
      options: {
        indexAxis: "y", maintainAspectRatio: false, animation: false,
        layout: { padding: { left: 4, right: 12 } },
        scales: {
          x: Object.assign(room(s.bps), { title: { display: true, text: "Contribution (bp of NAV)" }, ticks: { callback: v => signed(v, 0) } }),
          y: { grid: { display: false }, ticks: { autoSkip: false } }
        },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: c => ["Contribution: " + signed(c.parsed.x, 1) + " bp", "P&L: " + brl(s.pnl[c.dataIndex])] } }
        },
        onClick: (event, elements) => { if (elements.length) expand(elements[0].index, true); },
        onHover: (event, elements) => { event.native.target.style.cursor = elements.length ? "pointer" : "default"; }
      },
      plugins: [barLabels]
    });
  }

  // Shows or hides a strategy's instrument rows; from the chart, also scrolls to the row.
  function expand(index, reveal) {
    const row = document.querySelector('#attribution tr.strategy-row[data-strategy="' + index + '"]');
    const button = row && row.querySelector("button.toggle");
    if (!button) return;
    const open = reveal ? true : button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    row.classList.toggle("open", open);
    document.querySelectorAll('#attribution tr.child[data-parent="' + index + '"]').forEach(tr => { tr.hidden = !open; });
    if (reveal) {
      row.scrollIntoView({ block: "nearest", behavior: "smooth" });
      row.classList.remove("flash-row"); void row.offsetWidth; row.classList.add("flash-row");
    }
  }

  function draw() {
    destroy();
    const source = document.getElementById("attribution-data");
    if (!source || !window.Chart) return;
    const data = JSON.parse(source.textContent);
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#5b6b7c";
    charts = [cumulative(data), drawdown(data), strategies(data)];
  }

  document.addEventListener("click", event => {
    const row = event.target.closest("#attribution tr.strategy-row");
    if (row && row.querySelector("button.toggle")) expand(Number(row.dataset.strategy), false);
  });
  document.addEventListener("htmx:beforeSwap", event => { if (event.detail.target && event.detail.target.id === "attribution") destroy(); });
  document.addEventListener("htmx:afterSettle", event => { if (event.detail.target && event.detail.target.id === "attribution") draw(); });
  document.addEventListener("htmx:historyRestore", draw);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
})();
