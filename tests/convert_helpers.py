"""Checkpoints in the published authors' exact key layouts (random weights), and the reference
scoring each family's own code would do: the standard library model (torchvision / timm /
open_clip) with the authors' test-time transform. Shared by the conversion and benchmark tests."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image
from torch import nn

from conftest import SHARED

IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
CLIP = ([0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711])


def real_images() -> list[Path]:
    """Real images, real and fake, chosen for the geometry they test: 356 px CNNDetection JPEGs and 256 px
    GenImage JPEGs (even crop margins), a 256 x 235 photo (non-square: torchvision's Resize truncates the
    long side; a 224 crop margin of 11 = 3 mod 4: CenterCrop rounds its offset half-to-even), a 256 x 212
    photo and a 128 px BigGAN PNG (smaller than the crop: CenterCrop pads with black)."""
    ranking = SHARED / "cnndetection_ranking" / "biggan"
    genimage = SHARED / "genimage-tree" / "stable_diffusion_v_1_4" / "imagenet_ai_0419_sdv4" / "train"
    pool = SHARED / "native-pool" / "Real"
    return [sorted((ranking / "0_real").glob("*.jpg"))[0], sorted((ranking / "1_fake").glob("*.jpg"))[0],
            sorted((genimage / "nature").glob("*"))[0], sorted((genimage / "ai").glob("*"))[0],
            pool / "2d822140c8e6.jpg", pool / "047111c9ec83.jpg",
            sorted((SHARED / "genimage_biggan_fixtures" / "tests" / "fixtures").glob("*.png"))[0]]


def _randomise_norms(model: nn.Module, gen: torch.Generator) -> None:
    """Non-trivial BatchNorm statistics, so eval-mode normalisation is exercised."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 0.5)


def centre_head(model: nn.Module, head: nn.Linear, transform, images: list[Path], spread: float = 1.5) -> None:
    """Re-draw a random model's final linear layer so its logits on `images` are centred with a spread of
    about `spread`: random deep networks otherwise saturate the sigmoid, and a parity check on scores that
    are all 1.0 would prove nothing."""
    feats: list[torch.Tensor] = []
    handle = head.register_forward_pre_hook(lambda _m, args: feats.append(args[0].detach()))
    reference_scores(model, transform, images)
    handle.remove()
    f = torch.cat(feats)
    w = torch.randn(1, f.shape[1], generator=torch.Generator().manual_seed(5))
    z = (f - f.mean(0)) @ w.T
    w = w * spread / float(z.std().clamp_min(1e-6))
    with torch.no_grad():
        head.weight.copy_(w)
        head.bias.copy_(-(f.mean(0) @ w.T) + 0.3)


def reference_scores(model: nn.Module, transform, images: list[Path]) -> list[float]:
    model.eval()
    with torch.no_grad():
        return [float(torch.sigmoid(model(transform(Image.open(p).convert("RGB")).unsqueeze(0))).flatten()[0]) for p in images]


def tv(ops: list, stats: tuple[list[float], list[float]]):
    from torchvision import transforms

    return transforms.Compose([*ops, transforms.ToTensor(), transforms.Normalize(*stats)])


# --- CNNDetection: torchvision ResNet-50, fc Linear(2048, 1), saved as {"model": state_dict}
def cnndetection_checkpoint(path: Path, images: list[Path]) -> nn.Module:
    from torchvision.models import resnet50

    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = resnet50(num_classes=1)
    _randomise_norms(model, gen)
    centre_head(model, model.fc, cnndetection_transform(), images)
    torch.save({"model": model.state_dict(), "epoch": 3}, path)
    return model


def cnndetection_transform():
    from torchvision import transforms

    return tv([transforms.CenterCrop(224)], IMAGENET)


