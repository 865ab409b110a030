"""The learned 3D stage: a small temporal network that corrects BlazePose's 3D landmarks of a
whole track from its 2D, confidences and 3D (``data``: training pairs from CMU mocap;
``model``: the network, torch; ``stage``: :func:`mocap.lift.stage.lift_track`)."""
