# A searched CAKES_1,2,3D C2FNAS, retrained from scratch on MSD pancreas.
# The arch defaults to what the performance-priority search writes when run
# with its default work dir; point it at any exported arch with
#   --cfg-options model.network.op.arch=PATH/arch_final.json
# (e.g. the cost-priority search's, or tools/search/export_arch.py's).
_base_ = ['../_base_/c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py']
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
