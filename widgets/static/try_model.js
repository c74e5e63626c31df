// Try the model: a form, the answer in words, a what-if curve, attributions, batch scoring.

function pctText(x) { return typeof x === "number" ? `${(x * 100).toFixed(1)} %` : "–"; }

function iceChart(ice) {
  const W = 460, H = 190, L = 48, B = 34, T = 10, R = 10;
  const svg = svgEl("svg", { width: W, height: H, role: "img", class: "wb-ice-chart",
    "aria-label": `score across ${ice.feature}` });
  const ys = ice.y || [];
  if (!ys.length) return svg;
  const numeric = ice.kind === "numeric";
  const xs = numeric ? ice.x : ice.x.map((_, i) => i);
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  const ymax = Math.max(...ys, ice.threshold || 0) * 1.1 || 1;
  const px = (v) => L + (x1 > x0 ? (v - x0) / (x1 - x0) : 0.5) * (W - L - R);
  const py = (v) => H - B - (v / ymax) * (H - B - T);
  svg.appendChild(svgEl("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "wb-axis" }));
  svg.appendChild(svgEl("line", { x1: L, y1: T, x2: L, y2: H - B, class: "wb-axis" }));
  for (const v of [0, ymax / 2, ymax]) {
    const t = svgEl("text", { x: L - 4, y: py(v) + 3, "text-anchor": "end" });
    t.textContent = v.toFixed(2);
    svg.appendChild(t);
  }
  if (typeof ice.threshold === "number") {
    svg.appendChild(svgEl("line", { x1: L, x2: W - R, y1: py(ice.threshold), y2: py(ice.threshold),
      stroke: "#e45756", "stroke-dasharray": "4 3" }));
    const t = svgEl("text", { x: W - R, y: py(ice.threshold) - 3, "text-anchor": "end" });
    t.textContent = "flags from here";
    svg.appendChild(t);
  }
  if (numeric) {
    const pts = xs.map((x, i) => `${px(x).toFixed(1)},${py(ys[i]).toFixed(1)}`).join(" ");
    svg.appendChild(svgEl("polyline", { points: pts, fill: "none", stroke: "#4c78a8",
      "stroke-width": 2, class: "wb-ice-line" }));
    for (const v of [x0, x1]) {
      const t = svgEl("text", { x: px(v), y: H - B + 14, "text-anchor": "middle" });
      t.textContent = Number(v.toPrecision(4));
      svg.appendChild(t);
    }
  } else {
    const w = (W - L - R) / Math.max(xs.length, 1) * 0.7;
    xs.forEach((x, i) => {
      const cx = L + (i + 0.5) * (W - L - R) / xs.length;
      svg.appendChild(svgEl("rect", { x: cx - w / 2, y: py(ys[i]), width: w,
        height: H - B - py(ys[i]), fill: String(ice.x[i]) === String(ice.current) ? "#f58518" : "#4c78a8" }));
      const t = svgEl("text", { x: cx, y: H - B + 12, "text-anchor": "middle" });
      t.textContent = String(ice.x[i]).slice(0, 8);
      svg.appendChild(t);
    });
  }
  if (numeric && typeof ice.current === "number") {
    const i = xs.indexOf(ice.current);
    if (i >= 0) svg.appendChild(svgEl("circle", { cx: px(ice.current), cy: py(ys[i]), r: 4,
      fill: "#f58518" }));
  }
  const label = svgEl("text", { x: (L + W) / 2, y: H - 4, "text-anchor": "middle" });
  label.textContent = `${ice.feature} (orange: this case)`;
  svg.appendChild(label);
  return svg;
}

function render({ model, el: host }) {
  const root = el("div", undefined, "wb wb-try");
  const form = el("div", undefined, "wb-form");
  const tools = el("div", undefined, "wb-toolbar");
  const answer = el("div", undefined, "wb-answer-box");
  const whatif = el("div", undefined, "wb-whatif");
  const attrib = el("div", undefined, "wb-attrib");
  const batch = el("div", undefined, "wb-batch");
  const inputs = {};

  const info = model.get("info");
  for (const f of model.get("fields")) {
    const label = el("label", f.column);
    label.title = f.meaning || "";
    let input;
    if (f.kind === "categorical") {
      input = el("select");
      for (const c of f.choices) {
        const o = el("option", c);
        o.value = c;
        input.appendChild(o);
      }
    } else {
      input = el("input");
      input.type = "number";
      input.step = "any";
      if (f.min !== null) input.title = `allowed ${f.min} to ${f.max}; usually ${f.low} to ${f.high}`;
    }
    input.name = f.column;
    input.dataset.feature = f.column;
    label.htmlFor = input.id = `wb-try-${f.column}`;
    const hint = f.kind === "numeric"
      ? `usually ${f.low} to ${f.high}` : `${f.choices.length} values`;
    const cell = el("span");
    cell.append(input, el("span", ` ${hint}${f.meaning ? " · " + f.meaning : ""}`, "wb-muted"));
    form.append(label, cell);
    inputs[f.column] = input;
  }
  function fill() {
    const v = model.get("values") || {};
    for (const [k, input] of Object.entries(inputs)) if (k in v) input.value = v[k];
  }
  function read() {
    const v = {};
    for (const f of model.get("fields")) {
      const raw = inputs[f.column].value;
      v[f.column] = f.kind === "numeric" ? (raw === "" ? null : Number(raw)) : raw;
    }
    return v;
  }
  const submit = el("button", "Answer", "wb-button wb-try-submit");
  submit.addEventListener("click", () => {
    answer.classList.add("wb-pending");
    model.send({ type: "answer", values: read(), feature: featureSel.value });
  });
  const typical = el("button", "Typical case", "wb-button");
  typical.addEventListener("click", () => model.send({ type: "example", row: null }));
  const rowIn = el("input");
  rowIn.type = "number"; rowIn.min = 0; rowIn.max = info.eval_rows - 1; rowIn.placeholder = "row";
  rowIn.className = "wb-try-row";
  rowIn.style.width = "6em";
  const rowBtn = el("button", "Load eval row", "wb-button wb-try-load-row");
  rowBtn.addEventListener("click", () => model.send({ type: "example", row: rowIn.value }));
  tools.append(submit, typical, el("span", "or row of the test data:", "wb-muted"), rowIn, rowBtn);

  // what-if
  const featureSel = el("select", undefined, "wb-ice-feature");
  for (const f of model.get("fields")) {
    const o = el("option", f.column);
    o.value = f.column;
    featureSel.appendChild(o);
  }
  featureSel.value = info.ice_feature;
  featureSel.addEventListener("change", () =>
    model.send({ type: "ice", values: read(), feature: featureSel.value }));
  const chart = el("div", undefined, "wb-ice");

  function drawAnswer() {
    answer.classList.remove("wb-pending");
    const a = model.get("answer") || {};
    answer.replaceChildren();
    if (a.error) {
      answer.appendChild(el("div", `${a.error}${a.hint ? " — " + a.hint : ""}`, "wb-badbox"));
    }
    for (const w of a.warnings || []) answer.appendChild(el("div", w, "wb-warnbox wb-try-warning"));
    if (typeof a.score === "number") {
      let words;
      if (info.task === "binary") {
        const d = a.decision || {};
        words = d.flagged
          ? `Flagged: the score ${a.score.toFixed(3)} is at or above the decision threshold ${d.threshold.toPrecision(3)}.`
          : `Not flagged: the score ${a.score.toFixed(3)} is below the decision threshold ${(d.threshold ?? 0.5).toPrecision(3)}.`;
      } else if (info.task === "regression") {
        words = `The model predicts ${a.score.toPrecision(4)} for ${info.label}.`;
      } else {
        words = `Most likely class: ${a.served?.classes ?? ""}`;
      }
      const big = el("div", words, "wb-answer");
      big.dataset.score = String(a.score);
      big.dataset.localScore = String(a.local_score);
      answer.appendChild(big);
      answer.appendChild(el("div", `Answered by ${a.source} in ${a.ms} ms.`, "wb-muted wb-try-source"));
      const det = el("details");
      det.appendChild(el("summary", "For engineers: the request"));
      det.appendChild(el("div", "REST request body (TF Serving's predict API):"));
      det.appendChild(el("pre", a.request, "wb-pre wb-try-request"));
      det.appendChild(el("div", "The same with curl:"));
      det.appendChild(el("pre", a.curl, "wb-pre wb-try-curl"));
      if (a.served) det.appendChild(el("pre", JSON.stringify(a.served), "wb-pre"));
      answer.appendChild(det);
    }
  }
  function drawIce() {
    const ice = model.get("ice") || {};
    chart.replaceChildren();
    if (!ice.feature) return;
    chart.dataset.feature = ice.feature;
    chart.appendChild(iceChart(ice));
  }
  function drawAttrib() {
    const rows = model.get("attributions") || [];
    attrib.replaceChildren(el("div", "What pushed this answer", "wb-subtitle"));
    attrib.appendChild(el("div", "Each feature set back to its typical value: how much the score would change. Up arrows raised the score, down arrows lowered it.", "wb-muted"));
    const max = Math.max(...rows.map((r) => Math.abs(r.contribution)), 1e-9);
    const t = table(["feature", "this case", "typical", "effect on the score", ""], []);
    t.classList.add("wb-attrib-table");
    for (const r of rows.slice(0, 12)) {
      const bar = svgEl("svg", { width: 120, height: 12 });
      const w = Math.abs(r.contribution) / max * 58;
      bar.appendChild(svgEl("rect", { x: r.contribution >= 0 ? 60 : 60 - w, y: 1, width: w, height: 10,
        class: r.contribution >= 0 ? "wb-bar-pos" : "wb-bar-neg" }));
      const tr = el("tr");
      const arrow = r.contribution >= 0 ? "▲ +" : "▼ −";
      tr.append(el("td", r.feature), el("td", r.value), el("td", r.typical),
        el("td", `${arrow}${Math.abs(r.contribution).toFixed(4)}`, "wb-num"));
      const cell = el("td");
      cell.appendChild(bar);
      tr.appendChild(cell);
      t.appendChild(tr);
    }
    attrib.appendChild(t);
    if (max < 1e-6) attrib.appendChild(el("div", "This case is the typical case itself, so nothing pushed it: load a row of the test data or change a value.", "wb-muted"));
  }

  // batch scoring
  const file = el("input");
  file.type = "file";
  file.accept = ".csv,text/csv";
  file.className = "wb-try-upload";
  const result = el("div", undefined, "wb-batch-result");
  file.addEventListener("change", () => {
    const f = file.files[0];
    if (!f) return;
    if (f.size > info.max_upload) {
      result.replaceChildren(el("div", `${f.name} is ${(f.size / 1e6).toFixed(1)} MB; the page scores files up to ${(info.max_upload / 1e6).toFixed(0)} MB.`, "wb-badbox wb-batch-error"));
      return;
    }
    const reader = new FileReader();
    reader.onload = () => {
      const b64 = String(reader.result).split(",", 2)[1] || "";
      result.replaceChildren(el("div", `scoring ${f.name} …`, "wb-muted"));
      model.send({ type: "score", name: f.name, content: b64 });
    };
    reader.readAsDataURL(f);
  });
  function drawBatch() {
    const b = model.get("batch") || {};
    result.replaceChildren();
    if (b.error) {
      result.appendChild(el("div", `${b.error}${b.hint ? " — " + b.hint : ""}`, "wb-badbox wb-batch-error"));
      return;
    }
    if (!b.rows) return;
    const flagged = typeof b.flagged === "number" ? `; ${b.flagged} flagged` : "";
    result.appendChild(el("div", `${b.total} rows scored${flagged}.`, "wb-batch-summary"));
    const a = el("a", "Download the predictions (CSV)", "wb-download wb-batch-download");
    a.href = `data:text/csv;charset=utf-8;base64,${b.csv_b64}`;
    a.download = b.name.replace(/\.csv$/i, "") + "_predictions.csv";
    result.appendChild(a);
    result.appendChild(table(b.columns, b.rows.slice(0, 20).map((r) => b.columns.map((c) => r[c]))));
    if (b.total > 20) result.appendChild(el("div", `first 20 of ${b.total} rows shown; the download has all`, "wb-muted"));
  }

  batch.append(el("div", "Score a file", "wb-subtitle"),
    el("div", `Upload a CSV file with a header naming the features (up to ${(info.max_upload / 1e6).toFixed(0)} MB); get a table of predictions to download.`, "wb-muted"),
    file, result);
  whatif.append(el("div", "What if", "wb-subtitle"),
    el("div", "Pick a feature: how the score would move across its usual range, the rest of this case unchanged.", "wb-muted"),
    featureSel, chart);
  const left = el("div");
  left.append(el("div", "The case", "wb-subtitle"), form, tools, answer);
  const right = el("div");
  right.append(whatif, attrib);
  const two = el("div", undefined, "wb-two");
  two.append(left, right);
  root.append(two, batch);
  host.appendChild(root);

  model.on("change:values", fill);
  model.on("change:answer", drawAnswer);
  model.on("change:ice", () => { drawIce(); });
  model.on("change:attributions", drawAttrib);
  model.on("change:batch", drawBatch);
  fill(); drawAnswer(); drawIce(); drawAttrib(); drawBatch();
}

export default { render };
