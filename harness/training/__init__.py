"""On-device training (Lin et al., NeurIPS 2022, "On-Device Training Under 256KB Memory").

`setup` describes a trainable int8 graph and packs it for the device, `f32math` and `reference`
implement docs/training_spec.md in numpy float32, `planner` chooses a sparse-update scheme under a
memory budget, `device` drives the firmware's training service, `vww` builds the transfer task.
"""
