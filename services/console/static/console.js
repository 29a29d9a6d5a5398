// newswire console: live pipeline figures (server-sent events) and small conveniences.
// Text from the server is only ever set with textContent, never as HTML.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "-" : String(text);
    if (className) td.className = className;
    return td;
  }

  function size(value) {
    if (typeof value !== "number") return "-";
    const units = [["GiB", 1073741824], ["MiB", 1048576], ["KiB", 1024]];
    for (const [unit, scale] of units) if (Math.abs(value) >= scale) return (value / scale).toFixed(1) + " " + unit;
    return value + " B";
  }

  function renderMemory(memory) {
    const used = document.getElementById("memory-used");
    const detail = document.getElementById("memory-detail");
    if (!used || !memory) return;
    used.textContent = size(memory.used_bytes);
    if (!detail) return;
    if (memory.maxmemory_bytes === null || memory.maxmemory_bytes === undefined) {
      detail.textContent = "no maxmemory set";
    } else {
      const headroom = memory.headroom_bytes;
      detail.textContent = "of " + size(memory.maxmemory_bytes) + " (" + memory.used_percent + "%) · " +
        (headroom > 0 ? size(headroom) + " below the high-water mark" : "above the high-water mark: new articles refused");
    }
  }

  function consumerText(group) {
    const list = group && group.consumer_list ? group.consumer_list : [];
    return list.map(function (c) {
      return c.name + " (idle " + c.idle_s + " s" + (c.pending ? ", " + c.pending + " pending" : "") + ")";
    }).join(", ");
  }

  function renderStreams(figures) {
    const body = document.getElementById("streams-body");
    if (!body || !figures) return;
    const previous = {};
    body.querySelectorAll("tr").forEach(function (row) {
      previous[row.dataset.stream + "|" + row.dataset.group] = row.dataset.signature;
    });
    const rows = [];
    figures.streams.forEach(function (stream) {
      const groups = stream.groups && stream.groups.length ? stream.groups : [null];
      groups.forEach(function (group, index) {
        const tr = document.createElement("tr");
        tr.dataset.stream = stream.key;
        tr.dataset.group = group ? group.group : "";
        const first = index === 0;
        const name = stream.partition === null || stream.partition === undefined ? stream.stream : stream.stream + ":" + stream.partition;
        tr.append(
          cell(first ? name : ""),
          cell(first ? stream.key : "", "mono"),
          cell(first ? stream.length : "", "num"),
          cell(first ? size(stream.memory_bytes) : "", "num"),
          cell(group ? group.group : "-"),
          cell(group ? group.lag : "-", "num"),
          cell(group ? group.pending : "-", "num"),
          cell(group ? group.consumers : "-", "num"),
          cell(group && group.oldest_pending_idle_s !== null ? group.oldest_pending_idle_s + " s" : "-", "num"),
          cell(consumerText(group), "small")
        );
        tr.querySelector("td:nth-child(3)").dataset.field = "length";
        const signature = JSON.stringify([stream.length, group && [group.lag, group.pending, group.consumers]]);
        tr.dataset.signature = signature;
        const key = tr.dataset.stream + "|" + tr.dataset.group;
        if (key in previous && previous[key] !== signature) tr.className = "changed";
        rows.push(tr);
      });
    });
    body.replaceChildren.apply(body, rows);
  }

  function drawChart(svg, times, values) {
    const width = 300, height = 60, top = 12;
    // Scaled to the peak of the window shown, so a slow trickle still has a visible shape.
    const max = Math.max(0.01, ...values);
    const span = times.length > 1 ? times[times.length - 1] - times[0] : 1;
    const points = values.map(function (v, i) {
      const x = times.length > 1 ? ((times[i] - times[0]) / span) * width : width;
      const y = height - (v / max) * (height - top);
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", points.join(" "));
    const area = document.createElementNS(SVG, "polygon");
    if (points.length) area.setAttribute("points", "0," + height + " " + points.join(" ") + " " + width + "," + height);
    const label = document.querySelector('[data-chart-label="' + svg.dataset.chart + '"]');
    if (label) {
      const minutes = Math.max(1, Math.round(span / 60));
      label.textContent = times.length > 1
        ? "last " + minutes + " min · peak " + Math.max(0, ...values).toFixed(2) + "/s"
        : "collecting samples…";
    }
    svg.replaceChildren(area, line);
  }

  function renderPipeline(payload) {
    const error = document.getElementById("pipeline-error");
    if (error) {
      error.hidden = !payload.error;
      error.textContent = payload.error || "";
    }
    const figures = payload.figures;
    if (!figures) return;
    renderStreams(figures);
    renderMemory(figures.memory);
    const dlq = document.getElementById("dlq-size");
    if (dlq) dlq.textContent = String(figures.dlq_size);
    document.querySelectorAll("[data-rate]").forEach(function (el) {
      const rate = figures.throughput_per_s[el.dataset.rate];
      el.textContent = rate === undefined ? "-" : String(rate);
    });
    document.querySelectorAll("svg[data-chart]").forEach(function (svg) {
      const values = payload.history.stages[svg.dataset.chart] || [];
      drawChart(svg, payload.history.times, values);
    });
    const updated = document.getElementById("updated");
    if (updated) updated.textContent = new Date(figures.time * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
  }

  function startPipeline() {
    const state = document.getElementById("live-state");
    fetch("/api/pipeline", { headers: { accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(renderPipeline)
      .catch(function () { /* the live feed below retries */ });
    const source = new EventSource("/events/pipeline");
    source.addEventListener("pipeline", function (event) {
      renderPipeline(JSON.parse(event.data));
      if (state) { state.textContent = "live"; state.className = "live on"; }
    });
    source.addEventListener("error", function () {
      if (state) { state.textContent = "reconnecting…"; state.className = "live off"; }
    });
  }

  function startDeadLetters() {
    const all = document.getElementById("select-all");
    if (!all) return;
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=entry]").forEach(function (box) { box.checked = all.checked; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const page = document.body.dataset.page;
    if (page === "pipeline") startPipeline();
    if (page === "dead_letters") startDeadLetters();
  });
})();
