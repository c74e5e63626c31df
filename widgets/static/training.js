// Live training curves: loss and metrics per epoch, training and validation, drawn as SVG.
const COLORS = ["#4c78a8", "#f58518"];

function fmt(v) {
  if (v === null || v === undefined) return "–";
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(2) : v.toFixed(4);
}

// series: [{label, xs, ys, color}]; x axis from 1 to xmax
function lineChart(title, series, xmax) {
  const W = 300, H = 170, L = 44, R = 8, T = 8, B = 22;
  const box = el("div", null, "wb-chart");
  box.appendChild(el("div", title, "wb-chart-title"));
  const values = series.flatMap((s) => s.ys.filter((v) => v !== null && Number.isFinite(v)));
  const s = svgEl("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}` });
  box.appendChild(s);
  if (!values.length) return box;
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
  const pad = (hi - lo) * 0.08;
  lo -= pad; hi += pad;
  const x = (e) => L + ((W - L - R) * (e - 1)) / Math.max(1, xmax - 1);
  const y = (v) => T + ((H - T - B) * (hi - v)) / (hi - lo);
  s.appendChild(svgEl("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "wb-axis" }));
  s.appendChild(svgEl("line", { x1: L, y1: T, x2: L, y2: H - B, class: "wb-axis" }));
  for (const v of [lo + pad, (lo + hi) / 2, hi - pad]) {
    const t = svgEl("text", { x: L - 4, y: y(v) + 3, "text-anchor": "end" });
    t.textContent = fmt(v);
    s.appendChild(t);
  }
  const step = Math.max(1, Math.ceil(xmax / 6));
  for (let e = 1; e <= xmax; e += step) {
    const t = svgEl("text", { x: x(e), y: H - 6, "text-anchor": "middle" });
    t.textContent = String(e);
    s.appendChild(t);
  }
  for (const ser of series) {
    const pts = ser.xs.map((e, i) => [e, ser.ys[i]]).filter((p) => p[1] !== null && Number.isFinite(p[1]));
    if (!pts.length) continue;
    s.appendChild(svgEl("polyline", {
      points: pts.map(([e, v]) => `${x(e)},${y(v)}`).join(" "),
      fill: "none", stroke: ser.color, "stroke-width": 2,
    }));
    for (const [e, v] of pts) {
      const c = svgEl("circle", { cx: x(e), cy: y(v), r: 2.5, fill: ser.color });
      const tip = svgEl("title");
      tip.textContent = `${ser.label}, epoch ${e}: ${fmt(v)}`;
      c.appendChild(tip);
      s.appendChild(c);
    }
  }
  return box;
}

function render({ model, el: host }) {
  const root = el("div", null, "wb wb-training");
  host.appendChild(root);

  function draw() {
    const h = model.get("history") || {};
    const epochs = h.epochs || [];
    const metrics = h.metrics || {};
    const planned = model.get("planned") || epochs.length || 1;
    const status = model.get("status");
    root.replaceChildren(el("div", "Training", "wb-title"));
    const last = epochs.length ? epochs[epochs.length - 1] : 0;
    let line = `${status}: epoch ${last} of ${planned}`;
    if (h.best_epoch) line += ` · best epoch ${h.best_epoch}`;
    if (h.stopped_early) line += " · stopped early";
    root.appendChild(el("div", line, "wb-status-line wb-muted"));
    const legend = el("div", null, "wb-legend");
    ["training", "validation"].forEach((n, i) => {
      const s = el("span", `\u25A0 ${n}`);
      s.style.color = COLORS[i];
      legend.appendChild(s);
    });
    root.appendChild(legend);
    const charts = el("div", null, "wb-charts");
    const names = Object.keys(metrics).filter((k) => !k.startsWith("val_")).sort((a, b) =>
      a === "loss" ? -1 : b === "loss" ? 1 : a.localeCompare(b));
    for (const name of names) {
      const series = [{ label: name, xs: epochs, ys: metrics[name], color: COLORS[0] }];
      if (metrics[`val_${name}`]) {
        series.push({ label: `val_${name}`, xs: epochs, ys: metrics[`val_${name}`], color: COLORS[1] });
      }
      charts.appendChild(lineChart(name, series, Math.max(planned, last, 2)));
    }
    root.appendChild(charts);
  }
  for (const k of ["history", "planned", "status"]) model.on(`change:${k}`, draw);
  draw();
}

export default { render };
