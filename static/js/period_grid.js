// The order form's period grid, as S2GM's: the periods of one year (the archive's years for
// yearly periods) with the scenes over the AOI in each. A period without scenes is greyed and
// cannot be picked; picking one sets the start date.
(function () {
  "use strict";
  const grid = document.getElementById("period-grid");
  const form = document.querySelector("form.order");
  if (!grid || !form) return;
  const aoi = document.getElementById("id_aoi");
  const period = document.getElementById("id_period");
  const start = document.getElementById("id_start");
  const cells = grid.querySelector(".period-grid-cells");
  const yearLabel = grid.querySelector(".period-grid-year");
  const note = grid.querySelector(".period-grid-note");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                  "Dec"];
  let shown = null;     // the key (AOI, period type, year) of the grid on the page
  let data = null;
  let sequence = 0;
  let timer = null;

  const startYear = () => (/^\d{4}-\d\d-\d\d$/.test(start.value)
    ? Number(start.value.slice(0, 4)) : null);

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => load(startYear()), 350);
  }

  async function load(year) {
    const text = aoi.value.trim();
    if (!text || period.value === "custom") {
      grid.hidden = true;
      shown = null;
      return;
    }
    const key = `${period.value}|${year}|${text}`;
    if (key === shown) { mark(); return; }
    const mine = ++sequence;
    const body = new FormData();
    body.append("aoi", text);
    body.append("period", period.value);
    if (year) body.append("start", `${year}-01-01`);
    try {
      const resp = await fetch(grid.dataset.url, {
        method: "POST", body, credentials: "same-origin", headers: { "X-CSRFToken": csrf },
      });
      if (mine !== sequence) return;
      if (!resp.ok) { grid.hidden = true; shown = null; return; }  // the preview says why
      data = await resp.json();
      shown = key;
      draw();
    } catch (e) { /* offline: keep the grid as it is */ }
  }

  function label(p) {
    const first = new Date(p.start + "T00:00:00Z");
    const month = MONTHS[first.getUTCMonth()];
    switch (data.period) {
      case "day": return String(first.getUTCDate());
      case "tenday": return `${first.getUTCDate()}–${Number(p.end.slice(8, 10))}`;
      case "month": return month;
      case "quarter": return `Q${Math.floor(first.getUTCMonth() / 3) + 1}`;
      default: return p.start.slice(0, 4);
    }
  }

  function cell(p) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "period-cell";
    button.dataset.start = p.start;
    button.dataset.end = p.end;
    const known = data.complete || p.scenes > 0;
    const empty = data.complete && p.scenes === 0;
    const scenes = known ? `${p.scenes} scene${p.scenes === 1 ? "" : "s"}` : "not counted";
    button.title = `${p.start} to ${p.end}: ${p.orderable ? scenes : "outside the Sentinel-2 era"}`;
    if (empty || !p.orderable) {
      button.disabled = true;
      button.classList.add("empty");
    }
    const name = document.createElement("span");
    name.className = "label";
    name.textContent = label(p);
    button.append(name);
    if (data.period !== "day") {
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = p.orderable ? (known ? String(p.scenes) : "?") : "–";
      button.append(count);
    }
    return button;
  }

  function draw() {
    cells.replaceChildren();
    cells.className = `period-grid-cells by-${data.period}`;
    const byMonth = data.period === "day" || data.period === "tenday";
    let row = null;
    let rowMonth = null;
    data.periods.forEach((p) => {
      const month = Number(p.start.slice(5, 7)) - 1;
      if (byMonth && month !== rowMonth) {
        rowMonth = month;
        row = document.createElement("div");
        row.className = "period-row";
        const head = document.createElement("span");
        head.className = "row-label";
        head.textContent = MONTHS[month];
        row.append(head);
        cells.append(row);
      }
      (byMonth ? row : cells).append(cell(p));
    });
    const yearly = data.period === "year";
    yearLabel.textContent = yearly ? `${data.years[0]}–${data.years[1]}` : String(data.year);
    grid.querySelectorAll("[data-year-step]").forEach((b) => {
      const next = data.year + Number(b.dataset.yearStep);
      b.hidden = yearly;
      b.disabled = next < data.years[0] || next > data.years[1];
    });
    const total = data.periods.reduce((n, p) => n + p.scenes, 0);
    const down = Object.keys(data.unreachable || {});
    note.textContent = data.complete
      ? `${total} scenes over the area${yearly ? "" : ` in ${data.year}`}; ` +
        "greyed periods have none"
      : (down.length ? `${down.join(", ")} could not be asked: ` : "Counted in part: ") +
        "a period marked ? may still have scenes";
    grid.hidden = false;
    mark();
  }

  // The period the start date falls in.
  function mark() {
    cells.querySelectorAll(".period-cell").forEach((b) => {
      const on = start.value >= b.dataset.start && start.value <= b.dataset.end;
      b.classList.toggle("selected", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }

  cells.addEventListener("click", (event) => {
    const button = event.target.closest(".period-cell");
    if (!button || button.disabled) return;
    start.value = button.dataset.start;
    start.dispatchEvent(new Event("change", { bubbles: true }));
  });
  grid.querySelectorAll("[data-year-step]").forEach((b) => {
    b.addEventListener("click", () => { if (data) load(data.year + Number(b.dataset.yearStep)); });
  });
  form.addEventListener("change", schedule);
  form.addEventListener("aoi:changed", schedule);
  if (aoi.value.trim()) schedule();
})();
