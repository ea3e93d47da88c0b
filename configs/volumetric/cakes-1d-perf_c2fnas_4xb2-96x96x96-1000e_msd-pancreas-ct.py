# CAKES_1D (the three 1D sub-kernels), performance-priority on C2FNAS: the arch
# our own search
# found, for the CAKES paper's Table 1 row (the paper's arch was never
# released). The search is cakes-123d-perf-search_c2fnas_1xb4-48x48x48-10e_mni-brain-mri.py
# (with this op set and mode) on the MNI brain MRI: C2FNAS at full width,
# 48^3 crops, 500 iterations on one GPU (docs/volumetric_segmentation.md).
# Retrain it on MSD pancreas like any fixed C2FNAS.
_base_ = ['../_base_/c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py']
model = dict(
    network=dict(
        op=dict(
            _delete_=True,
            type='cakes',
            arch='{{fileDirname}}/archs/cakes-1d-perf_c2fnas_1xb4-48x48x48-10e_mni-brain-mri.json',
        )
    )
)
