// Runs overview: a table of runs; clicking a row asks Python for that run's details.

const STATE_CLASS = {
  succeeded: "wb-ok", cached: "wb-ok", failed: "wb-bad", gate_failed: "wb-bad",
  interrupted: "wb-warn", running: "wb-warn",
};

function fmtSeconds(s) {
  if (typeof s !== "number") return "";
  return s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`;
}

function render({ model, el: host }) {
  const root = el("div", undefined, "wb wb-runs");
  const list = el("div");
  const detail = el("div", undefined, "wb-runs-detail");
  root.append(el("div", "Runs", "wb-title"), list, detail);
  host.appendChild(root);

  function drawList() {
    const runs = model.get("runs") || [];
    const selected = model.get("selected");
    list.replaceChildren();
    if (!runs.length) {
      list.appendChild(el("div", "No runs yet: start one with `workbench run`.", "wb-muted"));
      return;
    }
    const t = table(["run", "state", "created (UTC)", "steps done", "time", "stopped at"], []);
    for (const r of runs) {
      const tr = el("tr");
      tr.className = "wb-run-row" + (r.run_id === selected ? " wb-selected" : "");
      tr.dataset.run = r.run_id;
      tr.style.cursor = "pointer";
      if (r.run_id === selected) tr.style.background = "var(--jp-layout-color2, #eef)";
      tr.append(el("td", r.run_id), el("td", r.state, STATE_CLASS[r.state] || ""),
        el("td", r.created.slice(0, 19).replace("T", " ")),
        el("td", `${r.done}/${Object.keys(r.steps).length}`, "wb-num"),
        el("td", fmtSeconds(r.duration_s), "wb-num"),
        el("td", (r.failed_gates.length ? r.failed_gates : r.stopped_at).join(", ")));
      tr.addEventListener("click", () => {
        model.set("selected", r.run_id);
        model.save_changes();
      });
      t.appendChild(tr);
    }
    list.appendChild(t);
  }

  function drawDetail() {
    const d = model.get("details") || {};
    detail.replaceChildren();
    if (!d.run_id) return;
    detail.appendChild(el("div", `Run ${d.run_id}: ${d.state}`, "wb-title"));
    const params = Object.entries(d.parameters || {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    if (params.length) detail.appendChild(el("div", `parameters: ${params.join(", ")}`, "wb-muted"));
    if (d.git) detail.appendChild(el("div", `git ${d.git.commit.slice(0, 12)}${d.git.dirty ? " (local changes)" : ""}`, "wb-muted"));
    const rows = (d.step_details || []).map((s) => [
      s.name,
      el("span", s.state, STATE_CLASS[s.state] || ""),
      fmtSeconds(s.duration_s),
      Object.entries(s.gates).map(([g, x]) => `${g}: ${x.passed ? "pass" : "FAIL"}`).join(", "),
      Object.entries(s.metrics).slice(0, 6).map(([k, v]) =>
        `${k}=${typeof v === "number" ? Number(v.toPrecision(4)) : v}`).join(", "),
      Object.keys(s.artifacts).length,
    ]);
    detail.appendChild(table(["step", "state", "time", "gates", "metrics", "artifacts"], rows));
    for (const s of d.step_details || []) {
      for (const [g, x] of Object.entries(s.gates)) {
        if (x.passed) continue;
        detail.appendChild(el("div", `${s.name}: gate ${g} failed`, "wb-bad"));
        const ul = el("ul");
        for (const r of x.reasons || []) ul.appendChild(el("li", r));
        detail.appendChild(ul);
      }
      if (s.error) detail.appendChild(el("div", `${s.name}: ${s.error.ename}: ${s.error.evalue}`, "wb-bad"));
    }
  }

  model.on("change:runs", drawList);
  model.on("change:selected", drawList);
  model.on("change:details", drawDetail);
  drawList();
  drawDetail();
}

export default { render };
