"""The C baselines: what a user would compile instead of a generated kernel.

``baselines.build`` builds the C sources of ``baselines/c/`` (package data)
with every compiler here and checks them like the generated kernels; the bench
(``sim.bench``) and the cross-checks compare against them.  It sits on the
generator layer: it imports ``isa`` and ``torus_hw``, and ``isa`` never
imports it.
"""
