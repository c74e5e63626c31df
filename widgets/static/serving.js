// Serving view: versions and labels, smoke and parity, load test, canary, promote/roll back.

function fmt(v, digits = 1) {
  return typeof v === "number" ? v.toLocaleString(undefined, { maximumFractionDigits: digits }) : String(v ?? "–");
}

function badge(passed) {
  return el("span", passed ? "passed" : "failed", passed ? "wb-ok" : "wb-bad");
}

function section(title) {
  const s = el("div", null, "wb-serving-section");
  s.appendChild(el("div", title, "wb-subtitle"));
  return s;
}

function render({ model, el: host }) {
  const root = el("div", null, "wb wb-serving");
  host.appendChild(root);

  function draw() {
    const r = model.get("report") || {};
    root.replaceChildren();
    root.appendChild(el("div", `Serving ${r.model || ""}`, "wb-title"));
    const server = r.server || {};
    root.appendChild(el("div", `repository ${r.repository || "–"} · REST ${server.rest || "–"} · gRPC ${server.grpc || "–"}${server.stopped ? " · stopped" : ""}`, "wb-muted"));

    const status = r.status || {};
    if (status.served) {
      const labels = status.labels || {};
      const byVersion = {};
      for (const [k, v] of Object.entries(labels)) (byVersion[v] = byVersion[v] || []).push(k);
      const s = section("Versions");
      s.appendChild(table(["version", "state", "labels", "status"], status.served.map((v) => [
        v.version, v.state, (byVersion[v.version] || []).join(", "),
        v.status && v.status.error_message ? `${v.status.error_code}: ${v.status.error_message}` : "OK",
      ])));
      root.appendChild(s);
    }

    const checks = section("Checks");
    const push = r.push || {};
    if (push.version !== undefined) checks.appendChild(el("div", `pushed version ${push.version} as ${push.label}`));
    const smoke = r.smoke;
    if (smoke) {
      const d = el("div", "smoke test: ");
      d.appendChild(badge(smoke.passed));
      checks.appendChild(d);
      checks.appendChild(table(["check", "result", "ms"], (smoke.checks || []).map((c) => [
        c.check, c.passed ? "ok" : c.error, c.ms === undefined ? "" : fmt(c.ms, 2)])));
    }
    const parity = r.parity;
    if (parity) {
      const d = el("div", `parity on ${parity.examples} eval examples (tolerance ${parity.tolerance}): `);
      d.appendChild(badge(parity.passed));
      checks.appendChild(d);
      checks.appendChild(table(["output", "max |served − exported|"], Object.entries(parity.max_abs_diff || {}).map(([k, v]) => [k, typeof v === "number" ? v.toExponential(2) : v])));
    }
    root.appendChild(checks);

    const load = r.load_test;
    if (load) {
      const s = section("Load test");
      const lat = load.latency_ms || {};
      s.appendChild(table(["tool", "clients", "seconds", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"], [[
        load.tool, load.concurrency, fmt(load.seconds), fmt(load.requests, 0), fmt(load.throughput, 0),
        fmt(lat.p50), fmt(lat.p95), fmt(lat.p99), load.errors]]));
      const plot = model.get("plot");
      if (plot) {
        const img = el("img", null, "wb-serving-plot");
        img.src = plot;
        img.alt = "latency percentiles";
        s.appendChild(img);
      }
      root.appendChild(s);
    }

    const canary = r.canary;
    if (canary) {
      const s = section("Canary");
      if (canary.skipped) s.appendChild(el("div", canary.skipped, "wb-muted"));
      else {
        const lat = canary.latency_ms || {};
        s.appendChild(table(["label", "version", "requests", "p50 ms", "p95 ms", "errors"], ["stable", "canary"].map((k) => [
          k, canary[k], (lat[k] || {}).requests, fmt((lat[k] || {}).p50), fmt((lat[k] || {}).p95), (canary.errors || {})[k]])));
        const diffs = Object.entries(canary.mean_abs_diff || {}).map(([k, v]) => `${k} ${fmt(v, 5)}`).join(", ");
        s.appendChild(el("div", `mean |stable − canary|: ${diffs || "–"}; agreement ${canary.agreement === null || canary.agreement === undefined ? "–" : fmt(100 * canary.agreement) + " %"}`));
      }
      const decision = r.decision;
      if (decision) s.appendChild(el("div", `decision: ${decision.action} (${decision.why})`, "wb-serving-decision"));
      root.appendChild(s);
    }

    if (model.get("actions")) {
      const bar = el("div", null, "wb-toolbar");
      for (const [action, label] of [["promote", "Promote canary"], ["rollback", "Roll back"]]) {
        const b = el("button", label, "wb-button");
        b.addEventListener("click", () => model.send({ action }));
        bar.appendChild(b);
      }
      bar.appendChild(el("span", model.get("message") || "", "wb-muted"));
      root.appendChild(bar);
    }
  }

  model.on("change:report", draw);
  model.on("change:plot", draw);
  model.on("change:message", draw);
  model.on("change:actions", draw);
  draw();
}

export default { render };
