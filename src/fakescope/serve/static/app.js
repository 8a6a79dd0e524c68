// fakescope web page: choose or drop images, post each one to /v1/detect, show its verdict.
// Plain JavaScript, no libraries, nothing loaded from outside this server.
"use strict";

const PARALLEL_UPLOADS = 2; // the server scores on a few CPU cores; more in flight only queues there
const GENERATORS_SHOWN = 3;

const state = {
  model: null, // GET /v1/model
  queue: [], // cards waiting for an upload slot
  active: 0,
};

const $ = (selector, root = document) => root.querySelector(selector);

// ---------------------------------------------------------------- API key (services started with keys)

const KEY_STORAGE = "fakescope.apiKey"; // sessionStorage: this tab only, gone when it closes

function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

function authHeaders() {
  const key = apiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

function askForKey(rejected) {
  // A refused key is forgotten, and the prompt says why it is shown again.
  if (rejected) sessionStorage.removeItem(KEY_STORAGE);
  $("#key-form").hidden = false;
  $(".key-label").textContent = rejected
    ? "That API key was not accepted. Enter a valid key."
    : "This service needs an API key.";
  $("#key-input").focus();
}

function setUpKeyForm() {
  $("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("#key-input").value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORAGE, key);
    $("#key-input").value = "";
    $("#key-form").hidden = true;
    loadModel();
  });
}

