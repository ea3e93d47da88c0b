# The CAKES_1,2,3D C2FNAS searched on MSD pancreas, trained from scratch on
# NIH pancreas (CAKES Table 2: 11.26 M params, 85.28 average Dice over the
# 4 folds): 96x96x64 crops, 2 classes, sliding window 96x96x64 at stride
# 20, fold 0 of 4 held out. The arch defaults to the MSD
# performance-priority search's; point it at another with
#   --cfg-options model.network.op.arch=PATH/arch_final.json
_base_ = ['../_base_/c2fnas_4xb2-96x96x64-1000e_nih-pancreas-ct.py']
model = dict(
    network=dict(
        op=dict(
            _delete_=True,
            type='cakes',
            arch='work_dirs/cakes-123d-perf-search_c2fnas_4xb2-96x96x96-1000e_'
            'msd-pancreas-ct/arch_final.json',
        )
    )
)