# --- NPR: the authors' network is conv1 3x3/2 + ResNet-50 layer1, layer2 + fc1 Linear(512, 1)
class AuthorsNPR(nn.Module):
    """Rebuilt here from torchvision parts, as their networks/resnet.py defines it."""

    def __init__(self) -> None:
        super().__init__()
        from torchvision.models.resnet import Bottleneck, ResNet

        base = ResNet(Bottleneck, [3, 4, 1, 1])
        self.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
        self.bn1, self.layer1, self.layer2 = base.bn1, base.layer1, base.layer2
        self.fc1 = nn.Linear(512, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        half = F.interpolate(x, scale_factor=0.5, mode="nearest", recompute_scale_factor=True)
        npr = x - F.interpolate(half, scale_factor=2, mode="nearest", recompute_scale_factor=True)
        x = F.max_pool2d(torch.relu(self.bn1(self.conv1(npr * 2.0 / 3.0))), 3, 2, 1)
        x = self.layer2(self.layer1(x))
        return self.fc1(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def npr_checkpoint(path: Path, images: list[Path]) -> nn.Module:
    torch.manual_seed(1)
    model = AuthorsNPR()
    _randomise_norms(model, torch.Generator().manual_seed(1))
    centre_head(model, model.fc1, npr_transform(), images)
    torch.save(model.state_dict(), path)  # their NPR.pth is a flat state dict
    return model


def npr_transform():
    from torchvision import transforms

    return tv([transforms.Resize((256, 256))], IMAGENET)


# --- CLIP towers (open_clip) for UnivFD and RINE
def clip_model(width: int, layers: int, patch: int, embed_dim: int, mlp_ratio: float = 4.0, seed: int = 2) -> nn.Module:
    import open_clip

    torch.manual_seed(seed)
    vision = {"image_size": 224, "layers": layers, "width": width, "patch_size": patch, "mlp_ratio": mlp_ratio}
    text = {"context_length": 8, "vocab_size": 64, "width": 64, "heads": 1, "layers": 1}
    model = open_clip.CLIP(embed_dim=embed_dim, vision_cfg=vision, text_cfg=text, quick_gelu=True)
    return model.eval()


def clip_transform():
    from torchvision import transforms

    return tv([transforms.CenterCrop(224)], CLIP)


def centre_clip_for_head(clip: nn.Module, head: dict[str, torch.Tensor], images: list[Path], spread: float = 1.5) -> None:
    """Tune a random CLIP tower (never the real head) so that the real head's logits on `images` have a spread
    of about `spread` around 0: scale the projection, then shift ln_post's bias along the direction the head
    reads. Without this the real head saturates on random features and parity would compare zeros."""
    w, b = head["weight"][0], float(head["bias"][0])
    transform = clip_transform()
    with torch.no_grad():
        x = torch.stack([transform(Image.open(p).convert("RGB")) for p in images])
        z = clip.encode_image(x) @ w
        clip.visual.proj.mul_(spread / float(z.std().clamp_min(1e-6)))
        z = clip.encode_image(x) @ w
        d = clip.visual.proj @ w  # how the pooled token feeds the head
        clip.visual.ln_post.bias.add_(d * (-(b + float(z.mean())) / float(d @ d)))


class UnivFDReference(nn.Module):
    def __init__(self, clip: nn.Module, head: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.clip, self.fc = clip, nn.Linear(head["weight"].shape[1], 1)
        self.fc.load_state_dict(head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.clip.encode_image(x))


class RineReference(nn.Module):
    """The authors' RINE forward: hooks on every module named *ln_2*, CLS token, proj1, alpha, proj2, head."""

    def __init__(self, clip: nn.Module, head: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.clip = clip
        self.hooks: list[torch.Tensor] = []
        for name, module in clip.visual.named_modules():
            if "ln_2" in name:
                module.register_forward_hook(lambda _m, _i, out: self.hooks.append(out))
        proj_dim = head["alpha"].shape[2]
        nproj = len([k for k in head if k.startswith("proj1.") and k.endswith(".weight")])
        width = head["proj1.1.weight"].shape[1]

        def mlp(first: int) -> nn.Sequential:
            layers: list[nn.Module] = [nn.Dropout()]
            for i in range(nproj):
                layers += [nn.Linear(first if i == 0 else proj_dim, proj_dim), nn.ReLU(), nn.Dropout()]
            return nn.Sequential(*layers)

        self.proj1, self.proj2 = mlp(width), mlp(proj_dim)
        self.head = nn.Sequential(nn.Linear(proj_dim, proj_dim), nn.ReLU(), nn.Dropout(), nn.Linear(proj_dim, proj_dim),
                                  nn.ReLU(), nn.Dropout(), nn.Linear(proj_dim, 1))
        self.alpha = nn.Parameter(head["alpha"].clone())
        rest = {k: v for k, v in head.items() if k != "alpha"}
        missing = nn.Module.load_state_dict(self, rest, strict=False)
        assert not missing.unexpected_keys and all(k.startswith("clip.") or k == "alpha" for k in missing.missing_keys)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.hooks.clear()
        self.clip.encode_image(x)
        g = torch.stack([h[:, 0, :] for h in self.hooks], dim=1)  # open_clip runs batch-first: (N, L, D)
        z = torch.sum(torch.softmax(self.alpha, dim=1) * self.proj1(g), dim=1)
        return self.head(self.proj2(z))


def rine_head(width: int, blocks: int, nproj: int, proj_dim: int, seed: int = 3) -> dict[str, torch.Tensor]:
    """A RINE head in the authors' key layout (what ckpt/model_*_trainable.pth holds)."""
    gen = torch.Generator().manual_seed(seed)
    head: dict[str, torch.Tensor] = {"alpha": torch.randn(1, blocks, proj_dim, generator=gen)}
    for name, first in (("proj1", width), ("proj2", proj_dim)):
        for i in range(nproj):
            fan_in = first if i == 0 else proj_dim
            head[f"{name}.{1 + 3 * i}.weight"] = torch.randn(proj_dim, fan_in, generator=gen) / fan_in ** 0.5
            head[f"{name}.{1 + 3 * i}.bias"] = torch.randn(proj_dim, generator=gen) * 0.1
    for i, out in ((0, proj_dim), (3, proj_dim), (6, 1)):
        head[f"head.{i}.weight"] = torch.randn(out, proj_dim, generator=gen) / proj_dim ** 0.5 * 2
        head[f"head.{i}.bias"] = torch.randn(out, generator=gen) * 0.1
    return head


# --- Community Forensics: timm ViT-S/16 with vit.head = Linear(384, 1)
class CommForReference(nn.Module):
    def __init__(self, size: int) -> None:
        super().__init__()
        import timm

        torch.manual_seed(4)
        self.vit = timm.create_model(f"vit_small_patch16_{size}", pretrained=False)
        self.vit.head = nn.Linear(384, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.vit(x)


def commfor_transform(size: int):
    from torchvision import transforms

    return tv([transforms.Resize({224: 256, 384: 440}[size]), transforms.CenterCrop(size)], IMAGENET)
