// A small SVG time chart: lines with points, error bars, hollow markers, hover tooltips.
// Hand-written so the hub ships no chart library; timeseries.js is its only user.
(function (global) {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const DAY = 86400000;
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                  "Dec"];

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  // Round step of 1, 2 or 5 times a power of ten giving about `count` intervals.
  function niceStep(span, count) {
    const raw = span / Math.max(1, count);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const unit = raw / power;
    return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
  }

  function valueTicks(lo, hi) {
    const step = niceStep(hi - lo, 5);
    const ticks = [];
    for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) {
      ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    }
    return { ticks, decimals: Math.max(0, -Math.floor(Math.log10(step))) };
  }

  // Calendar ticks: days, ten-day starts (1, 11, 21), months, quarters or years, <= ~8 of them.
  function timeTicks(t0, t1) {
    const days = (t1 - t0) / DAY;
    const utc = (y, m, d) => Date.UTC(y, m, d);
    const start = new Date(t0);
    const out = [];
    if (days <= 16) {
      const step = days <= 8 ? 1 : 2;
      for (let t = utc(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate());
           t <= t1; t += step * DAY) if (t >= t0) out.push([t, dayLabel(t)]);
      return out;
    }
    if (days <= 75) {
      for (let y = start.getUTCFullYear(), m = start.getUTCMonth(); utc(y, m, 1) <= t1; m++) {
        for (const d of [1, 11, 21]) {
          const t = utc(y, m, d);
          if (t >= t0 && t <= t1) out.push([t, dayLabel(t)]);
        }
      }
      return out;
    }
    const monthStep = days <= 400 ? 1 : days <= 800 ? 3 : 12;
    let y = start.getUTCFullYear();
    let m = Math.ceil(start.getUTCMonth() / monthStep) * monthStep;
    if (start.getUTCDate() > 1 && m === start.getUTCMonth()) m += monthStep;
    for (; utc(y, m, 1) <= t1; m += monthStep) {
      const t = utc(y, m, 1);
      const d = new Date(t);
      const label = monthStep === 12 ? String(d.getUTCFullYear())
        : MONTHS[d.getUTCMonth()] + (d.getUTCMonth() === 0 || out.length === 0
          ? " " + d.getUTCFullYear() : "");
      if (t >= t0) out.push([t, label]);
    }
    return out;
  }

  function dayLabel(t) {
    const d = new Date(t);
    return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()];
  }

  function fmt(v, decimals) {
    return v.toFixed(decimals).replace(/^-0(\.0*)?$/, "0$1");
  }

  // Draw into `container` (emptied first). spec: {
  //   xDomain: [ms, ms], yLabel, yDomain?: [lo, hi], height?, title?,
  //   periods?: [{from: ms, to: ms}]            alternate shading of the composite periods
  //   series: [{name, color, line?: "all"|"filled"|"none",
  //             points: [{t: ms, y: number|null, err?: number, hollow?: bool, ring?: bool,
  //                       row: index, tip: string}]}],
  //   gaps?: [{t: ms, row, tip}]                periods without a value, marked on the axis
  //   onHover?: (row|null) => void }
  function draw(container, spec) {
    container.textContent = "";
    container.classList.add("ts-chart");
    const width = Math.max(320, container.clientWidth || 800);
    const height = spec.height || 260;
    const m = { top: 14, right: 16, bottom: 30, left: 58 };
    const w = width - m.left - m.right;
    const h = height - m.top - m.bottom;
    const [t0, t1] = spec.xDomain[0] === spec.xDomain[1]
      ? [spec.xDomain[0] - DAY, spec.xDomain[1] + DAY] : spec.xDomain;
    let lo = Infinity, hi = -Infinity;
    for (const s of spec.series) {
      for (const p of s.points) {
        if (p.y === null || p.y === undefined) continue;
        lo = Math.min(lo, p.y - (p.err || 0));
        hi = Math.max(hi, p.y + (p.err || 0));
      }
    }
    if (spec.yDomain) { lo = Math.min(lo, spec.yDomain[0]); hi = Math.max(hi, spec.yDomain[1]); }
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    if (hi - lo < 1e-6) { lo -= 0.05; hi += 0.05; }
    const pad = (hi - lo) * 0.06;
    lo -= pad; hi += pad;
    const x = (t) => m.left + ((t - t0) / (t1 - t0)) * w;
    const y = (v) => m.top + (1 - (v - lo) / (hi - lo)) * h;

    const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
                            "aria-label": spec.title || spec.yLabel || "time series chart" },
                   container);
    const grid = el("g", { class: "grid" }, svg);
    (spec.periods || []).forEach((p, i) => {
      if (i % 2) return;
      el("rect", { x: x(p.from), y: m.top, width: Math.max(1, x(p.to) - x(p.from)), height: h,
                   class: "period" }, grid);
    });
    const yt = valueTicks(lo, hi);
    for (const v of yt.ticks) {
      el("line", { x1: m.left, x2: m.left + w, y1: y(v), y2: y(v),
                   class: v === 0 ? "zero" : "tick" }, grid);
      el("text", { x: m.left - 6, y: y(v) + 4, "text-anchor": "end" }, grid).textContent =
        fmt(v, yt.decimals);
    }
    for (const [t, label] of timeTicks(t0, t1)) {
      el("line", { x1: x(t), x2: x(t), y1: m.top + h, y2: m.top + h + 5, class: "axis" }, grid);
      // Labels at the ends are anchored inwards so that they are not cut off.
      const anchor = x(t) - m.left < 24 ? "start" : m.left + w - x(t) < 24 ? "end" : "middle";
      el("text", { x: x(t), y: m.top + h + 18, "text-anchor": anchor }, grid).textContent =
        label;
    }
    el("rect", { x: m.left, y: m.top, width: w, height: h, class: "frame" }, grid);
    if (spec.yLabel) {
      el("text", { x: 12, y: m.top + h / 2, "text-anchor": "middle", class: "label",
                   transform: `rotate(-90 12 ${m.top + h / 2})` }, grid).textContent = spec.yLabel;
    }

    const tip = document.createElement("div");
    tip.className = "ts-tooltip";
    tip.hidden = true;
    container.appendChild(tip);
    function hover(target, point) {
      target.addEventListener("mouseenter", () => {
        tip.textContent = point.tip || "";
        tip.hidden = false;
        const px = Number(target.getAttribute("data-x"));
        const py = Number(target.getAttribute("data-y"));
        // Beside the point, on the side with room, and above it in the lower half.
        const left = px + 14 + tip.offsetWidth > width ? px - 14 - tip.offsetWidth : px + 14;
        const top = py > height / 2 ? py - tip.offsetHeight + 10 : py - 10;
        tip.style.left = Math.max(0, left) + "px";
        tip.style.top = Math.max(0, top) + "px";
        if (spec.onHover) spec.onHover(point.row);
      });
      target.addEventListener("mouseleave", () => {
        tip.hidden = true;
        if (spec.onHover) spec.onHover(null);
      });
    }

    for (const s of spec.series) {
      const g = el("g", { class: "series", "data-series": s.name }, svg);
      const lineMode = s.line || "all";
      if (lineMode !== "none") {
        let d = "";
        let open = false;
        for (const p of s.points) {
          const usable = p.y !== null && p.y !== undefined &&
            (lineMode === "all" || !p.hollow);
          if (!usable) { if (lineMode === "all") open = false; continue; }
          d += (open ? "L" : "M") + x(p.t).toFixed(1) + "," + y(p.y).toFixed(1);
          open = true;
        }
        if (d) el("path", { d, class: "line", stroke: s.color }, g);
      }
      for (const p of s.points) {
        if (p.y === null || p.y === undefined) continue;
        const px = x(p.t), py = y(p.y);
        if (p.err) {
          const top = y(p.y + p.err), bottom = y(p.y - p.err);
          el("path", { d: `M${px},${top}V${bottom}M${px - 3},${top}H${px + 3}` +
                          `M${px - 3},${bottom}H${px + 3}`, class: "err", stroke: s.color }, g);
        }
        if (p.ring) el("circle", { cx: px, cy: py, r: 7.5, class: "ring", stroke: s.color }, g);
        const dot = el("circle", { cx: px, cy: py, r: 4, class: p.hollow ? "pt hollow" : "pt",
                                   stroke: s.color, fill: p.hollow ? "white" : s.color,
                                   "data-x": px, "data-y": py, "data-row": p.row }, g);
        hover(dot, p);
      }
    }
    for (const gap of spec.gaps || []) {
      const gx = x(gap.t), gy = m.top + h - 7;
      const mark = el("path", { d: `M${gx - 4},${gy - 4}L${gx + 4},${gy + 4}M${gx - 4},` +
                                   `${gy + 4}L${gx + 4},${gy - 4}`, class: "gap",
                                "data-x": gx, "data-y": gy, "data-row": gap.row }, svg);
      hover(mark, gap);
    }
    return svg;
  }

  // A legend line: coloured swatches of the series, then notes (e.g. marker meanings).
  function legend(container, series, notes) {
    container.textContent = "";
    container.classList.add("ts-legend");
    for (const s of series) {
      const item = document.createElement("span");
      const sw = document.createElement("i");
      sw.style.background = s.color;
      item.append(sw, s.name);
      container.appendChild(item);
    }
    for (const note of notes || []) {
      const item = document.createElement("span");
      item.className = "note";
      item.innerHTML = note;  // trusted markup from timeseries.js (marker glyphs)
      container.appendChild(item);
    }
  }

  global.TsChart = { draw, legend, timeTicks, valueTicks };
})(window);
