"""What the grid registry tells the apps that keep their records by grid.

`map_changed` is sent inside the transaction of every change to the map (import, split, merge,
redraw), once the change is recorded and this connection's point index sees the new map, with
`change` (the `GridChange`), `sources` and `results` (the grids retired or reshaped, and the grids
that came out of it), `actor` and `origin`. A receiver that fails rolls the change back.
"""

from django.dispatch import Signal

map_changed = Signal()
