"""One module per evidence source; importing this package registers them all, in this order."""

from . import (  # noqa: F401
    a1111,
    c2pa,
    comfyui,
    drawthings,
    fooocus,
    iptc,
    invokeai,
    midjourney,
    novelai,
    software,
    swarmui,
    watermark,
)
