// ROC, precision-recall and calibration curves (binary), residuals (regression); the baseline
// model's curves drawn beside the candidate's.
const COLORS = { candidate: "#4c78a8", baseline: "#f58518" };

// A unit-square chart: series [{label, xs, ys, color}]; optional diagonal.
function unitChart(title, xlabel, ylabel, series, diagonal) {
  const W = 240, H = 240, L = 34, R = 8, T = 8, B = 30;
  const box = el("div", null, "wb-chart");
  box.appendChild(el("div", title, "wb-chart-title"));
  const s = svgEl("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}` });
  const x = (v) => L + (W - L - R) * v;
  const y = (v) => T + (H - T - B) * (1 - v);
  s.appendChild(svgEl("rect", { x: L, y: T, width: W - L - R, height: H - T - B, fill: "none", class: "wb-axis" }));
  for (const v of [0, 0.5, 1]) {
    const tx = svgEl("text", { x: x(v), y: H - B + 12, "text-anchor": "middle" });
    tx.textContent = String(v);
    const ty = svgEl("text", { x: L - 4, y: y(v) + 3, "text-anchor": "end" });
    ty.textContent = String(v);
    s.append(tx, ty);
  }
  const xl = svgEl("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle" });
  xl.textContent = xlabel;
  const yl = svgEl("text", { x: 10, y: (T + H - B) / 2, transform: `rotate(-90 10 ${(T + H - B) / 2})`, "text-anchor": "middle" });
  yl.textContent = ylabel;
  s.append(xl, yl);
  if (diagonal) s.appendChild(svgEl("line", { x1: x(0), y1: y(0), x2: x(1), y2: y(1), stroke: "#c8ccd0", "stroke-dasharray": "4 3" }));
  for (const ser of series) {
    const pts = ser.xs.map((v, i) => [v, ser.ys[i]]).filter((p) => p[0] !== null && p[1] !== null);
    if (!pts.length) continue;
    const line = svgEl("polyline", { points: pts.map(([a, b]) => `${x(a)},${y(b)}`).join(" "), fill: "none", stroke: ser.color, "stroke-width": 2 });
    const tip = svgEl("title");
    tip.textContent = ser.label;
    line.appendChild(tip);
    s.appendChild(line);
  }
  box.appendChild(s);
  return box;
}

function bars(title, edges, counts) {
  const W = 320, H = 180, L = 34, B = 22, T = 8;
  const box = el("div", null, "wb-chart");
  box.appendChild(el("div", title, "wb-chart-title"));
  const s = svgEl("svg", { width: W, height: H });
  const peak = Math.max(1, ...counts);
  const bw = (W - L - 8) / counts.length;
  counts.forEach((c, i) => {
    const h = ((H - T - B) * c) / peak;
    const r = svgEl("rect", { x: L + i * bw + 1, y: H - B - h, width: bw - 2, height: h, fill: COLORS.candidate });
    const tip = svgEl("title");
    tip.textContent = `${edges[i].toPrecision(3)} to ${edges[i + 1].toPrecision(3)}: ${c}`;
    r.appendChild(tip);
    s.appendChild(r);
  });
  for (const [i, anchor] of [[0, "start"], [counts.length, "end"]]) {
    const t = svgEl("text", { x: L + i * bw, y: H - 6, "text-anchor": anchor });
    t.textContent = edges[i].toPrecision(3);
    s.appendChild(t);
  }
  box.appendChild(s);
  return box;
}

function render({ model, el: host }) {
  const root = el("div", null, "wb wb-curves");
  host.appendChild(root);

  function draw() {
    const c = model.get("curves") || {};
    const b = model.get("baseline_curves") || {};
    root.replaceChildren(el("div", "Curves", "wb-title"));
    const hasBase = Object.keys(b).length > 0;
    const legend = el("div", null, "wb-legend");
    for (const [name, color] of Object.entries(COLORS)) {
      if (name === "baseline" && !hasBase) continue;
      const sp = el("span", `\u25A0 ${name}${name === "baseline" && model.get("baseline_run") ? ` (run ${model.get("baseline_run")})` : ""}`);
      sp.style.color = color;
      legend.appendChild(sp);
    }
    root.appendChild(legend);
    const charts = el("div", null, "wb-charts");
    const both = (key, xk, yk) => [["candidate", c], ["baseline", b]]
      .filter(([, src]) => src[key])
      .map(([name, src]) => ({ label: name, xs: src[key][xk], ys: src[key][yk], color: COLORS[name] }));
    if (c.roc) charts.appendChild(unitChart("ROC", "false positive rate", "true positive rate", both("roc", "fpr", "tpr"), true));
    if (c.pr) charts.appendChild(unitChart("Precision-recall", "recall", "precision", both("pr", "recall", "precision"), false));
    if (c.calibration) charts.appendChild(unitChart("Calibration", "predicted probability", "observed rate", both("calibration", "predicted", "observed"), true));
    if (c.residuals) charts.appendChild(bars("Residuals (prediction − label)", c.residuals.edges, c.residuals.count));
    if (!charts.children.length) charts.appendChild(el("div", "No curves for this task; see the per-class metrics.", "wb-muted"));
    root.appendChild(charts);
  }
  for (const k of ["curves", "baseline_curves", "baseline_run"]) model.on(`change:${k}`, draw);
  draw();
}

export default { render };
