"""The demos: the video demo (:mod:`.video_demo`, on the synthetic motion
clips of :mod:`.synthetic`) and the MRI demo (:mod:`.mri_demo`, on the MNI
brain of :mod:`.mni_brain`), sharing one way to run and tabulate their
models (:mod:`.runs`).

Not imported by ``cakes_mm`` itself; ``tools/demo/run_demo.py`` and
``tools/demo/run_mri_demo.py`` parse their arguments and call it.
"""
