// Serving monitor: asks Python for a fresh scrape every few seconds and draws it.

function render({ model, el: host }) {
  const root = el("div", undefined, "wb wb-monitor");
  host.appendChild(root);
  const fmt = (x, d = 1) => (typeof x === "number" ? x.toFixed(d) : "–");

  function draw() {
    const s = model.get("state") || {};
    root.replaceChildren();
    const cards = el("div", undefined, "wb-cards");
    const card = (title, value, unit, cls) => {
      const c = el("div", undefined, `wb-card ${cls}`);
      c.append(el("h3", title), el("div", `${value} ${unit}`, "wb-answer"));
      return c;
    };
    if (s.running) {
      const lat = s.latency_ms || {};
      cards.append(
        card("Requests per second", fmt(s.rate, 1), "req/s", "wb-monitor-rate"),
        card("Latency p50 / p95 / p99", `${fmt(lat.p50)} / ${fmt(lat.p95)} / ${fmt(lat.p99)}`, "ms", "wb-monitor-latency"),
        card("Errors", typeof s.error_rate === "number" ? (s.error_rate * 100).toFixed(2) : "–", "% of requests", "wb-monitor-errors"));
      root.appendChild(cards);
      const rate = root.querySelector(".wb-monitor-rate .wb-answer");
      if (rate) rate.dataset.rate = String(s.rate ?? "");
    }
    if (s.message) root.appendChild(el("p", s.message, "wb-muted wb-monitor-message"));
    const hist = s.history || [];
    if (hist.length > 1) {
      const W = 300, H = 40, max = Math.max(...hist, 1e-9);
      const svg = svgEl("svg", { width: W, height: H, class: "wb-spark", role: "img",
        "aria-label": "requests per second, last refreshes" });
      const pts = hist.map((v, i) => `${(i * (W - 4) / (hist.length - 1) + 2).toFixed(1)},${(H - 2 - v / max * (H - 4)).toFixed(1)}`).join(" ");
      svg.appendChild(svgEl("polyline", { points: pts }));
      root.append(el("div", "Requests per second, recent refreshes:", "wb-muted"), svg);
    }
    if (s.labels) {
      root.appendChild(el("div", "Canary against stable", "wb-subtitle"));
      root.appendChild(table(["label", "req/s", "p95 latency (ms)"],
        Object.entries(s.labels).map(([k, v]) => [k, fmt(v.rate, 2), fmt(v.p95_ms)])));
    }
    root.appendChild(el("div", "Versions in the model repository", "wb-subtitle"));
    root.appendChild(table(["model", "version", "labels", "from run", "deployed (UTC)", "approval"],
      (s.versions || []).map((v) => [v.model, v.version, v.labels.join(", ") || "–", v.run_id || "–",
        (v.since || "").replace("T", " "), (v.approval || {}).status || "not recorded"])));
    root.appendChild(el("div", `Updated ${s.at || ""}; refreshes every ${model.get("interval_s")} s. Read-only.`, "wb-muted"));
  }
  model.on("change:state", draw);
  draw();
  const timer = setInterval(() => model.send({ type: "refresh" }), model.get("interval_s") * 1000);
  return () => clearInterval(timer);
}

export default { render };
