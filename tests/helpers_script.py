"""Comic scripts written for the tests (and the bench): Full Script, markdown, Fountain, a spread."""

from __future__ import annotations

FULL_SCRIPT = """\
THE LAST LIGHTHOUSE
by A. Writer

PAGE ONE (FOUR PANELS)

PANEL 1
Wide panel. A lighthouse on a cliff at dusk; storm clouds gather.

1. CAPTION: The coast of Brittany. 1923.
2. CAPTION: The last night the light burned.

PANEL 2
Ana, a young keeper in a wool coat, climbs the spiral stairs with a lantern.

3. ANA: Almost there...
   Just a few more steps.
4. ANA (THOUGHT): Why does it always fail on stormy nights?

Panel 3.
Close on the lamp mechanism. [Reference: Fresnel lens photos]

5. SFX: KLANK

PANEL 4
The Captain stands at the door below, soaked.

6. BOB (OFF): Ana! Come down!
7. ANA (WHISPER): Not now, Bob.

PAGE TWO

PANEL 1
Ana lights the lamp. The beam cuts the rain.

ANA: There you are.

PANEL 2
Sea serpent rising in the beam.

MYSTERY VOICE: Who wakes me?
"""

MARKDOWN_SCRIPT = """\
# Night Shift

## Page 1

### Panel 1
A neon-lit street. **Kai** walks past a noodle bar.

**Kai:** Another rainy night.
**Caption:** Neo-Osaka, 2089.

### Panel 2
Close on Kai's face.

**Kai (thought):** Someone is following me.

## Page 2

### Panel 1
A drone hovers over the rooftops.

**SFX:** WHRRRR
"""

FOUNTAIN_SCRIPT = """\
Title: Rooftops

EXT. ROOFTOP - NIGHT

Mira crouches at the edge, watching the street below.

MIRA
(whispering)
They're here.

Two figures climb the fire escape.

JONAS
We should go. Now.

INT. STAIRWELL - CONTINUOUS

Mira and Jonas run down the stairs.
"""

SPREAD_SCRIPT = """\
PAGE ONE

PANEL 1
Establishing shot of the harbour.

PAGES TWO-THREE

PANEL 1
The fleet sails out, a huge panorama.

PANEL 2
Ana on the bow.

ANA: Full sail!

PANEL 3
The storm on the horizon.

PAGE FOUR

PANEL 1
Calm sea.
"""


def long_script(pages: int, panels: int = 5, seed_word: str = "") -> str:
    """A Full Script of ``pages`` pages with ``panels`` panels each, two lettering lines per panel."""
    out = ["LONG BOOK", ""]
    for p in range(1, pages + 1):
        out += [f"PAGE {p}", ""]
        for n in range(1, panels + 1):
            out += [f"PANEL {n}", f"Ana and Bob in scene {p}.{n}{seed_word}, rain on the windows.", "",
                    f"1. ANA: Line {p}.{n}, what do we do now?", f"2. BOB: We wait {p}.{n}{seed_word}.", ""]
    return "\n".join(out)
