// Production data: what the server received, against the training data, in sentences.

function render({ model, el: host }) {
  const root = el("div", undefined, "wb wb-production");
  host.appendChild(root);
  const num = (x) => (typeof x === "number" ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3)) : "–");

  function draw() {
    const s = model.get("state") || {};
    root.replaceChildren(el("div", "Production data", "wb-subtitle"));
    const busy = model.get("checking");
    if (!s.models) {
      root.appendChild(el("p", "Checking the requests the server received…", "wb-muted wb-production-busy"));
      return;
    }
    for (const m of s.models) {
      const box = el("div", undefined, `wb-production-model wb-production-${m.status}`);
      box.dataset.status = m.status;
      box.dataset.model = m.model;
      if (m.instances !== undefined) box.dataset.instances = String(m.instances);
      const mark = { ok: "✓ ", problems: "⚠ ", error: "✗ " }[m.status] || "";
      box.appendChild(el("p", mark + m.lead, m.status === "problems" ? "wb-lead wb-badbox" : "wb-lead"));
      if (m.hint) box.appendChild(el("p", m.hint, "wb-muted"));
      if ((m.problems || []).length) {
        const ul = el("ul", undefined, "wb-production-problems");
        for (const p of m.problems) ul.appendChild(el("li", p));
        box.appendChild(ul);
      }
      if ((m.warnings || []).length) {
        box.appendChild(el("p", "Worth a look (not problems):", "wb-muted"));
        const ul = el("ul", undefined, "wb-production-warnings");
        for (const p of m.warnings) ul.appendChild(el("li", p));
        box.appendChild(ul);
      }
      for (const n of m.notes || []) box.appendChild(el("p", n, "wb-muted"));
      if ((m.scores || []).length) {
        const details = el("details");
        details.appendChild(el("summary", "Scores per feature (for engineers)"));
        details.appendChild(table(["feature", "compared with", "measure", "score", "limit", "over the limit"],
          m.scores.map((c) => [c.feature, c.against, c.metric, num(c.value), num(c.threshold), c.over ? "yes" : "no"]),
          "wb-production-scores"));
        box.appendChild(details);
      }
      root.appendChild(box);
    }
    const again = el("button", busy ? "Checking…" : "Check again", "wb-production-check");
    again.disabled = busy;
    again.addEventListener("click", () => model.send({ type: "check" }));
    root.append(again, el("span", ` Checked ${s.checked_at || ""}.`, "wb-muted"));
  }
  model.on("change:state", draw);
  model.on("change:checking", draw);
  draw();
}

export default { render };
