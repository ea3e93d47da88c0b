"""Metrics of the volumetric half."""

from .dice_metric import VolumeDiceMetric

__all__ = ['VolumeDiceMetric']

# The EM metric needs scikit-image; without it the Dice metric still
# imports.
try:
    from .variation_of_information import VariationOfInformation  # noqa
except ModuleNotFoundError as error:
    if error.name.split('.')[0] != 'skimage':
        raise
else:
    __all__.append('VariationOfInformation')
