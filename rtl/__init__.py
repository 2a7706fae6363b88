"""Amaranth 0.5 designs: the torus distance unit (:mod:`rtl.distance`), the
search unit with its top-k tracker (:mod:`rtl.search`) and the YoWASP
synthesis driver (:mod:`rtl.synth`)."""
