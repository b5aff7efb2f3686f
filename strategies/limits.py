"""How much work a strategy may ask for: the bounds on untrusted strategy input, in one place.

A strategy comes from a strategist's key, but its text is untrusted: a 1.4 KB YAML of nested
aliases expands to a billion nodes, two nested template loops run for half an hour, and a 3 MB
description makes every account's workflow input too big for Temporal. Each bound here is far
above what a real strategy needs (the shipped ones are 11-20 KB, nest 10 levels, use no aliases,
and render each template in well under a millisecond) and far below what hurts the process.
The API, the CLI and the compiler all read them from here.
"""

from __future__ import annotations

# ---- the YAML document (strategies/loader.py) ---------------------------------------------------
# UTF-8 bytes of a strategy's YAML text; the API refuses a larger request body with 413.
MAX_DOCUMENT_BYTES = 512 * 1024
# Bytes read at all (a file, a request body): a strategy a few times too big still reaches the
# loader, which says where it is too big; anything bigger is refused unread (413 over HTTP).
MAX_READ_BYTES = 8 * MAX_DOCUMENT_BYTES
# Nesting of mappings and lists (block indentation or flow brackets), counted while scanning.
MAX_DEPTH = 40
# Nodes reached through aliases (`*name`), counting everything under each aliased node.
MAX_ALIAS_NODES = 2_000

# ---- fields (strategies/schema.py) -------------------------------------------------------------
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 4_000
MAX_TEMPLATE_CHARS = 20_000
MAX_CONDITION_CHARS = 1_000
MAX_CONDITION_DEPTH = 20

# ---- templates (strategies/rendering.py) -------------------------------------------------------
# Items a template's range() may produce, and loop iterations a whole render may run.
MAX_RANGE = 1_000
MAX_LOOP_ITERATIONS = 10_000
# Characters of any text a template builds (by +, *, ~, filters or methods) and of its output.
MAX_TEMPLATE_TEXT = 64 * 1024
# Binary digits of any integer a template computes (2**4096 has 1,234 decimal digits).
MAX_INT_BITS = 4_096
# Steps of work one render may do, counted, never timed, so that whether a template is valid does
# not depend on how fast or loaded the machine is. Each call, filter and intercepted operator costs
# one step plus one per 64 characters or items it is given; each loop iteration and each macro call
# costs the number of nodes in its body (the work it does that no hook sees). A 20 KB template
# with 500 variables costs about 1,500; the cap takes tens of milliseconds to reach.
MAX_RENDER_WORK = 200_000
# Wall-clock seconds of one render at send time: a last-resort safety net that no template within
# the work bounds comes near (they take milliseconds). Compile-time validation uses no clock at all.
SEND_RENDER_SAFETY_SECONDS = 5.0

# ---- the compiled strategy (strategies/compiler.py) -------------------------------------------
# Canonical JSON bytes of a compiled strategy. Temporal refuses payloads over 2 MB, and the
# strategy travels in every account's workflow input next to the account itself.
MAX_COMPILED_BYTES = 256 * 1024