function percent(p) {
  return `${(p * 100).toFixed(1)}%`;
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

// ---------------------------------------------------------------- model information

function headlineMetrics(metrics) {
  // The card's metrics are nested by split ({"validation": {"binary": {...}, "generator": {...}}}).
  if (!metrics || typeof metrics !== "object") return null;
  for (const [split, value] of Object.entries(metrics)) {
    if (value && typeof value === "object" && value.binary && typeof value.binary === "object") {
      return { split, binary: value.binary, generator: value.generator || null };
    }
  }
  return null;
}

function describePipeline(pipeline) {
  if (!pipeline || !pipeline.stages) return null;
  const stages = pipeline.stages.map((s) => {
    if (s.stage === "models") return `models ${s.models.map((m) => m.model).join(", ")}`;
    if (s.stage === "evidence") return s.watermarks ? "evidence + watermarks" : "evidence";
    return s.stage;
  });
  return `Pipeline ${pipeline.name}: ${stages.join(" → ")}`;
}

function describeModel(info) {
  const parts = [
    describePipeline(info.pipeline),
    `Model ${info.name}`,
    info.architecture,
    `${info.input_size} px (${info.preprocess.resize})`,
    `threshold ${Number(info.threshold).toFixed(2)}`,
  ];
  if (info.generators && info.generators.length) parts.push(`${info.generators.length - 1} generators`);
  const m = headlineMetrics(info.metrics);
  if (m) {
    const b = m.binary;
    const bits = [];
    if (b.auroc != null) bits.push(`AUROC ${Number(b.auroc).toFixed(3)}`);
    if (b.accuracy != null) bits.push(`accuracy ${percent(b.accuracy)}`);
    if (m.generator && m.generator.top1_accuracy != null) bits.push(`generator top-1 ${percent(m.generator.top1_accuracy)}`);
    if (bits.length) parts.push(`${m.split}${b.n ? ` (n=${b.n})` : ""}: ${bits.join(", ")}`);
  }
  if (info.version) parts.push(`weights ${info.version}`);
  return parts.filter(Boolean).join(" · ");
}

async function loadModel() {
  const line = $("#model-info");
  try {
    const response = await fetch("/v1/model", { headers: authHeaders() });
    if (response.status === 401) {
      line.textContent = "Enter the service's API key to see the model and score images.";
      line.classList.add("warning");
      askForKey(Boolean(apiKey()));
      return;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    line.classList.remove("warning");
    state.model = await response.json();
    line.textContent = describeModel(state.model);
    const limits = state.model.limits;
    $("#drop-hint").textContent =
      `Any format Pillow reads (JPEG, PNG, WebP, TIFF…), checked by content. Up to ${formatBytes(limits.max_file_bytes)} ` +
      `and ${(limits.max_pixels / 1e6).toFixed(0)} megapixels per image.`;
  } catch (err) {
    line.textContent = `Model information unavailable (${err.message}).`;
    line.classList.add("warning");
  }
}

// ---------------------------------------------------------------- cards

function newCard(file) {
  const card = $("#card-template").content.firstElementChild.cloneNode(true);
  card.file = file;
  $(".filename", card).textContent = file.name || "pasted image";
  $(".filename", card).title = file.name || "";
  $(".meta", card).textContent = formatBytes(file.size);
  const preview = $(".preview", card);
  preview.onerror = () => {
    // The browser cannot show every format the server reads (TIFF, for instance).
    preview.hidden = true;
    $(".no-preview", card).hidden = false;
  };
  preview.src = URL.createObjectURL(file);
  $(".remove-button", card).addEventListener("click", () => {
    URL.revokeObjectURL(preview.src);
    card.remove();
    updateSummary();
  });
  $(".explain-button", card).addEventListener("click", () => enqueue(card, true));
  $("#results").prepend(card);
  $("#clear-button").hidden = false;
  return card;
}

function setState(card, name, message) {
  card.dataset.state = name;
  const status = $(".status", card);
  status.hidden = name !== "pending";
  if (message) status.lastChild.textContent = ` ${message}`;
}

function showError(card, text) {
  setState(card, "error");
  const box = $(".error", card);
  box.textContent = text;
  box.hidden = false;
  updateSummary();
}

const VERDICT_TEXT = {
  fake: "AI-generated",
  real: "a real image",
  uncertain: "no verdict: see why",
};

function answeredBy(who) {
  if (!who) return "";
  const [kind, name] = [who.slice(0, who.indexOf(":")), who.slice(who.indexOf(":") + 1)];
  return kind === "evidence" ? `answered by the file's ${name} evidence` : `answered by model ${name}`;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function detailEntries(detail) {
  // A reader's details: the prompt (long) is folded away; other short fields are listed.
  if (!detail || typeof detail !== "object") return { prompts: [], fields: detail ? [["detail", String(detail)]] : [] };
  const prompts = [];
  const fields = [];
  for (const [key, value] of Object.entries(detail)) {
    if (value == null || value === "") continue;
    const text = typeof value === "object" ? JSON.stringify(value) : String(value);
    if (/prompt/i.test(key)) prompts.push([key.replace(/_/g, " "), text]);
    else fields.push([key.replace(/_/g, " "), text.length > 160 ? `${text.slice(0, 157)}…` : text]);
  }
  return { prompts, fields };
}

function evidenceItem(item) {
  const li = element("li", `evidence-item claim-${item.claim}`);
  li.dataset.source = item.source;
  li.dataset.claim = item.claim;
  const head = element("div", "evidence-head");
  head.append(element("span", "evidence-source", item.source), element("span", "evidence-claim", item.claim));
  if (item.generator) head.append(element("span", "evidence-generator", item.generator));
  li.append(head);
  const facts = element("dl", "evidence-facts");
  const add = (name, value, className) => {
    if (!value) return;
    facts.append(element("dt", null, name), element("dd", className, value));
  };
  add("signer", item.signer, "evidence-signer");
  add("validation", item.validation, "evidence-validation");
  add("software", item.software, "evidence-software");
  const { prompts, fields } = detailEntries(item.detail);
  for (const [name, value] of fields.slice(0, 6)) add(name, value, "evidence-detail");
  if (facts.childElementCount) li.append(facts);
  for (const [name, text] of prompts) {
    const fold = element("details", "evidence-prompt");
    fold.append(element("summary", null, name), element("p", null, text));
    li.append(fold);
  }
  return li;
}

function showEvidence(card, items) {
  const list = $(".evidence-list", card);
  list.replaceChildren();
  // Items without a claim (a reader that found nothing to say) are left out unless they hold an error.
  const shown = (items || []).filter((i) => i.claim !== "none" || (i.detail && i.detail.error));
  for (const item of shown) list.append(evidenceItem(item));
  $(".evidence", card).hidden = shown.length === 0;
}

function showResult(card, result) {
  setState(card, "done");
  $(".error", card).hidden = true;
  card.dataset.verdict = result.verdict;
  card.dataset.label = result.label || "";
  $(".meta", card).textContent = `${result.width}×${result.height} · ${formatBytes(card.file.size)}`;

  $(".verdict-label", card).textContent = result.verdict;
  $(".verdict-text", card).textContent = VERDICT_TEXT[result.verdict] || "";
  $(".answered-by", card).textContent = answeredBy(result.answered_by);
  $(".verdict", card).hidden = false;
  const reason = $(".reason", card);
  reason.textContent = result.reason;
  reason.hidden = false;
  showEvidence(card, result.evidence);

  if (result.score != null) {
    $(".score-model", card).textContent = "Model's raw score:";
    const score = $(".score-value", card);
    score.textContent = percent(result.score);
    score.dataset.score = String(result.score);
    const threshold = state.model ? Number(state.model.threshold) : 0.5;
    const bar = $(".bar", card);
    bar.setAttribute("aria-valuenow", (result.score * 100).toFixed(1));
    $(".bar-fill", card).style.width = `${(result.score * 100).toFixed(2)}%`;
    $(".bar-threshold", card).style.left = `${(threshold * 100).toFixed(2)}%`;
    $(".model-score", card).hidden = false;
  } else {
    $(".model-score", card).hidden = true;
  }

  const list = $(".generator-list", card);
  list.replaceChildren();
  if (result.generator && result.generator.length) {
    for (const g of result.generator.slice(0, GENERATORS_SHOWN)) {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.className = "generator-name";
      name.textContent = g.label;
      const track = document.createElement("span");
      track.className = "mini-bar";
      const fill = document.createElement("span");
      fill.style.width = `${(g.score * 100).toFixed(2)}%`;
      track.append(fill);
      const value = document.createElement("span");
      value.className = "generator-score";
      value.textContent = g.score == null ? "declared" : percent(g.score);
      if (g.score == null) fill.style.width = "0";
      item.append(name, track, value);
      list.append(item);
    }
    $(".generators", card).hidden = false;
    $(".no-generators", card).hidden = true;
  } else {
    $(".generators", card).hidden = true;
    $(".no-generators", card).hidden = false;
  }

  if (result.explanation) {
    showExplanation(card, result.explanation);
  } else {
    $(".explain-button", card).hidden = false;
  }
  updateSummary();
}

function showExplanation(card, ex) {
  $(".overlay", card).src = ex.overlay;
  // The heatmap covers what the network saw: the image after the model's own resize/crop policy.
  const view = state.model ? `the model's ${state.model.input_size} px view` : "the model's input view";
  $(".overlay-caption", card).textContent = ex.kind === "gradcam"
    ? `Grad-CAM over ${view}: warm regions drove the verdict`
    : `Saliency over ${view}: warm pixels drove the verdict`;
  if (ex.spectrum) {
    $(".spectrum", card).src = ex.spectrum;
    $(".spectrum-figure", card).hidden = false;
  }
  $(".explanation", card).hidden = false;
  $(".explain-button", card).hidden = true;
  card.dataset.explained = "true";
}

// ---------------------------------------------------------------- uploads

function errorText(response, body) {
  const error = body && body.error;
  if (!error) return `The server answered HTTP ${response.status}.`;
  // A one-file request's problem is that file's; its message then need not repeat the name.
  const own = error.files && error.files.length === 1 ? error.files[0].message : error.message;
  return `${own} (HTTP ${response.status}, ${error.code})`;
}

async function upload(card, explain) {
  const form = new FormData();
  form.append("file", card.file, card.file.name || "image");
  setState(card, "pending", explain ? "Explaining…" : "Analysing…");
  let response;
  try {
    response = await fetch(`/v1/detect${explain ? "?explain=true" : ""}`, {
      method: "POST", body: form, headers: authHeaders(),
    });
  } catch (err) {
    showError(card, `Could not reach the server (${err.message}).`);
    return;
  }
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null;
  }
  if (response.status === 401) askForKey(Boolean(apiKey()));
  if (!response.ok || !body || !body.results) {
    showError(card, errorText(response, body));
    return;
  }
  showResult(card, body.results[0]);
}

function enqueue(card, explain) {
  $(".explain-button", card).hidden = true;
  state.queue.push({ card, explain });
  pump();
}

function pump() {
  while (state.active < PARALLEL_UPLOADS && state.queue.length) {
    const { card, explain } = state.queue.shift();
    if (!card.isConnected) continue; // removed while waiting
    state.active += 1;
    upload(card, explain).finally(() => {
      state.active -= 1;
      pump();
    });
  }
  updateSummary();
}

function tooLarge(file) {
  const limit = state.model && state.model.limits ? state.model.limits.max_file_bytes : null;
  return limit != null && file.size > limit ? limit : null;
}

function addFiles(files) {
  const explain = $("#explain-toggle").checked;
  for (const file of files) {
    const card = newCard(file);
    const limit = tooLarge(file);
    if (limit != null) {
      // Same rule as the server (413), without sending megabytes that would be refused.
      showError(card, `file of ${formatBytes(file.size)} exceeds the limit of ${formatBytes(limit)} (not uploaded)`);
    } else {
      enqueue(card, explain);
    }
  }
}

function updateSummary() {
  const cards = [...document.querySelectorAll("#results .card")];
  const count = (pred) => cards.filter(pred).length;
  const fake = count((c) => c.dataset.state === "done" && c.dataset.verdict === "fake");
  const real = count((c) => c.dataset.state === "done" && c.dataset.verdict === "real");
  const uncertain = count((c) => c.dataset.state === "done" && c.dataset.verdict === "uncertain");
  const failed = count((c) => c.dataset.state === "error");
  const pending = count((c) => c.dataset.state === "pending");
  const parts = [];
  if (fake) parts.push(`${fake} fake`);
  if (real) parts.push(`${real} real`);
  if (uncertain) parts.push(`${uncertain} uncertain`);
  if (failed) parts.push(`${failed} not usable`);
  if (pending) parts.push(`${pending} in progress`);
  $("#summary").textContent = parts.join(" · ");
  $("#clear-button").hidden = cards.length === 0;
}

// ---------------------------------------------------------------- wiring

function setUpDropZone() {
  const zone = $("#dropzone");
  const input = $("#file-input");
  zone.addEventListener("click", (event) => {
    if (event.target.tagName !== "LABEL") input.click();
  });
  zone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      input.click();
    }
  });
  input.addEventListener("change", () => {
    addFiles([...input.files]);
    input.value = ""; // choosing the same file again must fire change again
  });
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  }
  for (const name of ["dragleave", "dragend"]) {
    zone.addEventListener(name, () => zone.classList.remove("dragging"));
  }
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    const files = [...(event.dataTransfer ? event.dataTransfer.files : [])];
    if (files.length) addFiles(files);
  });
  // A file dropped beside the zone must not make the browser navigate away from the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
  window.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData ? event.clipboardData.files : [])];
    if (files.length) addFiles(files);
  });
}

function setUpToolbar() {
  $("#explain-toggle").addEventListener("change", (event) => {
    if (!event.target.checked) return;
    // Explain what is already on the page, too.
    for (const card of document.querySelectorAll('#results .card[data-state="done"]')) {
      if (card.dataset.explained !== "true") enqueue(card, true);
    }
  });
  $("#clear-button").addEventListener("click", () => {
    state.queue.length = 0;
    for (const img of document.querySelectorAll("#results .preview")) URL.revokeObjectURL(img.src);
    $("#results").replaceChildren();
    updateSummary();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setUpDropZone();
  setUpToolbar();
  setUpKeyForm();
  loadModel();
});
