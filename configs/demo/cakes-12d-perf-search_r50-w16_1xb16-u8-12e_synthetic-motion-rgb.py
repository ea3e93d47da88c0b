# The demo's CAKES_{1,2D} performance-priority search: every channel of every
# block draws 1xkxk or kx1x1 at each step; the choice (argmax of |BN scale|)
# is frozen after epoch 8 and the frozen subnet trains on to epoch 12. The
# hook writes arch_final.json; the demo then retrains it with
# --cfg-options-style model.backbone.op.arch=<that file> on the manual config.
_base_ = ['c2d_r50-w16_1xb16-u8-12e_synthetic-motion-rgb.py']
model = dict(
    type='CAKESRecognizer3D',
    backbone=dict(
        type='CAKESResNetSupernet',
        op=dict(
            _delete_=True,
            type='cakes_search',
            mode='performance',
            op_set=['1xkxk', 'kx1x1'],
        ),
    ),
)
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'.search_bn.': dict(decay_mult=0.0)})
)
custom_hooks = [dict(type='CAKESSearchHook', interval=4, freeze_at=8)]
