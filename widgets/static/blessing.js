// The blessing: blessed or not, against which baseline, and every threshold check with its
// numbers (failed checks first).

function fmt(v) {
  if (v === null || v === undefined) return "–";
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(2) : String(Number(v.toFixed(4)));
}

function render({ model, el: host }) {
  const root = el("div", null, "wb wb-blessing");
  host.appendChild(root);

  function draw() {
    const b = model.get("blessing") || {};
    root.replaceChildren(el("div", "Blessing", "wb-title"));
    root.appendChild(el("div", b.blessed ? "\u2714 blessed" : "\u2718 not blessed", `wb-verdict ${b.blessed ? "wb-ok" : "wb-bad"}`));
    const base = b.baseline;
    const run = model.get("baseline_run");
    const candidate = `candidate model (${(b.candidate || {}).builder || "?"}, sha256 ${((b.candidate || {}).model_sha256 || "").slice(0, 12)})`;
    root.appendChild(el("div", base
      ? `${candidate} against the baseline model${run ? ` of run ${run}` : ""} (${base.builder || "?"}, sha256 ${(base.model_sha256 || "").slice(0, 12)})`
      : `${candidate}; no baseline (first blessed model)`, "wb-muted"));
    if (base && base.error) root.appendChild(el("div", `baseline could not be evaluated: ${base.error}`, "wb-bad"));
    const checks = (b.checks || []).slice().sort((x, y) => Number(x.passed) - Number(y.passed));
    const t = el("table", null, "wb-table");
    const head = el("tr");
    for (const h of ["", "metric", "slice", "check", "candidate", "baseline", "change", "threshold", "why"]) head.appendChild(el("th", h));
    t.appendChild(head);
    for (const c of checks) {
      const tr = el("tr");
      const kind = c.kind === "value" ? `value (${c.bound})` : c.kind === "change" ? `change${c.mode ? ` (${c.mode}, ${c.direction} is better)` : ""}` : c.kind;
      const diff = c.diff === null || c.diff === undefined ? "–" : c.mode === "relative" ? `${(100 * c.diff).toFixed(2)}%` : fmt(c.diff);
      const thr = c.threshold === undefined ? "–" : c.mode === "relative" ? `${(100 * c.threshold).toFixed(2)}%` : fmt(c.threshold);
      tr.append(el("td", c.skipped ? "\u2013" : c.passed ? "\u2714" : "\u2718", c.skipped ? "wb-muted" : c.passed ? "wb-ok" : "wb-bad"),
        el("td", c.metric), el("td", c.slice), el("td", kind), el("td", fmt(c.value), "wb-num"),
        el("td", fmt(c.baseline), "wb-num"), el("td", diff, "wb-num"), el("td", thr, "wb-num"), el("td", c.reason, "wb-muted"));
      t.appendChild(tr);
    }
    root.appendChild(t);
  }
  model.on("change:blessing", draw);
  model.on("change:baseline_run", draw);
  draw();
}

export default { render };
