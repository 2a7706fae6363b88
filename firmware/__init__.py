"""Firmware: a generated kernel taken onto a board, as files a C or assembly caller builds.

``firmware.header`` (the kernel's C header and ``.inc``: the contract a
caller builds against), ``firmware.boards`` (the boards a project runs on and
their memory maps), ``firmware.project`` (the buildable project that
``torus-hw firmware`` writes) and its templates (``firmware/templates/``,
package data).  It sits on the generator layer: it imports ``isa`` and
``torus_hw``, and ``isa`` never imports it.
"""
