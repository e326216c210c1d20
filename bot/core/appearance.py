"""How the chat widget looks and behaves on a site: what `data/widget.yml` (later the console) sets."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional

POSITIONS = ("bottom-right", "bottom-left")


@dataclass(frozen=True)
class Appearance:
    enabled: bool = True                 # the site-wide on/off switch
    bot_name: str = "Dyna"
    header_label: str = "We usually answer at once"
    avatar: Optional[str] = None         # an https URL of an image
    primary_color: str = "#1f5fbf"
    font_family: str = "system-ui, sans-serif"
    position: str = "bottom-right"
    padding: int = 20                    # px from the corner
    launcher_icon: str = "chat"          # "chat" (a speech bubble), a short text, or an https URL of an image
    response_delay_ms: int = 600         # the typing indicator shows this long before each bot message
    sound: bool = False                  # a short tone for a message while the chat is closed
    privacy_url: Optional[str] = None
    open_on_trigger: bool = False        # open the chat when a dialogue triggers, instead of poking

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)
