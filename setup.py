"""Install cakes_mm, the CAKES and PmSCn plugin for mmaction2.

The pins are the set that works together on a fresh machine (see the README):
mmaction2 1.2.0 refuses mmcv >= 2.2, mmengine 0.10.7 needs setuptools < 81
for ``mmaction::`` base configs, and torch is pinned exactly so that pip
takes the local CPU wheel rather than pulling CUDA packages.
"""
from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    'torch==2.13.0',
    'mmaction2==1.2.0',
    'mmengine==0.10.7',
    'mmcv-lite==2.1.0',
    'decord==0.6.0',
    'numpy>=2,<3',
    'opencv-python',
    'importlib_metadata',
    'setuptools<81',
    'matplotlib',
]

#: The volumetric half: medical I/O, transforms and metrics (MONAI needs
#: torch >= 2.8), NIfTI files, and the MNI template for the demo's data
#: (scipy's morphology derives its tissue labels).
VOLUMETRIC_REQUIRE = [
    'monai>=1.6.1,<1.7',
    'nibabel>=5.2,<6',
    'nilearn>=0.14.1,<0.15',
    'scipy>=1.11,<2',
]

# ONNX export (tools/deployment/export_onnx.py) and its onnxruntime check.
DEPLOY_REQUIRE = [
    'onnx>=1.17,<2',  # the first with numpy 2 wheels
    'onnxruntime>=1.19,<2',  # likewise
]

TESTS_REQUIRE = [
    'pytest',
    'hypothesis',
    'scikit-video==1.1.11',
    *VOLUMETRIC_REQUIRE,
    *DEPLOY_REQUIRE,
]

setup(
    name='cakes_mm',
    version='0.1.0',
    description='CAKES and PmSCn efficient 3D convolutions for mmaction2',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.10',
    packages=find_packages(include=['cakes_mm', 'cakes_mm.*']),
    # The configs and model index ship inside the package under .mim, as in
    # OpenMMLab packages, so that `_base_ = ['cakes_mm::cakes/...']` works
    # from anywhere. cakes_mm/.mim/configs and .mim/model-index.yml are
    # links to the repository's configs/ and model-index.yml: an editable
    # install reads them in place, a wheel gets copies.
    package_data={
        'cakes_mm': [
            'data/*.json', '.mim/model-index.yml', '.mim/configs/**/*.py',
            '.mim/configs/**/*.yml'
        ]
    },
    include_package_data=True,
    install_requires=INSTALL_REQUIRES,
    extras_require={
        'tests': TESTS_REQUIRE,
        'volumetric': VOLUMETRIC_REQUIRE,
        'deploy': DEPLOY_REQUIRE,
    },
    zip_safe=False,
)
