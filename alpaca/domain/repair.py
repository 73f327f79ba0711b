"""Repairing a draft: the smallest edit, by fixed rules, that makes a scene meet a spec.

The interactor learns to correct G's own drafts from these targets (losses.draft_targets). The
rules are deterministic, so the same mistake always has the same correction and the interactor
can learn it: spec objects claim the draft's objects in raster order (exact matches first, then
objects of the stated shape, then any), a claimed object takes the stated attributes (and the
stated cell, when free), objects nobody claims are removed (so five triangles asked as four
lose the last one), missing objects come from the example's own scene into free cells, a
failed relation moves the subject to the free cell nearest to it that satisfies it, and a stated
background is set. What the rules cannot repair falls back to the example's scene, so a target
always meets its spec.
Knows scenes and specs (domain), never pixels or models.
"""

from __future__ import annotations

from dataclasses import replace

from .checks import check, matches
from .scene import GRID, ObjectSpec, Placed, Scene, Spec, relation_holds

Cell = tuple[int, int]


def at_cell(obj: Placed, cell: Cell) -> Placed:
    """The object moved to `cell`, keeping its offset from the cell centre."""
    dx, dy = obj.cx * GRID - obj.cell[1] - 0.5, obj.cy * GRID - obj.cell[0] - 0.5
    return replace(obj, cell=cell, cx=(cell[1] + 0.5 + dx) / GRID, cy=(cell[0] + 0.5 + dy) / GRID)


def _restate(obj: Placed, want: ObjectSpec) -> Placed:
    """The object with every attribute `want` states (the cell is handled by the caller)."""
    return replace(obj, shape=want.shape, colour=want.colour or obj.colour,
                   size=want.size or obj.size, style=want.style or obj.style)


def _claim(objects: list[Placed], want: ObjectSpec, free: set[int]) -> list[int]:
    """Indices of the objects `want` claims among `free` ones, exact matches first."""
    order = ([i for i in sorted(free) if matches(objects[i], want)],
             [i for i in sorted(free) if objects[i].shape == want.shape],
             sorted(free))
    taken: list[int] = []
    for group in order:
        taken += [i for i in group if i not in taken][: want.count - len(taken)]
    return taken


def _place(obj: Placed, want: ObjectSpec, used: set[Cell]) -> Placed | None:
    """The object in the stated cell (None if taken by another), else where it is."""
    if want.cell is None or obj.cell == want.cell:
        return obj
    return None if want.cell in used else at_cell(obj, want.cell)


def _nearest_free(cell: Cell, used: set[Cell], ok=lambda c: True) -> Cell | None:
    """The free cell nearest to `cell` (Manhattan, then raster order) that passes `ok`."""
    cells = [(r, c) for r in range(GRID) for c in range(GRID) if (r, c) not in used and ok((r, c))]
    return min(cells, key=lambda c: (abs(c[0] - cell[0]) + abs(c[1] - cell[1]), c), default=None)


def _objects(draft: Scene, spec: Spec, scene: Scene) -> list[list[Placed]] | None:
    """Per spec object, the objects that stand for it: the draft's it claims, restated, then
    what is missing from the example's scene; each in its stated cell or a cell of its own."""
    objects, free = list(draft.objects), set(range(len(draft.objects)))
    spare = list(scene.objects)
    groups: list[list[tuple[Placed, bool]]] = []  # (object, from the draft)
    for want in spec.objects:
        taken = _claim(objects, want, free)
        free -= set(taken)
        group = [(_restate(objects[i], want), True) for i in taken]
        for _ in range(want.count - len(group)):
            match = next((o for o in spare if matches(o, want)), None)
            if match is None:
                return None
            spare.remove(match)
            group.append((match, False))
        groups.append(group)
    used: set[Cell] = {o.cell for group in groups for o, mine in group if mine}
    out: list[list[Placed]] = []
    for want, group in zip(spec.objects, groups, strict=True):
        placed = []
        for obj, mine in group:
            if mine:
                used.discard(obj.cell)
            cell = want.cell or (obj.cell if obj.cell not in used else _nearest_free(obj.cell, used))
            if cell is None or cell in used:
                return None
            used.add(cell)
            placed.append(obj if cell == obj.cell else at_cell(obj, cell))
        out.append(placed)
    return out


def _relate(groups: list[list[Placed]], spec: Spec) -> list[list[Placed]] | None:
    """If the relation fails, move its subject (else its object) to the nearest free cell
    where it holds; None when neither may move or no cell will do."""
    rel = spec.relation
    if rel is None:
        return groups
    subject, obj = groups[rel.subject][0], groups[rel.object][0]
    if relation_holds(rel.relation, subject.cell, obj.cell):
        return groups
    used = {o.cell for group in groups for o in group}
    moves = ((rel.subject, subject, lambda c: relation_holds(rel.relation, c, obj.cell)),
             (rel.object, obj, lambda c: relation_holds(rel.relation, subject.cell, c)))
    for index, mover, ok in moves:
        cell = None if spec.objects[index].cell is not None else _nearest_free(mover.cell, used, ok)
        if cell is not None:
            groups = [list(g) for g in groups]
            groups[index][0] = at_cell(mover, cell)
            return groups
    return None


def _recolour(groups: list[list[Placed]], spec: Spec, scene: Scene,
              background: tuple[str, str | None]) -> list[list[Placed]]:
    """Objects of an open colour that clash with the background take the colour of their
    counterpart in the example's scene (which never clashes with a stated background)."""
    out = []
    for want, group in zip(spec.objects, groups, strict=True):
        ref = next(o for o in scene.objects if matches(o, want, use_cell=False))
        out.append([replace(o, colour=ref.colour) if o.colour in background else o
                    for o in group])
    return out


def repair(draft: Scene, spec: Spec, scene: Scene) -> Scene:
    """The draft repaired to meet `spec` (see the module docstring); `scene` (which meets it)
    when the rules cannot."""
    groups = _objects(draft, spec, scene)
    groups = None if groups is None else _relate(groups, spec)
    if groups is None:
        return scene
    background = draft.background
    if spec.background is not None:
        background = (spec.background, spec.gradient)
    groups = _recolour(groups, spec, scene, background)
    objects = sorted((o for g in groups for o in g), key=lambda o: (o.cell, o.cy, o.cx))
    fixed = Scene(background, tuple(objects))
    clash = set(background) & {o.colour for o in objects}
    if clash or len({o.cell for o in objects}) < len(objects) or not all(
            ok for _, ok, _ in check(fixed, spec)):
        return scene
    return fixed
