// A small, offline reader for this server's /openapi.json: endpoints, parameters, bodies, responses,
// schemas, and a curl example per endpoint. (FastAPI's default /docs loads Swagger UI from a CDN.)
"use strict";

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "className") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child == null) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function refName(ref) {
  return ref.split("/").pop();
}

function typeOf(schema) {
  if (!schema) return "";
  if (schema.$ref) return refName(schema.$ref);
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(" | ");
  if (schema.type === "array") return `array of ${typeOf(schema.items)}`;
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  return schema.format ? `${schema.type} (${schema.format})` : schema.type || "object";
}

function curlExample(method, path, op) {
  const url = `${location.origin}${path}`;
  if (method === "post" && op.requestBody && op.requestBody.content["multipart/form-data"]) {
    return `curl -F "file=@photo.jpg" -F "file=@other.png" "${url}"`;
  }
  return `curl "${url}"`;
}

function propertiesTable(schema) {
  const table = el("table", {}, el("tr", {}, el("th", {}, "field"), el("th", {}, "type"), el("th", {}, "description")));
  const required = new Set(schema.required || []);
  for (const [name, prop] of Object.entries(schema.properties || {})) {
    table.append(el("tr", {},
      el("td", {}, el("code", {}, name + (required.has(name) ? " *" : ""))),
      el("td", {}, typeOf(prop)),
      el("td", {}, prop.description || prop.title || "")));
  }
  return table;
}

function renderEndpoint(method, path, op) {
  const box = el("section", { className: "endpoint", id: `${method}-${path}` });
  box.append(el("h2", {}, el("span", { className: `method ${method}` }, method.toUpperCase()), el("code", {}, path),
    el("span", {}, op.summary || "")));
  if (op.description) box.append(el("p", { className: "description" }, op.description));
  const params = op.parameters || [];
  if (params.length) {
    const table = el("table", {}, el("tr", {}, el("th", {}, "parameter"), el("th", {}, "in"), el("th", {}, "type"),
      el("th", {}, "description")));
    for (const p of params) {
      table.append(el("tr", {}, el("td", {}, el("code", {}, p.name)), el("td", {}, p.in), el("td", {}, typeOf(p.schema)),
        el("td", {}, p.description || (p.schema && p.schema.description) || "")));
    }
    box.append(el("h3", {}, "Parameters"), table);
  }
  if (op.requestBody) {
    for (const [ctype, media] of Object.entries(op.requestBody.content)) {
      box.append(el("h3", {}, `Request body (${ctype})`));
      box.append(media.schema && media.schema.properties ? propertiesTable(media.schema) : el("p", {}, typeOf(media.schema)));
    }
  }
  const rows = el("table", {}, el("tr", {}, el("th", {}, "status"), el("th", {}, "body"), el("th", {}, "meaning")));
  for (const [status, response] of Object.entries(op.responses || {})) {
    const json = response.content && response.content["application/json"];
    rows.append(el("tr", {}, el("td", {}, status), el("td", {}, json ? typeOf(json.schema) : ""),
      el("td", {}, response.description || "")));
  }
  box.append(el("h3", {}, "Responses"), rows);
  box.append(el("h3", {}, "Example"), el("pre", {}, curlExample(method, path, op)));
  return box;
}

async function main() {
  const target = document.getElementById("endpoints");
  let spec;
  try {
    const response = await fetch("/openapi.json");
    spec = await response.json();
  } catch (err) {
    target.textContent = `Could not load /openapi.json: ${err.message}`;
    return;
  }
  document.getElementById("api-version").textContent = `${spec.info.title} ${spec.info.version} · OpenAPI ${spec.openapi}`;
  document.getElementById("api-description").textContent = spec.info.description || "";
  target.replaceChildren();
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) target.append(renderEndpoint(method, path, op));
  }
  const schemas = document.getElementById("schemas");
  for (const [name, schema] of Object.entries((spec.components && spec.components.schemas) || {})) {
    const box = el("section", { className: "endpoint schema", id: `schema-${name}` }, el("h2", {}, el("code", {}, name)));
    if (schema.description) box.append(el("p", { className: "description" }, schema.description));
    box.append(schema.properties ? propertiesTable(schema) : el("p", {}, typeOf(schema)));
    schemas.append(box);
  }
}

document.addEventListener("DOMContentLoaded", main);
