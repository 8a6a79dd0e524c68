"""ComfyUI `prompt` (the executed graph, API JSON) and `workflow` (the UI graph): PNG text chunks,
or EXIF text fields 'prompt:{...}' / 'workflow:{...}' in WebP. The graph names the checkpoint and
the latent size; a graph whose latent size cannot be this image's (a screenshot of the UI with the
workflow embedded) gives 'workflow-only'."""

from __future__ import annotations

import json
from typing import Any

from ..generation import as_int, record_item
from ..registry import ReadContext, reader

MODEL_INPUTS = ("ckpt_name", "unet_name", "model_name")
SIZE_NODES = ("EmptyLatentImage", "EmptySD3LatentImage", "EmptyHunyuanLatentImage", "EmptyMochiLatentVideo",
              "EmptyLTXVLatentVideo", "EmptyCosmosLatentVideo")


def _graphs(ctx: ReadContext) -> tuple[Any, Any]:
    texts = ctx.texts()
    prompt, workflow = texts.get("prompt"), texts.get("workflow")
    for value in texts.values():  # WebP: EXIF fields carrying 'prompt:{json}' / 'workflow:{json}'
        if value.startswith("prompt:{") and prompt is None:
            prompt = value[len("prompt:"):]
        elif value.startswith("workflow:{") and workflow is None:
            workflow = value[len("workflow:"):]
    return _json(prompt), _json(workflow)


def _json(text: str | None) -> Any:
    if not text or not text.lstrip().startswith("{"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


@reader("comfyui")
def read_comfyui(ctx: ReadContext) -> list[dict[str, Any]]:
    prompt, workflow = _graphs(ctx)
    if isinstance(prompt, dict) and all(isinstance(n, dict) and "class_type" in n for n in prompt.values()):
        fields, extra = _from_api(prompt)
        extra["graph"] = "prompt"
    elif isinstance(workflow, dict) and isinstance(workflow.get("nodes"), list):
        fields, extra = _from_ui(workflow)
        extra["graph"] = "workflow"
    else:
        return []
    extra["has_workflow"] = workflow is not None
    return [record_item("comfyui", ctx, fields, software="ComfyUI", extra=extra)]


def _from_api(graph: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    fields: dict[str, Any] = {}
    loras, models = [], []
    for node in graph.values():
        inputs, kind = node.get("inputs") or {}, str(node.get("class_type"))
        for key in MODEL_INPUTS:
            if isinstance(inputs.get(key), str):
                models.append(inputs[key])
        if isinstance(inputs.get("lora_name"), str):
            loras.append(inputs["lora_name"])
        if kind in SIZE_NODES and "size" not in fields:
            w, h = as_int(inputs.get("width")), as_int(inputs.get("height"))
            if w and h:
                fields["size"] = (w, h)
        if "sampler_name" in inputs and isinstance(inputs["sampler_name"], str):
            fields.setdefault("sampler", inputs["sampler_name"])
        for key in ("seed", "noise_seed"):
            if isinstance(inputs.get(key), int):
                fields.setdefault("seed", inputs[key])
        if isinstance(inputs.get("steps"), int):
            fields.setdefault("steps", inputs["steps"])
        if isinstance(inputs.get("cfg"), (int, float)):
            fields.setdefault("cfg", inputs["cfg"])
        if "positive" in inputs and "prompt" not in fields:
            fields["prompt"] = _text(graph, inputs["positive"])
            fields["negative_prompt"] = _text(graph, inputs.get("negative"))
    if "prompt" not in fields or not fields["prompt"]:
        texts = [n["inputs"]["text"] for n in graph.values()
                 if isinstance((n.get("inputs") or {}).get("text"), str)]
        fields["prompt"] = texts[0] if texts else None
    if models:
        fields["checkpoint"] = models[0]
    return fields, {"models": models, "loras": loras} if loras else {"models": models}


def _text(graph: dict[str, Any], link: Any, depth: int = 0) -> str | None:
    """Follow a conditioning link back to the text that made it (a few hops at most)."""
    if not isinstance(link, list) or not link or depth > 4:
        return None
    node = graph.get(str(link[0])) or {}
    inputs = node.get("inputs") or {}
    for key in ("text", "text_g", "clip_l"):
        if isinstance(inputs.get(key), str):
            return inputs[key]
    for value in inputs.values():
        found = _text(graph, value, depth + 1) if isinstance(value, list) else None
        if found:
            return found
    return None


def _from_ui(workflow: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The UI graph only: node widget values (positional), enough for checkpoint and size."""
    fields: dict[str, Any] = {}
    models = []
    for node in workflow["nodes"]:
        if not isinstance(node, dict):
            continue
        kind, widgets = str(node.get("type")), node.get("widgets_values")
        if not isinstance(widgets, list) or not widgets:
            continue
        if "Loader" in kind and isinstance(widgets[0], str) and widgets[0].endswith((".safetensors", ".ckpt", ".gguf")):
            models.append(widgets[0])
        if kind in SIZE_NODES and len(widgets) >= 2 and "size" not in fields:
            w, h = as_int(widgets[0]), as_int(widgets[1])
            if w and h:
                fields["size"] = (w, h)
        if kind == "CLIPTextEncode" and isinstance(widgets[0], str):
            fields.setdefault("prompt", widgets[0])
    if models:
        fields["checkpoint"] = models[0]
    return fields, {"models": models}
