// Drift view: each compared feature's distance to the baseline (drift) or serving data (skew)
// against its threshold.

function meter(value, threshold) {
  const scale = Math.max(value, threshold, 1e-9) * 1.1;
  const m = el("span", null, "wb-meter");
  const fill = el("span", null, "wb-fill");
  fill.style.width = `${(160 * value) / scale}px`;
  fill.style.background = value > threshold ? "#cf222e" : "#1a7f37";
  const mark = el("span", null, "wb-mark");
  mark.style.left = `${(160 * threshold) / scale}px`;
  mark.title = `threshold ${threshold}`;
  m.append(fill, mark);
  return m;
}

function render({ model, el: host }) {
  const root = el("div", null, "wb wb-drift");
  host.appendChild(root);

  function draw() {
    const d = model.get("drift") || {};
    root.replaceChildren(el("div", "Drift and skew", "wb-title"));
    for (const n of d.notes || []) root.appendChild(el("div", n, "wb-muted"));
    const rows = d.comparisons || [];
    if (!rows.length) {
      root.appendChild(el("div", "No feature was compared."));
      return;
    }
    const t = el("table", null, "wb-table");
    const head = el("tr");
    for (const h of ["feature", "check", "metric", "distance", "threshold", "", "status", "moved most"]) head.appendChild(el("th", h));
    t.appendChild(head);
    const sorted = rows.slice().sort((a, b) => (b.value / b.threshold) - (a.value / a.threshold));
    for (const r of sorted) {
      const tr = el("tr");
      const bar = el("td");
      bar.appendChild(meter(r.value, r.threshold));
      const moved = r.key === null || r.key === undefined || !(r.value > 0) ? "" :
        `${r.key}: ${(100 * (r.share_current || 0)).toFixed(1)}% vs ${(100 * (r.share_control || 0)).toFixed(1)}%`;
      tr.append(el("td", r.feature), el("td", r.kind),
        el("td", r.metric === "L_INFTY" ? "L-infinity" : "Jensen-Shannon"),
        el("td", r.value.toFixed(4), "wb-num"), el("td", String(r.threshold), "wb-num"), bar,
        el("td", r.exceeded ? "above threshold" : "ok", r.exceeded ? "wb-bad" : "wb-ok"),
        el("td", moved, "wb-muted"));
      t.appendChild(tr);
    }
    root.appendChild(t);
  }
  model.on("change:drift", draw);
  draw();
}

export default { render };
