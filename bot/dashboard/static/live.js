// Live tasks (bot/dashboard/pages/tasks.py): every card with data-status-url asks for its
// task's state every few seconds and updates its badge, progress, question and buttons; on a
// task's own page new events are added to the log, and the page reloads once the task ends
// (to show its result). Without this script the pages show the state at load time.
(() => {
  const EVERY_MS = 2500;
  const log = document.querySelector('tbody[data-field="events"]');
  const ownPage = document.querySelector("[data-reload-when-done]");
  let live = Array.from(document.querySelectorAll("article[data-status-url]"));

  const field = (card, name) => card.querySelector(`[data-field="${name}"]`);

  function show(card, state) {
    const badge = field(card, "badge");
    badge.textContent = state.label;
    badge.className = `badge ${state.badge}`.trim();
    field(card, "progress").textContent = state.progress;
    const bar = field(card, "bar");
    bar.max = state.max_steps;
    bar.value = state.step;
    bar.hidden = state.finished;
    field(card, "question").hidden = !state.question;
    field(card, "question-text").textContent = state.question;
    for (const form of card.querySelectorAll("form[data-when]")) {
      form.hidden = !form.dataset.when.split(" ").includes(state.status);
    }
  }

  function append(events) {
    for (const event of events) {
      const row = document.createElement("tr");
      const cells = [[event.at, "nowrap"], [String(event.step), "num"], [event.kind, ""], [event.text, "prose"]];
      for (const [text, kind] of cells) {
        const cell = document.createElement("td");
        cell.textContent = text;
        if (kind) cell.className = kind;
        row.append(cell);
      }
      log.append(row);
      log.dataset.after = String(event.id);
    }
  }

  // True while the card should be asked again.
  async function refresh(card) {
    const withLog = log && ownPage && ownPage.contains(card);
    const url = withLog ? `${card.dataset.statusUrl}?after=${log.dataset.after}` : card.dataset.statusUrl;
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    } catch {
      return true; // the server is away for a moment (a restart): ask again later
    }
    const json = (response.headers.get("Content-Type") || "").includes("json");
    if (!response.ok || !json) return false; // logged out, or the task is gone
    const state = await response.json();
    show(card, state);
    if (withLog) append(state.events);
    if (state.finished && withLog) window.location.reload();
    return !state.finished;
  }

  async function tick() {
    if (!document.hidden) {
      const still = [];
      for (const card of live) {
        if (await refresh(card)) still.push(card);
      }
      live = still;
    }
    if (live.length) window.setTimeout(tick, EVERY_MS);
  }

  if (live.length) window.setTimeout(tick, EVERY_MS);
})();
