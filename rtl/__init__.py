"""Amaranth 0.5 designs: the torus distance unit and the front end the units
share (:mod:`rtl.distance`), the search unit with its top-k tracker
(:mod:`rtl.search`), the range unit (:mod:`rtl.range`), the registry through
which each unit describes itself once (:mod:`rtl.units`), the size estimate
(:mod:`rtl.size`) and the Verilog / YoWASP synthesis driver (:mod:`rtl.synth`)."""
