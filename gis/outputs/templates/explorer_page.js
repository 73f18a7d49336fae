/* Explorer: applies the rule exported by gis.outputs.explorer (the Python scoring's formula)
   to the sub-scores; interpolates the national grid the Python model computed. No economics here. */
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("explorer-data").textContent);
  const S = D.sites;
  const n = S.site_id.length;
  const K = D.criteria.length;
  const sub = S.s.map((col) => Float64Array.from(col));
  const ruleHits = D.exclusions.map((r) => { const m = new Uint8Array(n); for (const i of r.hits) m[i] = 1; return m; });
  const catOf = new Uint8Array(n);
  S.category.forEach((c, i) => { catOf[i] = Math.max(0, D.categories.indexOf(c)); });
  // tie-break: site_id ascending (code-unit order) as an integer key, so the sort compares numbers
  const idKey = new Uint32Array(n);
  Array.from({ length: n }, (_, i) => i)
    .sort((a, b) => (S.site_id[a] < S.site_id[b] ? -1 : S.site_id[a] > S.site_id[b] ? 1 : 0))
    .forEach((i, k) => { idKey[i] = k; });

  const state = {
    raw: D.criteria.map((c) => c.weight),
    ruleOn: D.exclusions.map(() => true),
    catOn: D.categories.map(() => true),
    axes: {},
  };
  const score = new Float64Array(n);
  const rank = new Uint32Array(n);
  const off = new Uint8Array(n);
  let order = new Uint32Array(n);
  const timing = { rank_ms: NaN, update_ms: NaN, ready_ms: NaN };

  function effectiveWeights() {
    const sum = state.raw.reduce((a, b) => a + b, 0);
    return state.raw.map((w) => (sum > 0 ? w / sum : 0));
  }

  // The rule (see FORMULA in gis/outputs/explorer.py): weighted sum in criterion order, clip to
  // [0, 1], 0 when excluded, rank by score descending then site_id ascending.
  function rerank() {
    const w = effectiveWeights();
    for (let i = 0; i < n; i++) off[i] = state.catOn[catOf[i]] ? 0 : 1;
    ruleHits.forEach((m, r) => { if (state.ruleOn[r]) for (let i = 0; i < n; i++) off[i] |= m[i]; });
    for (let i = 0; i < n; i++) {
      if (off[i]) { score[i] = 0; continue; }
      let s = 0;
      for (let j = 0; j < K; j++) s += sub[j][i] * w[j];
      score[i] = s < 0 ? 0 : s > 1 ? 1 : s;
    }
    const idx = new Uint32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    idx.sort((a, b) => (score[b] - score[a]) || (idKey[a] - idKey[b]));
    for (let k = 0; k < n; k++) rank[idx[k]] = k + 1;
    order = idx;
  }

  // ------------------------------------------------------------------ map
  const map = L.map("map", { preferCanvas: true, zoomControl: true }).setView([39, -97], 4);
  if (D.states) L.geoJSON(D.states, { style: { color: "#888", weight: 1, fill: true, fillColor: "#f4f4f0", fillOpacity: 1 }, interactive: false }).addTo(map);
  const ramp = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"];
  function colour(i) {
    if (off[i]) return "#9e9e9e";
    const t = Math.max(0, Math.min(1, score[i])) * (ramp.length - 1);
    return ramp[Math.min(ramp.length - 1, Math.round(t))];
  }
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const fmt = (v, d) => (v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: d }));
  const markers = new Array(n);
  for (let i = 0; i < n; i++) {
    const mw = S.mineable_mw[i] || 0;
    const m = L.circleMarker([S.lat[i], S.lon[i]], { radius: Math.max(3, Math.min(10, 2 + Math.sqrt(mw) / 2)), weight: 0.5, color: "#333", fillOpacity: 0.85 });
    m.bindPopup(() => popupHtml(i));
    m.on("click", () => selectRow(i, false));
    m.addTo(map);
    markers[i] = m;
  }
  function popupHtml(i) {
    const why = D.exclusions.filter((r, k) => state.ruleOn[k] && ruleHits[k][i]).map((r) => r.rule.reason);
    if (!state.catOn[catOf[i]]) why.push("category switched off");
    return `<b>${esc(S.name[i])}</b> (${esc(S.site_id[i])})<br>${esc(S.category[i])}, ${esc(S.state[i])}` +
      (S.ledger[i] ? `, ledger ${esc(S.ledger[i])}` : "") +
      `<br>rank ${rank[i]} of ${n} (run: ${S.rank[i]})<br>score ${score[i].toFixed(4)}<br>${fmt(S.mineable_mw[i], 1)} MW mineable` +
      (why.length ? `<br><i>excluded: ${esc(why.join("; "))}</i>` : "");
  }
  const drawn = new Array(n).fill("");
  function restyle() {
    // only markers whose colour changed are restyled (a canvas redraw per change is the slow part)
    for (let i = 0; i < n; i++) {
      const c = colour(i);
      if (c === drawn[i]) continue;
      drawn[i] = c;
      markers[i].setStyle(off[i] ? { fillColor: c, fillOpacity: 0.3, opacity: 0.3 } : { fillColor: c, fillOpacity: 0.85, opacity: 1 });
    }
  }

  // ------------------------------------------------------------------ table
  const tbody = document.querySelector("#sites tbody");
  const filters = { text: "", category: "", state: "", ledger: "", fleet: "" };
  let sortKey = "rank", sortDir = 1, shown = 200, view = [], selected = -1;
  const fleet = D.in_fleet;
  function fill(id, values) {
    const sel = document.getElementById(id);
    for (const v of [...new Set(values)].filter((x) => x !== "").sort()) { const o = document.createElement("option"); o.value = v; o.textContent = v; sel.appendChild(o); }
  }
  fill("f-category", S.category); fill("f-state", S.state); fill("f-ledger", S.ledger);
  if (!fleet) document.getElementById("f-fleet").disabled = true;
  const keyOf = {
    rank: (i) => rank[i], delta: (i) => S.rank[i] - rank[i], name: (i) => S.name[i].toLowerCase(), category: (i) => S.category[i],
    state: (i) => S.state[i], ledger: (i) => S.ledger[i], fleet: (i) => (fleet && fleet[i] !== null ? (fleet[i] ? 1 : 0) : -1),
    mw: (i) => S.mineable_mw[i] || 0, score: (i) => score[i],
  };
  function computeView() {
    const t = filters.text.toLowerCase();
    const rows = [];
    for (const i of order) {
      if (filters.category && S.category[i] !== filters.category) continue;
      if (filters.state && S.state[i] !== filters.state) continue;
      if (filters.ledger && S.ledger[i] !== filters.ledger) continue;
      if (filters.fleet && fleet && (fleet[i] === null || String(fleet[i] ? 1 : 0) !== filters.fleet)) continue;
      if (t && !S.name[i].toLowerCase().includes(t) && !S.site_id[i].toLowerCase().includes(t)) continue;
      rows.push(i);
    }
    if (sortKey !== "rank" || sortDir !== 1) {
      const f = keyOf[sortKey];
      rows.sort((a, b) => { const x = f(a), y = f(b); return (x < y ? -1 : x > y ? 1 : rank[a] - rank[b]) * (x === y ? 1 : sortDir); });
    }
    view = rows;
  }
  function renderTable() {
    const parts = [];
    for (const i of view.slice(0, shown)) {
      const d = S.rank[i] - rank[i];
      parts.push(`<tr data-i="${i}" class="${off[i] ? "excluded" : ""}${i === selected ? " selected" : ""}"><td class="num">${rank[i]}</td>` +
        `<td class="num ${d > 0 ? "up" : d < 0 ? "down" : ""}">${d > 0 ? "+" + d : d}</td><td>${esc(S.name[i])} <small>${esc(S.site_id[i])}</small></td>` +
        `<td>${esc(S.category[i])}</td><td>${esc(S.state[i])}</td><td>${esc(S.ledger[i])}</td><td>${fleet && fleet[i] !== null ? (fleet[i] ? "yes" : "no") : "?"}</td>` +
        `<td class="num">${fmt(S.mineable_mw[i], 1)}</td><td class="num">${score[i].toFixed(4)}</td></tr>`);
    }
    tbody.innerHTML = parts.join("");
    document.getElementById("count").textContent = `${Math.min(shown, view.length).toLocaleString()} of ${view.length.toLocaleString()} sites shown`;
    document.getElementById("more").style.display = view.length > shown ? "" : "none";
  }
  function selectRow(i, fromTable) {
    selected = i;
    let pos = view.indexOf(i);
    if (pos < 0) { for (const k of Object.keys(filters)) filters[k] = ""; document.querySelectorAll("#filters input, #filters select").forEach((e) => { e.value = ""; }); computeView(); pos = view.indexOf(i); }
    if (pos >= shown) shown = pos + 50;
    renderTable();
    const tr = tbody.querySelector(`tr[data-i="${i}"]`);
    if (tr && !fromTable) tr.scrollIntoView({ block: "center" });
    if (fromTable) { map.setView(markers[i].getLatLng(), Math.max(map.getZoom(), 7)); markers[i].openPopup(); }
  }
  tbody.addEventListener("click", (e) => { const tr = e.target.closest("tr"); if (tr) selectRow(Number(tr.dataset.i), true); });
  document.querySelectorAll("#sites th").forEach((th) => th.addEventListener("click", () => {
    const k = th.dataset.key; sortDir = sortKey === k ? -sortDir : 1; sortKey = k; computeView(); renderTable();
  }));
  for (const [id, key] of [["f-text", "text"], ["f-category", "category"], ["f-state", "state"], ["f-ledger", "ledger"], ["f-fleet", "fleet"]]) {
    document.getElementById(id).addEventListener("input", (e) => { filters[key] = e.target.value; shown = 200; computeView(); renderTable(); });
  }
  document.getElementById("more").addEventListener("click", () => { shown += 500; renderTable(); });

  // ------------------------------------------------------------------ controls
  function update() {
    const t0 = performance.now();
    rerank();
    const t1 = performance.now();
    computeView(); renderTable(); restyle();
    if (map.closePopup) map.closePopup();
    timing.rank_ms = t1 - t0; timing.update_ms = performance.now() - t0;
    document.getElementById("timing").textContent = `re-ranked ${n.toLocaleString()} sites in ${timing.rank_ms.toFixed(1)} ms (page update ${timing.update_ms.toFixed(0)} ms)`;
    writeToml();
  }
  const wBox = document.getElementById("weights");
  D.criteria.forEach((c, j) => {
    const row = document.createElement("div"); row.className = "row";
    row.innerHTML = `<label for="w-${j}">${esc(c.name)}</label><input type="range" id="w-${j}" data-criterion="${esc(c.name)}" min="0" max="1" step="any"><span id="wv-${j}"></span>`;
    wBox.appendChild(row);
    const input = row.querySelector("input");
    input.value = String(c.weight);
    input.addEventListener("input", () => { state.raw[j] = Number(input.value); showWeights(); update(); });
  });
  function showWeights() { const w = effectiveWeights(); w.forEach((x, j) => { document.getElementById(`wv-${j}`).textContent = (100 * x).toFixed(1) + " %"; }); }
  function switches(boxId, labels, flags, prefix) {
    const box = document.getElementById(boxId);
    labels.forEach((text, k) => {
      const l = document.createElement("label"); l.className = "switch";
      l.innerHTML = `<input type="checkbox" id="${prefix}-${k}" checked> ${esc(text)}`;
      box.appendChild(l);
      l.querySelector("input").addEventListener("change", (e) => { flags[k] = e.target.checked; update(); });
    });
  }
  switches("categories", D.categories, state.catOn, "cat");
  switches("exclusions", D.exclusions.map((r) => `${r.rule.reason} (${r.hits.length} sites)`), state.ruleOn, "excl");
  document.getElementById("formula").textContent = `score = ${D.formula.score}; ${D.formula.excluded}; rank: ${D.formula.rank}.`;
  document.getElementById("scenario-name").textContent = `scenario: ${D.scenario.name}`;
  const notes = document.getElementById("notes");
  for (const t of [...D.notes, D.in_fleet ? "" : D.fleet_note]) { if (t) { const d = document.createElement("div"); d.textContent = t; notes.appendChild(d); } }

  // ------------------------------------------------------------------ national grid
  const LABELS = { gw: "power, GW (fleet: installed; ledgers: average)", ehs: "EH/s", btc_per_year: "BTC/yr", npv_usd: "NPV, USD", npv_p10_usd: "NPV P10, USD", npv_p90_usd: "NPV P90, USD",
    btc_per_year_p10: "BTC/yr P10", btc_per_year_p90: "BTC/yr P90" };
  const LEDGER_LABELS = { wasted: "Wasted ledger (energy thrown away today)", bought: "Bought ledger (at market price)", fleet: "Economic fleet (NPV > 0, both ledgers)" };
  const AXIS_LABELS = { btc_price_usd: "BTC price, USD", network_growth_per_year: "network growth /yr", energy_price_cap_usd_mwh: "energy cap, $/MWh", efficiency_j_th: "ASIC J/TH" };
  function interpolate(cube) {
    // multilinear: clamp to the axis ends, bracket, weight the 2^d corners (gis.outputs.explorer.interpolate_grid)
    const br = Object.entries(D.grid.axes).map(([name, vals]) => {
      const x = state.axes[name];
      if (vals.length === 1 || x <= vals[0]) return [0, 0, 0];
      if (x >= vals[vals.length - 1]) return [vals.length - 1, vals.length - 1, 0];
      let i = 0; while (vals[i + 1] <= x) i++;
      return [i, i + 1, (x - vals[i]) / (vals[i + 1] - vals[i])];
    });
    let total = 0;
    for (let c = 0; c < 1 << br.length; c++) {
      let w = 1, node = cube;
      br.forEach(([lo, hi, t], a) => { const bit = (c >> a) & 1; w *= bit ? t : 1 - t; node = node[bit ? hi : lo]; });
      if (w === 0) continue;
      if (node === null) return NaN;
      total += w * node;
    }
    return total;
  }
  function renderNational() {
    const box = document.getElementById("national-figures");
    const ledgers = Object.keys(D.grid.ledgers);
    const metrics = [...new Set(ledgers.flatMap((l) => Object.keys(D.grid.ledgers[l])))];
    let h = `<table><tr><th></th>${ledgers.map((l) => `<th data-ledger="${esc(l)}">${esc(LEDGER_LABELS[l] || l)}</th>`).join("")}</tr>`;
    for (const m of metrics) {
      h += `<tr><td>${esc(LABELS[m] || m.replace(/_/g, " "))}</td>`;
      for (const l of ledgers) {
        const cube = D.grid.ledgers[l][m];
        const v = cube === undefined ? NaN : interpolate(cube);
        h += `<td data-ledger="${esc(l)}" data-metric="${esc(m)}" data-value="${v}">${fmt(v, Math.abs(v) >= 100 ? 0 : 2)}</td>`;
      }
      h += "</tr>";
    }
    box.innerHTML = h + "</table>";
  }
  const nat = document.getElementById("national");
  if (!D.grid) {
    nat.innerHTML = '<p id="no-grid"><b>No national figures:</b> this run\'s estimates.json has no <code>explorer_grid</code> (the grid of scenarios the estimate stage computes). Ranks and weights still work.</p>';
  } else {
    Object.entries(D.grid.axes).forEach(([name, vals]) => {
      const start = D.grid_base[name] !== undefined ? Math.min(vals[vals.length - 1], Math.max(vals[0], D.grid_base[name])) : vals[Math.floor((vals.length - 1) / 2)];
      state.axes[name] = start;
      const row = document.createElement("div"); row.className = "row";
      row.innerHTML = `<label for="axis-${esc(name)}">${esc(AXIS_LABELS[name] || name)}</label><input type="range" id="axis-${esc(name)}" min="${vals[0]}" max="${vals[vals.length - 1]}" step="any"><span id="axv-${esc(name)}"></span>`;
      nat.appendChild(row);
      const ticks = document.createElement("div"); ticks.className = "ticks";
      ticks.textContent = "grid: " + vals.map((v) => fmt(v, 3)).join(" · ");
      nat.appendChild(ticks);
      const input = row.querySelector("input");
      input.value = String(start);
      const show = () => { document.getElementById(`axv-${name}`).textContent = fmt(state.axes[name], 2); };
      show();
      input.addEventListener("input", () => { state.axes[name] = Number(input.value); show(); renderNational(); });
    });
    const fig = document.createElement("div"); fig.id = "national-figures"; nat.appendChild(fig);
    const hint = document.createElement("p"); hint.className = "hint";
    hint.textContent = "Interpolated linearly between the grid points the Python model computed; between points the figures are approximate.";
    nat.appendChild(hint);
    renderNational();
  }

  // ------------------------------------------------------------------ scenario TOML
  const bare = (k) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k));
  const isTable = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  const isTableArray = (v) => Array.isArray(v) && v.length > 0 && v.every(isTable);
  function tomlValue(v) {
    if (typeof v === "string") return JSON.stringify(v);
    if (typeof v === "number") return Number.isFinite(v) ? String(v) : v > 0 ? "inf" : v < 0 ? "-inf" : "nan";
    if (typeof v === "boolean") return String(v);
    if (Array.isArray(v)) return "[" + v.filter((x) => x !== null).map(tomlValue).join(", ") + "]";
    if (isTable(v)) return "{ " + Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => `${bare(k)} = ${tomlValue(x)}`).join(", ") + " }";
    return JSON.stringify(String(v));
  }
  function emit(obj, path, out) {
    for (const [k, v] of Object.entries(obj)) if (v !== null && !isTable(v) && !isTableArray(v)) out.push(`${bare(k)} = ${tomlValue(v)}`);
    for (const [k, v] of Object.entries(obj)) {
      const p = path.concat(bare(k));
      if (isTable(v)) { out.push("", `[${p.join(".")}]`); emit(v, p, out); }
      else if (isTableArray(v)) for (const item of v) { out.push("", `[[${p.join(".")}]]`); emit(item, p, out); }
    }
  }
  function scenarioTables() {
    const t = JSON.parse(JSON.stringify(D.scenario.tables));
    const w = effectiveWeights();
    D.criteria.forEach((c, j) => { t.scoring.criteria[c.name].weight = w[j]; });
    const source = (t.scoring.exclusions || []);
    const rules = D.exclusions.map((r, k) => source[k] || r.rule).filter((r, k) => state.ruleOn[k]);
    D.categories.forEach((c, k) => {
      if (!state.catOn[k]) rules.push({ measure: "mineable_mw", min: D.category_off_min_mw, categories: [c], reason: `category ${c} switched off in the explorer` });
    });
    t.scoring.exclusions = rules;
    t.name = `${D.scenario.name}-explorer`;
    t.description = `Exported from explorer.html (run scenario ${D.scenario.name}): weights ${D.criteria.map((c, j) => `${c.name}=${w[j].toFixed(3)}`).join(", ")}`;
    return t;
  }
  function toml() {
    const out = ["# Scenario exported from explorer.html; run it with: gis run --scenario FILE"];
    emit(scenarioTables(), [], out);
    return out.join("\n") + "\n";
  }
  function writeToml() { document.getElementById("toml").value = toml(); }
  document.getElementById("export").addEventListener("click", () => {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([toml()], { type: "application/toml" }));
    a.download = `${D.scenario.name}-explorer.toml`;
    a.click();
  });
  document.getElementById("reset").addEventListener("click", () => {
    state.raw = D.criteria.map((c) => c.weight);
    D.criteria.forEach((c, j) => { document.getElementById(`w-${j}`).value = String(c.weight); });
    state.ruleOn.fill(true); state.catOn.fill(true);
    document.querySelectorAll("#categories input, #exclusions input").forEach((e) => { e.checked = true; });
    showWeights(); update();
  });

  showWeights();
  update();
  timing.ready_ms = performance.now();
  window.explorer = {
    ready: true, timing, effectiveWeights, toml,
    ranks: () => { const r = {}; for (let i = 0; i < n; i++) r[S.site_id[i]] = rank[i]; return r; },
    scores: () => { const r = {}; for (let i = 0; i < n; i++) r[S.site_id[i]] = score[i]; return r; },
    setWeights: (ws) => { state.raw = ws.slice(); ws.forEach((x, j) => { document.getElementById(`w-${j}`).value = String(x); }); showWeights(); update(); },
    national: (ledger, metric) => interpolate(D.grid.ledgers[ledger][metric]),
    marker: (siteId) => markers[S.site_id.indexOf(siteId)],
  };
})();
