"""requirements/constraints.txt pins every distribution that cakes_mm[tests]
needs, recursively, at the version installed here."""

from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

CONSTRAINTS = Path(__file__).parents[1] / 'requirements' / 'constraints.txt'


def pins():
    """The constraints file as a map from canonical name to specifier."""
    lines = CONSTRAINTS.read_text().splitlines()
    requirements = [Requirement(s) for s in lines if s and s[0] != '#']
    return {canonicalize_name(r.name): r.specifier for r in requirements}


def required(requirement, extras):
    """Whether a requirement applies here, for a package with ``extras``."""
    marker = requirement.marker
    return marker is None or any(
        marker.evaluate({'extra': extra}) for extra in extras | {''}
    )


def needed(name, extras):
    """Every distribution that ``name[extras]`` requires, recursively.

    Args:
        name (str): The distribution.
        extras (set[str]): Its extras.

    Returns:
        set[str]: Canonical names, ``name`` included.
    """
    todo, seen = [(canonicalize_name(name), frozenset(extras))], set()
    while todo:
        dist, wanted = todo.pop()
        if (dist, wanted) in seen:
            continue
        seen.add((dist, wanted))
        for spec in metadata.distribution(dist).requires or []:
            requirement = Requirement(spec)
            if required(requirement, wanted):
                todo.append(
                    (
                        canonicalize_name(requirement.name),
                        frozenset(requirement.extras),
                    )
                )
    return {dist for dist, _ in seen}


def pinned_at(pinned, name):
    """Whether ``name``'s installed version is the one ``pinned`` gives."""
    return name in pinned and pinned[name].contains(
        metadata.version(name), prereleases=True
    )


def test_every_needed_distribution_is_pinned_at_its_installed_version():
    pinned = pins()
    wrong = [
        f'{name} {metadata.version(name)} (pinned: {pinned.get(name)})'
        for name in sorted(needed('cakes_mm', {'tests'}) - {'cakes-mm'})
        if not pinned_at(pinned, name)
    ]
    assert not wrong, (
        f'{CONSTRAINTS} does not pin what is installed: {wrong}; install '
        'with pip install -e ".[tests]" -c requirements/constraints.txt'
    )


def test_the_walk_reaches_indirect_requirements():
    # mmaction2 alone brings opencv-contrib-python; numpy comes through
    # several; monai only through the volumetric extra.
    walked = needed('cakes_mm', {'tests'})
    assert {'opencv-contrib-python', 'numpy', 'monai'} <= walked
    assert 'monai' not in needed('cakes_mm', set())
