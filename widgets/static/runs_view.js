// Runs overview: a table of runs; clicking a row asks Python for that run's details; picking
// a second run asks for the diff between the two (HTML rendered and escaped by Python).

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
  const picker = el("div", undefined, "wb-toolbar wb-diff-picker");
  const diff = el("div", undefined, "wb-runs-diff wb-panel");
  root.append(el("div", "Runs", "wb-title"), list, detail, picker, diff);
  host.appendChild(root);

  // the page's address and the navigation bar carry the chosen runs (?run=, ?compare=), so a
  // reload, a shared link or another page keeps them
  function keepInAddress() {
    if (!window.location.pathname.includes("/voila/render/")) return;  // not in JupyterLab
    const u = new URL(window.location.href);
    const run = model.get("selected");
    const other = model.get("compare");
    if (run) u.searchParams.set("run", run); else u.searchParams.delete("run");
    if (other) u.searchParams.set("compare", other); else u.searchParams.delete("compare");
    if (u.href !== window.location.href) window.history.replaceState(null, "", u.href);
    for (const a of document.querySelectorAll("#wb-nav a")) {
      const link = new URL(a.getAttribute("href"), window.location.href);
      if (run) link.searchParams.set("run", run);
      a.setAttribute("href", link.pathname + link.search);
    }
    const shown = document.getElementById("wb-nav-run");
    if (shown && run) shown.textContent = "run " + run;
  }

  function drawPicker() {
    const runs = model.get("runs") || [];
    const selected = model.get("selected");
    picker.replaceChildren();
    if (!selected || runs.length < 2) return;
    const select = el("select", undefined, "wb-diff-pick");
    select.setAttribute("aria-label", "run to compare with");
    select.appendChild(el("option", "(pick a run)"));
    select.firstChild.value = "";
    for (const r of runs) {
      if (r.run_id === selected) continue;
      const o = el("option", `${r.run_id} (${r.state})`);
      o.value = r.run_id;
      if (r.run_id === model.get("compare")) o.selected = true;
      select.appendChild(o);
    }
    select.addEventListener("change", () => {
      model.set("compare", select.value);
      model.save_changes();
    });
    picker.append(el("span", `What changed in run ${selected} since run`), select);
    if (model.get("compare")) {
      const clear = el("button", "clear", "wb-button wb-diff-clear");
      clear.addEventListener("click", () => { model.set("compare", ""); model.save_changes(); });
      picker.appendChild(clear);
    }
  }

  function drawDiff() {
    const state = model.get("diff_state");
    diff.dataset.state = state || "";
    if (state === "computing") {
      diff.replaceChildren(el("div", "Comparing the two runs…", "wb-muted"));
    } else {
      diff.innerHTML = model.get("diff_html") || "";
    }
  }

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

  model.on("change:runs", () => { drawList(); drawPicker(); });
  model.on("change:selected", () => { drawList(); drawPicker(); keepInAddress(); });
  model.on("change:compare", () => { drawPicker(); keepInAddress(); });
  model.on("change:details", drawDetail);
  model.on("change:diff_html", drawDiff);
  model.on("change:diff_state", drawDiff);
  drawList();
  drawDetail();
  drawPicker();
  drawDiff();
  keepInAddress();
}

export default { render };
