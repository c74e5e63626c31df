// Confusion matrix (rows: actual class, columns: predicted), as counts or row shares, for the
// candidate or the baseline model.

function render({ model, el: host }) {
  const root = el("div", null, "wb wb-confusion");
  const title = el("div", "Confusion matrix", "wb-title");
  const toolbar = el("div", null, "wb-toolbar");
  const which = el("select");
  const mode = el("select");
  for (const [v, t] of [["counts", "counts"], ["rows", "share of actual class"]]) {
    const o = el("option", t);
    o.value = v;
    mode.appendChild(o);
  }
  toolbar.append(which, mode);
  const note = el("div", null, "wb-muted");
  const table = el("table", null, "wb-table");
  root.append(title, toolbar, note, table);
  host.appendChild(root);

  function fillWhich() {
    const options = [["candidate", "candidate model"]];
    if (model.get("baseline_matrix").length) options.push(["baseline", "baseline model"]);
    which.replaceChildren(...options.map(([v, t]) => { const o = el("option", t); o.value = v; return o; }));
  }

  function draw() {
    const labels = model.get("labels") || [];
    const m = which.value === "baseline" ? model.get("baseline_matrix") : model.get("matrix");
    const threshold = model.get("threshold");
    note.textContent = threshold === null || threshold === undefined ? "" : `decision threshold ${threshold}`;
    table.replaceChildren();
    if (!m || !m.length) return;
    const head = el("tr");
    head.append(el("th", "actual \\ predicted"), ...labels.map((l) => el("th", l)));
    table.appendChild(head);
    let peak = 1;
    const shares = m.map((row) => {
      const total = row.reduce((a, b) => a + b, 0) || 1;
      return row.map((v) => v / total);
    });
    for (const row of m) for (const v of row) peak = Math.max(peak, v);
    m.forEach((row, i) => {
      const tr = el("tr");
      tr.appendChild(el("th", labels[i]));
      row.forEach((v, j) => {
        const share = shares[i][j];
        const text = mode.value === "rows" ? `${(100 * share).toFixed(1)}%` : v.toLocaleString();
        const td = el("td", text, "wb-cell");
        const strength = mode.value === "rows" ? share : v / peak;
        const color = i === j ? "26,127,55" : "207,34,46";
        td.style.background = `rgba(${color},${(0.08 + 0.5 * strength).toFixed(3)})`;
        td.title = `${v.toLocaleString()} examples of ${labels[i]} predicted as ${labels[j]}`;
        tr.appendChild(td);
      });
      table.appendChild(tr);
    });
  }
  which.addEventListener("change", draw);
  mode.addEventListener("change", draw);
  for (const k of ["matrix", "labels", "baseline_matrix", "threshold"]) model.on(`change:${k}`, () => { fillWhich(); draw(); });
  fillWhich();
  draw();
}

export default { render };
