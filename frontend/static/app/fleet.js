// Fleet pages: filters, card charts, and live updates. The pages' websockets push the parts
// a probe changed as HTML, rendered by the server for this user with the pages' own templates
// (so permissions, format and time zone stay one); this script only puts them in place.
(() => {
  "use strict";

  const SPANS = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3 };

  function field(root, name) {
    return root.querySelector(`[data-f="${name}"]`);
  }

  // Opens the page's websocket (data-ws-path of root): `onFragments` gets every push of
  // rendered parts; after a reconnect the socket is asked to render `refreshIds()` again.
  function live(root, onFragments, refreshIds) {
    const socket = window.npufleet.connect(root.dataset.wsPath, {
      badge: document.getElementById("live"),
      onMessage: (msg) => {
        if (msg.type !== "fragments") return;
        try {
          onFragments(msg);
        } catch (error) {
          console.warn("live update:", error);
        }
        root.dataset.refreshed = String(Number(root.dataset.refreshed || 0) + 1);
      },
      onOpen: (reopened) => {
        if (reopened) socket.send({ type: "refresh", ids: refreshIds() });
      },
    });
  }

  function overview() {
    const grid = document.getElementById("fleet-tiles");
    if (!grid) return;
    const form = document.getElementById("fleet-filters");
    const selects = [...form.querySelectorAll("select")];

    const applyFilters = () => {
      const want = Object.fromEntries(selects.map((s) => [s.name, s.value]));
      let shown = 0;
      for (const tile of grid.children) {
        const d = tile.dataset;
        tile.hidden = !(
          (!want.status || d.status === want.status) &&
          (!want.chip || d.chip === want.chip) &&
          (!want.label || d.labels.split(" ").includes(want.label))
        );
        shown += tile.hidden ? 0 : 1;
      }
      const total = grid.children.length;
      document.getElementById("fleet-count").textContent =
        shown === total ? `${total} node${total === 1 ? "" : "s"}` : `${shown} of ${total} nodes`;
      document.getElementById("fleet-empty").hidden = total > 0;
    };
    const onFilter = (event) => {
      event.preventDefault();
      const query = new URLSearchParams();
      for (const s of selects) if (s.value) query.set(s.name, s.value);
      const search = query.toString();
      history.replaceState(null, "", search ? `?${search}` : location.pathname);
      applyFilters();
    };
    form.addEventListener("change", onFilter);
    form.addEventListener("submit", onFilter);
    applyFilters();

    const addOption = (name, value) => {
      const select = form.elements[name];
      if (value && ![...select.options].some((o) => o.value === value)) select.add(new Option(value, value));
    };

    // Probes land node by node: the socket sends the tiles of the nodes they changed, rendered
    // for this user (same template as the page: who holds a card, as they may see it).
    const place = (fresh) => {
      const old = grid.querySelector(`.tile[data-node-id="${fresh.dataset.nodeId}"]`);
      if (old) {
        old.replaceWith(fresh);
        return;
      }
      const name = field(fresh, "name").textContent;
      const next = [...grid.children].find((t) => field(t, "name").textContent > name);
      grid.insertBefore(fresh, next || null);
    };
    const onTiles = ({ ids, html }) => {
      const doc = new DOMParser().parseFromString(html, "text/html");
      const seen = new Set();
      for (const tile of doc.querySelectorAll(".tile[data-node-id]")) {
        seen.add(tile.dataset.nodeId);
        place(document.importNode(tile, true));
        addOption("chip", tile.dataset.chip);
        tile.dataset.labels.split(" ").forEach((l) => addOption("label", l));
      }
      for (const id of ids) {
        if (!seen.has(String(id))) grid.querySelector(`.tile[data-node-id="${id}"]`)?.remove(); // gone or hidden
      }
      applyFilters();
    };
    live(grid, onTiles, () => [...grid.children].map((t) => Number(t.dataset.nodeId)));
  }

  // The node page: when a probe of this node lands, the socket sends its live parts as the
  // server renders them for this user (same templates, permissions and time zone as the page).
  function nodePage() {
    const root = document.getElementById("node-page");
    if (!root) return;
    const charts = cardCharts(root.dataset.timeZone);
    const onParts = ({ html }) => {
      window.npufleet.swapFragments(root, html);
      if (charts) charts.load();
    };
    live(root, onParts, () => [Number(root.dataset.nodeId)]);
  }

  // A moment as the wall-clock time of `zone`, expressed as a browser-local timestamp: the
  // chart's date adapter formats in the browser's zone, so this makes it show the user's zone.
  function wallClock(zone) {
    let format;
    try {
      format = new Intl.DateTimeFormat("en-US", {
        timeZone: zone || undefined,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch {
      return (moment) => new Date(moment).getTime(); // unknown zone: the browser's
    }
    return (moment) => {
      const ms = new Date(moment).getTime();
      const p = Object.fromEntries(format.formatToParts(ms).map((x) => [x.type, Number(x.value)]));
      return new Date(p.year, p.month - 1, p.day, p.hour, p.minute, p.second, ms % 1000).getTime();
    };
  }

  // Four line charts (HBM, AICore, temperature, power) of the selected card over a range,
  // with times in the user's zone and the pages' format (2026-12-02 09:15:00).
  function cardCharts(zone) {
    const section = document.getElementById("card-charts");
    if (!section || !window.Chart) return null;
    const local = wallClock(zone);
    const select = section.querySelector("#chart-card");
    const status = section.querySelector("#chart-status");
    const buttons = [...section.querySelectorAll("[data-range]")];
    let range = buttons[0].dataset.range;
    const charts = [...section.querySelectorAll("canvas")].map(
      (canvas) =>
        new window.Chart(canvas, {
          type: "line",
          data: {
            datasets: [
              {
                data: [],
                parsing: { xAxisKey: "at", yAxisKey: canvas.dataset.metric },
                borderColor: "#c7000b",
                backgroundColor: "rgba(199, 0, 11, 0.08)",
                borderWidth: 1.5,
                fill: true,
              },
            ],
          },
          options: {
            animation: false,
            maintainAspectRatio: false,
            plugins: { legend: { display: false } },
            scales: {
              x: {
                type: "time",
                time: {
                  tooltipFormat: "yyyy-MM-dd HH:mm:ss",
                  displayFormats: { minute: "HH:mm", hour: "HH:mm", day: "MM-dd" },
                },
                title: { display: Boolean(zone), text: zone },
                ticks: { maxRotation: 0, autoSkipPadding: 24 },
              },
              y: { beginAtZero: true },
            },
          },
        }),
    );

    async function load() {
      status.textContent = "loading…";
      try {
        const response = await fetch(`${select.selectedOptions[0].dataset.url}?range=${range}`, {
          headers: { Accept: "application/json" },
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const points = (await response.json()).points.map((p) => ({ ...p, at: local(p.at) }));
        const now = local(Date.now());
        for (const chart of charts) {
          chart.data.datasets[0].data = points;
          chart.data.datasets[0].pointRadius = points.length > 60 ? 0 : 2;
          Object.assign(chart.options.scales.x, { min: now - SPANS[range], max: now });
          chart.update();
        }
        const n = points.length;
        status.textContent = n ? `${n} point${n === 1 ? "" : "s"}` : "no samples in this range yet";
      } catch (error) {
        status.textContent = `could not load the series: ${error.message}`;
      }
    }
    select.addEventListener("change", load);
    for (const button of buttons) {
      button.addEventListener("click", () => {
        range = button.dataset.range;
        buttons.forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
        load();
      });
    }
    load();
    return { load };
  }

  // Forms with data-live-submit (Probe now) post in the background: the page stays, the
  // answer shows in the element named by the attribute, and the websocket brings the result.
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.liveSubmit || event.defaultPrevented) return;
    event.preventDefault();
    const status = document.getElementById(form.dataset.liveSubmit);
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "X-Live-Submit": "1" },
      });
      const text = await response.text();
      if (status)
        status.textContent = response.ok ? text : `refused (HTTP ${response.status}): ${text.slice(0, 200)}`;
    } catch (error) {
      if (status) status.textContent = `could not send: ${error.message}`;
    } finally {
      if (button) button.disabled = false;
    }
  });

  overview();
  nodePage();
})();
