# CAKES_1,2,3D performance-priority search on C2FNAS, MSD pancreas: one
# sub-kernel sampled per channel each iteration; writes arch_epoch_N.json,
# arch_frozen.json (after epoch 750) and arch_final.json to the work dir.
# Retrain the result with cakes-123d-perf-retrain_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.
_base_ = [
    '../_base_/cakes-search_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py'
]
model = dict(network=dict(op=dict(mode='performance')))
