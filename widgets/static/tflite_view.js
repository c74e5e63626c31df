// TFLite view: variants against the SavedModel (size, latency at batch 1 and 64, metric,
// drop, agreement), the recommended variant, and what another rule would pick.

function num(x, digits) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (typeof x !== "number") return String(x);
  if (x !== 0 && (Math.abs(x) >= 1e5 || Math.abs(x) < 1e-3)) return x.toPrecision(3);
  return String(Number(x.toFixed(digits === undefined ? 4 : digits)));
}

const RULES = {
  smallest: (vs) => vs.slice().sort((a, b) => a.size_bytes - b.size_bytes)[0],
  fastest: (vs) => vs.slice().sort((a, b) => a.latency["1"].median_ms - b.latency["1"].median_ms)[0],
  fastest_batch64: (vs) => vs.slice().sort((a, b) => a.latency["64"].median_ms - b.latency["64"].median_ms)[0],
  most_accurate: (vs) => vs.slice().sort((a, b) => a.drop - b.drop)[0],
};

function render({ model, el: host }) {
  const root = el("div", null, "wb wb-tflite");
  host.appendChild(root);
  let rule = null;
  const sort = { key: null, ascending: true };

  function draw() {
    const r = model.get("report") || {};
    const variants = (r.variants || []).filter((v) => v.ok);
    const failed = (r.variants || []).filter((v) => !v.ok);
    const metric = r.metric || "metric";
    rule = rule || r.rule || "smallest";
    root.replaceChildren();

    const title = el("div", "TFLite variants: recommended ", "wb-title");
    title.appendChild(el("b", r.recommended || "none", "wb-recommended-name"));
    root.appendChild(title);
    root.appendChild(el("div", r.reason || "", "wb-muted"));
    const inputs = r.inputs === "preprocessed"
      ? `inputs: preprocessed features (LiteRT built-ins lack ${(r.unsupported_ops || []).join(", ")})`
      : "inputs: raw features, as the SavedModel";
    root.appendChild(el("div", `${inputs} · ${r.eval_rows} eval rows · gate: drop in ${metric} ≤ ${r.threshold} points`, "wb-muted"));

    // what-if rule selector (the stage's rule is a parameter; this shows what others pick)
    const bar = el("div", null, "wb-toolbar");
    bar.appendChild(el("span", "rule:"));
    const select = el("select", null, "wb-rule");
    for (const name of [...Object.keys(RULES), ...variants.map((v) => v.name)]) {
      const o = el("option", name);
      o.value = name;
      if (name === rule) o.selected = true;
      select.appendChild(o);
    }
    select.addEventListener("change", () => { rule = select.value; draw(); });
    bar.appendChild(select);
    const within = variants.filter((v) => v.drop !== null && v.drop <= r.threshold);
    let pick = null;
    if (RULES[rule]) pick = within.length ? RULES[rule](within) : null;
    else pick = variants.find((v) => v.name === rule) || null;
    bar.appendChild(el("span", pick ? `would pick ${pick.name}` : "no variant within the threshold", "wb-muted wb-rule-pick"));
    root.appendChild(bar);

    const cols = [
      ["name", "variant", (v) => v.name],
      ["size", "size", (v) => v.size_bytes],
      ["ratio", "× float32", (v) => v.size_ratio],
      ["b1", "batch 1 median ms", (v) => v.latency["1"].median_ms],
      ["b1p95", "batch 1 p95 ms", (v) => v.latency["1"].p95_ms],
      ["b64", "batch 64 median ms", (v) => v.latency["64"].median_ms],
      ["b64p95", "batch 64 p95 ms", (v) => v.latency["64"].p95_ms],
      ["metric", metric, (v) => v.metrics[metric]],
      ["drop", "drop (points)", (v) => v.drop],
      ["agree", "agreement", (v) => v.agreement],
    ];
    const rows = variants.slice();
    if (sort.key) {
      const get = cols.find((c) => c[0] === sort.key)[2];
      rows.sort((a, b) => {
        const x = get(a), y = get(b);
        const c = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
        return sort.ascending ? c : -c;
      });
    }
    const maxSize = Math.max(...variants.map((v) => v.size_bytes), 1);
    const maxLat = Math.max(...variants.map((v) => v.latency["1"].median_ms), 1e-9);
    const t = el("table", null, "wb-table wb-variants");
    t.appendChild(sortableHeader(cols, sort, draw));
    const sm = r.savedmodel || {};
    const ref = el("tr", null, "wb-reference");
    const lat = sm.latency || {};
    for (const v of ["SavedModel (in process)", "", "", num((lat["1"] || {}).median_ms),
                     num((lat["1"] || {}).p95_ms), num((lat["64"] || {}).median_ms),
                     num((lat["64"] || {}).p95_ms), num((sm.metrics || {})[metric]), "", ""]) {
      ref.appendChild(el("td", v, v && v !== "SavedModel (in process)" ? "wb-num" : ""));
    }
    t.appendChild(ref);
    for (const v of rows) {
      const tr = el("tr", null, "wb-variant");
      tr.dataset.variant = v.name;
      if (v.name === r.recommended) tr.classList.add("wb-recommended");
      if (pick && v.name === pick.name && v.name !== r.recommended) tr.classList.add("wb-alt");
      const name = el("td", v.name + (v.name === r.recommended ? " \u2605" : ""));
      name.title = [v.engine, ...(v.notes || [])].join("\n");
      tr.appendChild(name);
      const s = el("td", size(v.size_bytes), "wb-num");
      const sb = el("span", null, "wb-bar");
      sb.style.width = Math.round(60 * v.size_bytes / maxSize) + "px";
      s.appendChild(sb);
      tr.appendChild(s);
      tr.appendChild(el("td", num(v.size_ratio, 3), "wb-num"));
      const l = el("td", num(v.latency["1"].median_ms), "wb-num");
      const lb = el("span", null, "wb-bar wb-bar-lat");
      lb.style.width = Math.round(60 * v.latency["1"].median_ms / maxLat) + "px";
      l.appendChild(lb);
      tr.appendChild(l);
      tr.appendChild(el("td", num(v.latency["1"].p95_ms), "wb-num"));
      tr.appendChild(el("td", num(v.latency["64"].median_ms), "wb-num"));
      tr.appendChild(el("td", num(v.latency["64"].p95_ms), "wb-num"));
      tr.appendChild(el("td", num(v.metrics[metric]), "wb-num"));
      const drop = el("td", num(v.drop, 3), "wb-num");
      if (v.drop > r.threshold) drop.classList.add("wb-bad");
      tr.appendChild(drop);
      tr.appendChild(el("td", num(v.agreement, 4), "wb-num"));
      t.appendChild(tr);
    }
    for (const v of failed) {
      const tr = el("tr", null, "wb-variant-failed");
      tr.appendChild(el("td", v.name));
      const td = el("td", v.error, "wb-bad");
      td.colSpan = cols.length - 1;
      tr.appendChild(td);
      t.appendChild(tr);
    }
    root.appendChild(t);

    const notes = [...(r.notes || [])];
    for (const v of variants) for (const n of v.notes || []) notes.push(`${v.name}: ${n}`);
    if (notes.length) {
      const d = el("details");
      d.appendChild(el("summary", "How each variant was made"));
      const ul = el("ul");
      for (const n of notes) ul.appendChild(el("li", n));
      d.appendChild(ul);
      root.appendChild(d);
    }
  }
  model.on("change:report", draw);
  draw();
}

export default { render };
