"""The SMPL-X joint layout and parameter sizes: the one place that defines them.

Everything that names a joint, a joint group, a root or a parameter size imports it from here (the
generated model, the layer, the data pipeline, the losses, the metrics, the heads).

Joints (55, SMPL-X order): 22 body joints (0 pelvis ... 21 right wrist), 22 jaw, 23 / 24 eyes, then 15
joints per hand (left 25-39, right 40-54), each hand as index, middle, pinky, ring, thumb x 3 segments.

Parameters come under two names: the SMPL-X file / AGORA names (``global_orient``, ``left_hand_pose``, ...)
that the layer and the loaders use, and the model's output keys (``root_pose``, ``lhand_pose``, ...) that
follow Hand4Whole. ``OUTPUT_TO_SMPLX`` maps one to the other.
"""
from __future__ import annotations

import numpy as np

NUM_JOINTS = 55
NUM_BODY_JOINTS = 22  # pelvis + 21 posed body joints
NUM_HAND_JOINTS = 15  # per hand, posed by the hand pose

JOINT_NAMES = [
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "jaw",
    "left_eye_smplhf", "right_eye_smplhf"] + [
    f"{side}_{finger}{i}" for side in ("left", "right")
    for finger in ("index", "middle", "pinky", "ring", "thumb") for i in (1, 2, 3)]

#: kinematic tree (the ``kintree_table`` first row of an SMPL-X file); -1 for the root
PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
           20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
           21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53]

# ---- roots and groups (evaluation alignment and root-relative 3D losses; SPEC section 3) ----
PELVIS = JOINT_NAMES.index("pelvis")  # body root
NECK = JOINT_NAMES.index("neck")  # face root: face vertices and joints are aligned at the neck
FACE_ROOT = NECK
HAND_ROOTS = {"left": JOINT_NAMES.index("left_wrist"), "right": JOINT_NAMES.index("right_wrist")}
#: wrist + the 15 finger joints of each hand (hand PA-MPJPE)
LEFT_HAND_JOINTS = [HAND_ROOTS["left"]] + list(range(25, 40))
RIGHT_HAND_JOINTS = [HAND_ROOTS["right"]] + list(range(40, 55))
#: joints whose skinning dominates a face / head vertex (derived face region)
FACE_JOINTS = [JOINT_NAMES.index(n) for n in ("head", "jaw", "left_eye_smplhf", "right_eye_smplhf")]
#: body parts for per-part vertex errors: every joint in exactly one part (a vertex belongs to the part of the
#: joint with its largest skinning weight); the hands are the wrists and fingers, the head the face joints
BODY_PARTS = {
    "torso": [JOINT_NAMES.index(n) for n in ("pelvis", "spine1", "spine2", "spine3")],
    "neck, head": [JOINT_NAMES.index("neck")] + FACE_JOINTS,
    "upper arms": [JOINT_NAMES.index(n) for n in ("left_collar", "right_collar", "left_shoulder", "right_shoulder")],
    "forearms": [JOINT_NAMES.index(n) for n in ("left_elbow", "right_elbow")],
    "hands": LEFT_HAND_JOINTS + RIGHT_HAND_JOINTS,
    "thighs": [JOINT_NAMES.index(n) for n in ("left_hip", "right_hip")],
    "shins": [JOINT_NAMES.index(n) for n in ("left_knee", "right_knee")],
    "feet": [JOINT_NAMES.index(n) for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")],
}
#: the 14 LSP joints of body PA-MPJPE, in LSP order: R ankle, R knee, R hip, L hip, L knee, L ankle,
#: R wrist, R elbow, R shoulder, L shoulder, L elbow, L wrist, neck, head
J14_FROM_SMPLX = [JOINT_NAMES.index(n) for n in (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "right_wrist",
    "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist", "neck", "head")]
#: root of every joint for the root-relative 3D joints: body -> pelvis, jaw and eyes -> neck, hands -> wrists
GROUP_ROOT = np.array([PELVIS] * NUM_BODY_JOINTS + [FACE_ROOT] * 3 + [HAND_ROOTS["left"]] * NUM_HAND_JOINTS
                      + [HAND_ROOTS["right"]] * NUM_HAND_JOINTS)
#: index of each joint's mirror image (left <-> right), for horizontal-flip augmentation
FLIP_PERM = np.array([JOINT_NAMES.index(n.replace("left", "@").replace("right", "left").replace("@", "right"))
                      for n in JOINT_NAMES])

# ---- Hand4Whole's position-net joints ----
#: the 25 body PositionNet targets: the 22 body joints + jaw + eyes
BODY_POSITION_JOINTS = list(range(25))
#: Hand4Whole's finger order in its 20 hand PositionNet joints (4 per finger: 3 SMPL-X joints and the tip)
FINGERS = ("thumb", "index", "middle", "ring", "pinky")
#: per side, per finger, the 3 SMPL-X joints of the finger (the 4th, the tip, is extrapolated)
HAND_CHAINS = {side: [[JOINT_NAMES.index(f"{side}_{f}{i}") for i in (1, 2, 3)] for f in FINGERS]
               for side in ("left", "right")}
#: index, middle, ring, pinky MCP (first joint of each finger) in the 20 hand PositionNet joints
HAND_MCP = [4 * FINGERS.index(f) for f in ("index", "middle", "ring", "pinky")]
NUM_HAND_POSITION_JOINTS = 4 * len(FINGERS)

# ---- parameters ----
#: pose parameter (SMPL-X names) -> number of joints it poses (axis-angle: 3 values per joint)
POSE_JOINTS = {"global_orient": 1, "body_pose": NUM_BODY_JOINTS - 1, "jaw_pose": 1, "leye_pose": 1, "reye_pose": 1,
               "left_hand_pose": NUM_HAND_JOINTS, "right_hand_pose": NUM_HAND_JOINTS}
NUM_BETAS = 10  # shape coefficients the model predicts (Hand4Whole)
NUM_EXPRESSION = 10  # expression coefficients the model predicts
#: SMPL-X parameter (file / AGORA name) -> size the model uses
PARAM_SIZES = {"global_orient": 3, "body_pose": 3 * POSE_JOINTS["body_pose"],
               "left_hand_pose": 3 * NUM_HAND_JOINTS, "right_hand_pose": 3 * NUM_HAND_JOINTS, "jaw_pose": 3,
               "betas": NUM_BETAS, "expression": NUM_EXPRESSION, "transl": 3}
#: the model's parameter outputs (Hand4Whole's names) -> SMPL-X parameter names
OUTPUT_TO_SMPLX = {"root_pose": "global_orient", "body_pose": "body_pose", "lhand_pose": "left_hand_pose",
                   "rhand_pose": "right_hand_pose", "jaw_pose": "jaw_pose", "betas": "betas",
                   "expression": "expression"}
POSE_OUTPUTS = ("root_pose", "body_pose", "lhand_pose", "rhand_pose", "jaw_pose")
PARAM_OUTPUTS = tuple(OUTPUT_TO_SMPLX)
#: size of every parameter output of the model
OUTPUT_SIZES = {k: PARAM_SIZES[v] for k, v in OUTPUT_TO_SMPLX.items()}
